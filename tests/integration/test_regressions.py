"""Regression tests for the review's findings (commit b60c11e): outages that went silent, or
alerts that went wrong, after a database error, a restart or a flapping service.

Each test replays one of the reviewer's reproductions on the rig of ``test_escalation``: real
probes against a local HTTP server, a real SMTP server, a real SQLite file, a test clock. The
probes and the escalation pass run through the daemon's own scheduled jobs (``Daemon._job``
and ``Daemon._tick``), so an error in either is logged and the daemon carries on, as it does
in production. Database errors are injected at our own seam: ``FlakyStore``, a ``Store``
whose named method raises ``StoreError`` once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from peers import HttpPeer
from sqlalchemy.ext.asyncio import AsyncEngine
from test_escalation import Rig, ack_path, make_rig, serve_web, summary

from monitor.config import Config
from monitor.daemon import Daemon
from monitor.errors import StoreError
from monitor.incidents import Change
from monitor.model import Incident, Transition
from monitor.store import Notification, Store

DOWN_MIS = "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage"
DOWN_FINANCE = "[Lifeline] DOWN: Finance at Oakfield Primary School — Major outage"


class FlakyStore(Store):
    """The real store, except that an armed method raises ``StoreError`` once (a database
    blip). Fault injection at our own seam: SQLite offers no way to fail one chosen write."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.armed: dict[str, str | None] = {}  # method -> only for this service (None: any)
        self.fired: list[str] = []

    def fail_once(self, method: str, service_id: str | None = None) -> None:
        self.armed[method] = service_id

    def _blip(self, method: str, service_id: str | None = None) -> None:
        if method in self.armed and self.armed[method] in (None, service_id):
            del self.armed[method]
            self.fired.append(method)
            raise StoreError("database error: database is locked")

    async def commit_transition(
        self,
        transition: Transition,
        changes: Sequence[Change],
        outbox: Sequence[Notification] = (),
        impacted_by: str | None = None,
    ) -> None:
        self._blip("commit_transition", transition.service_id)
        await super().commit_transition(transition, changes, outbox, impacted_by)

    async def enqueue(self, items: Sequence[Notification]) -> None:
        self._blip("enqueue")
        await super().enqueue(items)

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        self._blip("mark_sent")
        await super().mark_sent(notification_id, now)


# --- driving the daemon ------------------------------------------------------------------


async def probe(rig: Rig, minutes: float = 1) -> None:
    """Advance the clock and run every probe once through the daemon's scheduled job."""
    rig.clock.now += timedelta(minutes=minutes)
    for index, group in enumerate(rig.daemon.groups):
        await rig.daemon._job(f"probe-{index}", group, rig.fetcher)


async def escalate(rig: Rig, minutes: float = 0) -> None:
    """Advance the clock, run the daemon's escalation pass, deliver what is due."""
    rig.clock.now += timedelta(minutes=minutes)
    await rig.daemon._tick()
    await rig.daemon.outbox.dispatch_due()


async def tick(rig: Rig, minutes: float = 1) -> None:
    await probe(rig, minutes)
    await escalate(rig)


async def restart(rig: Rig, *, store: type[Store] = Store, config: Config | None = None) -> None:
    """Stop the daemon and start it again on the same database (like ``Rig.restart``),
    optionally on another ``Store`` class or configuration."""
    await rig.daemon.aclose()
    await rig.store.close()
    rig.config = config or rig.config
    rig.store = await store.open(f"sqlite:///{rig.db}")
    rig.daemon = Daemon(rig.config, rig.store, clock=rig.clock, fetcher=rig.fetcher)
    await rig.daemon.monitor.resume()


def confirming_twice(config: Config) -> Config:
    """``failures_before_alert: 2``: an outage is dated from its first failure, a probe
    before it is confirmed (so a root cause can open "before" a dependent already alerted)."""
    defaults = config.defaults.model_copy(update={"failures_before_alert": 2})
    return config.model_copy(update={"defaults": defaults})


@asynccontextmanager
async def running(http_peer: HttpPeer, tmp_path: Path, **options: Any) -> AsyncIterator[Rig]:
    """``make_rig``, closed (peers stopped, database closed) even when the test fails."""
    async with aclosing(make_rig(http_peer, tmp_path, **options)) as rigs:  # type: ignore[type-var]
        async for rig in rigs:
            yield rig


@asynccontextmanager
async def flaky(http_peer: HttpPeer, tmp_path: Path) -> AsyncIterator[tuple[Rig, FlakyStore]]:
    """A rig whose daemon runs on a ``FlakyStore``."""
    async with running(http_peer, tmp_path) as rig:
        await restart(rig, store=FlakyStore)
        assert isinstance(rig.store, FlakyStore)
        yield rig, rig.store


async def stored(rig: Rig, incident: Incident) -> Incident:
    found = await rig.store.incident(incident.id)
    assert found is not None
    return found


# --- database errors (r2, r3) ----------------------------------------------------------------


async def test_store_error_recording_an_outage_does_not_silence_it(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with flaky(http_peer, tmp_path) as (rig, store):
        await tick(rig)
        store.fail_once("commit_transition", "finance")
        rig.set(finance=False)
        await tick(rig)  # the outage is seen, but recording it fails
        assert store.fired == ["commit_transition"]
        assert rig.mails("DOWN") == []
        await tick(rig)  # the next result makes the change again
        assert rig.mails("DOWN") == [("sam@oak.example", DOWN_FINANCE)]
        incident = rig.daemon.monitor.open_incident("finance")
        assert incident is not None and incident.id in {
            i.id for i in (await rig.store.open_incidents()).values()
        }


async def test_failed_enqueue_at_recovery_does_not_lose_the_recovery_notices(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with flaky(http_peer, tmp_path) as (rig, store):
        await tick(rig)
        rig.set(finance=False)
        await tick(rig)
        assert rig.mails("DOWN") == [("sam@oak.example", DOWN_FINANCE)]
        incident = rig.daemon.monitor.open_incident("finance")
        assert incident is not None
        # Before the fix the recovery notices were queued by a separate ``enqueue`` after the
        # resolution had been committed, and a failure there lost them for good. Now they
        # commit with the resolution, so this fault need not fire at all: what matters is
        # that the RECOVERED mail arrives.
        store.fail_once("enqueue")
        rig.set(finance=True)
        await tick(rig)
        await tick(rig, 5)
        assert [to for to, _ in rig.mails("RECOVERED")] == ["sam@oak.example"]
        assert (await stored(rig, incident)).resolved_at is not None


async def test_store_error_recording_a_recovery_does_not_leave_the_incident_open(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with flaky(http_peer, tmp_path) as (rig, store):
        await tick(rig)
        rig.set(finance=False)
        await tick(rig)
        incident = rig.daemon.monitor.open_incident("finance")
        assert incident is not None
        store.fail_once("commit_transition", "finance")
        rig.set(finance=True)
        await tick(rig)  # the recovery is seen, but recording it fails
        assert store.fired == ["commit_transition"]
        assert rig.mails("RECOVERED") == []
        await tick(rig)  # the next result recovers it again
        assert [to for to, _ in rig.mails("RECOVERED")] == ["sam@oak.example"]
        assert rig.daemon.monitor.open_incident("finance") is None
        assert (await stored(rig, incident)).resolved_at is not None


# --- flapping (r11, r1) ----------------------------------------------------------------------


async def test_flapping_root_cause_that_settles_releases_a_dependent_still_down(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, flapping="{window: 30m, max_changes: 1}") as rig:
        await tick(rig)
        rig.set(internet=False)
        await tick(rig)
        rig.set(mis=False)
        await tick(rig)
        assert rig.daemon.monitor.impacted_by("mis") == "internet"
        for _ in range(3):  # the internet flaps; the MIS stays down throughout
            rig.set(internet=True)
            await tick(rig)
            rig.set(internet=False)
            await tick(rig)
        rig.set(internet=True)
        await tick(rig)
        assert rig.daemon.monitor.open_incident("internet") is not None  # held: flapping
        assert rig.mails("DOWN: MIS") == []

        await tick(rig, 31)  # the internet has been stable for the window: it settles
        assert "jo@oak.example" in [to for to, _ in rig.mails("RECOVERED: School internet")]
        # the MIS is still down, and now for reasons of its own
        assert rig.mails("DOWN: MIS") == [("jo@oak.example", DOWN_MIS)]
        assert rig.daemon.monitor.open_incident("mis") is not None
        assert rig.daemon.monitor.impacted_by("mis") is None


async def flap_mis(rig: Rig) -> None:
    """09:02-09:09: the MIS goes down and up four times and ends up; held open."""
    await tick(rig)
    for minute in range(8):
        rig.set(mis=minute % 2 == 1)
        await tick(rig)
    assert rig.mails("DOWN: MIS") == [("jo@oak.example", DOWN_MIS)]
    assert rig.daemon.monitor.open_incident("mis") is not None  # held: flapping
    assert rig.mails("RECOVERED") == []


async def test_incident_held_open_by_flapping_settles_after_a_restart(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, flapping="{window: 30m, max_changes: 1}") as rig:
        await flap_mis(rig)
        incident = rig.daemon.monitor.open_incident("mis")
        assert incident is not None
        await restart(rig)
        for _ in range(5):  # 09:34: the escalation step (09:32) has passed while it is held
            await tick(rig, 5)
        assert rig.mails("ESCALATED") == [] and rig.sms() == []
        await tick(rig, 5)  # 09:39: stable for the window since 09:09: it settles
        assert "jo@oak.example" in [to for to, _ in rig.mails("RECOVERED: MIS")]
        assert rig.daemon.monitor.open_incident("mis") is None
        assert (await stored(rig, incident)).resolved_at is not None
        sent = len(rig.smtp.messages)
        for _ in range(30):  # two and a half hours more, the MIS up all along
            await tick(rig, 5)
        assert len(rig.smtp.messages) == sent and rig.mails("REMINDER") == []


async def test_settling_flapping_incident_escalates_to_nobody(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, flapping="{window: 30m, max_changes: 1}") as rig:
        await flap_mis(rig)
        for _ in range(8):  # 09:49: settled at 09:39, after the escalation step (09:32)
            await tick(rig, 5)
        assert rig.daemon.monitor.open_incident("mis") is None
        assert rig.mails("ESCALATED") == [] and rig.sms() == []
        assert [to for to, _ in rig.mails("RECOVERED")] == ["jo@oak.example"]


# --- dependencies (r4, r6) -------------------------------------------------------------------


async def test_dependent_already_alerted_is_not_folded_into_a_later_root_cause(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, group_window="60s") as rig:
        await restart(rig, config=confirming_twice(rig.config))
        await probe(rig)  # 09:01
        rig.set(mis=False)
        await probe(rig)  # 09:02: the MIS fails once
        rig.set(internet=False)
        await probe(rig, 0.5)  # 09:02:30: the MIS is confirmed down (since 09:02)
        mis = rig.daemon.monitor.open_incident("mis")
        assert mis is not None
        await escalate(rig, 0.5)  # 09:03: the group window has passed: Jo is told
        assert rig.mails("DOWN") == [("jo@oak.example", DOWN_MIS)]

        # 09:03:15: the internet is confirmed down since 09:02:30, within the MIS's window
        await probe(rig, 0.25)
        assert rig.daemon.monitor.open_incident("internet") is not None
        still = rig.daemon.monitor.open_incident("mis")
        assert still is not None and still.id == mis.id  # Jo was told: it stays Jo's incident
        assert (await stored(rig, mis)).resolved_at is None
        await escalate(rig, 0.5)

        rig.set(internet=True, mis=True)
        await tick(rig)
        assert [to for to, _ in rig.mails("RECOVERED: MIS")] == ["jo@oak.example"]
        assert (await stored(rig, mis)).resolved_at is not None


async def test_absorbed_dependent_is_released_after_a_restart(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, group_window="60s") as rig:
        await tick(rig)
        rig.set(mis=False)
        await tick(rig)  # 09:02: the MIS's check ran first: an incident of its own
        rig.set(internet=False)
        await tick(rig, 0.5)  # 09:02:30: the internet, within the window: the MIS is folded in
        assert rig.daemon.monitor.open_incident("mis") is None
        assert rig.daemon.monitor.impacted_by("mis") == "internet"

        await restart(rig)
        await tick(rig)
        rig.set(internet=True)  # the internet comes back; the MIS is still down
        await tick(rig)
        await tick(rig)
        await tick(rig)
        assert [to for to, _ in rig.mails("RECOVERED: School internet")] == ["jo@oak.example"]
        assert rig.mails("DOWN: MIS") == [("jo@oak.example", DOWN_MIS)]
        assert rig.daemon.monitor.open_incident("mis") is not None


# --- acknowledgement (r5) --------------------------------------------------------------------


async def test_acknowledging_one_incident_leaves_a_separately_alerted_one_alone(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path, group_window="60s") as rig:
        await restart(rig, config=confirming_twice(rig.config))
        await probe(rig)  # 09:01
        rig.set(finance=False)
        await probe(rig)  # 09:02: finance fails once
        rig.set(mis=False)
        await probe(rig, 0.5)  # 09:02:30: finance confirmed (since 09:02); the MIS fails once
        await escalate(rig, 0.5)  # 09:03: finance's alert, on its own
        await probe(rig, 0.25)  # 09:03:15: the MIS confirmed (since 09:02:30)
        await escalate(rig, 0.25)  # 09:03:30: the MIS's alert, on its own
        assert rig.mails("DOWN") == [
            ("jo@oak.example", DOWN_MIS),
            ("sam@oak.example", DOWN_FINANCE),
        ]
        mis = rig.daemon.monitor.open_incident("mis")
        finance = rig.daemon.monitor.open_incident("finance")
        assert mis is not None and finance is not None

        runner, base = await serve_web(rig)  # Sam acknowledges finance from the mail's link
        try:
            async with httpx.AsyncClient() as client:
                done = await client.post(
                    base + ack_path(rig, "sam@oak.example"), data={"name": "Sam Okafor"}
                )
            assert done.status_code == 200 and "acknowledged by Sam Okafor" in done.text
        finally:
            await runner.cleanup()
        assert (await stored(rig, finance)).acknowledged_by == "Sam Okafor"
        assert (await stored(rig, mis)).acknowledged_at is None  # nobody told Sam of the MIS

        await escalate(rig, 31)  # so the MIS's escalation goes on
        assert [to for to, _ in rig.mails("ESCALATED: MIS")] == [
            "head@oak.example",
            "sam@oak.example",
        ]


# --- provider updates (r7) -------------------------------------------------------------------


async def test_provider_post_arriving_with_a_status_change_is_sent_as_an_update(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with running(http_peer, tmp_path) as rig:
        await tick(rig)
        rig.peer.set_json(
            "/api/v2/summary.json",
            summary("degraded_performance", update="Investigating the cause"),
        )
        await tick(rig)
        assert [to for to, _ in rig.mails("DOWN: MIS")] == ["jo@oak.example"]
        assert rig.mails("UPDATE") == []
        # the MIS gets worse and Arbor posts, both seen by the same probe
        rig.peer.set_json(
            "/api/v2/summary.json", summary("major_outage", update="Fix is being deployed")
        )
        await tick(rig)
        await tick(rig)
        updates = rig.mails("UPDATE")
        assert [to for to, _ in updates] == ["jo@oak.example"]
        body = rig.smtp.text(next(m for m in rig.smtp.messages if "UPDATE" in str(m["Subject"])))
        assert "Fix is being deployed" in body


async def test_a_store_error_marking_a_message_sent_does_not_send_it_again(
    http_peer: HttpPeer, tmp_path: Path
) -> None:
    async with flaky(http_peer, tmp_path) as (rig, store):
        await tick(rig)
        store.fail_once("mark_sent")
        rig.set(finance=False)
        await tick(rig)  # the DOWN goes out, but recording that fails
        assert store.fired == ["mark_sent"] and len(rig.mails("DOWN: Finance")) == 1
        for _ in range(3):
            await escalate(rig, 1)  # later passes record it instead of sending it again
        assert len(rig.mails("DOWN: Finance")) == 1
        states = {n.key: n.state for n in await rig.store.notifications()}
        assert [s for k, s in states.items() if "/down/0/email/" in k] == ["sent"]
