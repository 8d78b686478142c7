"""The continuity plan: the one- or two-page document the DfE's digital standards ask a
school to keep current, generated from the configuration and the store.

Contents: the systems (most critical first) with what they support, what they depend on and
what depends on them, how long each can be tolerated and the fallback procedure; who to
contact — the escalation ladder of each system from ``config.policy`` (groups and
``@service`` expanded), the key people, each provider's support and status page; the
communication protocol; the local data exports and when each was last seen fresh; and each
provider's contracted SLA beside the uptime Lifeline measured over the last 12 months.

``build_plan`` reads only the status spans (for the measured uptime); ``plan_from_data`` is
pure. "Last seen fresh" comes from the ``freshness`` parameter — a mapping of export name to
the last moment it was seen fresh, for checks that may feed it later — and reads "not
monitored" for an export it does not name.

With ``site``, the plan covers that site's services, the trust-wide services it relies on,
its exports and the contacts of that site and of the trust.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor import docformat as fmt
from monitor import sla
from monitor.config import Config, Contact, Service, Support
from monitor.documents_config import Communication, DocumentsConfig, Export, PlanInfo
from monitor.durations import format_duration
from monitor.escalation import SERVICE_CONTACTS
from monitor.render import format_local, lines, one_line, safe_url
from monitor.reports import neutralise_impacted, services_for
from monitor.store import Span, Store

__all__ = [
    "MEASURED_OVER",
    "ExportStatus",
    "KeyContact",
    "LadderStep",
    "Plan",
    "PlanSystem",
    "ProviderEntry",
    "build_plan",
    "ladder",
    "plan_from_data",
    "render_plan_html",
    "render_plan_md",
]

#: How far back the plan's measured uptime looks.
MEASURED_OVER = timedelta(days=365)
_CRITICALITY_ORDER = {"critical": 0, "high": 1, "normal": 2, "low": 3}
_NAME_MAX = 200
_TEXT_MAX = 2000


@dataclass(frozen=True)
class LadderStep:
    """One escalation step: after ``after``, these people, by these channels."""

    after: timedelta
    people: tuple[Contact, ...]
    channels: tuple[str, ...]
    unknown: tuple[str, ...] = ()  # names in the policy that match no contact or group


@dataclass(frozen=True)
class PlanSystem:
    service: Service
    site_name: str | None
    depends_on: tuple[str, ...]
    needed_by: tuple[str, ...]
    ladder: tuple[LadderStep, ...]
    measured: sla.Uptime | None


@dataclass(frozen=True)
class ExportStatus:
    """An export and what is known of its freshness. ``last_fresh`` None: not monitored."""

    export: Export
    owner: Contact | None
    site_name: str | None
    service_name: str | None
    last_fresh: datetime | None
    now: datetime

    @property
    def stale(self) -> bool | None:
        """True when older than ``max_age``; None when it is not monitored."""
        if self.last_fresh is None:
            return None
        return self.now - self.last_fresh > self.export.max_age


@dataclass(frozen=True)
class KeyContact:
    contact: Contact
    site_name: str | None  # None: a trust contact


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    services: tuple[str, ...]
    slas: tuple[float, ...]
    status_page: str | None
    support: Support | None
    measured: sla.Uptime | None


@dataclass(frozen=True)
class Plan:
    organisation: str
    site_id: str | None
    site_name: str | None
    now: datetime
    tz: ZoneInfo
    info: PlanInfo | None
    owner: Contact | None
    systems: tuple[PlanSystem, ...]
    contacts: tuple[KeyContact, ...]
    communication: Communication | None
    exports: tuple[ExportStatus, ...]
    providers: tuple[ProviderEntry, ...]

    @property
    def place(self) -> str:
        return self.site_name or self.organisation

    @property
    def title(self) -> str:
        return f"Digital continuity plan — {self.place}"

    @property
    def review_overdue(self) -> bool:
        due = self.info.review_due if self.info else None
        return due is not None and fmt.local_day(self.now, self.tz) > due


async def build_plan(
    config: Config,
    docs: DocumentsConfig,
    store: Store,
    now: datetime,
    site: str | None = None,
    *,
    freshness: Mapping[str, datetime] | None = None,
) -> Plan:
    """The plan as of ``now`` (aware). Raises ValueError for an unknown ``site``."""
    start = now - MEASURED_OVER
    spans: dict[str, Sequence[Span]] = {}
    for service in services_for(config, site):
        spans[service.id] = await store.spans(service.id, start, now)
    return plan_from_data(config, docs, now, site, spans=spans, freshness=freshness)


def ladder(config: Config, service: Service) -> tuple[LadderStep, ...]:
    """``config.policy(service)`` with groups and ``@service`` expanded to contacts (each
    person once per step, in order)."""
    known = {c.id: c for c in config.contacts}
    steps = []
    for step in config.policy(service):
        ids: list[str] = []
        unknown: list[str] = []
        for name in step.notify:
            members = (
                service.notify if name == SERVICE_CONTACTS else config.groups.get(name, [name])
            )
            for member in members:
                (ids if member in known else unknown).append(member)
        people = tuple(known[i] for i in dict.fromkeys(ids))
        steps.append(LadderStep(step.after, people, tuple(step.via), tuple(unknown)))
    return tuple(steps)


def plan_from_data(
    config: Config,
    docs: DocumentsConfig,
    now: datetime,
    site: str | None = None,
    *,
    spans: Mapping[str, Sequence[Span]] | None = None,
    freshness: Mapping[str, datetime] | None = None,
) -> Plan:
    """The plan from plain data. ``spans`` by service id gives the measured uptime (over
    ``MEASURED_OVER`` before ``now``); without it, no measured figures are shown."""
    tz = config.organisation.tz
    services = services_for(config, site)
    ids = {s.id for s in services}
    period = sla.Period(now - MEASURED_OVER, now)
    measured: dict[str, sla.Uptime] = {}
    if spans is not None:
        for service in services:
            if service.id in spans:
                measured[service.id] = sla.uptime(
                    neutralise_impacted(spans[service.id]), period, now=now, target=service.sla
                )
    ordered = sorted(
        services, key=lambda s: (_CRITICALITY_ORDER.get(s.criticality, 9), services.index(s))
    )
    systems = []
    for service in ordered:
        site_obj = config.site(service.site)
        systems.append(
            PlanSystem(
                service=service,
                site_name=site_obj.name if site_obj else None,
                depends_on=tuple(_name(config, d) for d in service.depends_on),
                needed_by=tuple(
                    s.name for s in config.services if service.id in s.depends_on and s.id in ids
                ),
                ladder=ladder(config, service),
                measured=measured.get(service.id),
            )
        )
    info = docs.plan
    owner = _contact(config, info.owner if info else None)
    exports = tuple(
        ExportStatus(
            export=e,
            owner=_contact(config, e.owner),
            site_name=(s.name if (s := config.site(e.site)) else None),
            service_name=_name(config, e.service) if e.service else None,
            last_fresh=(freshness or {}).get(e.name),
            now=now,
        )
        for e in docs.exports
        if site is None or e.site in (site, None)
    )
    return Plan(
        organisation=config.organisation.name,
        site_id=site,
        site_name=(s.name if (s := config.site(site)) else None),
        now=now,
        tz=tz,
        info=info,
        owner=owner,
        systems=tuple(systems),
        contacts=_key_contacts(config, systems, exports, owner, site),
        communication=docs.communication,
        exports=exports,
        providers=_providers(services, measured),
    )


def _name(config: Config, service_id: str | None) -> str:
    try:
        return config.service(service_id or "").name
    except KeyError:
        return service_id or ""


def _contact(config: Config, contact_id: str | None) -> Contact | None:
    if contact_id is None:
        return None
    try:
        return config.contact(contact_id)
    except KeyError:
        return None


def _key_contacts(
    config: Config,
    systems: Sequence[PlanSystem],
    exports: Sequence[ExportStatus],
    owner: Contact | None,
    site: str | None,
) -> tuple[KeyContact, ...]:
    """Everyone the plan names: on a ladder, told by a service, owning it or an export —
    the site's people first, then the trust's, in configuration order."""
    named: set[str] = set()
    for system in systems:
        named.update(system.service.notify)
        for step in system.ladder:
            named.update(c.id for c in step.people)
    named.update(e.owner.id for e in exports if e.owner)
    if owner is not None:
        named.add(owner.id)
    chosen = [
        c for c in config.contacts if c.id in named and (site is None or c.site in (site, None))
    ]
    ordered = sorted(chosen, key=lambda c: (c.site is None, config.contacts.index(c)))
    return tuple(KeyContact(c, s.name if (s := config.site(c.site)) else None) for c in ordered)


def _providers(
    services: Sequence[Service], measured: Mapping[str, sla.Uptime]
) -> tuple[ProviderEntry, ...]:
    by_name: dict[str, list[Service]] = {}
    for s in services:
        if s.provider is not None:
            by_name.setdefault(s.provider.name, []).append(s)
    out = []
    for name, members in by_name.items():
        figures = [measured[s.id] for s in members if s.id in measured]
        page = next(
            (s.provider.status_page for s in members if s.provider and s.provider.status_page), None
        )
        support = next(
            (s.provider.support for s in members if s.provider and s.provider.support), None
        )
        out.append(
            ProviderEntry(
                name=name,
                services=tuple(s.name for s in members),
                slas=tuple(sorted({s.sla for s in members if s.sla is not None})),
                status_page=page,
                support=support,
                measured=sla.combine(figures) if figures else None,
            )
        )
    return tuple(out)


# --- display values ------------------------------------------------------------------------


def _after(delta: timedelta) -> str:
    return "At once" if delta <= timedelta(0) else f"After {format_duration(delta)}"


def _person(c: Contact) -> str:
    name = one_line(c.name, _NAME_MAX)
    return f"{name} ({one_line(c.role, _NAME_MAX)})" if c.role else name


def _ladder_values(steps: Sequence[LadderStep]) -> list[dict[str, str]]:
    out = []
    for step in steps:
        who = [_person(c) for c in step.people] + [
            f"{one_line(u, 64)} (unknown)" for u in step.unknown
        ]
        out.append(
            {
                "when": _after(step.after),
                "who": ", ".join(who) or "nobody (no contacts in this step)",
                "via": ", ".join(one_line(v, 64) for v in step.channels),
            }
        )
    return out


def _support_values(support: Support | None) -> list[dict[str, str]]:
    if support is None:
        return []
    rows = []
    if support.phone:
        rows.append({"label": "Phone", "text": one_line(support.phone, _NAME_MAX), "href": ""})
    if support.email:
        email = one_line(support.email, _NAME_MAX)
        rows.append({"label": "Email", "text": email, "href": ""})
    if support.url:
        rows.append(
            {
                "label": "Web",
                "text": one_line(support.url, 300),
                "href": safe_url(support.url) or "",
            }
        )
    return rows


def _values(plan: Plan) -> dict[str, Any]:
    tz = plan.tz
    info = plan.info
    due = info.review_due if info else None
    systems: list[dict[str, Any]] = []
    for s in plan.systems:
        service = s.service
        systems.append(
            {
                "name": one_line(service.name, _NAME_MAX),
                "site": one_line(s.site_name, _NAME_MAX) if s.site_name else "Trust-wide",
                "criticality": service.criticality,
                "functions": ", ".join(one_line(f, _NAME_MAX) for f in service.functions) or "—",
                "depends_on": ", ".join(one_line(d, _NAME_MAX) for d in s.depends_on),
                "needed_by": ", ".join(one_line(d, _NAME_MAX) for d in s.needed_by),
                "tolerable": format_duration(service.max_tolerable_outage)
                if service.max_tolerable_outage
                else "not set",
                "fallback_lines": lines(service.fallback, _TEXT_MAX)
                or ["No fallback procedure written down yet."],
                "provider": one_line(service.provider.name, _NAME_MAX) if service.provider else "",
                "ladder": _ladder_values(s.ladder),
            }
        )
    # Systems sharing one ladder are listed together, so the page states each ladder once.
    ladders: dict[tuple[tuple[str, str, str], ...], list[str]] = {}
    for entry in systems:
        key = tuple((st["when"], st["who"], st["via"]) for st in entry["ladder"])
        ladders.setdefault(key, []).append(entry["name"])
    comm = plan.communication
    return {
        "title": one_line(plan.title, _NAME_MAX),
        "organisation": one_line(plan.organisation, _NAME_MAX),
        "place": one_line(plan.place, _NAME_MAX),
        "version": one_line(info.version, 40) if info else "not versioned",
        "reviewed": fmt.long_date(info.reviewed) if info and info.reviewed else "never",
        "review_due": fmt.long_date(due) if due else "not set",
        "review_overdue": plan.review_overdue,
        "owner": _person(plan.owner) if plan.owner else "not set",
        "generated": format_local(plan.now, tz),
        "generated_date": fmt.long_date(fmt.local_day(plan.now, tz)),
        "systems": systems,
        "ladders": [
            {"systems": names, "steps": [{"when": w, "who": p, "via": v} for w, p, v in key]}
            for key, names in ladders.items()
        ],
        "contacts": [
            {
                "name": one_line(k.contact.name, _NAME_MAX),
                "role": one_line(k.contact.role, _NAME_MAX),
                "site": one_line(k.site_name, _NAME_MAX) if k.site_name else "Trust",
                "phone": one_line(k.contact.phone or "", 64),
                "email": one_line(k.contact.email or "", _NAME_MAX),
            }
            for k in plan.contacts
        ],
        "communication": (
            {
                "staff": lines(comm.staff, _TEXT_MAX) or ["Not written down yet."],
                "parents": lines(comm.parents, _TEXT_MAX) or ["Not written down yet."],
                "governors": lines(comm.governors, _TEXT_MAX) or ["Not written down yet."],
                "status_page": {
                    "text": one_line(comm.status_page_url, 300),
                    "href": safe_url(comm.status_page_url) or "",
                }
                if comm.status_page_url
                else None,
                "update_every": format_duration(comm.update_every),
            }
            if comm
            else None
        ),
        "exports": [_export_values(e, tz) for e in plan.exports],
        "providers": [
            {
                "name": one_line(p.name, _NAME_MAX),
                "services": ", ".join(one_line(n, _NAME_MAX) for n in p.services),
                "sla": " / ".join(fmt.target_text(x) for x in p.slas) or "none",
                "measured": fmt.percent(p.measured) if p.measured else "—",
                "status_page": {
                    "text": one_line(p.status_page, 300),
                    "href": safe_url(p.status_page) or "",
                }
                if p.status_page
                else None,
                "support": _support_values(p.support),
            }
            for p in plan.providers
        ],
    }


def _export_values(e: ExportStatus, tz: ZoneInfo) -> dict[str, str]:
    if e.last_fresh is None:
        fresh = "not monitored"
    elif e.stale:
        fresh = f"STALE: last fresh {format_local(e.last_fresh, tz)}"
    else:
        fresh = f"fresh ({format_local(e.last_fresh, tz)})"
    return {
        "name": one_line(e.export.name, _NAME_MAX),
        "location": one_line(e.export.location, _TEXT_MAX) or "—",
        "owner": _person(e.owner) if e.owner else "—",
        "of": one_line(e.service_name or "", _NAME_MAX),
        "site": one_line(e.site_name or "Trust", _NAME_MAX),
        "max_age": format_duration(e.export.max_age),
        "fresh": fresh,
    }


def render_plan_html(plan: Plan) -> str:
    """Printable HTML: an A4 print stylesheet, dated and versioned in the header; no scripts."""
    return fmt.environment().get_template("doc_plan.html").render(_values(plan))


def render_plan_md(plan: Plan) -> str:
    """The same plan as Markdown (every value escaped as literal text)."""
    text = fmt.environment().get_template("doc_plan.md").render(_values(plan))
    return text.rstrip("\n") + "\n"
