"""The outbox dispatcher: delivers stored notifications, retrying with backoff.

Notifications are written to the store (``Store.commit_transition``/``enqueue``) before any
attempt. The dispatcher sends what is due, marks it sent, and on a temporary failure
(``NotifierError(permanent=False)``: SMTP server down, timeout) schedules the next attempt
with exponential backoff. A permanent failure (address refused, bad credentials) is marked
failed and written on the incident's timeline; if the notification names fallback addresses
(an SMS or chat message), the same message is queued by email to them. A channel with a
``rate_limit`` (an SMS budget) that has spent it falls back to email the same way. A crash
between sending and marking re-sends that one message at most once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from monitor.durations import format_duration
from monitor.errors import NotifierError, StoreError
from monitor.model import EventKind, IncidentEvent
from monitor.store import Notification, Store

log = logging.getLogger(__name__)

Sender = Callable[[Notification], Awaitable[None]]
Clock = Callable[[], datetime]


def backoff(attempts: int, initial: timedelta, maximum: timedelta) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones (1 → initial, doubling, capped)."""
    return min(maximum, initial * (1 << min(30, max(0, attempts - 1))))


class Outbox:
    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        retry_initial: timedelta,
        retry_max: timedelta,
        describe: Callable[[Notification], str] = lambda n: n.recipient,
        limits: Mapping[str, tuple[int, timedelta]] | None = None,
    ) -> None:
        self._store = store
        self._senders = senders
        self._clock = clock
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._describe = describe
        self._limits = dict(limits or {})
        self._delivered: set[int] = set()  # sent but not yet marked so in the store
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the running loop to look for due notifications now."""
        self._wake.set()

    async def dispatch_due(self) -> int:
        """Attempt every notification due now once; return how many were delivered."""
        delivered = 0
        for notification in await self._store.due_notifications(self._clock(), limit=200):
            if await self._attempt(notification):
                delivered += 1
        return delivered

    async def _attempt(self, n: Notification) -> bool:
        assert n.id is not None
        if n.id in self._delivered:  # sent, but the store could not record it: just record
            return await self._record_sent(n)
        sender = self._senders.get(n.channel)
        try:
            if sender is None:
                raise NotifierError(f"no channel named {n.channel!r} is configured", permanent=True)
            await self._within_limit(n)
            await sender(n)
        except NotifierError as exc:
            now = self._clock()
            if exc.permanent:
                log.error("delivery to %s failed permanently: %s", self._describe(n), exc.reason)
                await self._store.mark_failed(n.id, exc.reason)
                text = f"Could not send by {n.channel} to {self._describe(n)}: {exc.reason}"
                if n.fallback:
                    text += f"; sent by email to {', '.join(n.fallback)} instead"
                    await self._store.enqueue([self._fallback(n, a, now) for a in n.fallback])
                    self.wake()
                await self._event(n, now, EventKind.DELIVERY_FAILED, text)
            else:
                delay = backoff(n.attempts + 1, self._retry_initial, self._retry_max)
                log.warning(
                    "delivery to %s failed (attempt %d), retrying in %ss: %s",
                    self._describe(n),
                    n.attempts + 1,
                    int(delay.total_seconds()),
                    exc.reason,
                )
                await self._store.mark_retry(n.id, exc.reason, now + delay)
            return False
        log.info("sent %s %s to %s", n.kind, n.channel, self._describe(n))
        self._delivered.add(n.id)
        return await self._record_sent(n)

    async def _record_sent(self, n: Notification) -> bool:
        """Mark ``n`` sent. While the store refuses, ``n`` stays remembered as delivered, so
        the next pass records it instead of sending it again."""
        assert n.id is not None
        now = self._clock()
        try:
            await self._store.mark_sent(n.id, now)
        except StoreError as exc:
            log.warning(
                "sent %s to %s but could not record it (%s); will record it",
                n.kind,
                self._describe(n),
                exc,
            )
            return False
        self._delivered.discard(n.id)
        await self._event(
            n,
            now,
            EventKind.NOTIFIED,
            f"{n.kind.upper()} sent by {n.channel} to {self._describe(n)}",
        )
        return True

    @staticmethod
    def _fallback(n: Notification, address: str, now: datetime) -> Notification:
        return replace(
            n,
            key=f"{n.key}/fallback/{address}",
            channel="email",
            recipient=address,
            created_at=now,
            fallback=(),
            id=None,
            attempts=0,
            last_error=None,
        )

    async def _within_limit(self, n: Notification) -> None:
        limit = self._limits.get(n.channel)
        if limit is None:
            return
        count, per = limit
        if await self._store.sent_count(n.channel, self._clock() - per) >= count:
            raise NotifierError(
                f"the {n.channel} budget of {count} per {format_duration(per)} is spent",
                permanent=True,
            )

    async def _event(self, n: Notification, at: datetime, kind: EventKind, text: str) -> None:
        if n.incident_id is not None:
            await self._store.add_event(n.incident_id, IncidentEvent(at, kind, text))

    async def run(self, stop: asyncio.Event, idle: timedelta = timedelta(seconds=30)) -> None:
        """Deliver until ``stop`` is set: on wake-ups, when a retry falls due, or every ``idle``."""
        while not stop.is_set():
            self._wake.clear()  # before dispatching, so a wake-up during it is not lost
            try:
                await self.dispatch_due()
                next_due = await self._store.next_due()
            except Exception:  # the loop must outlive a bad moment of the database
                log.exception("outbox dispatch failed; will try again")
                next_due = None
            wait = idle.total_seconds()
            if next_due is not None:
                wait = max(0.0, min(wait, (next_due - self._clock()).total_seconds()))
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()
