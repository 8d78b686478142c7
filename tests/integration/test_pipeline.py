"""The monitoring loop end to end against real peers: an HTTP server serving real-format
status pages and endpoints, a real SMTP server, a real SQLite file.

Time is driven by a test clock: each ``tick`` runs every probe once, feeds the results to the
monitor and dispatches the outbox, as the scheduler would, without waiting for it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from peers import HttpPeer, database_url
from smtp_peer import SmtpPeer

from monitor.config import Config, parse_config
from monitor.daemon import Daemon
from monitor.http import HttpFetcher
from monitor.model import EventKind, Status
from monitor.probes import plan_probes, run_group
from monitor.store import Store

CONFIG = """\
organisation: {name: Oakfield Academy Trust, timezone: Europe/London}
smtp: {host: 127.0.0.1, port: SMTP_PORT, starttls: false, from: "Lifeline <alerts@oakfield.example>"}
defaults: {interval: 60s, timeout: 5s, failures_before_alert: 2, successes_before_recovery: 2,
           retry_initial: 30s, retry_max: 5m}
alerting: {group_window: 0s}
sites: [{id: oak, name: Oakfield Primary School}, {id: elm, name: Elm Academy}]
contacts:
  - {id: jo, name: Jo Patel, role: IT lead, site: oak, email: jo@oak.example}
  - {id: sam, name: Sam Okafor, role: Business manager, site: oak, email: sam@oak.example}
  - {id: kit, name: Kit Lowe, role: IT lead, site: elm, email: kit@elm.example}
services:
  - id: mis
    name: MIS (Arbor)
    site: oak
    criticality: critical
    functions: [attendance, parent contact details]
    max_tolerable_outage: 4h
    fallback: "Paper registers are in the office, drawer 2."
    provider: {name: Arbor Education, status_page: "BASE/", support: {phone: "0300 000 0001"}}
    notify: [jo, sam]
    checks:
      - {type: statuspage, url: "BASE/api/v2/summary.json", components: [MIS]}
      - {type: http, url: "BASE/login", contains: "Sign in"}
  - id: elm-mis
    name: MIS (Arbor) — Elm
    site: elm
    criticality: critical
    notify: [kit]
    checks:
      - {type: statuspage, url: "BASE/api/v2/summary.json", components: [MIS]}
"""

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 09:00 GMT


def summary(mis: str, *, incident: bool = False) -> dict[str, Any]:
    incidents = []
    if incident:
        incidents.append(
            {
                "id": "p1",
                "name": "Registers <not> saving",
                "status": "investigating",
                "impact": "major",
                "shortlink": "https://stspg.io/p1",
                "created_at": "2026-12-03T08:55:00Z",
                "updated_at": "2026-12-03T08:58:00Z",
                "components": [{"id": "c1", "name": "MIS"}],
                "incident_updates": [
                    {
                        "id": "u1",
                        "status": "investigating",
                        "body": "We are investigating.",
                        "created_at": "2026-12-03T08:58:00Z",
                    }
                ],
            }
        )
    return {
        "page": {
            "id": "pg",
            "name": "Arbor",
            "url": "https://status.arbor.example",
            "time_zone": "Etc/UTC",
            "updated_at": "2026-12-03T08:58:00Z",
        },
        "status": {"indicator": "none" if mis == "operational" else "major", "description": "x"},
        "components": [
            {"id": "c1", "name": "MIS", "status": mis, "group": False, "group_id": None},
            {"id": "c2", "name": "API", "status": "operational", "group": False, "group_id": None},
        ],
        "incidents": incidents,
        "scheduled_maintenances": [],
    }


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    peer: HttpPeer
    smtp: SmtpPeer
    db: str
    config: Config
    clock: Clock
    daemon: Daemon
    store: Store
    fetcher: HttpFetcher

    async def tick(self, minutes: float = 1) -> None:
        self.clock.now += timedelta(minutes=minutes)
        for group in self.daemon.groups:
            await self.daemon.monitor.handle(await run_group(group, self.fetcher, self.clock))
        await self.daemon.outbox.dispatch_due()

    def provider(self, mis: str, login_ok: bool = True, incident: bool = False) -> None:
        self.peer.set_json("/api/v2/summary.json", summary(mis, incident=incident), etag=True)
        if login_ok:
            self.peer.set("/login", "<h1>Sign in</h1>", content_type="text/html")
        else:
            self.peer.set("/login", "Service Unavailable", status=503)

    async def restart(self) -> None:
        """A crash and a new process: nothing survives but the database file."""
        await self.store.close()
        self.store = await Store.open(self.db)
        self.daemon = Daemon(self.config, self.store, clock=self.clock, fetcher=self.fetcher)
        await self.daemon.monitor.resume()


def make_config(peer: HttpPeer, smtp: SmtpPeer) -> Config:
    text = CONFIG.replace("BASE", peer.base).replace("SMTP_PORT", str(smtp.port))
    return parse_config(text, "test.yaml", {})


@pytest.fixture(params=["sqlite", "postgresql"])
async def rig(
    request: pytest.FixtureRequest, http_peer: HttpPeer, smtp_peer: SmtpPeer, tmp_path: Path
) -> AsyncIterator[Rig]:
    config = make_config(http_peer, smtp_peer)
    db = await database_url(request.param, tmp_path)
    store = await Store.open(db)
    clock = Clock()
    async with HttpFetcher() as fetcher:
        daemon = Daemon(config, store, clock=clock, fetcher=fetcher)
        await daemon.monitor.resume()
        r = Rig(http_peer, smtp_peer, db, config, clock, daemon, store, fetcher)
        r.provider("operational")
        try:
            yield r
        finally:
            await r.store.close()


async def test_outage_then_recovery_emails_the_named_contacts(rig: Rig) -> None:
    await rig.tick()
    assert rig.smtp.messages == []
    rig.provider("partial_outage", login_ok=False, incident=True)
    await rig.tick()
    assert rig.smtp.messages == []  # one bad probe is not an outage
    await rig.tick()

    assert rig.smtp.to("DOWN") == ["jo@oak.example", "kit@elm.example", "sam@oak.example"]
    mis_down = [m for m in rig.smtp.messages if "Oakfield" in str(m["Subject"])]
    assert {str(m["Subject"]) for m in mis_down} == {
        # the status page's probe runs first and confirms the outage before the login check
        "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Partial outage"
    }
    text = rig.smtp.text(mis_down[0])
    for line in (
        "attendance, parent contact details",
        "Paper registers are in the office, drawer 2.",
        "Registers <not> saving",
        "https://stspg.io/p1",
        "Jo Patel",
        "Sam Okafor",
        "09:02",
    ):
        assert line in text, line
    html = mis_down[0].get_body(preferencelist=("html",))
    assert html is not None and "Registers &lt;not&gt; saving" in html.get_content()

    rig.provider("operational")
    await rig.tick()
    assert len(rig.smtp.messages) == 3
    await rig.tick()
    assert rig.smtp.to("RECOVERED") == ["jo@oak.example", "kit@elm.example", "sam@oak.example"]
    recovered = [str(m["Subject"]) for m in rig.smtp.messages if "RECOVERED" in str(m["Subject"])]
    assert "[Lifeline] RECOVERED: MIS (Arbor) at Oakfield Primary School — down for 2m" in recovered

    incidents = await rig.store.list_incidents("mis")
    assert len(incidents) == 1 and incidents[0].resolved_at == T0 + timedelta(minutes=4)
    assert incidents[0].worst is Status.MAJOR_OUTAGE
    assert any("HTTP 503" in e.text for e in incidents[0].events)
    kinds = [e.kind for e in incidents[0].events]
    assert kinds[0] is EventKind.OPENED and kinds[-1] is EventKind.NOTIFIED
    assert kinds.count(EventKind.NOTIFIED) == 4  # two DOWN, two RECOVERED
    spans = await rig.store.spans("mis", T0, T0 + timedelta(hours=1))
    assert [(s.status, s.started_at.minute) for s in spans] == [
        (Status.UP, 1),
        (Status.PARTIAL_OUTAGE, 2),  # dated from the first failed probe, not the confirming one
        (Status.MAJOR_OUTAGE, 2),
        (Status.UP, 4),
    ]


async def test_one_status_page_fetch_serves_every_school(rig: Rig) -> None:
    groups = plan_probes(rig.config)
    shared = [g for g in groups if g.probe.url.endswith("summary.json")]
    assert len(shared) == 1 and len(shared[0].uses) == 2
    for _ in range(3):
        await rig.tick()
    assert rig.peer.hits["/api/v2/summary.json"] == 3
    assert rig.peer.not_modified["/api/v2/summary.json"] == 2  # ETag honoured after the first


async def test_smtp_down_during_outage_is_retried_and_sent_once(rig: Rig) -> None:
    rig.smtp.stop()
    await rig.tick()
    rig.provider("major_outage", login_ok=False)
    await rig.tick()
    await rig.tick()
    pending = [n for n in await rig.store.notifications() if n.state == "pending"]
    assert len(pending) == 3 and all(n.attempts == 1 for n in pending)
    assert all(
        "refused" in (n.last_error or "") or "connect" in (n.last_error or "").lower()
        for n in pending
    )

    rig.smtp.start()
    rig.clock.now += timedelta(seconds=10)
    await rig.daemon.outbox.dispatch_due()
    assert rig.smtp.messages == []  # the retry is not due yet (30s backoff)
    rig.clock.now += timedelta(seconds=25)
    await rig.daemon.outbox.dispatch_due()
    assert rig.smtp.to("DOWN") == ["jo@oak.example", "kit@elm.example", "sam@oak.example"]
    await rig.daemon.outbox.dispatch_due()
    await rig.tick()
    assert len(rig.smtp.messages) == 3
    assert all(n.state == "sent" for n in await rig.store.notifications())


async def test_restart_mid_incident_neither_loses_nor_repeats_a_mail(rig: Rig) -> None:
    await rig.tick()
    rig.provider("major_outage", login_ok=False)
    rig.smtp.stop()
    await rig.tick()
    await rig.tick()  # incident opened, mails stored, SMTP refused them
    assert rig.smtp.messages == []

    await rig.restart()
    rig.smtp.start()
    rig.clock.now += timedelta(minutes=1)
    await rig.tick()  # still down after the restart: no new incident, the stored mails go out
    await rig.tick()
    assert rig.smtp.to("DOWN") == ["jo@oak.example", "kit@elm.example", "sam@oak.example"]
    assert len(await rig.store.list_incidents("mis")) == 1

    await rig.restart()
    rig.provider("operational")
    await rig.tick()
    await rig.tick()
    assert rig.smtp.to("RECOVERED") == ["jo@oak.example", "kit@elm.example", "sam@oak.example"]
    assert len(rig.smtp.messages) == 6


async def test_daemon_schedules_probes_and_alerts(
    http_peer: HttpPeer, smtp_peer: SmtpPeer, tmp_path: Path
) -> None:
    """The real scheduler, with short intervals: detection and mail without a test clock."""
    import asyncio

    from peers import wait_until

    text = CONFIG.replace("BASE", http_peer.base).replace("SMTP_PORT", str(smtp_peer.port))
    text = text.replace("interval: 60s", "interval: 0.2s, spread: 0s").replace(
        "retry_initial: 30s", "retry_initial: 0.2s"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    text += (
        f'web: {{listen: "127.0.0.1:{web_port}", base_url: "http://127.0.0.1:{web_port}",'
        ' secret_key: "a-test-secret-key-0123456789"}\n'
    )
    config = parse_config(text, "test.yaml", {})
    http_peer.set_json("/api/v2/summary.json", summary("operational"))
    http_peer.set("/login", "<h1>Sign in</h1>")
    store = await Store.open(f"sqlite:///{tmp_path / 'd.db'}")
    daemon = Daemon(config, store)
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    try:
        await wait_until(lambda: daemon.stats.probes >= 4)
        http_peer.set_json("/api/v2/summary.json", summary("major_outage"))
        await wait_until(lambda: len(smtp_peer.to("DOWN")) == 3)
        # the daemon's own web server answers, and the link in the mail leads to its page
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{web_port}/healthz")).text == "ok\n"
            text_part = smtp_peer.text(smtp_peer.messages[0])
            link = next(w for w in text_part.split() if "/ack/" in w)
            page = await client.get(link)
            assert page.status_code == 200 and "Acknowledge" in page.text
        http_peer.set_json("/api/v2/summary.json", summary("operational"))
        await wait_until(lambda: len(smtp_peer.to("RECOVERED")) == 3)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await store.close()
    assert daemon.stats.lateness and max(daemon.stats.lateness) < 5
