"""The store: everything Lifeline must not forget, behind one small async interface.

SQLAlchemy Core over an async driver: ``sqlite:///path.db`` (the default, aiosqlite) or
``postgresql://…`` (asyncpg). Tables:

- ``check_results``: raw observations, purged after ``defaults.retention``;
- ``status_spans``: one row per period a service held a status (written on every transition,
  so uptime can be recomputed at any time);
- ``incidents`` and ``incident_events``: each incident and its timeline;
- ``notifications``: the outbox. A row is written before the message is sent and marked after;
  its unique ``key`` makes a notification happen once per incident/contact/kind/channel.

A transition, its incident change and the notifications it causes commit in one transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from monitor.errors import StoreError
from monitor.incidents import Change
from monitor.model import (
    CheckResult,
    EventKind,
    Incident,
    IncidentEvent,
    Message,
    ProviderIncident,
    Status,
    Transition,
)

DEFAULT_URL = "sqlite:///lifeline.db"


class BadDatabaseUrl(StoreError):
    """The database URL itself is wrong (a usage error, not an outage)."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

check_results = sa.Table(
    "check_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("check_id", sa.String(200), nullable=False),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("observed_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("latency", sa.Float),
    sa.Index("ix_check_results_service_time", "service_id", "observed_at"),
    sa.Index("ix_check_results_time", "observed_at"),
)

status_spans = sa.Table(
    "status_spans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("cause", sa.Text, nullable=False, server_default=""),
    sa.Column("impacted_by", sa.String(64)),  # the root cause when down only because of it
    sa.Index("ix_spans_service_time", "service_id", "started_at"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("service_id", sa.String(64), nullable=False, index=True),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("worst", sa.String(20), nullable=False),
    sa.Column("provider_incidents", sa.Text, nullable=False, server_default="[]"),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.Text),
    sa.Column("ack_note", sa.Text),
    sa.Column("impacted", sa.Text, nullable=False, server_default="[]"),
)

incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id", sa.String(120), sa.ForeignKey("incidents.id"), nullable=False, index=True
    ),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20)),
    sa.Column("text", sa.Text, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(400), nullable=False, unique=True),
    sa.Column("incident_id", sa.String(120), index=True),
    sa.Column("contact_id", sa.String(64)),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("parts", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column(
        "fallback", sa.Text, nullable=False, server_default=""
    ),  # emails if this channel fails
    sa.Index("ix_notifications_due", "state", "next_attempt_at"),
)


@dataclass(frozen=True)
class Span:
    service_id: str
    status: Status
    started_at: datetime
    ended_at: datetime | None
    cause: str = ""
    impacted_by: str | None = None


@dataclass(frozen=True)
class Notification:
    """One message to one recipient over one channel; ``key`` makes it happen once."""

    key: str
    channel: str
    recipient: str
    kind: str
    message: Message
    created_at: datetime
    incident_id: str | None = None
    contact_id: str | None = None
    id: int | None = None
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    fallback: tuple[str, ...] = ()  # email addresses to use if this channel fails for good


def async_url(url: str) -> str:
    """Map the user-facing URL onto the async driver SQLAlchemy needs; StoreError when it is
    not a URL Lifeline can use."""
    try:
        sa.engine.make_url(url)
    except (ValueError, sa.exc.ArgumentError):
        raise BadDatabaseUrl(f"invalid database URL {redact(url)!r}") from None
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise BadDatabaseUrl(
        f"unsupported database URL {redact(url)!r}: use sqlite:///FILE or postgresql://…"
    )


def redact(url: str) -> str:
    """The URL without any password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


class Store:
    """Async store. Create with ``await Store.open(url)``; ``await store.close()`` when done."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str = DEFAULT_URL) -> Store:
        _check_sqlite_path(url)
        try:
            engine = create_async_engine(async_url(url))
        except ImportError:
            raise StoreError(
                "PostgreSQL needs the asyncpg package: pip install 'lifeline-monitor[postgres]'"
            ) from None
        except (ValueError, sa.exc.ArgumentError) as exc:
            raise BadDatabaseUrl(f"invalid database URL {redact(url)!r}: {_short(exc)}") from None
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StoreError(f"cannot open database {redact(url)}: {_short(exc)}") from None
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    # --- check results -------------------------------------------------------------------

    async def record_results(self, rows: Sequence[tuple[str, CheckResult]]) -> None:
        """Append observations; ``rows`` pairs each result with its service id."""
        if not rows:
            return
        values = [
            {
                "check_id": r.check_id,
                "service_id": service_id,
                "observed_at": r.observed_at,
                "status": r.status.value,
                "summary": r.summary[:1000],
                "latency": r.latency,
            }
            for service_id, r in rows
        ]
        async with self._begin() as conn:
            await conn.execute(check_results.insert(), values)

    async def purge_results(self, before: datetime) -> int:
        async with self._begin() as conn:
            result = await conn.execute(
                check_results.delete().where(check_results.c.observed_at < before)
            )
        return int(result.rowcount or 0)

    async def recent_results(self, service_id: str, limit: int = 50) -> list[CheckResult]:
        query = (
            sa.select(check_results)
            .where(check_results.c.service_id == service_id)
            .order_by(check_results.c.observed_at.desc(), check_results.c.id.desc())
            .limit(limit)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            CheckResult(
                r["check_id"], Status(r["status"]), r["summary"], r["observed_at"], r["latency"]
            )
            for r in rows
        ]

    # --- transitions, spans and incidents --------------------------------------------------

    async def commit_transition(
        self,
        transition: Transition,
        changes: Sequence[Change],
        outbox: Sequence[Notification] = (),
        impacted_by: str | None = None,
    ) -> None:
        """Record the span change, incident changes and notifications atomically."""
        async with self._begin() as conn:
            await _close_span(conn, transition.service_id, transition.at)
            await conn.execute(
                status_spans.insert().values(
                    service_id=transition.service_id,
                    status=transition.new.value,
                    started_at=transition.at,
                    cause=transition.cause[:1000],
                    impacted_by=impacted_by,
                )
            )
            for change in changes:
                if change.incident is not None:
                    await _save_incident(conn, change.incident, change.new_events, change.opened)
            await _enqueue(conn, outbox)

    async def save_changes(
        self, changes: Sequence[Change], outbox: Sequence[Notification] = ()
    ) -> None:
        """Incident changes without a status transition (provider updates, re-grouping)."""
        async with self._begin() as conn:
            for change in changes:
                if change.incident is not None:
                    await _save_incident(conn, change.incident, change.new_events, change.opened)
            await _enqueue(conn, outbox)

    async def acknowledge(
        self, incident_id: str, by: str, at: datetime, note: str | None = None
    ) -> Incident | None:
        """Acknowledge an open incident once; returns it as stored afterwards (None if unknown).

        A second acknowledgement changes nothing: the first one stands.
        """
        async with self._begin() as conn:
            result = await conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id, incidents.c.acknowledged_at.is_(None))
                .values(acknowledged_at=at, acknowledged_by=by[:200], ack_note=(note or None))
            )
            if result.rowcount:
                text = f"Acknowledged by {by}" + (f": {note}" if note else "")
                await conn.execute(
                    incident_events.insert().values(
                        incident_id=incident_id,
                        at=at,
                        kind=EventKind.ACKNOWLEDGED.value,
                        text=text[:4000],
                    )
                )
        return await self.incident(incident_id)

    async def notification_keys(self, incident_id: str, state: str | None = None) -> set[str]:
        """The keys of ``incident_id``'s notifications (only those in ``state``, if given)."""
        query = sa.select(notifications.c.key).where(notifications.c.incident_id == incident_id)
        if state is not None:
            query = query.where(notifications.c.state == state)
        async with self._connect() as conn:
            return set((await conn.execute(query)).scalars())

    async def add_event(self, incident_id: str, event: IncidentEvent) -> None:
        """Append one event to an incident's timeline (deliveries, failures, notes)."""
        async with self._begin() as conn:
            await conn.execute(
                incident_events.insert().values(
                    incident_id=incident_id,
                    at=event.at,
                    kind=event.kind.value,
                    status=event.status.value if event.status else None,
                    text=event.text[:4000],
                )
            )

    async def open_spans(self) -> dict[str, Span]:
        """The current span of every service that has one."""
        query = sa.select(status_spans).where(status_spans.c.ended_at.is_(None))
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {r["service_id"]: _span(r) for r in rows}

    async def spans(self, service_id: str, start: datetime, end: datetime) -> list[Span]:
        """Spans of ``service_id`` overlapping [start, end), oldest first (open ones included)."""
        query = (
            sa.select(status_spans)
            .where(
                status_spans.c.service_id == service_id,
                status_spans.c.started_at < end,
                sa.or_(status_spans.c.ended_at.is_(None), status_spans.c.ended_at > start),
            )
            .order_by(status_spans.c.started_at, status_spans.c.id)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_span(r) for r in rows]

    async def open_incidents(self) -> dict[str, Incident]:
        """Open incidents by service id, with their timelines."""
        return {i.service_id: i for i in await self._incidents(incidents.c.resolved_at.is_(None))}

    async def incident(self, incident_id: str) -> Incident | None:
        found = await self._incidents(incidents.c.id == incident_id)
        return found[0] if found else None

    async def list_incidents(
        self,
        service_id: str | None = None,
        limit: int | None = 100,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Incident]:
        """Incidents, newest first; with ``start``/``end`` only those overlapping [start, end)."""
        conditions = []
        if service_id:
            conditions.append(incidents.c.service_id == service_id)
        if end is not None:
            conditions.append(incidents.c.opened_at < end)
        if start is not None:
            conditions.append(
                sa.or_(incidents.c.resolved_at.is_(None), incidents.c.resolved_at > start)
            )
        return await self._incidents(sa.and_(sa.true(), *conditions), limit=limit)

    async def _incidents(self, where: Any, limit: int | None = None) -> list[Incident]:
        query = (
            sa.select(incidents).where(where).order_by(incidents.c.opened_at.desc()).limit(limit)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            ids = [r["id"] for r in rows]
            events: dict[str, list[IncidentEvent]] = {i: [] for i in ids}
            if ids:
                event_rows = (
                    await conn.execute(
                        sa.select(incident_events)
                        .where(incident_events.c.incident_id.in_(ids))
                        .order_by(incident_events.c.at, incident_events.c.id)
                    )
                ).mappings()
                for e in event_rows:
                    events[e["incident_id"]].append(
                        IncidentEvent(
                            e["at"],
                            EventKind(e["kind"]),
                            e["text"],
                            Status(e["status"]) if e["status"] else None,
                        )
                    )
        return [
            Incident(
                id=r["id"],
                service_id=r["service_id"],
                opened_at=r["opened_at"],
                resolved_at=r["resolved_at"],
                status=Status(r["status"]),
                worst=Status(r["worst"]),
                provider_incidents=_load_provider(r["provider_incidents"]),
                events=tuple(events[r["id"]]),
                acknowledged_at=r["acknowledged_at"],
                acknowledged_by=r["acknowledged_by"],
                ack_note=r["ack_note"],
                impacted=tuple(json.loads(r["impacted"] or "[]")),
            )
            for r in rows
        ]

    # --- outbox ----------------------------------------------------------------------------

    async def enqueue(self, items: Sequence[Notification]) -> None:
        async with self._begin() as conn:
            await _enqueue(conn, items)

    async def due_notifications(self, now: datetime, limit: int = 50) -> list[Notification]:
        query = (
            sa.select(notifications)
            .where(notifications.c.state == "pending", notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.next_attempt_at, notifications.c.id)
            .limit(limit)
        )
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_notification(r) for r in rows]

    async def next_due(self) -> datetime | None:
        query = sa.select(sa.func.min(notifications.c.next_attempt_at)).where(
            notifications.c.state == "pending"
        )
        async with self._connect() as conn:
            value = (await conn.execute(query)).scalar()
        if isinstance(value, str):  # SQLite's MIN() bypasses the column type
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    async def notifications(self, incident_id: str | None = None) -> list[Notification]:
        query = sa.select(notifications).order_by(notifications.c.id)
        if incident_id is not None:
            query = query.where(notifications.c.incident_id == incident_id)
        async with self._connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_notification(r) for r in rows]

    async def sent_count(self, channel: str, since: datetime) -> int:
        """How many notifications ``channel`` has delivered since ``since``."""
        query = sa.select(sa.func.count()).where(
            notifications.c.channel == channel,
            notifications.c.state == "sent",
            notifications.c.sent_at >= since,
        )
        async with self._connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        await self._update_notification(
            notification_id, state="sent", sent_at=now, attempts=notifications.c.attempts + 1
        )

    async def mark_retry(self, notification_id: int, error: str, next_at: datetime) -> None:
        await self._update_notification(
            notification_id,
            last_error=error[:500],
            next_attempt_at=next_at,
            attempts=notifications.c.attempts + 1,
        )

    async def mark_failed(self, notification_id: int, error: str) -> None:
        await self._update_notification(
            notification_id,
            state="failed",
            last_error=error[:500],
            attempts=notifications.c.attempts + 1,
        )

    async def _update_notification(self, notification_id: int, **values: Any) -> None:
        async with self._begin() as conn:
            await conn.execute(
                notifications.update().where(notifications.c.id == notification_id).values(**values)
            )

    # --- plumbing --------------------------------------------------------------------------

    def _begin(self) -> _Guard:
        return _Guard(self._engine, begin=True)

    def _connect(self) -> _Guard:
        return _Guard(self._engine, begin=False)


class _Guard:
    """A connection context that turns driver errors into StoreError."""

    def __init__(self, engine: AsyncEngine, *, begin: bool) -> None:
        self._cm = engine.begin() if begin else engine.connect()

    async def __aenter__(self) -> AsyncConnection:
        try:
            return await self._cm.__aenter__()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"database unavailable: {_short(exc)}") from None

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._cm.__aexit__(*exc_info)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"database error: {_short(exc)}") from None
        if exc_info[1] is not None and isinstance(exc_info[1], SQLAlchemyError):
            raise StoreError(f"database error: {_short(exc_info[1])}") from None


def _check_sqlite_path(url: str) -> None:
    """A clear error before the driver starts when a SQLite file cannot be created."""
    parsed = sa.engine.make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(parsed.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise StoreError(f"cannot open database {redact(url)}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise StoreError(f"cannot open database {redact(url)}: folder {folder} is not writable")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def _close_span(conn: AsyncConnection, service_id: str, at: datetime) -> None:
    await conn.execute(
        status_spans.update()
        .where(status_spans.c.service_id == service_id, status_spans.c.ended_at.is_(None))
        .values(ended_at=at)
    )


async def _save_incident(
    conn: AsyncConnection, incident: Incident, new_events: Sequence[IncidentEvent], created: bool
) -> None:
    # Acknowledgement columns are written only by ``acknowledge`` (another process may set
    # them while the daemon holds an older copy of the incident).
    values = {
        "service_id": incident.service_id,
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "status": incident.status.value,
        "worst": incident.worst.value,
        "provider_incidents": _dump_provider(incident.provider_incidents),
        "impacted": json.dumps(list(incident.impacted)),
    }
    if created:
        await conn.execute(incidents.insert().values(id=incident.id, **values))
    else:
        await conn.execute(incidents.update().where(incidents.c.id == incident.id).values(**values))
    if new_events:
        await conn.execute(
            incident_events.insert(),
            [
                {
                    "incident_id": incident.id,
                    "at": e.at,
                    "kind": e.kind.value,
                    "status": e.status.value if e.status else None,
                    "text": e.text[:4000],
                }
                for e in new_events
            ],
        )


async def _enqueue(conn: AsyncConnection, items: Sequence[Notification]) -> None:
    if not items:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "key": n.key,
            "incident_id": n.incident_id,
            "contact_id": n.contact_id,
            "channel": n.channel,
            "recipient": n.recipient,
            "kind": n.kind,
            "subject": n.message.subject,
            "body_text": n.message.text,
            "body_html": n.message.html,
            "severity": n.message.severity.value,
            "parts": _dump_parts(n.message),
            "created_at": n.created_at,
            "state": n.state,
            "next_attempt_at": n.created_at,
            "fallback": ",".join(n.fallback),
        }
        for n in items
    ]
    await conn.execute(insert(notifications).on_conflict_do_nothing(index_elements=["key"]), rows)


def _span(r: Any) -> Span:
    return Span(
        r["service_id"],
        Status(r["status"]),
        r["started_at"],
        r["ended_at"],
        r["cause"],
        r["impacted_by"],
    )


def _notification(r: Any) -> Notification:
    message = Message(
        r["subject"],
        r["body_text"],
        r["body_html"],
        Status(r["severity"]),
        **_load_parts(r["parts"]),
    )
    return Notification(
        key=r["key"],
        channel=r["channel"],
        recipient=r["recipient"],
        kind=r["kind"],
        message=message,
        created_at=r["created_at"],
        incident_id=r["incident_id"],
        contact_id=r["contact_id"],
        id=r["id"],
        state=r["state"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
        fallback=tuple(a for a in r["fallback"].split(",") if a),
    )


_PROVIDER_TIMES = ("updated_at", "started_at")


def _dump_provider(items: tuple[ProviderIncident, ...]) -> str:
    rows = []
    for p in items:
        row = asdict(p)
        for name in _PROVIDER_TIMES:
            row[name] = row[name].isoformat() if row[name] else None
        rows.append(row)
    return json.dumps(rows)


def _load_provider(text: str) -> tuple[ProviderIncident, ...]:
    items = []
    for raw in json.loads(text or "[]"):
        times = {name: raw.pop(name, None) for name in _PROVIDER_TIMES}
        known = {k: v for k, v in raw.items() if k in ProviderIncident.__dataclass_fields__}
        parsed = {k: datetime.fromisoformat(v) if v else None for k, v in times.items()}
        items.append(
            replace(
                ProviderIncident(**known),
                updated_at=parsed["updated_at"],
                started_at=parsed["started_at"],
            )
        )
    return tuple(items)


def _dump_parts(message: Message) -> str:
    """The structured parts chat and SMS channels build from (see ``Message``)."""
    return json.dumps(
        {
            "links": [list(x) for x in message.links],
            "facts": [list(x) for x in message.facts],
            "sections": [list(x) for x in message.sections],
            "short": message.short,
        }
    )


def _load_parts(text: str) -> dict[str, Any]:
    raw = json.loads(text or "{}")
    return {
        "links": tuple(tuple(x) for x in raw.get("links", [])),
        "facts": tuple(tuple(x) for x in raw.get("facts", [])),
        "sections": tuple(tuple(x) for x in raw.get("sections", [])),
        "short": raw.get("short", ""),
    }
