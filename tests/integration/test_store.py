"""The store against a real database file. Parametrised by backend so every engine runs the
same suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from peers import database_url

from monitor.errors import StoreError
from monitor.incidents import apply
from monitor.model import CheckResult, EventKind, IncidentEvent, Message, Status, Transition
from monitor.store import Notification, Store, async_url, redact

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(await database_url(request.param, tmp_path))
    try:
        yield s
    finally:
        await s.close()


def note(key: str, at: datetime = T0, incident: str | None = "i1") -> Notification:
    message = Message("[Lifeline] DOWN: MIS", "text", "<p>html</p>", Status.MAJOR_OUTAGE)
    return Notification(key, "email", "jo@example.org", "down", message, at, incident, "jo")


def transition(old: Status, new: Status, minute: int) -> Transition:
    return Transition("mis", old, new, T0 + timedelta(minutes=minute), f"cause {minute}")


async def test_results_are_kept_until_purged(store: Store) -> None:
    rows = [
        ("mis", CheckResult("mis#0", Status.UP, f"ok {i}", T0 + timedelta(days=i), 0.01))
        for i in range(5)
    ]
    await store.record_results(rows)
    assert await store.purge_results(T0 + timedelta(days=2)) == 2
    recent = await store.recent_results("mis")
    assert [r.summary for r in recent] == ["ok 4", "ok 3", "ok 2"]
    assert (
        recent[0].observed_at == T0 + timedelta(days=4) and recent[0].observed_at.tzinfo is not None
    )


async def test_transitions_make_contiguous_spans_and_one_incident(store: Store) -> None:
    incident = None
    for old, new, minute in [
        (Status.UNKNOWN, Status.UP, 0),
        (Status.UP, Status.MAJOR_OUTAGE, 10),
        (Status.MAJOR_OUTAGE, Status.UP, 25),
    ]:
        t = transition(old, new, minute)
        change = apply(incident, t, "i1")
        await store.commit_transition(t, [change], [note(f"k{minute}")] if change.opened else [])
        incident = change.incident
    spans = await store.spans("mis", T0, T0 + timedelta(hours=1))
    assert [(s.status, s.started_at, s.ended_at) for s in spans] == [
        (Status.UP, T0, T0 + timedelta(minutes=10)),
        (Status.MAJOR_OUTAGE, T0 + timedelta(minutes=10), T0 + timedelta(minutes=25)),
        (Status.UP, T0 + timedelta(minutes=25), None),
    ]
    assert (await store.open_spans())["mis"].status is Status.UP
    assert await store.open_incidents() == {}
    stored = await store.incident("i1")
    assert stored is not None and stored.resolved_at == T0 + timedelta(minutes=25)
    assert [e.kind for e in stored.events] == [EventKind.OPENED, EventKind.RESOLVED]
    # only spans overlapping the window come back
    assert [
        s.status
        for s in await store.spans("mis", T0 + timedelta(minutes=12), T0 + timedelta(minutes=13))
    ] == [Status.MAJOR_OUTAGE]


async def test_enqueue_is_idempotent_by_key(store: Store) -> None:
    await store.enqueue([note("i1/down/jo/email")])
    await store.enqueue([note("i1/down/jo/email"), note("i1/down/sam/email")])
    assert [n.key for n in await store.notifications()] == ["i1/down/jo/email", "i1/down/sam/email"]


async def test_outbox_states(store: Store) -> None:
    await store.enqueue([note("a"), note("b"), note("c")])
    a, b, c = await store.notifications()
    assert a.id and b.id and c.id
    await store.mark_sent(a.id, T0)
    await store.mark_retry(b.id, "connection refused", T0 + timedelta(seconds=30))
    await store.mark_failed(c.id, "550 no such user")
    assert [n.key for n in await store.due_notifications(T0)] == []
    assert [n.key for n in await store.due_notifications(T0 + timedelta(seconds=30))] == ["b"]
    assert await store.next_due() == T0 + timedelta(seconds=30)
    states = {n.key: (n.state, n.attempts, n.last_error) for n in await store.notifications()}
    assert states == {
        "a": ("sent", 1, None),
        "b": ("pending", 1, "connection refused"),
        "c": ("failed", 1, "550 no such user"),
    }


async def test_events_can_be_added_to_an_incident(store: Store) -> None:
    t = transition(Status.UP, Status.DEGRADED, 0)
    change = apply(None, t, "i9")
    await store.commit_transition(t, [change])
    await store.add_event(
        "i9", IncidentEvent(T0 + timedelta(minutes=1), EventKind.NOTE, "Paper registers in use")
    )
    stored = await store.incident("i9")
    assert stored is not None and stored.events[-1].text == "Paper registers in use"


def test_database_urls() -> None:
    assert async_url("sqlite:///lifeline.db") == "sqlite+aiosqlite:///lifeline.db"
    assert async_url("postgresql://u:p@db/lifeline") == "postgresql+asyncpg://u:p@db/lifeline"
    with pytest.raises(StoreError, match="unsupported database URL") as info:
        async_url("mysql://u:hunter2@db/x")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in redact("postgresql://u:hunter2@db/x")


async def test_unwritable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open database .*missing-dir does not exist"):
        await Store.open(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
