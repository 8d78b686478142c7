"""The vocabulary shared by every part of Lifeline (see DESIGN.md: core types).

Everything here is plain immutable data: checks produce ``CheckResult``s, the tracker turns
them into ``Transition``s, incidents keep ``IncidentEvent``s, and notifiers receive a
rendered ``Message``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


class Status(enum.StrEnum):
    """A service's state. Severity order: up < maintenance < degraded < partial < major.

    ``unknown`` is outside the order: the probe failed, so we cannot tell.
    """

    UP = "up"
    MAINTENANCE = "maintenance"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """Rank for comparisons; ``unknown`` ranks -1 (below everything, see ``worst``)."""
        return _SEVERITY[self]

    @property
    def is_problem(self) -> bool:
        """True for states people must be told about (degraded or worse)."""
        return self.severity >= _SEVERITY[Status.DEGRADED]

    @property
    def label(self) -> str:
        return _LABELS[self]


_SEVERITY = {
    Status.UNKNOWN: -1,
    Status.UP: 0,
    Status.MAINTENANCE: 1,
    Status.DEGRADED: 2,
    Status.PARTIAL_OUTAGE: 3,
    Status.MAJOR_OUTAGE: 4,
}

_LABELS = {
    Status.UNKNOWN: "Unknown",
    Status.UP: "Up",
    Status.MAINTENANCE: "Under maintenance",
    Status.DEGRADED: "Degraded",
    Status.PARTIAL_OUTAGE: "Partial outage",
    Status.MAJOR_OUTAGE: "Major outage",
}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe known status; ``unknown`` only when nothing is known.

    A service whose status page is unreachable but whose login page answers is up: what we
    could see outranks what we could not.
    """
    known = [s for s in statuses if s is not Status.UNKNOWN]
    if not known:
        return Status.UNKNOWN
    return max(known, key=lambda s: s.severity)


@dataclass(frozen=True)
class ProviderIncident:
    """An incident or maintenance the provider itself has published."""

    name: str
    status: str  # the provider's word: investigating, identified, in progress...
    impact: str = ""  # none|minor|major|critical|maintenance, when the provider says
    url: str = ""
    latest_update: str = ""
    updated_at: datetime | None = None
    is_maintenance: bool = False
    started_at: datetime | None = None  # when the provider says it began


@dataclass(frozen=True)
class CheckResult:
    """What one probe saw for one check. Checks never raise: failures are results."""

    check_id: str
    status: Status
    summary: str
    observed_at: datetime
    latency: float | None = None  # seconds, when a request was made
    incidents: tuple[ProviderIncident, ...] = ()


@dataclass(frozen=True)
class Transition:
    """A service changed status (after thresholds were applied)."""

    service_id: str
    old: Status
    new: Status
    at: datetime
    cause: str  # the summary of the check result(s) that caused it
    incidents: tuple[ProviderIncident, ...] = ()


class EventKind(enum.StrEnum):
    OPENED = "opened"
    STATUS = "status"
    PROVIDER = "provider"
    NOTIFIED = "notified"
    DELIVERY_FAILED = "delivery_failed"
    RESOLVED = "resolved"
    NOTE = "note"
    ACKNOWLEDGED = "acknowledged"
    IMPACTED = "impacted"
    FLAPPING = "flapping"


@dataclass(frozen=True)
class IncidentEvent:
    at: datetime
    kind: EventKind
    text: str
    status: Status | None = None


@dataclass(frozen=True)
class Incident:
    """One period of degradation of one service, with its timeline."""

    id: str
    service_id: str
    opened_at: datetime
    status: Status
    worst: Status
    resolved_at: datetime | None = None
    provider_incidents: tuple[ProviderIncident, ...] = ()
    events: tuple[IncidentEvent, ...] = field(default=())
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    impacted: tuple[str, ...] = ()  # ids of services down only because of this one

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Message:
    """A rendered notification. Channels format it; they never decide who or when.

    ``text`` and ``html`` are the full email bodies. Chat channels build their cards from the
    structured parts: ``facts`` (label, value) such as ("Since", "09:12"), ``sections``
    (heading, body) such as ("What to do now", the fallback procedure), and ``links``
    (label, http(s) URL). ``short`` fits one or two SMS segments. Every string except ``html``
    is plain, unescaped text that may contain provider-controlled words: each channel must
    escape it for its own format.
    """

    subject: str
    text: str
    html: str
    severity: Status
    links: tuple[tuple[str, str], ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    sections: tuple[tuple[str, str], ...] = ()
    short: str = ""
