"""Turn an incident into the words people read: ``render_alert(ctx) -> Message``.

Pure: everything shown is computed here from ``AlertContext`` (``now`` included) into one
plain dict of display strings, which the ``.txt`` and ``.html`` templates in
``monitor/templates/`` only lay out. Templates hold no logic beyond loops and ``if``.

Provider text (incident titles, updates, links) is untrusted. It is flattened to single lines
where a line is expected, bounded in length, HTML-escaped by Jinja's autoescape in the HTML
part, and a link becomes an ``<a href>`` only when it is an absolute http(s) URL. Subjects are
stripped of control characters (no header injection) and capped at ``SUBJECT_MAX`` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.config import Contact, Organisation, Service, Site
from monitor.durations import format_duration
from monitor.model import EventKind, Incident, Message, ProviderIncident, Status

SUBJECT_MAX = 150
SUBJECT_PREFIX = "[Lifeline]"

# Banner colours: dark enough for white text (WCAG AA) in every mail client.
_COLOURS = {
    Status.UP: "#15803d",
    Status.MAINTENANCE: "#1d4ed8",
    Status.DEGRADED: "#b45309",
    Status.PARTIAL_OUTAGE: "#c2410c",
    Status.MAJOR_OUTAGE: "#b91c1c",
    Status.UNKNOWN: "#4b5563",
}

# Bounds on provider text: a hostile or broken feed must not produce a megabyte email.
_NAME_MAX = 200
_WORD_MAX = 60
_UPDATE_MAX = 2000
_URL_MAX = 2000
_PROVIDER_INCIDENTS_MAX = 10

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


@dataclass(frozen=True)
class AlertContext:
    """Everything one alert says. ``now`` is aware (UTC); naive datetimes are read as UTC."""

    kind: Literal["down", "recovered"]
    organisation: Organisation
    service: Service
    site: Site | None
    incident: Incident
    recipients: tuple[Contact, ...]  # everyone told about this incident
    now: datetime


def render_alert(ctx: AlertContext) -> Message:
    """Render the subject, plain text and HTML of a DOWN or RECOVERED alert.

    ``severity`` is the incident's current status for DOWN and ``Status.UP`` for RECOVERED;
    ``links`` holds the provider's incident links and status page (http(s) URLs only).
    """
    values = alert_values(ctx)
    env = _environment()
    text = env.get_template(f"alert_{ctx.kind}.txt").render(values)
    html = env.get_template(f"alert_{ctx.kind}.html").render(values)
    return Message(
        subject=values["subject"],
        text=text.rstrip("\n") + "\n",
        html=html,
        severity=ctx.incident.status if ctx.kind == "down" else Status.UP,
        links=_links(ctx.service, ctx.incident.provider_incidents),
    )


def alert_values(ctx: AlertContext) -> dict[str, Any]:
    """The display values both templates receive (exposed for tests and other channels)."""
    common = _common_values(ctx)
    if ctx.kind == "recovered":
        return common | _recovered_values(ctx, common)
    return common | _down_values(ctx, common)


def _common_values(ctx: AlertContext) -> dict[str, Any]:
    tz = ctx.organisation.tz
    place = ctx.site.name if ctx.site is not None else ctx.organisation.name
    provider = ctx.service.provider
    return {
        "service": one_line(ctx.service.name, _NAME_MAX),
        "place": one_line(place, _NAME_MAX),
        "organisation": one_line(ctx.organisation.name, _NAME_MAX),
        "criticality": ctx.service.criticality.capitalize(),
        "since": format_local(ctx.incident.opened_at, tz),
        "worst_label": ctx.incident.worst.label,
        "recipients": [_who(c) for c in ctx.recipients],
        "incident_id": one_line(ctx.incident.id, _NAME_MAX),
        "generated": format_local(ctx.now, tz),
        "provider_name": one_line(provider.name, _NAME_MAX) if provider else "",
        "status_page": _link(provider.status_page if provider else None),
    }


def _recovered_values(ctx: AlertContext, common: dict[str, Any]) -> dict[str, Any]:
    resolved = ctx.incident.resolved_at or ctx.now
    down_for = format_duration(_aware(resolved) - _aware(ctx.incident.opened_at))
    return {
        "subject": subject(
            f"RECOVERED: {common['service']} at {common['place']} — down for {down_for}"
        ),
        "banner": "RECOVERED",
        "banner_colour": _COLOURS[Status.UP],
        "recovered_at": format_local(resolved, ctx.organisation.tz),
        "down_for": down_for,
    }


def _down_values(ctx: AlertContext, common: dict[str, Any]) -> dict[str, Any]:
    service, incident, tz = ctx.service, ctx.incident, ctx.organisation.tz
    label = incident.status.label
    provider = common["provider_name"]
    return {
        "subject": subject(f"DOWN: {common['service']} at {common['place']} — {label}"),
        "banner": f"DOWN — {label}",
        "banner_colour": _COLOURS[incident.status],
        "status_label": label,
        "since_detail": _since_detail(
            common["since"], _aware(ctx.now) - _aware(incident.opened_at)
        ),
        "cause": one_line(latest_cause(incident), _UPDATE_MAX),
        "functions": [one_line(f, _NAME_MAX) for f in service.functions],
        "fallback_lines": lines(service.fallback, _UPDATE_MAX),
        "tolerable": tolerable(service.max_tolerable_outage, incident.opened_at, ctx.now, tz),
        "provider_incidents": [
            _provider_incident(p, tz) for p in incident.provider_incidents[:_PROVIDER_INCIDENTS_MAX]
        ],
        "provider_incidents_heading": f"Reported by {provider or 'the provider'}",
        "support": _support(service),
        "support_heading": f"{provider or 'Provider'} support",
    }


def latest_cause(incident: Incident) -> str:
    """The text of the latest OPENED/STATUS event (what the checks saw), or ``""``."""
    texts = [e.text for e in incident.events if e.kind in (EventKind.OPENED, EventKind.STATUS)]
    return texts[-1] if texts else ""


def tolerable(
    limit: timedelta | None, opened_at: datetime, now: datetime, tz: tzinfo
) -> str | None:
    """``"4h (until 13:12)"``; the date is added when the deadline falls on another day, and
    ``" — exceeded"`` once ``now`` has passed it. ``None`` when no limit is configured."""
    if limit is None:
        return None
    deadline = _aware(opened_at) + limit
    start_local = _aware(opened_at).astimezone(tz)
    end_local = deadline.astimezone(tz)
    when = f"{end_local:%H:%M}"
    if end_local.date() != start_local.date():
        when = (
            f"{_DAYS[end_local.weekday()]} {end_local.day} {_MONTHS[end_local.month - 1]}, {when}"
        )
    text = f"{format_duration(limit)} (until {when})"
    return text + " — exceeded" if _aware(now) >= deadline else text


def format_local(moment: datetime, tz: tzinfo) -> str:
    """``"Thu 3 Dec 2026, 09:12 GMT"`` in ``tz``; locale-independent."""
    local = _aware(moment).astimezone(tz)
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year},"
        f" {local:%H:%M} {local.tzname() or ''}"
    ).rstrip()


def subject(text: str) -> str:
    """A safe Subject: prefixed, one line, no control characters, at most ``SUBJECT_MAX``."""
    return one_line(f"{SUBJECT_PREFIX} {text}", SUBJECT_MAX)


def one_line(text: str, limit: int) -> str:
    """Collapse all whitespace (CR/LF included) to single spaces, drop control characters,
    and cut to ``limit`` characters with an ellipsis."""
    flat = _WHITESPACE.sub(" ", _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ")))
    return _cut(flat.strip(), limit)


def lines(text: str, limit: int) -> list[str]:
    """Multi-line text as a list of lines (CRLF/CR normalised, control characters dropped,
    runs of blank lines squeezed to one), cut to ``limit`` characters overall."""
    clean = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    out: list[str] = []
    for line in _cut(clean.strip(), limit).split("\n"):
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return out


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL fit for an ``href``; otherwise ``None``."""
    if not url:
        return None
    candidate = url.strip()
    if len(candidate) > _URL_MAX or _WHITESPACE.search(candidate) or _CONTROL.search(candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate


def _since_detail(since: str, elapsed: timedelta) -> str:
    """``since`` plus ``" (47m so far)"`` once a minute has passed (an alert sent at once
    would otherwise say "0s so far")."""
    return (
        f"{since} ({format_duration(elapsed)} so far)" if elapsed >= timedelta(minutes=1) else since
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _who(contact: Contact) -> str:
    name = one_line(contact.name, _NAME_MAX)
    role = one_line(contact.role, _NAME_MAX)
    return f"{name} ({role})" if role else name


def _link(url: str | None) -> dict[str, str] | None:
    """``{"text", "href"}`` for a URL to show; ``href`` is ``""`` unless it is safe."""
    if not url:
        return None
    return {"text": one_line(url, _URL_MAX), "href": safe_url(url) or ""}


def _provider_incident(incident: ProviderIncident, tz: tzinfo) -> dict[str, Any]:
    return {
        "name": one_line(incident.name, _NAME_MAX) or "(untitled)",
        "status": one_line(incident.status, _WORD_MAX),
        "state": _state(incident),
        "update_lines": lines(incident.latest_update, _UPDATE_MAX),
        "updated": format_local(incident.updated_at, tz) if incident.updated_at else "",
        "link": _link(incident.url),
    }


def _state(incident: ProviderIncident) -> str:
    """``"investigating, major impact"`` / ``"in progress, maintenance"``."""
    impact = one_line(incident.impact, _WORD_MAX)
    if incident.is_maintenance:
        extra = "maintenance"
    elif impact and impact.lower() != "none":
        extra = f"{impact} impact"
    else:
        extra = ""
    return ", ".join(part for part in (one_line(incident.status, _WORD_MAX), extra) if part)


def _support(service: Service) -> list[dict[str, str]]:
    """Rows of ``{"label", "text", "href"}`` for the provider's support contacts."""
    support = service.provider.support if service.provider else None
    if support is None:
        return []
    rows = []
    if support.email:
        email = one_line(support.email, _NAME_MAX)
        href = f"mailto:{email}" if _EMAIL.match(email) else ""
        rows.append({"label": "Email", "text": email, "href": href})
    if support.phone:
        rows.append({"label": "Phone", "text": one_line(support.phone, _NAME_MAX), "href": ""})
    if support.url:
        link = _link(support.url)
        assert link is not None
        rows.append({"label": "Web", **link})
    return rows


def _links(
    service: Service, incidents: tuple[ProviderIncident, ...]
) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for incident in incidents[:_PROVIDER_INCIDENTS_MAX]:
        url = safe_url(incident.url)
        if url:
            found.append((one_line(incident.name, _NAME_MAX) or "Provider incident", url))
    page = safe_url(service.provider.status_page if service.provider else None)
    if page:
        found.append(("Status page", page))
    return tuple(dict.fromkeys(found))


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
