from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.config import parse_config
from monitor.outbox import backoff
from monitor.probes import plan_probes


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900), (50, 900)]
)
def test_backoff_doubles_up_to_the_cap(attempts: int, seconds: int) -> None:
    assert backoff(attempts, timedelta(seconds=30), timedelta(minutes=15)) == timedelta(
        seconds=seconds
    )


CONFIG = """
organisation: {name: Trust}
defaults: {interval: 60s, timeout: 10s}
services:
  - id: a
    name: A
    checks:
      - {type: statuspage, url: "https://status.example/api/v2/summary.json", components: [MIS], interval: 2m}
      - {type: http, url: "https://a.example/login", timeout: 3s}
  - id: b
    name: B
    checks:
      - {type: statuspage, url: "https://status.example/api/v2/summary.json", components: [API], interval: 30s, timeout: 20s}
      - {type: http, url: "https://a.example/login", contains: Welcome}
      - {type: http, url: "https://a.example/login", verify_tls: false}
"""


def test_shared_probes_run_once_at_the_shortest_interval() -> None:
    groups = {
        (g.probe.url, g.probe.verify_tls): g
        for g in plan_probes(parse_config(CONFIG, "t.yaml", {}))
    }
    assert len(groups) == 3
    page = groups[("https://status.example/api/v2/summary.json", True)]
    assert [u.check_id for u in page.uses] == ["a#0", "b#0"]
    assert (page.interval, page.timeout) == (
        30,
        20,
    )  # shortest interval, longest timeout (capped by it)
    login = groups[("https://a.example/login", True)]
    assert [u.check_id for u in login.uses] == ["a#1", "b#1"] and login.timeout == 10
    assert [u.check_id for u in groups[("https://a.example/login", False)].uses] == ["b#2"]
