"""The monthly SLA report: ``build_monthly`` gathers, pure helpers aggregate, renderers lay out.

``build_monthly`` is the only function here that does I/O: it reads each service's status
spans (from 1 January, for the year projection) and the incidents open at any time in the
month, then hands plain data to ``monthly_from_data``. Every figure comes from
``monitor.sla`` (uptime, budget, day strip, combining) and ``monitor.schoolcal`` (school
hours); this module decides only *what* to measure:

- **Caused by our own dependency.** A span with ``impacted_by`` (the MIS was unreachable
  because the school's internet was down) is measured as ``unknown``: it counts neither for
  nor against the service and its provider — the time is charged to the root cause, which
  has its own spans — and it shows as lower coverage. The report says how much was excluded.
- **Incidents** are those open at any time in the month. Their durations are whole incidents
  (opened to resolved, or to ``now`` while open), including any part outside the month; the
  mean time to recover is over resolved incidents only.
- **Provider-posted incidents** are the ones stored on our incidents (what the provider's
  status page or feed published while we had an incident open), once each.
- **Sites and trust**: ``sla.combine`` sums durations, so a group's uptime weighs each service
  by its observed time. Services without a site are grouped as "Trust-wide services".

With ``site``, a report covers that site's services and the trust-wide ones it relies on.

Renderers: ``render_html`` (email-safe: tables, inline CSS, inline SVG strip, no scripts; with
``for_print=True`` an ``@page`` A4 rule is added for the PDF), ``render_text``,
``render_json``, ``render_csv``; ``report_message`` makes the ``Message`` to send and
``report_notifications`` the outbox rows for ``reports.recipients``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from monitor import docformat as fmt
from monitor import schoolcal, sla
from monitor.config import Config, Service
from monitor.documents_config import DocumentsConfig, Reports
from monitor.model import Incident, Message, ProviderIncident, Status
from monitor.render import format_local, lines, one_line, safe_url, subject
from monitor.store import Notification, Span, Store

__all__ = [
    "GroupSummary",
    "IncidentFigure",
    "MonthlyReport",
    "ProviderPost",
    "ServiceInput",
    "ServiceMonth",
    "build_monthly",
    "incident_figures",
    "mean_time_to_recover",
    "monthly_from_data",
    "neutralise_impacted",
    "next_report_at",
    "previous_month",
    "provider_posts",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "report_message",
    "report_notifications",
    "services_for",
]

TRUST_WIDE = "Trust-wide services"
_NAME_MAX = 200
_TEXT_MAX = 1000


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceInput:
    """What the store holds for one service: spans reaching back far enough, and incidents."""

    service: Service
    spans: tuple[Span, ...]
    incidents: tuple[Incident, ...]


@dataclass(frozen=True)
class IncidentFigure:
    """One incident as the report counts it. ``duration`` runs to ``resolved_at`` or ``now``."""

    id: str
    opened_at: datetime
    resolved_at: datetime | None
    duration: timedelta
    worst: Status
    impacted: tuple[str, ...] = ()

    @property
    def ongoing(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class ServiceMonth:
    """One service's month. ``uptime`` and ``days`` are measured with impacted spans neutralised;
    ``dependency_time`` is how much time that excluded."""

    service: Service
    site_name: str | None
    uptime: sla.Uptime
    school: sla.Uptime | None
    days: tuple[sla.DayFigure, ...]
    incidents: tuple[IncidentFigure, ...]
    dependency_time: timedelta
    dependency_causes: tuple[str, ...]
    year: sla.YearProjection | None

    @property
    def longest(self) -> timedelta | None:
        return max((i.duration for i in self.incidents), default=None)

    @property
    def mttr(self) -> timedelta | None:
        return mean_time_to_recover(self.incidents)

    @property
    def breached(self) -> bool:
        return self.uptime.met is False


@dataclass(frozen=True)
class ProviderPost:
    """An incident a provider published, with the services of ours it was seen on.

    ``posted_at`` is the provider's own start time when it gives one, else its update time.
    """

    provider: str
    name: str
    status: str
    impact: str
    url: str
    latest_update: str
    posted_at: datetime | None
    updated_at: datetime | None
    is_maintenance: bool
    services: tuple[str, ...]


@dataclass(frozen=True)
class GroupSummary:
    """Combined figures of a group of services (a site, the trust-wide services, everything)."""

    key: str | None
    name: str
    services: int
    uptime: sla.Uptime
    school: sla.Uptime | None
    met: int
    breached: int
    incidents: int


@dataclass(frozen=True)
class MonthlyReport:
    organisation: str
    site_id: str | None
    site_name: str | None
    year: int
    month: int
    period: sla.Period
    now: datetime
    tz: ZoneInfo
    services: tuple[ServiceMonth, ...]
    sites: tuple[GroupSummary, ...]
    total: GroupSummary
    provider_posts: tuple[ProviderPost, ...]
    notes: tuple[str, ...]
    school_hours: bool

    @property
    def place(self) -> str:
        return self.site_name or self.organisation

    @property
    def month_label(self) -> str:
        return f"{fmt.month_name(self.month)} {self.year}"

    @property
    def title(self) -> str:
        return f"SLA report {self.month_label} — {self.place}"

    @property
    def complete(self) -> bool:
        """False while the month is still running (figures are month to date)."""
        return self.now >= self.period.end


# --- gathering (I/O) -----------------------------------------------------------------------


def services_for(config: Config, site: str | None) -> list[Service]:
    """Every service, or a site's own plus the trust-wide (site-less) ones, in config order.

    Raises ValueError for an unknown site.
    """
    if site is None:
        return list(config.services)
    if config.site(site) is None:
        known = ", ".join(s.id for s in config.sites) or "none configured"
        raise ValueError(f"unknown site {site!r} (sites: {known})")
    return [s for s in config.services if s.site in (site, None)]


async def build_monthly(
    config: Config,
    docs: DocumentsConfig,
    store: Store,
    year: int,
    month: int,
    now: datetime,
    site: str | None = None,
    *,
    weights: Mapping[Status, float] = sla.DEFAULT_WEIGHTS,
) -> MonthlyReport:
    """The report for calendar month ``year``-``month`` in the organisation's time zone.

    ``now`` (aware) bounds what has been observed: a month in progress is reported to date.
    Raises ValueError for a month outside 1–12 or an unknown ``site``; StoreError when the
    store cannot be read. ``docs`` is accepted for the sections a report may use (currently
    none are needed to build it; ``report_notifications`` uses ``docs.reports``).
    """
    del docs  # part of the documents' common signature; the report needs no section yet
    tz = config.organisation.tz
    period = sla.month_period(year, month, tz)
    since = sla.year_period(year, tz).start
    inputs = []
    for service in services_for(config, site):
        spans = await store.spans(service.id, since, period.end)
        incidents = await store.list_incidents(
            service.id, limit=None, start=period.start, end=period.end
        )
        inputs.append(ServiceInput(service, tuple(spans), tuple(incidents)))
    return monthly_from_data(config, inputs, year, month, now, site, weights=weights)


# --- pure aggregation ----------------------------------------------------------------------


def neutralise_impacted(spans: Sequence[Span]) -> list[Span]:
    """``spans`` with every span that has ``impacted_by`` turned to ``unknown``."""
    return [replace(s, status=Status.UNKNOWN) if s.impacted_by else s for s in spans]


def incident_figures(incidents: Sequence[Incident], now: datetime) -> tuple[IncidentFigure, ...]:
    """The incidents as counted, oldest first; an open one lasts until ``now``."""
    out = [
        IncidentFigure(
            i.id,
            i.opened_at,
            i.resolved_at,
            max(timedelta(0), (i.resolved_at or now) - i.opened_at),
            i.worst,
            i.impacted,
        )
        for i in incidents
    ]
    return tuple(sorted(out, key=lambda f: (f.opened_at, f.id)))


def mean_time_to_recover(incidents: Sequence[IncidentFigure]) -> timedelta | None:
    """Mean duration of the resolved incidents (to the microsecond); None when none resolved."""
    done = [i.duration for i in incidents if not i.ongoing]
    if not done:
        return None
    total = sum(done, timedelta(0))
    return timedelta(microseconds=round(total / timedelta(microseconds=1) / len(done)))


def provider_posts(
    config: Config, incidents: Sequence[tuple[Service, Incident]]
) -> tuple[ProviderPost, ...]:
    """The provider-published incidents stored on ``incidents``, once each (the latest copy),
    with the names of our services they were seen on, ordered by when they were posted."""
    found: dict[tuple[str, str, str], tuple[ProviderIncident, list[str]]] = {}
    for service, incident in incidents:
        provider = service.provider.name if service.provider else ""
        for p in incident.provider_incidents:
            key = (provider, p.url or p.name, p.name)
            seen = found.get(key)
            names = seen[1] if seen else []
            if service.name not in names:
                names.append(service.name)
            latest = p
            if seen is not None and _sort_time(seen[0]) > _sort_time(p):
                latest = seen[0]
            found[key] = (latest, names)
    posts = [
        ProviderPost(
            provider=key[0],
            name=p.name,
            status=p.status,
            impact=p.impact,
            url=p.url,
            latest_update=p.latest_update,
            posted_at=p.started_at or p.updated_at,
            updated_at=p.updated_at,
            is_maintenance=p.is_maintenance,
            services=tuple(names),
        )
        for key, (p, names) in found.items()
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return tuple(sorted(posts, key=lambda p: (p.posted_at or far, p.provider, p.name)))


def _sort_time(p: ProviderIncident) -> datetime:
    moment = p.updated_at or p.started_at
    return fmt.aware(moment) if moment else datetime.min.replace(tzinfo=UTC)


def monthly_from_data(
    config: Config,
    inputs: Sequence[ServiceInput],
    year: int,
    month: int,
    now: datetime,
    site: str | None = None,
    *,
    weights: Mapping[Status, float] = sla.DEFAULT_WEIGHTS,
) -> MonthlyReport:
    """The report from plain data (see the module docstring for what is counted)."""
    if not inputs:
        raise ValueError("no services to report on")
    tz = config.organisation.tz
    period = sla.month_period(year, month, tz)
    year_span = sla.year_period(year, tz)
    calendar = config.calendar
    windows = (
        schoolcal.school_intervals(calendar, period.start, period.end, tz) if calendar else None
    )
    rows = []
    for item in inputs:
        service = item.service
        spans = neutralise_impacted(item.spans)
        month_spans = [s for s in item.spans if _overlaps(s, period)]
        uptime = sla.uptime(spans, period, now=now, target=service.sla, weights=weights)
        raw = sla.uptime(item.spans, period, now=now, target=service.sla, weights=weights)
        school = (
            sla.uptime(spans, period, now=now, target=service.sla, weights=weights, windows=windows)
            if windows is not None
            else None
        )
        days = sla.daily(spans, period, tz, now=now, target=service.sla, weights=weights)
        to_date = sla.uptime(
            spans,
            sla.Period(year_span.start, period.end),
            now=now,
            target=service.sla,
            weights=weights,
        )
        causes = tuple(
            dict.fromkeys(
                _service_name(config, s.impacted_by) for s in month_spans if s.impacted_by
            )
        )
        site_obj = config.site(service.site)
        rows.append(
            ServiceMonth(
                service=service,
                site_name=site_obj.name if site_obj else None,
                uptime=uptime,
                school=school,
                days=tuple(days),
                incidents=incident_figures(item.incidents, now),
                dependency_time=uptime.unknown - raw.unknown,
                dependency_causes=causes,
                year=sla.project_year(to_date, year_span) if service.sla is not None else None,
            )
        )
    groups = _site_groups(config, rows)
    everything = _summary(None, "All services", rows)
    site_obj = config.site(site) if site else None
    posts = provider_posts(config, [(item.service, i) for item in inputs for i in item.incidents])
    return MonthlyReport(
        organisation=config.organisation.name,
        site_id=site,
        site_name=site_obj.name if site_obj else None,
        year=year,
        month=month,
        period=period,
        now=now,
        tz=tz,
        services=tuple(rows),
        sites=tuple(groups),
        total=everything,
        provider_posts=posts,
        notes=tuple(_notes(config, rows, period, now, tz, windows, weights)),
        school_hours=windows is not None,
    )


def _overlaps(span: Span, period: sla.Period) -> bool:
    return span.started_at < period.end and (span.ended_at is None or span.ended_at > period.start)


def _service_name(config: Config, service_id: str | None) -> str:
    try:
        return config.service(service_id or "").name
    except KeyError:
        return service_id or "another service"


def _summary(key: str | None, name: str, rows: Sequence[ServiceMonth]) -> GroupSummary:
    schools = [r.school for r in rows if r.school is not None]
    return GroupSummary(
        key=key,
        name=name,
        services=len(rows),
        uptime=sla.combine([r.uptime for r in rows]),
        school=sla.combine(schools) if schools else None,
        met=sum(1 for r in rows if r.uptime.met is True),
        breached=sum(1 for r in rows if r.breached),
        incidents=sum(len(r.incidents) for r in rows),
    )


def _site_groups(config: Config, rows: Sequence[ServiceMonth]) -> list[GroupSummary]:
    groups = []
    for site in config.sites:
        members = [r for r in rows if r.service.site == site.id]
        if members:
            groups.append(_summary(site.id, site.name, members))
    shared = [r for r in rows if r.service.site is None]
    if shared:
        groups.append(_summary(None, TRUST_WIDE, shared))
    return groups


def _notes(
    config: Config,
    rows: Sequence[ServiceMonth],
    period: sla.Period,
    now: datetime,
    tz: ZoneInfo,
    windows: Sequence[tuple[datetime, datetime]] | None,
    weights: Mapping[Status, float],
) -> list[str]:
    partial = weights.get(Status.PARTIAL_OUTAGE, 0.0)
    degraded = weights.get(Status.DEGRADED, 0.0)
    notes = [
        "Uptime = observed time not in outage ÷ observed time. Scheduled maintenance is left "
        "out, as SLAs leave it out; time Lifeline could not observe is shown as coverage, "
        "never as downtime.",
        f"A major outage counts in full, a partial outage at {partial:.0%} and degraded "
        f"performance at {degraded:.0%} (the weights status pages use for their own uptime "
        "figures).",
        "Time a service was down only because of another of our services (for example the "
        "school's internet connection) is not counted against that service or its provider: "
        "it is left out like unobserved time and counted against the root cause instead.",
        "Incidents are those open at any time in the month; their durations are whole "
        "incidents, including any part outside the month. Mean time to recover is over "
        "resolved incidents.",
    ]
    for row in rows:
        if row.dependency_time > timedelta(0):
            causes = ", ".join(row.dependency_causes) or "another service"
            notes.append(
                f"{row.service.name}: {fmt.duration_text(row.dependency_time)} left out "
                f"(caused by {causes})."
            )
    if windows is not None and config.calendar is not None:
        hours = config.calendar.school_hours
        days = len({fmt.local_day(s, tz) for s, _ in windows})
        notes.append(
            f"School hours: {', '.join(d.capitalize() for d in hours.days)} "
            f"{hours.start:%H:%M}–{hours.end:%H:%M} on school days (term dates and closures "
            f"from the calendar): {days} school day{'s' if days != 1 else ''} this month."
        )
    if now < period.end:
        notes.append(f"The month is not over: figures are to {format_local(now, tz)}.")
    return notes


# --- display values ------------------------------------------------------------------------


def _values(report: MonthlyReport) -> dict[str, Any]:
    """Every string the templates show, computed once (templates only lay them out)."""
    tz = report.tz
    services = [_service_values(r, tz) for r in report.services]
    breached = [r.service.name for r in report.services if r.breached]
    measured = [r for r in report.services if r.uptime.met is not None]
    if not any(r.uptime.observed for r in report.services):
        headline = f"Lifeline has no observations of these services in {report.month_label}."
    elif not measured:
        headline = "No service has a target to measure against."
    elif breached:
        headline = (
            f"{len(measured) - len(breached)} of {len(measured)} services met their target; "
            f"{len(breached)} breached: {', '.join(one_line(b, _NAME_MAX) for b in breached)}."
        )
    else:
        headline = f"All {len(measured)} services with a target met it."
    return {
        "title": one_line(report.title, _NAME_MAX),
        "subject": subject(report.title),
        "organisation": one_line(report.organisation, _NAME_MAX),
        "place": one_line(report.place, _NAME_MAX),
        "month_label": report.month_label,
        "period": (
            f"{format_local(report.period.start, tz)} to {format_local(report.period.end, tz)}"
        ),
        "generated": format_local(report.now, tz),
        "complete": report.complete,
        "headline": headline,
        "school_hours": report.school_hours,
        "groups": [_group_values(g) for g in report.sites],
        "total": _group_values(report.total),
        "services": services,
        "posts": [_post_values(p, tz) for p in report.provider_posts],
        "notes": list(report.notes),
    }


def _badge(uptime: sla.Uptime) -> dict[str, str]:
    text = fmt.result_text(uptime)
    colour = {"MET": "#15803d", "BREACHED": "#b91c1c"}.get(text, "#4b5563")
    return {"text": text, "colour": colour}


def _group_values(g: GroupSummary) -> dict[str, Any]:
    return {
        "name": one_line(g.name, _NAME_MAX),
        "services": g.services,
        "uptime": fmt.percent(g.uptime),
        "school": fmt.percent(g.school) if g.school else "—",
        "downtime": fmt.duration_text(g.uptime.downtime),
        "met": g.met,
        "breached": g.breached,
        "incidents": g.incidents,
    }


def _service_values(r: ServiceMonth, tz: ZoneInfo) -> dict[str, Any]:
    u = r.uptime
    bad_days = [str(d.day.day) for d in r.days if d.uptime.downtime > timedelta(0)]
    year = None
    if r.year is not None and r.year.projected_downtime is not None:
        allowed = r.year.budget_allowed
        year = (
            f"{'on track' if r.year.on_track else 'off track'} — at this year's rate, "
            f"{fmt.duration_text(r.year.projected_downtime)} of downtime in "
            f"{r.year.year.start.astimezone(tz).year} against {fmt.duration_text(allowed)} allowed"
        )
    incidents = [
        {
            "id": one_line(i.id, _NAME_MAX),
            "opened": format_local(i.opened_at, tz),
            "duration": fmt.duration_text(i.duration) + (" so far" if i.ongoing else ""),
            "worst": i.worst.label,
        }
        for i in r.incidents
    ]
    return {
        "id": r.service.id,
        "name": one_line(r.service.name, _NAME_MAX),
        "site": one_line(r.site_name, _NAME_MAX) if r.site_name else TRUST_WIDE,
        "criticality": r.service.criticality,
        "provider": one_line(r.service.provider.name, _NAME_MAX) if r.service.provider else "",
        "uptime": fmt.percent(u),
        "target": fmt.target_text(u.target),
        "badge": _badge(u),
        "downtime": fmt.duration_text(u.downtime),
        "budget": fmt.budget_text(u)
        + (
            f" of {fmt.duration_text(u.budget_allowed)}"
            if u.observed and u.target is not None
            else ""
        ),
        "coverage": fmt.coverage(u),
        "school": fmt.percent(r.school) if r.school is not None else None,
        "count": len(r.incidents),
        "longest": fmt.duration_text(r.longest),
        "mttr": fmt.duration_text(r.mttr),
        "excluded": fmt.duration_text(r.dependency_time) if r.dependency_time else "",
        "year": year,
        "strip": fmt.day_strip_svg(r.days, f"Day by day, {r.service.name}"),
        "bad_days": ", ".join(bad_days) if bad_days else "none",
        "days": len(r.days),
        "incidents": incidents,
    }


def _post_values(p: ProviderPost, tz: ZoneInfo) -> dict[str, Any]:
    state = one_line(p.status, 60)
    if p.is_maintenance:
        state += ", maintenance"
    elif p.impact and p.impact.lower() != "none":
        state += f", {one_line(p.impact, 60)} impact"
    return {
        "provider": one_line(p.provider, _NAME_MAX) or "Provider",
        "name": one_line(p.name, _NAME_MAX) or "(untitled)",
        "state": state,
        "posted": format_local(p.posted_at, tz) if p.posted_at else "—",
        "update_lines": lines(p.latest_update, _TEXT_MAX),
        "href": safe_url(p.url) or "",
        "url": one_line(safe_url(p.url) or "", 300),
        "services": ", ".join(one_line(s, _NAME_MAX) for s in p.services),
    }


# --- renderers -----------------------------------------------------------------------------


def render_html(report: MonthlyReport, *, for_print: bool = False) -> str:
    """Email-safe HTML (tables, inline CSS, inline SVG day strips, no scripts or images).

    ``for_print`` adds the one stylesheet rule a PDF needs (``@page`` A4 with margins), which
    mail clients would ignore anyway.
    """
    env = fmt.environment()
    return env.get_template("doc_report.html").render(_values(report), for_print=for_print)


def render_text(report: MonthlyReport) -> str:
    """The plain-text version (also the email's text alternative)."""
    env = fmt.environment()
    text = env.get_template("doc_report.txt").render(_values(report))
    return text.rstrip("\n") + "\n"


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _uptime_json(u: sla.Uptime | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {
        "uptime_percent": u.uptime_percent,
        "coverage_percent": u.coverage_percent,
        "target_percent": u.target,
        "met": u.met,
        "considered_seconds": u.total.total_seconds(),
        "observed_seconds": u.observed.total_seconds(),
        "maintenance_seconds": u.maintenance.total_seconds(),
        "unknown_seconds": u.unknown.total_seconds(),
        "downtime_seconds": u.downtime.total_seconds(),
        "budget_allowed_seconds": _seconds(u.budget_allowed),
        "budget_remaining_seconds": _seconds(u.budget_remaining),
    }


def report_data(report: MonthlyReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (durations in seconds, times ISO 8601 UTC)."""

    def group(g: GroupSummary) -> dict[str, Any]:
        return {
            "site": g.key,
            "name": g.name,
            "services": g.services,
            "met": g.met,
            "breached": g.breached,
            "incidents": g.incidents,
            "month": _uptime_json(g.uptime),
            "school_hours": _uptime_json(g.school),
        }

    return {
        "organisation": report.organisation,
        "site": report.site_id,
        "month": f"{report.year:04d}-{report.month:02d}",
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "generated": report.now.isoformat(),
        "complete": report.complete,
        "services": [
            {
                "id": r.service.id,
                "name": r.service.name,
                "site": r.service.site,
                "criticality": r.service.criticality,
                "provider": r.service.provider.name if r.service.provider else None,
                "month": _uptime_json(r.uptime),
                "school_hours": _uptime_json(r.school),
                "excluded_dependency_seconds": r.dependency_time.total_seconds(),
                "incidents": {
                    "count": len(r.incidents),
                    "longest_seconds": _seconds(r.longest),
                    "mttr_seconds": _seconds(r.mttr),
                    "items": [
                        {
                            "id": i.id,
                            "opened_at": i.opened_at.isoformat(),
                            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
                            "duration_seconds": i.duration.total_seconds(),
                            "worst": i.worst.value,
                        }
                        for i in r.incidents
                    ],
                },
                "days": [
                    {
                        "date": d.day.isoformat(),
                        "worst": d.worst.value,
                        "uptime_percent": d.uptime_percent,
                        "downtime_seconds": d.uptime.downtime.total_seconds(),
                    }
                    for d in r.days
                ],
                "year_projection": (
                    {
                        "projected_downtime_seconds": _seconds(r.year.projected_downtime),
                        "budget_allowed_seconds": _seconds(r.year.budget_allowed),
                        "on_track": r.year.on_track,
                    }
                    if r.year is not None
                    else None
                ),
            }
            for r in report.services
        ],
        "sites": [group(g) for g in report.sites],
        "total": group(report.total),
        "provider_incidents": [
            {
                "provider": p.provider,
                "name": p.name,
                "status": p.status,
                "impact": p.impact,
                "url": p.url,
                "posted_at": p.posted_at.isoformat() if p.posted_at else None,
                "maintenance": p.is_maintenance,
                "services": list(p.services),
            }
            for p in report.provider_posts
        ],
        "notes": list(report.notes),
    }


def render_json(report: MonthlyReport) -> str:
    return json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "site",
    "service_id",
    "service",
    "provider",
    "target_percent",
    "uptime_percent",
    "result",
    "downtime_seconds",
    "budget_remaining_seconds",
    "coverage_percent",
    "school_hours_uptime_percent",
    "incidents",
    "longest_seconds",
    "mttr_seconds",
    "excluded_dependency_seconds",
)


def _cell(value: object) -> object:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_csv(report: MonthlyReport) -> str:
    """One row per service; durations in seconds, percentages unrounded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.services:
        u = r.uptime
        writer.writerow(
            [
                _cell(r.site_name or TRUST_WIDE),
                r.service.id,
                _cell(r.service.name),
                _cell(r.service.provider.name if r.service.provider else ""),
                "" if u.target is None else f"{u.target:g}",
                "" if u.uptime_percent is None else repr(u.uptime_percent),
                fmt.result_text(u),
                f"{u.downtime.total_seconds():g}",
                "" if u.budget_remaining is None else f"{u.budget_remaining.total_seconds():g}",
                "" if u.coverage_percent is None else repr(u.coverage_percent),
                ""
                if r.school is None or r.school.uptime_percent is None
                else repr(r.school.uptime_percent),
                len(r.incidents),
                "" if r.longest is None else f"{r.longest.total_seconds():g}",
                "" if r.mttr is None else f"{r.mttr.total_seconds():g}",
                f"{r.dependency_time.total_seconds():g}",
            ]
        )
    return out.getvalue()


def report_message(report: MonthlyReport, *, format: str = "html") -> Message:
    """The report as an email: subject ``[Lifeline] SLA report November 2026 — <place>``,
    the text version and the HTML one (``format="text"``: the text again, preformatted, for
    recipients who want no layout), severity ``degraded`` when a target was breached."""
    values = _values(report)
    breached = any(r.breached for r in report.services)
    text = render_text(report)
    if format == "text":
        html = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(values['title'])}</title></head><body>"
            '<pre style="font-family:Menlo,Consolas,monospace;font-size:13px;">'
            f"{escape(text)}</pre></body></html>\n"
        )
    else:
        html = render_html(report)
    return Message(
        subject=values["subject"],
        text=text,
        html=html,
        severity=Status.DEGRADED if breached else Status.UP,
        facts=(
            ("Month", report.month_label),
            ("Uptime", fmt.percent(report.total.uptime)),
            ("Targets breached", str(report.total.breached)),
        ),
        short=one_line(f"{report.title}: {values['headline']}", 300),
    )


def report_notifications(
    config: Config,
    docs: DocumentsConfig,
    message: Message,
    year: int,
    month: int,
    now: datetime,
    *,
    site: str | None = None,
) -> list[Notification]:
    """One email per address in ``docs.reports.recipients`` (contact ids resolved to their
    addresses, duplicates dropped), keyed ``report/2026-11/<address>`` — or
    ``report/2026-11/<site>/<address>`` for a site's report — so queuing twice sends once.

    Raises ValueError when there is no ``reports:`` section, no recipient, or a contact id
    that is unknown or has no email address (``--format text`` sends ``message`` as given).
    """
    reports = docs.reports
    if reports is None or not reports.recipients:
        raise ValueError(
            "no report recipients: add reports: {recipients: [...]} to the configuration"
        )
    slug = f"{year:04d}-{month:02d}" + (f"/{site}" if site else "")
    out: list[Notification] = []
    seen: set[str] = set()
    for contact_id, address in _recipients(config, reports):
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        out.append(
            Notification(
                key=f"report/{slug}/{address}",
                channel="email",
                recipient=address,
                kind="report",
                message=message,
                created_at=now,
                contact_id=contact_id,
            )
        )
    return out


def _recipients(config: Config, reports: Reports) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for entry in reports.recipients:
        if "@" in entry:
            out.append((None, entry.strip()))
            continue
        try:
            contact = config.contact(entry)
        except KeyError:
            raise ValueError(f"reports.recipients: unknown contact {entry!r}") from None
        if contact.email is None:
            raise ValueError(f"reports.recipients: contact {entry!r} has no email address")
        out.append((contact.id, contact.email))
    return out


# --- schedule --------------------------------------------------------------------------------


def previous_month(moment: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """The calendar month before the local month of ``moment``: the one a report covers."""
    local = fmt.aware(moment).astimezone(tz)
    return (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)


def next_report_at(reports: Reports, tz: ZoneInfo, after: datetime) -> datetime:
    """The first send time strictly after ``after``: ``send_at`` local time on a 1st (aware).

    The report sent then covers ``previous_month(send time)``. A send time inside a clock
    change's gap is read with the offset before the change (like the school calendar).
    """
    local = fmt.aware(after).astimezone(tz)
    year, month = local.year, local.month
    for _ in range(3):
        at = datetime.combine(date(year, month, 1), reports.send_at, tzinfo=tz)
        if at > after:
            return at
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: a 1st of the month follows within two months")
