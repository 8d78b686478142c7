"""Pure incident bookkeeping: a transition opens, updates or resolves an Incident.

An incident opens when a service becomes degraded or worse, follows every later change
(including spells of ``unknown``, when we lost sight of the provider) and resolves when the
service is up again or in maintenance. Provider-posted incidents seen while it is open are
kept on it, and new ones or new updates are added to its timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from monitor.model import EventKind, Incident, IncidentEvent, ProviderIncident, Status, Transition


@dataclass(frozen=True)
class Change:
    """What ``apply`` did. ``incident`` is None when nothing is (or was) open."""

    incident: Incident | None
    opened: bool = False
    resolved: bool = False
    new_events: tuple[IncidentEvent, ...] = ()
    updates: tuple[ProviderIncident, ...] = ()  # provider posts new to this incident


def apply(incident: Incident | None, transition: Transition, new_id: str) -> Change:
    """Apply ``transition`` to the service's open ``incident`` (or None).

    ``new_id`` names the incident if this transition opens one.
    """
    t = transition
    if incident is None or not incident.is_open:
        if not t.new.is_problem:
            return Change(None)
        opened = IncidentEvent(t.at, EventKind.OPENED, f"{t.new.label}: {t.cause}", t.new)
        events = (opened, *_provider_events((), t.incidents, t))
        created = Incident(
            id=new_id,
            service_id=t.service_id,
            opened_at=t.at,
            status=t.new,
            worst=t.new,
            provider_incidents=t.incidents,
            events=events,
        )
        return Change(created, opened=True, new_events=events)
    provider = _provider_events(incident.provider_incidents, t.incidents, t)
    fresh = _fresh(incident.provider_incidents, t.incidents)
    known = _merge(incident.provider_incidents, t.incidents)
    if t.new.is_problem or t.new is Status.UNKNOWN:
        event = IncidentEvent(t.at, EventKind.STATUS, f"{t.new.label}: {t.cause}", t.new)
        worst = t.new if t.new.severity > incident.worst.severity else incident.worst
        events = (event, *provider)
        updated = replace(
            incident,
            status=t.new,
            worst=worst,
            provider_incidents=known,
            events=incident.events + events,
        )
        return Change(updated, new_events=events, updates=fresh)
    event = IncidentEvent(t.at, EventKind.RESOLVED, f"{t.new.label}: {t.cause}", t.new)
    events = (*provider, event)
    resolved = replace(
        incident,
        status=t.new,
        resolved_at=t.at,
        provider_incidents=known,
        events=incident.events + events,
    )
    return Change(resolved, resolved=True, new_events=events)


def merge_provider(
    incident: Incident, news: tuple[ProviderIncident, ...], at: datetime
) -> Change | None:
    """Provider posts seen while ``incident`` is open and its status unchanged; None when
    nothing is new (same incidents, same status, same latest update)."""
    fresh = _fresh(incident.provider_incidents, news)
    if not fresh:
        return None
    t = Transition(incident.service_id, incident.status, incident.status, at, "", news)
    events = _provider_events(incident.provider_incidents, fresh, t)
    merged = replace(
        incident,
        provider_incidents=_merge(incident.provider_incidents, news),
        events=incident.events + events,
    )
    return Change(merged, new_events=events, updates=fresh)


def _fresh(
    known: tuple[ProviderIncident, ...], news: tuple[ProviderIncident, ...]
) -> tuple[ProviderIncident, ...]:
    """Posts in ``news`` that are new, or changed status or latest update."""
    before = {_key(p): p for p in known}
    return tuple(
        p
        for p in news
        if (old := before.get(_key(p))) is None
        or (old.status, old.latest_update) != (p.status, p.latest_update)
    )


def _key(p: ProviderIncident) -> tuple[str, str]:
    return (p.url or p.name, p.name)


def _merge(
    old: tuple[ProviderIncident, ...], new: tuple[ProviderIncident, ...]
) -> tuple[ProviderIncident, ...]:
    """Known provider incidents with the latest version of each; new ones appended."""
    merged = {_key(p): p for p in old}
    merged.update({_key(p): p for p in new})
    return tuple(merged.values())


def _provider_events(
    old: tuple[ProviderIncident, ...], new: tuple[ProviderIncident, ...], t: Transition
) -> tuple[IncidentEvent, ...]:
    before = {_key(p): p for p in old}
    events = []
    for p in new:
        previous = before.get(_key(p))
        if previous is None or (previous.status, previous.latest_update) != (
            p.status,
            p.latest_update,
        ):
            text = f"Provider: {p.name} — {p.status}"
            if p.latest_update:
                text += f": {p.latest_update}"
            events.append(IncidentEvent(t.at, EventKind.PROVIDER, text))
    return tuple(events)
