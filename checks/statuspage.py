"""The ``statuspage`` check: what an Atlassian Statuspage (public API v2) says about a service.

Reads ``/api/v2/summary.json``. A status page only *reports* on a service, so when we cannot
read it (unreachable, HTTP error, not the JSON we know) the result is ``unknown``, never an
outage.

Rules (``evaluate``):

- **Whole page** (no ``components``): the worst of the page indicator (none→up, minor→degraded,
  major→partial outage, critical→major outage, maintenance→maintenance), every leaf component
  (group rows are roll-ups and are skipped), and ``maintenance`` while a scheduled
  maintenance is in progress or verifying.
- **Selected components**: each entry is an id or a name (case-insensitive). A group selects
  its children. The result is the worst of the selected leaves, plus ``maintenance`` while a
  maintenance touching them is in progress. The page indicator is ignored: it covers other
  components too.
- **Unknown never reads as up**: a status value we do not recognise, or a configured component
  missing from the page, makes the result ``unknown`` unless something we do recognise is
  degraded or worse (then that problem is reported, with the unknown part noted).
- **Provider incidents**: unresolved incidents and in-progress maintenances become
  ``ProviderIncident``s. With selected components, only those that touch a selected component
  or name no components at all: providers often post an incident before tagging components,
  and hiding an early warning is worse than showing an unrelated one. Maintenances that have
  not started are left out (they are not happening, and must not silence alerts).

YAML::

    - type: statuspage
      url: https://status.example.com/api/v2/summary.json
      components: ["Attendance", "Parent Communication"]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from checks.base import CheckSpec
from checks.http import (
    WebUrl,
    clip,
    host_of,
    judged,
    safe_link,
    unreadable_reason,
)
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult, ProviderIncident, Status, worst

INDICATOR_STATUS = {
    "none": Status.UP,
    "minor": Status.DEGRADED,
    "major": Status.PARTIAL_OUTAGE,
    "critical": Status.MAJOR_OUTAGE,
    "maintenance": Status.MAINTENANCE,
}
"""``status.indicator`` → Status. Anything else is unknown."""

COMPONENT_STATUS = {
    "operational": Status.UP,
    "degraded_performance": Status.DEGRADED,
    "partial_outage": Status.PARTIAL_OUTAGE,
    "major_outage": Status.MAJOR_OUTAGE,
    "under_maintenance": Status.MAINTENANCE,
}
"""Component ``status`` → Status. Anything else is unknown."""

_CLOSED_INCIDENT = frozenset({"resolved", "postmortem", "completed"})
_ACTIVE_MAINTENANCE = frozenset({"in_progress", "verifying"})
_MAX_NOTES = 3  # notes in one summary line; the rest become "+N more"


class Spec(CheckSpec):
    """A Statuspage ``summary.json`` and, optionally, which components matter."""

    type: Literal["statuspage"]
    url: WebUrl
    """The page's ``/api/v2/summary.json`` URL."""
    components: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = []
    """Component ids or names (case-insensitive); a group selects its children. Empty: the
    whole page."""

    def describe(self) -> str:
        if self.name:
            return self.name
        label = f"status page {host_of(self.url)}"
        return f"{label} ({clip(', '.join(self.components), 80)})" if self.components else label


def probe(spec: Spec) -> HttpProbe:
    """A conditional GET, shared by every check on the same page."""
    return HttpProbe(url=spec.url, conditional=True, headers=(("accept", "application/json"),))


def evaluate(spec: Spec, observation: HttpObservation, check_id: str) -> CheckResult:
    """Turn a fetched ``summary.json`` into a result (rules in the module docstring).

    Never raises: an unreadable page or a payload of the wrong shape is ``unknown`` with the
    reason in the summary.
    """
    return judged(check_id, observation, spec.describe(), lambda: _judge(spec, observation))


# --- the payload, as far as we use it ---------------------------------------------------------
# Validated with pydantic (unknown keys ignored, known ones type-checked): a payload that does
# not fit is not the format we know, and the check says so instead of guessing.


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Page(_Model):
    name: str | None = None


class _PageStatus(_Model):
    indicator: str
    description: str | None = None


class _Component(_Model):
    id: str
    name: str
    status: str
    group: bool | None = False
    group_id: str | None = None
    components: list[str] | None = None  # a group's child ids


class _ComponentRef(_Model):
    id: str


class _Update(_Model):
    body: str | None = None
    created_at: datetime | None = None
    display_at: datetime | None = None


class _Incident(_Model):
    name: str
    status: str
    impact: str | None = None
    shortlink: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    incident_updates: list[_Update] | None = None
    components: list[_ComponentRef] | None = None


class _Summary(_Model):
    page: _Page | None = None
    status: _PageStatus
    components: list[_Component] | None = None
    incidents: list[_Incident] | None = None
    scheduled_maintenances: list[_Incident] | None = None


class _Unreadable(Exception):
    """The document is not a summary we can read; ``str(exc)`` is the reason."""


def _parse_summary(body: bytes) -> _Summary:
    """Parse ``summary.json``. Raises ``_Unreadable`` with a short reason."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise _Unreadable("not JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise _Unreadable(f"not JSON: {clip(str(exc), 80)}") from None
    try:
        return _Summary.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise _Unreadable(
            f"unexpected shape: {clip(where, 60)}: {clip(first['msg'], 80)}"
        ) from None
    except RecursionError:
        raise _Unreadable("unexpected shape: nested too deeply") from None


# --- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One thing that contributes to the status, with a note for the summary (or ``""``)."""

    status: Status
    note: str = ""
    lead: bool = False  # the page's own headline, shown first


def _judge(
    spec: Spec, observation: HttpObservation
) -> tuple[Status, str, tuple[ProviderIncident, ...]]:
    reason = unreadable_reason(observation)
    if reason is not None:
        return Status.UNKNOWN, f"{_who(spec)}: could not read status page ({reason})", ()
    try:
        summary = _parse_summary(observation.body)
    except _Unreadable as exc:
        return Status.UNKNOWN, f"{_who(spec)}: could not read status page ({exc})", ()

    who = _who(spec, summary.page.name if summary.page else None)
    components = summary.components or []
    touched: frozenset[str] | None = None  # None: every incident is relevant
    if spec.components:
        touched, parts = _select(spec.components, components)
    else:
        parts = _whole_page(summary.status, components)

    incidents = [i for i in summary.incidents or [] if _is_open(i) and _touches(i, touched)]
    maintenances = [
        m
        for m in summary.scheduled_maintenances or []
        if m.status.lower() in _ACTIVE_MAINTENANCE and _touches(m, touched)
    ]
    parts += [
        _Part(Status.MAINTENANCE, f"maintenance in progress: {_q(m.name)}") for m in maintenances
    ]

    status = _combine([p.status for p in parts])
    notes = _notes(parts, status)
    if not notes and status is Status.UP and spec.components:
        count = sum(1 for p in parts if p.status is Status.UP)
        notes = f" ({count} component{'s' if count != 1 else ''} operational)"
    provider = tuple(_provider_incident(i, False) for i in incidents) + tuple(
        _provider_incident(m, True) for m in maintenances
    )
    return status, f"{who}: {status.label.lower()}{notes}", provider


def _who(spec: Spec, page_name: str | None = None) -> str:
    """Whose status this is: the check's own name, else the page's name, else its host."""
    return spec.name or clip(page_name or "", 80) or host_of(spec.url)


def _whole_page(page_status: _PageStatus, components: Sequence[_Component]) -> list[_Part]:
    indicator = page_status.indicator
    mapped = INDICATOR_STATUS.get(indicator.lower(), Status.UNKNOWN)
    if mapped is Status.UNKNOWN:
        parts = [_Part(Status.UNKNOWN, f"unrecognised page indicator {_q(indicator, 40)}")]
    else:
        description = page_status.description or indicator
        parts = [_Part(mapped, f"Statuspage: {_q(description)}", lead=True)]
    return parts + [_component_part(c) for c in components if not c.group]


def _select(
    wanted: Iterable[str], components: Sequence[_Component]
) -> tuple[frozenset[str], list[_Part]]:
    """The leaves ``wanted`` selects (ids, for matching incidents) and their parts.

    A name matching several components selects them all (use the id to pick one). A group
    whose children cannot be found stands for itself, so its roll-up status is still used.
    """
    by_id = {c.id: c for c in components}
    chosen: dict[str, _Component] = {}
    touched: set[str] = set()
    parts: list[_Part] = []
    for key in wanted:
        folded = key.strip().casefold()
        matches = [c for c in components if folded in (c.id.casefold(), c.name.strip().casefold())]
        if not matches:
            parts.append(_Part(Status.UNKNOWN, f"component {_q(key, 60)} not found on status page"))
        for match in matches:
            touched.add(match.id)
            leaves = _children(match, components, by_id) if match.group else [match]
            for leaf in leaves or [match]:
                chosen.setdefault(leaf.id, leaf)
    touched.update(chosen)
    return frozenset(touched), parts + [_component_part(c) for c in chosen.values()]


def _children(
    group: _Component, components: Sequence[_Component], by_id: dict[str, _Component]
) -> list[_Component]:
    # Both directions: the group lists child ids, and children point back via group_id.
    ids = list(group.components or [])
    ids += [c.id for c in components if c.group_id == group.id and c.id not in ids]
    return [by_id[i] for i in ids if i in by_id and not by_id[i].group]


def _component_part(component: _Component) -> _Part:
    status = COMPONENT_STATUS.get(component.status.lower(), Status.UNKNOWN)
    name = _q(component.name, 60)
    if status is Status.UNKNOWN:
        return _Part(status, f"{name} has unrecognised status {_q(component.status, 40)}")
    if status is Status.UP:
        return _Part(status)
    return _Part(status, f"{name}: {status.label.lower()}")


def _combine(statuses: Sequence[Status]) -> Status:
    """``worst``, except that anything unknown beats "up" and "maintenance": we cannot claim
    a service is fine while part of what we were asked to watch is unreadable."""
    result = worst(statuses)
    if Status.UNKNOWN in statuses and not result.is_problem:
        return Status.UNKNOWN
    return result


def _notes(parts: Sequence[_Part], status: Status) -> str:
    # Worst first, so a long list still shows what matters; the page description leads.
    relevant = [p for p in parts if p.note and (p.status is not Status.UP or not status.is_problem)]
    ranked = sorted(relevant, key=lambda p: (not p.lead, -_rank(p)))
    notes = [p.note for p in ranked]
    if not notes:
        return ""
    shown = "; ".join(notes[:_MAX_NOTES])
    more = len(notes) - _MAX_NOTES
    return f" ({shown}{f'; +{more} more' if more > 0 else ''})"


def _rank(part: _Part) -> float:
    # Unknown notes right after real problems (degraded and worse), before maintenance.
    return 1.5 if part.status is Status.UNKNOWN else part.status.severity


def _is_open(incident: _Incident) -> bool:
    return incident.status.lower() not in _CLOSED_INCIDENT


def _touches(incident: _Incident, selected: frozenset[str] | None) -> bool:
    if selected is None or not incident.components:
        return True
    return any(ref.id in selected for ref in incident.components)


def _provider_incident(incident: _Incident, is_maintenance: bool) -> ProviderIncident:
    latest = _latest_update(incident.incident_updates or [])
    updated_at = incident.updated_at
    if updated_at is None and latest is not None:
        updated_at = latest.display_at or latest.created_at
    return ProviderIncident(
        name=clip(incident.name),
        status=clip(incident.status, 40),
        impact=clip(incident.impact or "", 40),
        url=safe_link(incident.shortlink),
        latest_update=clip((latest.body or "") if latest else ""),
        updated_at=_utc(updated_at) if updated_at else None,
        is_maintenance=is_maintenance,
        started_at=_utc(began) if (began := incident.started_at or incident.created_at) else None,
    )


def _latest_update(updates: Sequence[_Update]) -> _Update | None:
    """The newest update. The API lists newest first, but we rank by time in case an
    update was back-dated (``display_at``); undated ones rank last, ties keep list order."""
    if not updates:
        return None
    floor = datetime.min.replace(tzinfo=UTC)

    def key(indexed: tuple[int, _Update]) -> tuple[datetime, int]:
        index, update = indexed
        when = update.display_at or update.created_at
        return (_utc(when) if when else floor, -index)

    return max(enumerate(updates), key=key)[1]


def _utc(moment: datetime) -> datetime:
    # Statuspage always sends an offset; a naive time is taken as UTC rather than local.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _q(text: str, limit: int = 120) -> str:
    """Provider text quoted for a summary, trimmed so one long name cannot fill it."""
    return f"'{clip(text, limit)}'"
