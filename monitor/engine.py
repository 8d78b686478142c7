"""The monitor: wires checks, tracker, incidents, escalation, store and outbox together.

``Monitor.handle`` takes new check results and ``Monitor.tick`` runs the clock (escalation
steps, reminders, acknowledgements, flap settling). Both run under one lock, so the service
states, the open incidents and the store never disagree. Every decision comes from the pure
core — ``tracker.observe``, ``incidents.apply``, ``escalation.plan``, ``alerts.build`` —
and this module only moves data between them and the store.

Fewer, truer alerts:

- **Maintenance**: inside a declared window a service's problems read as ``maintenance``.
- **Dependencies**: a service that fails while something it ``depends_on`` is down opens no
  incident of its own; the root cause's incident lists it as impacted. When the root
  recovers, dependents still failing open their own incidents.
- **Grouping**: the first alert of an incident waits ``alerting.group_window``; incidents of
  the same site or provider opened within that window go out in one message.
- **Flapping**: a service that changes state more than ``max_changes`` times in ``window`` is
  alerted once and its incident is held open until it has been stable for the window.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from monitor import alerts, correlation, escalation, maintenance
from monitor.acklinks import make_token
from monitor.config import Config, Service, check_id
from monitor.escalation import IncidentClock, Target
from monitor.incidents import Change, apply, merge_provider
from monitor.model import (
    CheckResult,
    EventKind,
    Incident,
    IncidentEvent,
    ProviderIncident,
    Status,
    Transition,
)
from monitor.outbox import Outbox
from monitor.render import Related
from monitor.store import Notification, Store
from monitor.tracker import ServiceState, Thresholds, is_flapping, observe, resumed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


MAX_UNWRITTEN = 200_000  # raw results kept in memory while the database is unreachable


def _post_number(update: ProviderIncident) -> int:
    """A stable number for one provider post (the same across restarts, unlike ``hash``)."""
    text = "\x1f".join((update.name, update.status, update.latest_update))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def new_incident_id(service_id: str, at: datetime) -> str:
    """Readable and unique: ``mis-20261204-0912-3fa1``."""
    return f"{service_id}-{at:%Y%m%d-%H%M}-{secrets.token_hex(2)}"


class Monitor:
    def __init__(
        self,
        config: Config,
        store: Store,
        outbox: Outbox,
        clock: Clock,
        *,
        channels: alerts.Channels | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._channels = channels or alerts.Channels(frozenset({escalation.EMAIL}), frozenset())
        self._thresholds = Thresholds(
            config.defaults.failures_before_alert, config.defaults.successes_before_recovery
        )
        self._states: dict[str, ServiceState] = {s.id: ServiceState(s.id) for s in config.services}
        self._open: dict[str, Incident] = {}
        self._impacted_by: dict[str, str] = {}  # dependent service -> root-cause service
        self._graph = {s.id: s.depends_on for s in config.services}
        self._changes: dict[str, list[datetime]] = {s.id: [] for s in config.services}
        self._flapping: set[str] = set()
        self._lock = asyncio.Lock()
        self._unwritten: list[tuple[str, CheckResult]] = []
        reachable = {
            channel: {
                c.id
                for c in config.contacts
                if (c.phone if channel in self._channels.phone else c.email)
            }
            for channel in self._channels.person
        }
        self._steps = {
            s.id: escalation.resolve(
                config.policy(s), s.notify, config.groups, set(self._channels.person), reachable
            )
            for s in config.services
        }
        self.transitions: deque[Transition] = deque(maxlen=1000)  # newest last (for the demo)

    # --- start-up ------------------------------------------------------------------------

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
            if span is not None and span.impacted_by in self._open:
                self._impacted_by[service.id] = span.impacted_by
        for sid, incident in self._open.items():
            # Dependents folded into a root cause (their spans may not say so).
            for dependent in incident.impacted:
                if dependent in self._states and dependent not in self._open:
                    status = self._states[dependent].status
                    if status.is_problem or status is Status.UNKNOWN:
                        self._impacted_by.setdefault(dependent, sid)
            # An open incident whose service is not down was being held open by flapping:
            # let it settle as it would have.
            if not incident.status.is_problem and incident.status is not Status.UNKNOWN:
                self._flapping.add(sid)
                span = spans.get(sid)
                self._changes[sid] = [span.started_at if span else incident.opened_at]
        if self._open:
            log.info(
                "resumed %d open incident(s): %s", len(self._open), ", ".join(sorted(self._open))
            )

    # --- queries -------------------------------------------------------------------------

    def status(self, service_id: str) -> ServiceState:
        return self._states[service_id]

    def open_incident(self, service_id: str) -> Incident | None:
        return self._open.get(service_id)

    def impacted_by(self, service_id: str) -> str | None:
        return self._impacted_by.get(service_id)

    # --- results -------------------------------------------------------------------------

    async def handle(self, results: Sequence[tuple[str, CheckResult]]) -> list[Transition]:
        """Apply thresholds to ``results`` and act on every transition they cause.

        Transitions, incidents and notifications are committed before this returns; the raw
        results are buffered for ``flush`` (one transaction a second instead of one per probe).
        """
        results = [(sid, self._in_maintenance(sid, r)) for sid, r in results]
        self._unwritten.extend(results)
        if len(self._unwritten) > MAX_UNWRITTEN:  # the database has been away a long time
            del self._unwritten[: len(self._unwritten) - MAX_UNWRITTEN]
        transitions = []
        async with self._lock:
            for service_id, result in results:
                state, transition = observe(self._states[service_id], result, self._thresholds)
                if transition is None:
                    self._states[service_id] = state
                    if result.incidents and service_id in self._open:
                        await self._guard(
                            f"{service_id}: provider news",
                            self._on_provider_news(
                                service_id, result.incidents, result.observed_at
                            ),
                        )
                    continue
                # The new state is kept only once the transition is recorded: if the store
                # fails now, the next result makes the same transition again.
                if await self._guard(
                    f"{service_id}: recording a change", self._on_transition(transition)
                ):
                    self._states[service_id] = state
                    transitions.append(transition)
        return transitions

    @staticmethod
    async def _guard(what: str, work: Awaitable[None]) -> bool:
        """Await ``work``; log a failure instead of raising (the caller decides what to keep)."""
        try:
            await work
        except Exception:
            log.exception("%s failed; will try again", what)
            return False
        return True

    async def flush(self) -> int:
        """Write buffered raw results; return how many. Safe to call at any time."""
        batch, self._unwritten = self._unwritten, []
        try:
            await self._store.record_results(batch)
        except Exception:
            self._unwritten[:0] = batch  # keep them for the next flush
            raise
        return len(batch)

    def _in_maintenance(self, service_id: str, result: CheckResult) -> CheckResult:
        if not result.status.is_problem or not self.config.maintenance:
            return result
        service = self.config.service(service_id)
        window = maintenance.active(
            self.config.maintenance,
            service_id,
            service.site,
            result.observed_at,
            self.config.organisation.tz,
        )
        if window is None:
            return result
        summary = f"maintenance window '{window.name}': {result.summary}"
        return replace(result, status=Status.MAINTENANCE, summary=summary)

    # --- transitions ---------------------------------------------------------------------

    async def _on_transition(self, t: Transition) -> None:
        log.info("%s: %s -> %s (%s)", t.service_id, t.old.value, t.new.value, t.cause)
        self.transitions.append(t)
        times = self._changes[t.service_id]
        times.append(t.at)
        window = self.config.alerting.flapping.window
        del times[: max(0, len(times) - 100)]
        if is_flapping(times, t.at, window, self.config.alerting.flapping.max_changes):
            self._flapping.add(t.service_id)

        root = self._impacted_by.get(t.service_id)
        if root is not None and root not in self._open:
            del self._impacted_by[t.service_id]  # its root cause has been resolved meanwhile
            root = None
        if root is not None:
            # Down (or out of sight: its status page is behind the same broken link) only
            # because of ``root``, or back on its feet.
            if t.new.is_problem or t.new is Status.UNKNOWN:
                await self._mark_impacted(t, root)
            else:
                await self._no_longer_impacted(t, root)
            return
        if t.new.is_problem and t.service_id not in self._open:
            root = self._root_cause(t.service_id)
            if root is not None:
                await self._mark_impacted(t, root)
                return

        current = self._open.get(t.service_id)
        change = apply(current, t, new_incident_id(t.service_id, t.at))
        if change.resolved and t.service_id in self._flapping:
            assert current is not None
            change = self._hold_while_flapping(current, t)
        changes = [change]
        if change.opened and change.incident is not None:
            changes = await self._absorb_dependents(change.incident, t.at)
            change = changes[0]
        # Notices that follow from this change commit with it, so a crash cannot lose them.
        outbox: list[Notification] = []
        if change.incident is not None and change.resolved:
            outbox = await self._due(change.incident, self._clock())  # the recovery notices
        elif change.incident is not None and change.updates and not change.opened:
            outbox = await self._update_notices(change.incident, change.updates, t.at)
        await self._store.commit_transition(t, changes, outbox)
        for c in changes:
            self._remember(c)
        if outbox:
            self._outbox.wake()
        if change.resolved and change.incident is not None:
            await self._release_dependents(change.incident, t.at)
        await self._guard("planning notifications", self._plan_and_send(self._clock()))

    def _root_cause(self, service_id: str) -> str | None:
        return correlation.root_cause(self._graph, service_id, set(self._open), self._impacted_by)

    def _depends_on(self, service_id: str, root: str) -> bool:
        return correlation.depends_on(self._graph, service_id, root)

    async def _mark_impacted(self, t: Transition, root: str) -> None:
        incident = self._open[root]
        name = self.config.service(t.service_id).name
        event = IncidentEvent(
            t.at, EventKind.IMPACTED, f"{name} impacted: {t.new.label} ({t.cause})", t.new
        )
        updated = replace(
            incident,
            impacted=tuple(dict.fromkeys([*incident.impacted, t.service_id])),
            events=incident.events + (event,),
        )
        self._impacted_by[t.service_id] = root
        await self._store.commit_transition(
            t, [Change(updated, new_events=(event,))], impacted_by=root
        )
        self._remember(Change(updated))
        log.info("%s is impacted by %s: no incident of its own", t.service_id, root)

    async def _no_longer_impacted(self, t: Transition, root: str) -> None:
        del self._impacted_by[t.service_id]
        incident = self._open.get(root)
        changes = []
        if incident is not None:
            name = self.config.service(t.service_id).name
            event = IncidentEvent(
                t.at, EventKind.IMPACTED, f"{name} is {t.new.label.lower()} again", t.new
            )
            updated = replace(incident, events=incident.events + (event,))
            changes.append(Change(updated, new_events=(event,)))
            self._remember(changes[0])
        await self._store.commit_transition(t, changes)

    async def _absorb_dependents(self, root: Incident, at: datetime) -> list[Change]:
        """Dependents that opened incidents moments before their root cause did (their
        checks ran first) are folded into the root's incident, if nobody was told yet."""
        window = self.config.alerting.group_window
        changes: list[Change] = [Change(root, opened=True, new_events=root.events)]
        for sid, incident in list(self._open.items()):
            if not self._depends_on(sid, root.service_id) or at - incident.opened_at > window:
                continue
            if await self._store.notification_keys(incident.id):
                continue  # someone was told about it: it stays their incident
            merged = IncidentEvent(
                at, EventKind.RESOLVED, f"Merged into {root.id}: root cause is {root.service_id}"
            )
            closed = replace(incident, resolved_at=at, events=incident.events + (merged,))
            changes.append(Change(closed, resolved=True, new_events=(merged,)))
            impacted = IncidentEvent(
                at,
                EventKind.IMPACTED,
                f"{self.config.service(sid).name} impacted: {incident.status.label}",
                incident.status,
            )
            base = changes[0].incident
            assert base is not None
            changes[0] = Change(
                replace(base, impacted=(*base.impacted, sid), events=base.events + (impacted,)),
                opened=True,
                new_events=changes[0].new_events + (impacted,),
            )
            self._impacted_by[sid] = root.service_id
            self._open.pop(sid, None)
        return changes

    async def _release_dependents(self, root: Incident, at: datetime) -> None:
        """When a root cause recovers, dependents still failing get incidents of their own."""
        for sid in root.impacted:
            if self._impacted_by.get(sid) != root.service_id:
                continue
            del self._impacted_by[sid]
            state = self._states[sid]
            if not state.status.is_problem:
                continue
            t = Transition(
                sid,
                state.status,
                state.status,
                at,
                f"still {state.status.label.lower()} after {root.service_id} recovered",
            )
            change = apply(None, t, new_incident_id(sid, at))
            await self._store.commit_transition(t, [change])
            self._remember(change)
            log.info("%s still down after its root cause recovered: own incident opened", sid)

    def _hold_while_flapping(self, incident: Incident, t: Transition) -> Change:
        event = IncidentEvent(
            t.at, EventKind.FLAPPING, f"{t.new.label}, but flapping: held open until stable", t.new
        )
        held = replace(incident, status=t.new, events=incident.events + (event,))
        return Change(held, new_events=(event,))

    async def _on_provider_news(
        self, service_id: str, news: Sequence[ProviderIncident], at: datetime
    ) -> None:
        incident = self._open[service_id]
        change = merge_provider(incident, tuple(news), at)
        if change is None or change.incident is None:
            return
        outbox = await self._update_notices(change.incident, change.updates, at)
        await self._store.save_changes([change], outbox)
        self._remember(change)
        if outbox:
            self._outbox.wake()

    async def _update_notices(
        self, incident: Incident, updates: Sequence[ProviderIncident], at: datetime
    ) -> list[Notification]:
        """UPDATE messages to everyone told, one per new provider post, if the service wants
        them (``provider_updates``)."""
        wanted = self.config.service(incident.service_id).provider_updates
        if wanted is None:
            wanted = self.config.alerting.provider_updates
        if not wanted or not updates:
            return []
        sent = await self._store.notification_keys(incident.id)
        told = list(escalation.told_targets(incident.id, sent))
        notes: list[Notification] = []
        for update in updates:
            number = _post_number(update)
            dues = [
                escalation.Due(escalation.key(incident.id, "update", number, t), "update", t)
                for t in told
                if escalation.key(incident.id, "update", number, t) not in sent
            ]
            if dues:
                notes += await self._build(incident, dues, told, at, update=update)
        return notes

    def _remember(self, change: Change) -> None:
        incident = change.incident
        if incident is None:
            return
        if incident.is_open:
            self._open[incident.service_id] = incident
        elif self._open.get(incident.service_id, incident).id == incident.id:
            self._open.pop(incident.service_id, None)

    # --- the clock -------------------------------------------------------------------------

    async def tick(self) -> None:
        """Run the clock: acknowledgements made elsewhere, flap settling, escalation steps,
        reminders. Called every few seconds by the daemon."""
        async with self._lock:
            now = self._clock()
            await self._refresh_acknowledgements()
            await self._settle_flapping(now)
            await self._plan_and_send(now)

    async def acknowledge(
        self, incident_id: str, by: str, note: str | None = None
    ) -> Incident | None:
        """Acknowledge ``incident_id`` now; None when no such incident exists."""
        incident = await self._store.acknowledge(incident_id, by, self._clock(), note)
        if incident is not None:
            await self.tick()
        return incident

    async def _refresh_acknowledgements(self) -> None:
        # ``lifeline ack`` and the web page write to the store; pick their work up here.
        stored = await self._store.open_incidents()
        for sid, incident in list(self._open.items()):
            fresh = stored.get(sid)
            if (
                fresh is not None
                and fresh.id == incident.id
                and fresh.acknowledged_at != incident.acknowledged_at
            ):
                self._open[sid] = replace(
                    incident,
                    acknowledged_at=fresh.acknowledged_at,
                    acknowledged_by=fresh.acknowledged_by,
                    ack_note=fresh.ack_note,
                    events=fresh.events,
                )
                await self._acknowledge_grouped(self._open[sid])

    async def _acknowledge_grouped(self, primary: Incident) -> None:
        """Incidents told about in the same message as ``primary`` are acknowledged with it."""
        for incident in list(self._open.values()):
            if incident.id == primary.id or incident.acknowledged_at is not None:
                continue
            covered = await self._store.notification_keys(incident.id, state="covered")
            if any(k.startswith(f"{incident.id}/down/0/") for k in covered) and self._grouped(
                primary, incident
            ):
                name = self.config.service(primary.service_id).name
                by = f"{primary.acknowledged_by} (with {name})"
                assert primary.acknowledged_at is not None
                stored = await self._store.acknowledge(
                    incident.id, by, primary.acknowledged_at, primary.ack_note
                )
                if stored is not None:
                    self._open[incident.service_id] = stored

    async def _settle_flapping(self, now: datetime) -> None:
        window = self.config.alerting.flapping.window
        for sid in list(self._flapping):
            times = self._changes[sid]
            if times and now - times[-1] < window:
                continue
            self._flapping.discard(sid)
            incident = self._open.get(sid)
            state = self._states[sid]
            if incident is None or state.status.is_problem or state.status is Status.UNKNOWN:
                continue
            t = Transition(
                sid, incident.status, state.status, now, f"stable for {window} after flapping"
            )
            change = apply(incident, t, "unused")
            assert change.incident is not None
            outbox = await self._due(change.incident, now)  # the recovery notices
            await self._store.save_changes([change], outbox)
            self._remember(change)
            if outbox:
                self._outbox.wake()
            await self._release_dependents(change.incident, now)

    def _grouped(self, a: Incident, b: Incident) -> bool:
        return correlation.grouped(
            self._opened(a), self._opened(b), self.config.alerting.group_window
        )

    def _opened(self, incident: Incident) -> correlation.Opened:
        service = self.config.service(incident.service_id)
        provider = service.provider.name if service.provider else None
        return correlation.Opened(service.site, provider, incident.opened_at)

    def _clock_start(self, service: Service, incident: Incident) -> datetime:
        """When the escalation clock starts: after the group window, and for services that
        may wait (``alerting.quiet_hours``), not before school hours."""
        waits = service.criticality in self.config.alerting.quiet_hours
        return escalation.clock_start(
            incident.opened_at,
            self.config.alerting.group_window,
            self.config.calendar if waits else None,
            self.config.organisation.tz,
        )

    def _remind_every(self, service: Service) -> timedelta | None:
        reminders = self.config.alerting.reminders
        if reminders is None or service.criticality not in reminders.criticality:
            return None
        return reminders.every

    async def _plan_and_send(self, now: datetime) -> None:
        """Create every notification now due for the open incidents, oldest first (so the
        first of a group is the one whose message names the others)."""
        for incident in sorted(self._open.values(), key=lambda i: i.opened_at):
            notes = await self._due(incident, now)
            if notes:
                await self._store.enqueue(notes)
                self._outbox.wake()

    async def _due(self, incident: Incident, now: datetime) -> list[Notification]:
        """What ``incident`` must send now (nothing already sent), rendered."""
        service = self.config.service(incident.service_id)
        sent = await self._store.notification_keys(incident.id)
        clock = IncidentClock(
            incident.id,
            self._clock_start(service, incident),
            incident.acknowledged_at,
            incident.resolved_at,
        )
        dues = escalation.plan(
            clock, self._steps[service.id], sent, now, self._remind_every(service)
        )
        if incident.is_open and incident.service_id in self._flapping:
            # Flapping: alerted once, then quiet until it is stable.
            dues = [d for d in dues if d.kind == "down" and d.step == 0]
        if not dues:
            return []
        told = list(escalation.told_targets(incident.id, sent))
        return await self._build(incident, dues, told, now)

    async def _build(
        self,
        incident: Incident,
        dues: list[escalation.Due],
        told: list[Target],
        now: datetime,
        update: ProviderIncident | None = None,
    ) -> list[Notification]:
        """The notifications for ``dues``, rendered; a first message also covers incidents
        grouped with this one (they get ``covered`` rows, so they send no message of their
        own and later notices reach the same people)."""
        related = self._related(incident)
        first = [d for d in dues if d.kind == "down" and d.step == 0]
        grouped: list[Incident] = []
        for other in sorted(self._open.values(), key=lambda i: i.opened_at) if first else []:
            if other.id == incident.id or other.opened_at < incident.opened_at:
                continue  # itself, or an earlier incident whose own message comes first
            if not self._grouped(incident, other):
                continue
            keys = await self._store.notification_keys(other.id)
            if not any(k.startswith(f"{other.id}/down/0/") for k in keys):
                grouped.append(other)
                reason = "failed at the same time (same site or provider)"
                related.append(Related(self.config.service(other.service_id), other.status, reason))
                # One message, to everyone either incident's first step would have told.
                mine = {d.target for d in dues}
                dues = dues + [
                    escalation.Due(escalation.key(incident.id, "down", 0, t), "down", t, 0)
                    for step in self._steps[other.service_id][:1]
                    for t in step.targets
                    if t not in mine
                ]
        notes = alerts.build(
            self.config,
            self._channels,
            incident,
            dues,
            told,
            now,
            related=related,
            ack_url=self._ack_url,
            update=update,
        )
        covered = [
            replace(
                n,
                key=escalation.key(other.id, "down", 0, Target(n.channel, n.contact_id)),
                incident_id=other.id,
                state="covered",
            )
            for other in grouped
            for n in notes
            if n.key.startswith(f"{incident.id}/down/0/")
        ]
        return [*notes, *covered]

    def _related(self, incident: Incident) -> list[Related]:
        statuses = {sid: state.status for sid, state in self._states.items()}
        root = self.config.service(incident.service_id).name
        return alerts.related_services(
            self.config, statuses, list(incident.impacted), lambda sid: f"impacted by {root}"
        )

    def _ack_url(self, incident_id: str, contact_id: str | None) -> str | None:
        web = self.config.web
        if web is None:
            return None
        expires = self._clock() + web.ack_valid_for
        return f"{web.base_url}/ack/{make_token(web.secret(), incident_id, contact_id, expires)}"
