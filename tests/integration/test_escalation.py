"""Alerts people can rely on, end to end against real peers: escalation to the trust with an
acknowledgement through the real web page, dependency inhibition, grouping, flap damping,
maintenance windows, quiet hours, provider updates, channel fall-back and SMS budgets, and
restarts in the middle of it all.

Peers: an HTTP server serving real-format status pages and endpoints, a recording server
standing in for Teams' and Twilio's HTTP APIs (the only mocks: vendor clouds, at the HTTP
boundary), a real SMTP server, a real SQLite file. Time is a test clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp import web
from peers import HttpPeer
from smtp_peer import SmtpPeer

from monitor.config import Config, parse_config
from monitor.daemon import Daemon
from monitor.http import HttpFetcher
from monitor.model import EventKind, Status
from monitor.probes import run_group
from monitor.store import Store
from monitor.web import build_app

# Thursday 3 December 2026, 09:00 GMT (school hours)
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

CONFIG = """\
organisation: {name: Oakfield Academy Trust, timezone: Europe/London}
smtp: {host: 127.0.0.1, port: SMTP_PORT, starttls: false, from: "Lifeline <alerts@oak.example>"}
defaults: {interval: 60s, timeout: 5s, failures_before_alert: 1, successes_before_recovery: 1,
           retry_initial: 30s}
web: {base_url: "https://lifeline.oak.example", secret_key: "a-test-secret-key-0123456789"}
channels:
  teams-it: {type: teams, url: "REC/teams"}
  sms: {type: sms, api_base: "REC", account_sid: AC0123, auth_token: tok-secret, from: "+447700900000",
        rate_limit: {count: SMS_BUDGET, per: 1h}}
alerting:
  group_window: GROUP_WINDOW
  reminders: {every: 1h, criticality: [critical]}
  flapping: FLAPPING
calendar:
  school_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:30"}
sites: [{id: oak, name: Oakfield Primary School}]
contacts:
  - {id: jo, name: Jo Patel, role: IT lead, site: oak, email: jo@oak.example, phone: "+447700900001"}
  - {id: head, name: Alex Morgan, role: Headteacher, site: oak, email: head@oak.example, phone: "+447700900002"}
  - {id: bursar, name: Sam Okafor, role: Business manager, site: oak, email: sam@oak.example}
  - {id: trust-it, name: Morgan Reed, role: Trust IT director, email: morgan@trust.example, phone: "+447700900100"}
groups: {leadership: [head, bursar]}
escalation:
  critical:
    - {after: 0m, notify: ["@service"], via: [email, teams-it]}
    - {after: 30m, notify: [leadership], via: [email, sms]}
    - {after: 2h, notify: [trust-it], via: [email, sms]}
  rooms-only:
    - {after: 0m, notify: ["@service"], via: [teams-it]}
services:
  - id: internet
    name: School internet
    site: oak
    criticality: critical
    functions: [every cloud service]
    fallback: Call the broadband provider.
    notify: [jo]
    checks: [{type: http, url: "BASE/internet"}]
  - id: mis
    name: MIS (Arbor)
    site: oak
    criticality: critical
    functions: [attendance, parent contact details]
    depends_on: [internet]
    max_tolerable_outage: 4h
    fallback: Paper registers are in the office, drawer 2.
    provider: {name: Arbor Education, status_page: "BASE/"}
    notify: [jo]
    checks: [{type: statuspage, url: "BASE/api/v2/summary.json", components: [MIS]}]
  - id: finance
    name: Finance
    site: oak
    criticality: high
    functions: [purchase orders]
    depends_on: [internet]
    fallback: Paper purchase orders.
    notify: [bursar]
    checks: [{type: http, url: "BASE/finance"}]
  - id: website
    name: School website
    site: oak
    criticality: low
    depends_on: [internet]
    notify: [jo]
    checks: [{type: http, url: "BASE/website"}]
  - id: parent-app
    name: Parent app
    criticality: normal
    notify: [bursar]
    escalation: rooms-only
    checks: [{type: http, url: "BASE/parent-app"}]
MAINTENANCE
"""


def summary(mis: str, update: str = "") -> dict[str, Any]:
    incidents = []
    if update:
        incidents.append(
            {
                "id": "p1",
                "name": "Registers not saving",
                "status": "identified",
                "impact": "major",
                "shortlink": "https://stspg.io/p1",
                "created_at": "2026-12-03T08:58:00Z",
                "updated_at": "2026-12-03T09:00:00Z",
                "components": [{"id": "c1", "name": "MIS"}],
                "incident_updates": [
                    {
                        "id": update,
                        "status": "identified",
                        "body": update,
                        "created_at": "2026-12-03T09:00:00Z",
                    }
                ],
            }
        )
    return {
        "page": {"id": "pg", "name": "Arbor"},
        "status": {"indicator": "none" if mis == "operational" else "major", "description": "x"},
        "components": [{"id": "c1", "name": "MIS", "status": mis, "group": False}],
        "incidents": incidents,
        "scheduled_maintenances": [],
    }


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    peer: HttpPeer
    vendor: HttpPeer
    smtp: SmtpPeer
    config: Config
    db: Path
    clock: Clock
    store: Store
    daemon: Daemon
    fetcher: HttpFetcher

    async def tick(self, minutes: float = 1) -> None:
        """Advance the clock, run every probe, run the escalation clock, deliver."""
        self.clock.now += timedelta(minutes=minutes)
        for group in self.daemon.groups:
            await self.daemon.monitor.handle(await run_group(group, self.fetcher, self.clock))
        await self.daemon.monitor.tick()
        await self.daemon.outbox.dispatch_due()

    def set(self, **up: bool) -> None:
        for name, ok in up.items():
            if name == "mis":
                self.peer.set_json(
                    "/api/v2/summary.json", summary("operational" if ok else "major_outage")
                )
            else:
                self.peer.set(f"/{name}", "ok" if ok else "down", status=200 if ok else 503)

    async def restart(self) -> None:
        await self.daemon.aclose()
        await self.store.close()
        self.store = await Store.open(f"sqlite:///{self.db}")
        self.daemon = Daemon(self.config, self.store, clock=self.clock, fetcher=self.fetcher)
        await self.daemon.monitor.resume()

    def mails(self, word: str = "") -> list[tuple[str, str]]:
        return sorted(
            (str(m["To"]), str(m["Subject"]))
            for m in self.smtp.messages
            if word in str(m["Subject"])
        )

    def teams(self) -> list[str]:
        posts = [r.json() for r in self.vendor.requests if r.path == "/teams"]
        return [_card_title(p) for p in posts]

    def sms(self) -> list[tuple[str, str]]:
        return [
            (r.form()["To"], r.form()["Body"])
            for r in self.vendor.requests
            if r.path.endswith("/Messages.json")
        ]


def _card_title(post: dict[str, Any]) -> str:
    body = post["attachments"][0]["content"]["body"]
    return " | ".join(str(b.get("text", "")) for b in body if b.get("type") == "TextBlock")[:300]


async def make_rig(
    http_peer: HttpPeer,
    tmp_path: Path,
    *,
    group_window: str = "0s",
    maintenance: str = "",
    start: datetime = T0,
    flapping: str = "{window: 30m, max_changes: 6}",
    sms_budget: int = 100,
) -> AsyncIterator[Rig]:
    vendor = HttpPeer()
    await vendor.start()
    vendor.reply("/teams", 202, "1")
    vendor.reply_json(
        "/2010-04-01/Accounts/AC0123/Messages.json", 201, {"sid": "SM1", "status": "queued"}
    )
    with SmtpPeer() as smtp:
        text = (
            CONFIG.replace("BASE", http_peer.base)
            .replace("REC", f"http://127.0.0.1:{vendor.port}")
            .replace("SMTP_PORT", str(smtp.port))
            .replace("GROUP_WINDOW", group_window)
            .replace("MAINTENANCE", maintenance)
            .replace("FLAPPING", flapping)
            .replace("SMS_BUDGET", str(sms_budget))
        )
        config = parse_config(text, "escalation.yaml", {})
        db = tmp_path / "lifeline.db"
        store = await Store.open(f"sqlite:///{db}")
        clock = Clock(start)
        async with HttpFetcher() as fetcher:
            daemon = Daemon(config, store, clock=clock, fetcher=fetcher)
            await daemon.monitor.resume()
            rig = Rig(http_peer, vendor, smtp, config, db, clock, store, daemon, fetcher)
            rig.set(internet=True, mis=True, finance=True, website=True, **{"parent-app": True})
            try:
                yield rig
            finally:
                await rig.daemon.aclose()
                await rig.store.close()
                await vendor.stop()


@pytest.fixture
async def rig(http_peer: HttpPeer, tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in make_rig(http_peer, tmp_path):
        yield r


def ack_path(rig: Rig, to: str) -> str:
    """The acknowledgement link in the newest mail to ``to``, as a path on our server."""
    for message in reversed(rig.smtp.messages):
        if str(message["To"]) == to:
            text = rig.smtp.text(message)
            link = next(
                w for w in text.split() if w.startswith("https://lifeline.oak.example/ack/")
            )
            return urlsplit(link).path
    raise AssertionError(f"no mail to {to}")


async def serve_web(rig: Rig) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(
        build_app(rig.config, rig.store, rig.daemon.monitor, rig.clock), access_log=None
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_full_escalation_to_the_trust_with_an_acknowledgement_half_way(rig: Rig) -> None:
    await rig.tick()
    rig.set(mis=False)
    await rig.tick()  # 09:02: MIS down; step 0 at once (no group window here)
    assert rig.mails("DOWN") == [
        ("jo@oak.example", "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage")
    ]
    assert len(rig.teams()) == 1 and "MIS (Arbor)" in rig.teams()[0]
    assert rig.sms() == []

    await rig.tick(30)  # 09:32: thirty minutes on, nobody has acknowledged: leadership
    escalated = rig.mails("ESCALATED")
    assert [to for to, _ in escalated] == ["head@oak.example", "sam@oak.example"]
    assert "not acknowledged after 30m" in escalated[0][1]
    assert [to for to, _ in rig.sms()] == ["+447700900002"]  # the bursar has no phone

    # Jo opens the link from the first mail: a GET only shows the page
    runner, base = await serve_web(rig)
    try:
        async with httpx.AsyncClient() as client:
            path = ack_path(rig, "jo@oak.example")
            page = await client.get(base + path)
            assert (
                page.status_code == 200
                and "Acknowledge" in page.text
                and 'method="post"' in page.text
            )
            assert page.headers["referrer-policy"] == "no-referrer"
            stored = await rig.store.open_incidents()
            assert stored["mis"].acknowledged_at is None  # a mail scanner's GET changes nothing
            rig.clock.now += timedelta(minutes=10)  # 09:42
            done = await client.post(
                base + path, data={"name": "Jo Patel", "note": "On the phone to Arbor <b>now</b>"}
            )
            assert done.status_code == 200 and "acknowledged by Jo Patel" in done.text
            assert "<b>now</b>" not in done.text
            again = await client.post(base + path, data={"name": "Someone else"})
            assert "Already acknowledged" in again.text and "Jo Patel" in again.text
    finally:
        await runner.cleanup()
    await rig.daemon.outbox.dispatch_due()

    acked = rig.mails("ACKNOWLEDGED")
    assert [to for to, _ in acked] == ["head@oak.example", "jo@oak.example", "sam@oak.example"]
    assert (
        acked[0][1]
        == "[Lifeline] ACKNOWLEDGED: MIS (Arbor) at Oakfield Primary School — by Jo Patel at 09:42"
    )
    assert len(rig.teams()) == 2 and len(rig.sms()) == 2  # everyone told hears it on their channel

    await rig.tick(120)  # 11:42: past the trust step, but it was acknowledged
    assert not any("trust.example" in to for to, _ in rig.mails())
    assert all(to != "+447700900100" for to, _ in rig.sms())

    rig.set(mis=True)
    await rig.tick()
    recovered = rig.mails("RECOVERED")
    assert [to for to, _ in recovered] == ["head@oak.example", "jo@oak.example", "sam@oak.example"]
    incident = (await rig.store.list_incidents("mis"))[0]
    assert (
        incident.acknowledged_by == "Jo Patel"
        and incident.ack_note == "On the phone to Arbor <b>now</b>"
    )
    kinds = [e.kind for e in incident.events]
    assert EventKind.ACKNOWLEDGED in kinds and kinds[-1] is EventKind.NOTIFIED


async def test_escalation_reaches_the_trust_when_nobody_acknowledges(rig: Rig) -> None:
    rig.set(mis=False)
    await rig.tick()
    await rig.tick(30)
    await rig.tick(90)  # two hours in
    assert (
        "morgan@trust.example",
        "[Lifeline] ESCALATED: MIS (Arbor) at Oakfield Primary School — Major outage, not acknowledged after 2h",
    ) in rig.mails()
    assert "+447700900100" in [to for to, _ in rig.sms()]
    await rig.tick(60)  # an hour after the last step: a reminder to everyone told
    reminders = rig.mails("REMINDER")
    assert [to for to, _ in reminders] == [
        "head@oak.example",
        "jo@oak.example",
        "morgan@trust.example",
        "sam@oak.example",
    ]


async def test_restart_in_the_middle_of_an_escalation_neither_skips_nor_repeats(rig: Rig) -> None:
    rig.set(mis=False)
    await rig.tick()
    assert len(rig.mails("DOWN")) == 1
    await rig.restart()
    rig.clock.now += timedelta(minutes=40)  # the daemon was away when step 1 fell due
    await rig.tick()
    assert [to for to, _ in rig.mails("ESCALATED")] == ["head@oak.example", "sam@oak.example"]
    await rig.restart()
    await rig.tick()
    await rig.tick()
    assert len(rig.mails("DOWN")) == 1 and len(rig.mails("ESCALATED")) == 2
    assert len(rig.sms()) == 1 and len(rig.teams()) == 1


async def test_internet_outage_yields_one_alert_not_many(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async for rig in make_rig(http_peer, tmp_path, group_window="60s"):
        await rig.tick()
        rig.set(internet=False, finance=False, website=False)  # the MIS status page says fine
        await rig.tick()  # finance's probe may run before the internet's: no matter
        await rig.tick()  # after the group window: one message
        down = rig.mails("DOWN")
        assert down == [
            (
                "jo@oak.example",
                "[Lifeline] DOWN: School internet at Oakfield Primary School — Major outage (+2 services affected)",
            )
        ]
        text = rig.smtp.text(rig.smtp.messages[0])
        assert "Finance" in text and "School website" in text and "purchase orders" in text
        assert rig.daemon.monitor.open_incident("finance") is None
        assert rig.daemon.monitor.impacted_by("finance") == "internet"
        assert len(rig.teams()) == 1

        rig.set(internet=True, website=True)  # the internet is back but finance still fails
        await rig.tick()
        await rig.tick(2)
        assert [to for to, _ in rig.mails("RECOVERED")] == ["jo@oak.example"]
        assert rig.mails("DOWN: Finance") == [
            (
                "sam@oak.example",
                "[Lifeline] DOWN: Finance at Oakfield Primary School — Major outage",
            )
        ]
        spans = await rig.store.spans("finance", T0, T0 + timedelta(hours=1))
        assert any(s.impacted_by == "internet" for s in spans)


async def test_failures_at_one_site_within_the_window_go_out_as_one_message(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async for rig in make_rig(http_peer, tmp_path, group_window="60s"):
        await rig.tick()
        rig.set(mis=False, finance=False)  # unrelated failures, same school, same minute
        await rig.tick()
        await rig.tick()
        subject = "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage (+1 service affected)"
        # one message, to everyone either service's first step names (Jo for the MIS, Sam
        # for finance), naming both services
        assert rig.mails("DOWN") == [("jo@oak.example", subject), ("sam@oak.example", subject)]
        assert "Finance" in rig.smtp.text(rig.smtp.messages[0])
        assert rig.mails("Finance") == []
        await rig.tick(40)
        rig.set(mis=True, finance=True)
        await rig.tick()
        recovered = {(to, s.split(": ")[1].split(" at ")[0]) for to, s in rig.mails("RECOVERED")}
        # each recovers on its own, and everyone told of it hears
        assert {("jo@oak.example", "Finance"), ("sam@oak.example", "Finance")} <= recovered
        assert {("jo@oak.example", "MIS (Arbor)"), ("sam@oak.example", "MIS (Arbor)")} <= recovered


async def test_declared_maintenance_window_sends_nothing_and_marks_the_spans(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    window = 'maintenance: [{name: Broadband upgrade, start: "2026-12-03 09:00", end: "2026-12-03 10:00", services: [internet]}]'
    async for rig in make_rig(http_peer, tmp_path, maintenance=window):
        rig.set(internet=False)
        await rig.tick()
        await rig.tick(30)
        assert rig.mails() == [] and rig.teams() == []
        assert rig.daemon.monitor.status("internet").status is Status.MAINTENANCE
        await rig.tick(30)  # 10:01: the window has closed and it is still down
        assert [s for _, s in rig.mails("DOWN")] == [
            "[Lifeline] DOWN: School internet at Oakfield Primary School — Major outage"
        ]
        spans = await rig.store.spans("internet", T0, T0 + timedelta(hours=2))
        assert [s.status for s in spans] == [Status.MAINTENANCE, Status.MAJOR_OUTAGE]


async def test_low_criticality_failure_at_night_waits_for_school_hours(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    sunday_night = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    async for rig in make_rig(http_peer, tmp_path, start=sunday_night):
        rig.set(website=False, mis=False)
        await rig.tick()
        assert [s.split(" at ")[0] for _, s in rig.mails("DOWN")] == [
            "[Lifeline] DOWN: MIS (Arbor)"
        ]  # critical never waits
        await rig.tick(60 * 5)  # 07:01 on Sunday: still quiet
        assert rig.mails("website") == []
        rig.clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 08:00, school opens
        await rig.tick(0)
        assert rig.mails("School website") == [
            (
                "jo@oak.example",
                "[Lifeline] DOWN: School website at Oakfield Primary School — Major outage",
            )
        ]


async def test_a_flapping_service_is_alerted_once_and_held_until_stable(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async for rig in make_rig(http_peer, tmp_path, flapping="{window: 30m, max_changes: 1}"):
        await _flap(rig)


async def _flap(rig: Rig) -> None:
    for minute in range(8):
        rig.set(finance=minute % 2 == 1)
        await rig.tick()
    assert len(rig.mails("DOWN: Finance")) == 1
    assert rig.mails("RECOVERED") == []  # it keeps coming back, but it is not stable
    incident = rig.daemon.monitor.open_incident("finance")
    assert incident is not None and any(e.kind is EventKind.FLAPPING for e in incident.events)
    rig.set(finance=True)
    await rig.tick()
    await rig.tick(31)  # stable for the flapping window
    assert len(rig.mails("RECOVERED: Finance")) == 1


async def test_provider_updates_reach_those_already_told(rig: Rig) -> None:
    rig.peer.set_json(
        "/api/v2/summary.json", summary("major_outage", update="Investigating the cause")
    )
    await rig.tick()
    rig.peer.set_json(
        "/api/v2/summary.json", summary("major_outage", update="Fix is being deployed")
    )
    await rig.tick()
    updates = rig.mails("UPDATE")
    assert [to for to, _ in updates] == ["jo@oak.example"]
    body = rig.smtp.text(next(m for m in rig.smtp.messages if "UPDATE" in str(m["Subject"])))
    assert "Fix is being deployed" in body
    await rig.tick()
    assert len(rig.mails("UPDATE")) == 1  # the same post is not sent twice


async def test_failing_channel_falls_back_to_email_and_is_on_the_timeline(rig: Rig) -> None:
    rig.vendor.reply("/teams", 404, "Not Found")  # the webhook was deleted
    rig.set(**{"parent-app": False})  # its policy posts to the Teams room only
    await rig.tick()
    await rig.daemon.outbox.dispatch_due()
    assert rig.mails("DOWN") == [
        ("sam@oak.example", "[Lifeline] DOWN: Parent app at Oakfield Academy Trust — Major outage")
    ]
    incident = rig.daemon.monitor.open_incident("parent-app")
    assert incident is not None
    stored = await rig.store.incident(incident.id)
    assert stored is not None
    failed = [e.text for e in stored.events if e.kind is EventKind.DELIVERY_FAILED]
    assert (
        len(failed) == 1 and "teams-it" in failed[0] and "by email to sam@oak.example" in failed[0]
    )
    assert "/teams" not in failed[0]  # the webhook URL's path is its secret


async def test_failing_room_is_not_doubled_by_email_when_the_step_emailed_everyone(
    rig: Rig,
) -> None:
    rig.vendor.reply("/teams", 404, "Not Found")
    rig.set(mis=False)  # the critical step emails Jo and posts to Teams
    await rig.tick()
    await rig.daemon.outbox.dispatch_due()
    assert [to for to, _ in rig.mails("DOWN")] == ["jo@oak.example"]


async def test_spent_sms_budget_is_recorded_and_email_still_reaches_them(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async for rig in make_rig(http_peer, tmp_path, sms_budget=1):
        rig.set(mis=False)
        await rig.tick()
        await rig.tick(30)  # leadership: email to both, SMS to the head (the one allowed)
        assert [to for to, _ in rig.sms()] == ["+447700900002"]
        await rig.tick(60)  # the reminder would SMS the head again: the budget is spent
        assert len(rig.sms()) == 1
        incident = rig.daemon.monitor.open_incident("mis")
        assert incident is not None
        stored = await rig.store.incident(incident.id)
        assert stored is not None
        failed = [e.text for e in stored.events if e.kind is EventKind.DELIVERY_FAILED]
        assert failed and all("sms budget of 1 per 1h is spent" in f for f in failed)
        assert "head@oak.example" in [to for to, _ in rig.mails("REMINDER")]
