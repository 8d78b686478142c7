"""The provider scorecard, for procurement: how each provider did against its contract.

Per provider (services grouped by ``provider.name``; services without a provider are ours
and are left out):

- **measured uptime** over the period (``sla.combine`` of its services, impacted spans
  neutralised as in the monthly report) against the **contracted SLA** (each service's
  ``sla``), service by service;
- **incidents** open in the period and the **mean time to recover** (resolved ones);
- **detection lead**, for incidents of services with an endpoint (``http``) check — the
  checks that can see a problem before the provider says anything: the provider's
  acknowledgement time (``review.provider_acknowledged_at``: the earliest start, else update,
  time of the incidents it published) minus our incident's ``opened_at``. Positive: we saw it
  first, by that much. Negative: the provider had posted before we detected it. An incident
  the provider never posted about is "not acknowledged by provider". A provider's start
  time may be back-dated to when it says the problem began, which understates our lead;
- whether the provider **publishes a status page** (``provider.status_page``, or a
  ``statuspage``/``feed`` check) and **incident history** (a ``feed`` check).

The period is the ``months`` complete calendar months before the month of ``now`` (in the
organisation's time zone): on 4 December 2026, ``months=12`` is December 2025 to November 2026.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor import docformat as fmt
from monitor import sla
from monitor.config import Config, Service
from monitor.model import Incident
from monitor.render import format_local, one_line, safe_url
from monitor.reports import (
    IncidentFigure,
    incident_figures,
    mean_time_to_recover,
    neutralise_impacted,
)
from monitor.review import provider_acknowledged_at
from monitor.store import Span, Store

__all__ = [
    "Detection",
    "ProviderScore",
    "Scorecard",
    "ServiceScore",
    "build_scorecard",
    "render_scorecard_html",
    "render_scorecard_json",
    "render_scorecard_text",
    "scorecard_from_data",
    "scorecard_period",
]

_NAME_MAX = 200


@dataclass(frozen=True)
class Detection:
    """One incident seen by an endpoint check; ``lead`` None: the provider never posted."""

    incident_id: str
    service_id: str
    opened_at: datetime
    provider_at: datetime | None

    @property
    def lead(self) -> timedelta | None:
        if self.provider_at is None:
            return None
        return fmt.aware(self.provider_at) - fmt.aware(self.opened_at)


@dataclass(frozen=True)
class ServiceScore:
    service: Service
    uptime: sla.Uptime
    incidents: tuple[IncidentFigure, ...]


@dataclass(frozen=True)
class ProviderScore:
    name: str
    services: tuple[ServiceScore, ...]
    uptime: sla.Uptime
    incidents: tuple[IncidentFigure, ...]
    detections: tuple[Detection, ...]
    status_page: str | None  # the page's address, when known
    publishes_status: bool
    history_feed: str | None  # the feed's address, when a feed check watches it

    @property
    def contracted(self) -> tuple[float, ...]:
        return tuple(sorted({s.service.sla for s in self.services if s.service.sla is not None}))

    @property
    def mttr(self) -> timedelta | None:
        return mean_time_to_recover(self.incidents)

    @property
    def met(self) -> bool | None:
        """Every service with a target met it; None when none has a target and data."""
        verdicts = [s.uptime.met for s in self.services if s.uptime.met is not None]
        return all(verdicts) if verdicts else None

    @property
    def acknowledged(self) -> tuple[Detection, ...]:
        return tuple(d for d in self.detections if d.lead is not None)

    @property
    def mean_lead(self) -> timedelta | None:
        """Mean detection lead over the incidents the provider did acknowledge."""
        leads = [d.lead for d in self.detections if d.lead is not None]
        if not leads:
            return None
        total = sum(leads, timedelta(0))
        return timedelta(microseconds=round(total / timedelta(microseconds=1) / len(leads)))


@dataclass(frozen=True)
class Scorecard:
    organisation: str
    period: sla.Period
    months: int
    now: datetime
    tz: ZoneInfo
    providers: tuple[ProviderScore, ...]
    left_out: tuple[str, ...]  # names of services without a provider


def scorecard_period(now: datetime, tz: ZoneInfo, months: int) -> sla.Period:
    """The ``months`` complete calendar months before the local month of ``now``."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    local = fmt.aware(now).astimezone(tz)
    end = sla.month_period(local.year, local.month, tz).start
    index = local.year * 12 + (local.month - 1) - months
    start = sla.month_period(index // 12, index % 12 + 1, tz).start
    return sla.Period(start, end)


async def build_scorecard(
    config: Config, store: Store, now: datetime, months: int = 12
) -> Scorecard:
    """The scorecard for the ``months`` complete months before ``now``.

    Raises ValueError for ``months`` < 1; StoreError when the store cannot be read.
    """
    period = scorecard_period(now, config.organisation.tz, months)
    spans: dict[str, list[Span]] = {}
    incidents: dict[str, list[Incident]] = {}
    for service in config.services:
        if service.provider is None:
            continue
        spans[service.id] = await store.spans(service.id, period.start, period.end)
        incidents[service.id] = await store.list_incidents(
            service.id, limit=None, start=period.start, end=period.end
        )
    return scorecard_from_data(config, now, months, spans=spans, incidents=incidents)


def _has_check(service: Service, *types: str) -> bool:
    return any(c.type in types for c in service.checks)


def scorecard_from_data(
    config: Config,
    now: datetime,
    months: int,
    *,
    spans: Mapping[str, Sequence[Span]],
    incidents: Mapping[str, Sequence[Incident]],
) -> Scorecard:
    """The scorecard from plain data (``spans`` and ``incidents`` by service id)."""
    tz = config.organisation.tz
    period = scorecard_period(now, tz, months)
    grouped: dict[str, list[Service]] = {}
    for service in config.services:
        if service.provider is not None:
            grouped.setdefault(service.provider.name, []).append(service)
    providers = []
    for name, members in grouped.items():
        scores = []
        detections = []
        for service in members:
            figures = incident_figures(incidents.get(service.id, ()), now)
            uptime = sla.uptime(
                neutralise_impacted(spans.get(service.id, ())), period, now=now, target=service.sla
            )
            scores.append(ServiceScore(service, uptime, figures))
            if _has_check(service, "http"):
                detections += [
                    Detection(
                        i.id,
                        service.id,
                        i.opened_at,
                        provider_acknowledged_at(i.provider_incidents),
                    )
                    for i in incidents.get(service.id, ())
                ]
        page = next(
            (s.provider.status_page for s in members if s.provider and s.provider.status_page), None
        )
        if page is None:
            page = next(
                (str(c.url) for s in members for c in s.checks if c.type in ("statuspage", "feed")),
                None,
            )
        feed = next((str(c.url) for s in members for c in s.checks if c.type == "feed"), None)
        providers.append(
            ProviderScore(
                name=name,
                services=tuple(scores),
                uptime=sla.combine([s.uptime for s in scores]),
                incidents=tuple(
                    sorted(
                        (f for s in scores for f in s.incidents), key=lambda f: (f.opened_at, f.id)
                    )
                ),
                detections=tuple(sorted(detections, key=lambda d: (d.opened_at, d.incident_id))),
                status_page=page,
                publishes_status=page is not None,
                history_feed=feed,
            )
        )
    return Scorecard(
        organisation=config.organisation.name,
        period=period,
        months=months,
        now=now,
        tz=tz,
        providers=tuple(providers),
        left_out=tuple(s.name for s in config.services if s.provider is None),
    )


# --- display -------------------------------------------------------------------------------


def _lead_text(d: Detection) -> str:
    lead = d.lead
    if lead is None:
        return "not acknowledged by provider"
    if lead > timedelta(0):
        return f"{fmt.signed_duration(lead)} (we saw it first)"
    if lead < timedelta(0):
        return f"{fmt.signed_duration(lead)} (provider posted first)"
    return "0s (at the same time)"


def _values(card: Scorecard) -> dict[str, Any]:
    tz = card.tz
    last = card.period.end - timedelta(microseconds=1)
    first_local, last_local = card.period.start.astimezone(tz), last.astimezone(tz)
    span = (
        f"{fmt.month_name(first_local.month)} {first_local.year} to "
        f"{fmt.month_name(last_local.month)} {last_local.year}"
    )
    providers = []
    for p in card.providers:
        leads = [_lead_text(d) for d in p.detections]
        mean = p.mean_lead
        if not p.detections:
            summary = "no incident seen by an endpoint check"
        elif mean is None:
            summary = "never acknowledged by the provider"
        else:
            summary = f"mean {fmt.signed_duration(mean)} over {len(p.acknowledged)} acknowledged"
            missing = len(p.detections) - len(p.acknowledged)
            if missing:
                summary += f"; {missing} not acknowledged by provider"
        verdict = {True: "MET", False: "BREACHED", None: "no target"}[p.met]
        providers.append(
            {
                "name": one_line(p.name, _NAME_MAX),
                "uptime": fmt.percent(p.uptime),
                "contracted": " / ".join(fmt.target_text(x) for x in p.contracted) or "none",
                "verdict": verdict,
                "verdict_colour": {"MET": "#15803d", "BREACHED": "#b91c1c"}.get(verdict, "#4b5563"),
                "coverage": fmt.coverage(p.uptime),
                "incidents": len(p.incidents),
                "mttr": fmt.duration_text(p.mttr),
                "lead_summary": summary,
                "detections": [
                    {
                        "incident": one_line(d.incident_id, _NAME_MAX),
                        "opened": format_local(d.opened_at, tz),
                        "lead": text,
                    }
                    for d, text in zip(p.detections, leads, strict=True)
                ],
                "status_page": (
                    {"text": one_line(p.status_page, 300), "href": safe_url(p.status_page) or ""}
                    if p.status_page
                    else None
                ),
                "history": (
                    {"text": one_line(p.history_feed, 300), "href": safe_url(p.history_feed) or ""}
                    if p.history_feed
                    else None
                ),
                "services": [
                    {
                        "name": one_line(s.service.name, _NAME_MAX),
                        "uptime": fmt.percent(s.uptime),
                        "target": fmt.target_text(s.uptime.target),
                        "result": fmt.result_text(s.uptime),
                        "incidents": len(s.incidents),
                    }
                    for s in p.services
                ],
            }
        )
    return {
        "title": f"Provider scorecard — {one_line(card.organisation, _NAME_MAX)}",
        "organisation": one_line(card.organisation, _NAME_MAX),
        "span": span,
        "months": card.months,
        "generated": format_local(card.now, tz),
        "providers": providers,
        "left_out": ", ".join(one_line(n, _NAME_MAX) for n in card.left_out),
    }


def render_scorecard_text(card: Scorecard) -> str:
    text = fmt.environment().get_template("doc_scorecard.txt").render(_values(card))
    return text.rstrip("\n") + "\n"


def render_scorecard_html(card: Scorecard) -> str:
    """A printable HTML page (A4 print stylesheet, no scripts)."""
    return fmt.environment().get_template("doc_scorecard.html").render(_values(card))


def scorecard_data(card: Scorecard) -> dict[str, Any]:
    """The scorecard as JSON-ready data (durations in seconds, times ISO 8601)."""

    def seconds(delta: timedelta | None) -> float | None:
        return None if delta is None else delta.total_seconds()

    return {
        "organisation": card.organisation,
        "start": card.period.start.isoformat(),
        "end": card.period.end.isoformat(),
        "months": card.months,
        "generated": card.now.isoformat(),
        "providers": [
            {
                "name": p.name,
                "uptime_percent": p.uptime.uptime_percent,
                "coverage_percent": p.uptime.coverage_percent,
                "contracted_percent": list(p.contracted),
                "met": p.met,
                "incidents": len(p.incidents),
                "mttr_seconds": seconds(p.mttr),
                "mean_detection_lead_seconds": seconds(p.mean_lead),
                "detections": [
                    {
                        "incident": d.incident_id,
                        "service": d.service_id,
                        "opened_at": d.opened_at.isoformat(),
                        "provider_acknowledged_at": d.provider_at.isoformat()
                        if d.provider_at
                        else None,
                        "lead_seconds": seconds(d.lead),
                    }
                    for d in p.detections
                ],
                "status_page": p.status_page,
                "publishes_status_page": p.publishes_status,
                "incident_history_feed": p.history_feed,
                "services": [
                    {
                        "id": s.service.id,
                        "name": s.service.name,
                        "target_percent": s.service.sla,
                        "uptime_percent": s.uptime.uptime_percent,
                        "met": s.uptime.met,
                        "incidents": len(s.incidents),
                    }
                    for s in p.services
                ],
            }
            for p in card.providers
        ],
        "left_out": list(card.left_out),
    }


def render_scorecard_json(card: Scorecard) -> str:
    return json.dumps(scorecard_data(card), indent=2, ensure_ascii=False) + "\n"
