"""The incident review: a pre-filled document for the meeting after an incident.

``build_review`` reads the incident (with its timeline) and its notifications from the
store; ``review_from_data`` is pure. The review holds:

- the **timeline**, oldest first: detected (the incident opened), status changes, when the
  provider acknowledged it (the earliest start or update time among the incidents the
  provider published, and each provider post as Lifeline saw it), who was notified and when
  (from the notification records: sent time, or queued time while pending; the outbox's
  NOTIFIED events are used only when there are no records), failed deliveries,
  acknowledgements, notes, services impacted, and recovery;
- the **duration** (to ``now`` while the incident is open), the time to the first
  notification, to acknowledgement and to the provider's acknowledgement, and whether it
  stayed within the service's maximum tolerable outage;
- the **functions affected** and the **fallback procedures** that applied — of the service
  and of every service impacted through it;
- the **review questions**, with room for the answers.

Notes added with ``lifeline note`` are NOTE events and appear in the timeline and in a list
of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor import docformat as fmt
from monitor.config import Config, Service
from monitor.durations import format_duration
from monitor.model import EventKind, Incident, IncidentEvent, ProviderIncident
from monitor.render import format_local, lines, one_line
from monitor.store import Notification, Store

__all__ = [
    "QUESTIONS",
    "Affected",
    "Review",
    "TimelineEntry",
    "build_review",
    "provider_acknowledged_at",
    "render_review_html",
    "render_review_md",
    "review_from_data",
    "timeline",
]

#: The questions every review asks (DfE guidance: review the plan after an incident).
QUESTIONS = (
    "Did staff know what to do? Was the fallback procedure followed, and did it work?",
    "Was communication clear? Were staff, parents and governors told what they needed, in time?",
    "Were contact lists accessible? Could people reach the contact details and offline copies "
    "they needed?",
    "What should change in the continuity plan (fallbacks, contacts, tolerable outage, "
    "escalation)?",
)

_NAME_MAX = 200
_TEXT_MAX = 2000

_LABELS = {
    EventKind.OPENED: "Detected",
    EventKind.STATUS: "Status changed",
    EventKind.PROVIDER: "Provider update seen",
    EventKind.NOTIFIED: "Notified",
    EventKind.DELIVERY_FAILED: "Delivery failed",
    EventKind.RESOLVED: "Recovered",
    EventKind.NOTE: "Note",
    EventKind.ACKNOWLEDGED: "Acknowledged",
    EventKind.IMPACTED: "Impacted service",
    EventKind.FLAPPING: "Flapping",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # an EventKind value, or "provider_acknowledged"
    label: str
    text: str


@dataclass(frozen=True)
class Affected:
    """A service the incident affected (the incident's own first, then impacted ones)."""

    service_id: str
    name: str
    functions: tuple[str, ...]
    fallback: str
    impacted: bool


@dataclass(frozen=True)
class Review:
    incident: Incident
    service_name: str
    site_name: str | None
    organisation: str
    now: datetime
    tz: ZoneInfo
    timeline: tuple[TimelineEntry, ...]
    affected: tuple[Affected, ...]
    tolerable: timedelta | None
    provider_acknowledged_at: datetime | None
    first_notified_at: datetime | None
    notes: tuple[IncidentEvent, ...]
    has_provider: bool = False

    @property
    def duration(self) -> timedelta:
        return (self.incident.resolved_at or self.now) - self.incident.opened_at

    @property
    def within_tolerable(self) -> bool | None:
        if self.tolerable is None:
            return None
        return self.duration <= self.tolerable

    @property
    def title(self) -> str:
        opened = format_local(self.incident.opened_at, self.tz)
        return f"Incident review: {self.service_name}, {opened}"


async def build_review(
    config: Config, store: Store, incident_id: str, now: datetime
) -> Review | None:
    """The review of ``incident_id`` as of ``now``; None when there is no such incident."""
    incident = await store.incident(incident_id)
    if incident is None:
        return None
    return review_from_data(config, incident, await store.notifications(incident_id), now)


def provider_acknowledged_at(items: Sequence[ProviderIncident]) -> datetime | None:
    """When the provider first acknowledged the problem: the earliest start time (or, when it
    gives none, update time) among its published incidents, maintenance left out."""
    times = [
        fmt.aware(t)
        for p in items
        if not p.is_maintenance and (t := p.started_at or p.updated_at) is not None
    ]
    return min(times, default=None)


def timeline(
    config: Config, incident: Incident, notifications: Sequence[Notification]
) -> list[TimelineEntry]:
    """The incident's timeline (see the module docstring), oldest first; entries at the same
    moment keep the order they happened in."""
    entries: list[TimelineEntry] = []
    use_records = bool(notifications)
    for event in incident.events:
        if event.kind is EventKind.NOTIFIED and use_records:
            continue
        label = _LABELS.get(event.kind, event.kind.value)
        if event.kind is EventKind.RESOLVED and event.text.startswith("Merged into"):
            label = "Merged"
        entries.append(TimelineEntry(event.at, event.kind.value, label, event.text))
    posts = [
        (fmt.aware(t), p)
        for p in incident.provider_incidents
        if not p.is_maintenance and (t := p.started_at or p.updated_at) is not None
    ]
    if posts:
        posted, first = min(posts, key=lambda pair: pair[0])
        text = f"{first.name} — {first.status}" if first.status else first.name
        entries.append(
            TimelineEntry(posted, "provider_acknowledged", "Provider acknowledged", text)
        )
    contacts = {c.id: c for c in config.contacts}
    for n in notifications:
        who = n.recipient
        contact = contacts.get(n.contact_id or "")
        if contact is not None:
            who = f"{contact.name} ({contact.role})" if contact.role else contact.name
        if n.state == "sent" and n.sent_at is not None:
            entries.append(
                TimelineEntry(
                    n.sent_at, "notified", "Notified", f"{n.kind.upper()} by {n.channel} to {who}"
                )
            )
        elif n.state == "covered":
            entries.append(
                TimelineEntry(
                    n.created_at,
                    "notified",
                    "Notified",
                    f"{n.kind.upper()} to {who}, in a grouped message",
                )
            )
        else:
            state = "failed" if n.state == "failed" else "not yet delivered"
            entries.append(
                TimelineEntry(
                    n.created_at,
                    "notified",
                    "Notification " + state,
                    f"{n.kind.upper()} by {n.channel} to {who}"
                    + (f": {n.last_error}" if n.last_error else ""),
                )
            )
    # A stable sort: same-moment entries stay in the order of the timeline, then records.
    return sorted(entries, key=lambda e: fmt.aware(e.at))


def review_from_data(
    config: Config, incident: Incident, notifications: Sequence[Notification], now: datetime
) -> Review:
    """The review from plain data. Services missing from ``config`` (renamed or removed
    since) are shown by id, without functions or fallback."""
    tz = config.organisation.tz
    services = {s.id: s for s in config.services}
    service = services.get(incident.service_id)
    affected = [_affected(incident.service_id, service, impacted=False)]
    affected += [_affected(sid, services.get(sid), impacted=True) for sid in incident.impacted]
    site = config.site(service.site) if service else None
    sent = [
        n.sent_at
        for n in notifications
        if n.state == "sent" and n.sent_at is not None and n.kind == "down"
    ]
    if not sent and not notifications:
        sent = [e.at for e in incident.events if e.kind is EventKind.NOTIFIED]
    return Review(
        incident=incident,
        service_name=service.name if service else incident.service_id,
        site_name=site.name if site else None,
        organisation=config.organisation.name,
        now=now,
        tz=tz,
        timeline=tuple(timeline(config, incident, notifications)),
        affected=tuple(dict.fromkeys(affected)),
        tolerable=service.max_tolerable_outage if service else None,
        provider_acknowledged_at=provider_acknowledged_at(incident.provider_incidents),
        first_notified_at=min(sent, default=None),
        notes=tuple(e for e in incident.events if e.kind is EventKind.NOTE),
        has_provider=service is not None and service.provider is not None,
    )


def _affected(service_id: str, service: Service | None, *, impacted: bool) -> Affected:
    if service is None:
        return Affected(service_id, service_id, (), "", impacted)
    return Affected(service.id, service.name, tuple(service.functions), service.fallback, impacted)


# --- display -------------------------------------------------------------------------------


def _after(start: datetime, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return fmt.signed_duration(fmt.aware(moment) - fmt.aware(start))


def _since(start: datetime, moment: datetime) -> str:
    return format_duration(max(timedelta(0), fmt.aware(moment) - fmt.aware(start)))


def _values(review: Review) -> dict[str, Any]:
    tz, incident = review.tz, review.incident
    opened = incident.opened_at
    facts = [
        ("Incident", one_line(incident.id, _NAME_MAX)),
        ("Service", one_line(review.service_name, _NAME_MAX)),
        ("Where", one_line(review.site_name or review.organisation, _NAME_MAX)),
        ("Detected", format_local(opened, tz)),
        (
            "Recovered",
            format_local(incident.resolved_at, tz)
            if incident.resolved_at
            else "not yet (still open)",
        ),
        (
            "Duration",
            format_duration(review.duration) + ("" if incident.resolved_at else " so far"),
        ),
        ("Worst status", incident.worst.label),
    ]
    if review.tolerable is not None:
        verdict = "within it" if review.within_tolerable else "EXCEEDED"
        facts.append(("Tolerable outage", f"{format_duration(review.tolerable)} — {verdict}"))
    if review.first_notified_at is not None:
        facts.append(("First alert", f"{_since(opened, review.first_notified_at)} after detection"))
    else:
        facts.append(("First alert", "nobody was alerted"))
    if incident.acknowledged_at is not None:
        by = one_line(incident.acknowledged_by or "someone", _NAME_MAX)
        facts.append(
            ("Acknowledged", f"{_since(opened, incident.acknowledged_at)} after detection, by {by}")
        )
    else:
        facts.append(("Acknowledged", "never"))
    posted = review.provider_acknowledged_at
    if posted is None:
        missing = (
            "not acknowledged by provider"
            if review.has_provider
            else "no provider (our own service)"
        )
        facts.append(("Provider acknowledged", missing))
    else:
        lead = fmt.aware(posted) - fmt.aware(opened)
        when = (
            f"{format_duration(lead)} after we detected it"
            if lead >= timedelta(0)
            else f"{format_duration(-lead)} before we detected it"
        )
        facts.append(("Provider acknowledged", f"{format_local(posted, tz)} ({when})"))
    return {
        "title": one_line(review.title, _NAME_MAX),
        "organisation": one_line(review.organisation, _NAME_MAX),
        "generated": format_local(review.now, tz),
        "facts": [{"label": k, "value": v} for k, v in facts],
        "timeline": [
            {
                "when": format_local(e.at, tz),
                "offset": _after(opened, e.at),
                "label": e.label,
                "kind": e.kind,
                "text": one_line(e.text, _TEXT_MAX),
            }
            for e in review.timeline
        ],
        "affected": [
            {
                "name": one_line(a.name, _NAME_MAX),
                "impacted": a.impacted,
                "functions": ", ".join(one_line(f, _NAME_MAX) for f in a.functions) or "not listed",
                "fallback_lines": lines(a.fallback, _TEXT_MAX)
                or ["No fallback procedure is written down."],
            }
            for a in review.affected
        ],
        "notes": [
            {"when": format_local(n.at, tz), "lines": lines(n.text, _TEXT_MAX)}
            for n in review.notes
        ],
        "questions": list(QUESTIONS),
    }


def render_review_md(review: Review) -> str:
    """The review as Markdown, every value escaped; answers go under each question."""
    text = fmt.environment().get_template("doc_review.md").render(_values(review))
    return text.rstrip("\n") + "\n"


def render_review_html(review: Review) -> str:
    """The review as a printable HTML page (A4 print stylesheet, no scripts)."""
    return fmt.environment().get_template("doc_review.html").render(_values(review))
