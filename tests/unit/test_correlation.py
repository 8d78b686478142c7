from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.correlation import Opened, ancestors, depends_on, grouped, root_cause

GRAPH = {
    "internet": [],
    "wifi": ["internet"],
    "mis": ["internet"],
    "mis-app": ["mis", "wifi"],
    "website": [],
}


def test_ancestors_nearest_first_each_once() -> None:
    assert list(ancestors(GRAPH, "mis-app")) == ["mis", "wifi", "internet"]
    assert list(ancestors(GRAPH, "website")) == []


@pytest.mark.parametrize(
    ("service", "open_incidents", "impacted_by", "expected"),
    [
        ("mis", {"internet"}, {}, "internet"),  # its direct dependency is down
        ("mis-app", {"internet"}, {}, "internet"),  # transitively
        ("mis-app", {"internet"}, {"mis": "internet"}, "internet"),  # via an impacted one
        ("mis-app", {"mis"}, {}, "mis"),  # the nearest down dependency wins
        ("mis", set(), {}, None),  # nothing it needs is down: it is its own incident
        ("website", {"internet"}, {}, None),  # does not depend on the internet here
    ],
)
def test_root_cause(
    service: str, open_incidents: set[str], impacted_by: dict[str, str], expected: str | None
) -> None:
    assert root_cause(GRAPH, service, open_incidents, impacted_by) == expected


def test_depends_on() -> None:
    assert depends_on(GRAPH, "mis-app", "internet")
    assert not depends_on(GRAPH, "internet", "mis")


T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
W = timedelta(seconds=60)


@pytest.mark.parametrize(
    ("a", "b", "together"),
    [
        (
            Opened("oak", "Arbor", T0),
            Opened("oak", "PS", T0 + timedelta(seconds=30)),
            True,
        ),  # same site
        (
            Opened("oak", "Arbor", T0),
            Opened("elm", "Arbor", T0 + timedelta(seconds=59)),
            True,
        ),  # same provider
        (Opened("oak", "Arbor", T0), Opened("elm", "PS", T0), False),  # neither
        (
            Opened("oak", None, T0),
            Opened("oak", None, T0 + timedelta(seconds=61)),
            False,
        ),  # too far apart
        (Opened(None, None, T0), Opened(None, None, T0), False),  # nothing in common
    ],
)
def test_grouped(a: Opened, b: Opened, together: bool) -> None:
    assert grouped(a, b, W) is together
    assert grouped(b, a, W) is together
