"""The monitor: wires checks, tracker, incidents, store and outbox together.

``Monitor.handle`` is the single entry for new check results; it runs under one lock so the
service states, the open incidents and the store never disagree. Everything it decides comes
from the pure core (``tracker.observe``, ``incidents.apply``, ``alerts.plan``); this module
only moves data between them and the store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor import alerts
from monitor.config import Config, check_id
from monitor.incidents import Change, apply
from monitor.model import CheckResult, Incident, Status, Transition
from monitor.outbox import Outbox
from monitor.store import Store
from monitor.tracker import ServiceState, Thresholds, observe, resumed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def new_incident_id(service_id: str, at: datetime) -> str:
    """Readable and unique: ``mis-20261204-0912-3fa1``."""
    return f"{service_id}-{at:%Y%m%d-%H%M}-{secrets.token_hex(2)}"


class Monitor:
    def __init__(self, config: Config, store: Store, outbox: Outbox, clock: Clock) -> None:
        self.config = config
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._thresholds = Thresholds(
            config.defaults.failures_before_alert, config.defaults.successes_before_recovery
        )
        self._states: dict[str, ServiceState] = {s.id: ServiceState(s.id) for s in config.services}
        self._open: dict[str, Incident] = {}
        self._lock = asyncio.Lock()
        self._unwritten: list[tuple[str, CheckResult]] = []
        self.transitions: list[Transition] = []  # this run's, newest last (for CLI output)

    async def resume(self) -> None:
        """Pick up where the last run stopped: service statuses and open incidents."""
        spans = await self._store.open_spans()
        self._open = {
            sid: i for sid, i in (await self._store.open_incidents()).items() if sid in self._states
        }
        for service in self.config.services:
            span = spans.get(service.id)
            if span is not None and span.status is not Status.UNKNOWN:
                ids = [check_id(service.id, i) for i in range(len(service.checks))]
                self._states[service.id] = resumed(service.id, span.status, span.started_at, ids)
        if self._open:
            log.info(
                "resumed %d open incident(s): %s", len(self._open), ", ".join(sorted(self._open))
            )

    def status(self, service_id: str) -> ServiceState:
        return self._states[service_id]

    def open_incident(self, service_id: str) -> Incident | None:
        return self._open.get(service_id)

    async def handle(self, results: Sequence[tuple[str, CheckResult]]) -> list[Transition]:
        """Apply thresholds to ``results`` and act on every transition they cause.

        Transitions, incidents and notifications are committed before this returns; the raw
        results are buffered for ``flush`` (one transaction a second instead of one per probe).
        """
        self._unwritten.extend(results)
        transitions = []
        async with self._lock:
            for service_id, result in results:
                state, transition = observe(self._states[service_id], result, self._thresholds)
                self._states[service_id] = state
                if transition is not None:
                    await self._on_transition(transition)
                    transitions.append(transition)
        return transitions

    async def flush(self) -> int:
        """Write buffered raw results; return how many. Safe to call at any time."""
        batch, self._unwritten = self._unwritten, []
        try:
            await self._store.record_results(batch)
        except Exception:
            self._unwritten[:0] = batch  # keep them for the next flush
            raise
        return len(batch)

    async def _on_transition(self, t: Transition) -> None:
        log.info("%s: %s -> %s (%s)", t.service_id, t.old.value, t.new.value, t.cause)
        self.transitions.append(t)
        current = self._open.get(t.service_id)
        change = apply(current, t, new_incident_id(t.service_id, t.at))
        outbox = []
        if change.incident is not None and (change.opened or change.resolved):
            told = await self._store.notifications(change.incident.id) if change.resolved else []
            outbox = alerts.plan(self.config, change, told, self._clock())
        await self._store.commit_transition(t, change, outbox)
        self._remember(change)
        if outbox:
            self._outbox.wake()

    def _remember(self, change: Change) -> None:
        incident = change.incident
        if incident is None:
            return
        if incident.is_open:
            self._open[incident.service_id] = incident
        else:
            self._open.pop(incident.service_id, None)
