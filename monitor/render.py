"""Turn an incident into the words people read: ``render_alert(ctx) -> Message``.

Pure: everything shown is computed here from ``AlertContext`` (``now`` included) into one
plain dict of display strings, which the ``alert.txt`` and ``alert.html`` templates in
``monitor/templates/`` only lay out. Templates hold no logic beyond loops and ``if``.

Kinds and their subjects (``[Lifeline]`` prefix left out)::

    down          DOWN: MIS at Oakfield — Major outage[ (+4 services affected)]
    down, step≥1  ESCALATED: MIS at Oakfield — Major outage[ (+4 …)], not acknowledged after 30m
    reminder      REMINDER: MIS at Oakfield still down after 1h 30m — not acknowledged
    acknowledged  ACKNOWLEDGED: MIS at Oakfield — by Jo Patel at 09:12
    update        UPDATE: MIS at Oakfield — Arbor: Identified
    recovered     RECOVERED: MIS at Oakfield — down for 1h 5m

Every kind, in both the text and the HTML body, says what is (or was) down and where, since
when, the functions affected, the fallback procedure, how long the school can tolerate the
outage, who has been told, and how to acknowledge (this recipient's link) or who already has.
The same facts fill ``Message.facts``, ``sections``, ``links`` and ``short`` for chat and SMS.

Provider text (incident titles, updates, links) and people's text (who acknowledged, their
note) are untrusted. They are flattened to single lines where a line is expected, bounded in
length, HTML-escaped by Jinja's autoescape in the HTML part, and a link becomes an
``<a href>`` only when it is an absolute http(s) URL. Subjects are stripped of control
characters (no header injection) and capped at ``SUBJECT_MAX`` characters. The structured
parts stay plain, unescaped text: each channel escapes them for its own format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from urllib.parse import urlsplit

from monitor.config import Contact, Organisation, Service, Site
from monitor.durations import format_duration
from monitor.model import EventKind, Incident, Message, ProviderIncident, Status
from monitor.templating import environment

SUBJECT_MAX = 150
SUBJECT_PREFIX = "[Lifeline]"
SHORT_MAX = 300  # two concatenated GSM-7 SMS segments are 306 characters

AlertKind = Literal["down", "reminder", "acknowledged", "recovered", "update"]

# Kinds that can carry an acknowledgement link (while the incident is open and unacknowledged).
_ACKABLE = frozenset({"down", "reminder", "update"})

# Banner colours: dark enough for white text (WCAG AA) in every mail client.
_COLOURS = {
    Status.UP: "#15803d",
    Status.MAINTENANCE: "#1d4ed8",
    Status.DEGRADED: "#b45309",
    Status.PARTIAL_OUTAGE: "#c2410c",
    Status.MAJOR_OUTAGE: "#b91c1c",
    Status.UNKNOWN: "#4b5563",
}

# Bounds on untrusted text: a hostile or broken feed must not produce a megabyte email.
_NAME_MAX = 200
_WORD_MAX = 60
_REASON_MAX = 300
_UPDATE_MAX = 2000
_URL_MAX = 2000
_PROVIDER_INCIDENTS_MAX = 10
# A root cause can impact dozens of services; the email lists this many and counts the rest.
_RELATED_MAX = 20
_RELATED_FALLBACK_MAX = 1000

# The SMS summary: names are cut shorter, the ack link is dropped (never cut: half a link is
# useless, and the email has it) when it would leave the headline less than _SHORT_HEAD_MIN,
# and a part is cut to fit only when at least _SHORT_PART_MIN of it can be shown.
_SHORT_NAME_MAX = 60
_SHORT_HEAD_MIN = 60
_SHORT_PART_MIN = 20
# Characters outside the GSM 7-bit alphabet that have a close equivalent in it: one of them
# would otherwise switch the whole SMS to UCS-2 and halve what fits in a segment.
_GSM = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "\u00a0": " "}
)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$")


@dataclass(frozen=True)
class Related:
    """Another service in the same alert: a dependent impacted by this root cause, or a
    failure grouped with it. ``reason`` says which in words, e.g. "impacted by School
    internet" or "failed within 60s at the same site"."""

    service: Service
    status: Status
    reason: str


@dataclass(frozen=True)
class AlertContext:
    """Everything one alert says. ``now`` is aware (UTC); naive datetimes are read as UTC.

    ``recipients`` is everyone told about the incident. ``ack_url`` is this recipient's
    signed acknowledgement link; it is shown only in DOWN, REMINDER and UPDATE messages of an
    open, unacknowledged incident, and only when it is an absolute http(s) URL (otherwise it
    is left out entirely). ``related`` are the other services in this alert, ``step`` the
    escalation step of a DOWN message (0 = the first alert), and ``update`` the provider's
    new post for kind ``"update"``.
    """

    kind: AlertKind
    organisation: Organisation
    service: Service
    site: Site | None
    incident: Incident
    recipients: tuple[Contact, ...]
    now: datetime
    ack_url: str | None = None
    related: tuple[Related, ...] = ()
    step: int = 0
    update: ProviderIncident | None = None


def render_alert(ctx: AlertContext) -> Message:
    """Render one alert of any kind: subject, text and HTML bodies, and the structured parts
    chat and SMS channels build from (plain text; see ``Message``).

    ``severity`` is the incident's current status, or ``Status.UP`` for RECOVERED. ``links``
    starts with ("Acknowledge", url) when there is an acknowledgement link, then the
    provider's new post (UPDATE), its incident links and its status page — http(s) only.
    ``short`` is at most ``SHORT_MAX`` characters and holds the whole acknowledgement link
    whenever one is shown and fits beside a headline.
    """
    values = alert_values(ctx)
    env = environment()
    text = env.get_template("alert.txt").render(values)
    html = env.get_template("alert.html").render(values)
    return Message(
        subject=values["subject"],
        text=text.rstrip("\n") + "\n",
        html=html,
        severity=Status.UP if ctx.kind == "recovered" else ctx.incident.status,
        links=_message_links(ctx, values["ack_url"]),
        facts=_message_facts(values),
        sections=_message_sections(values),
        short=_short_summary(ctx, values),
    )


def alert_values(ctx: AlertContext) -> dict[str, Any]:
    """The display values both templates receive (exposed for tests and other channels)."""
    common = _common_values(ctx)
    if ctx.kind == "recovered":
        return common | _recovered_values(ctx, common)
    return common | _open_values(ctx, common)


def _common_values(ctx: AlertContext) -> dict[str, Any]:
    tz = ctx.organisation.tz
    incident = ctx.incident
    place = ctx.site.name if ctx.site is not None else ctx.organisation.name
    provider = ctx.service.provider
    ack_state = _ack_state(ctx)
    return {
        "kind": ctx.kind,
        "service": one_line(ctx.service.name, _NAME_MAX),
        "place": one_line(place, _NAME_MAX),
        "organisation": one_line(ctx.organisation.name, _NAME_MAX),
        "criticality": ctx.service.criticality.capitalize(),
        "since": format_local(incident.opened_at, tz),
        "status_label": incident.status.label,
        "worst_label": incident.worst.label,
        "functions": _functions(ctx.service, ctx.related),
        "fallback_lines": lines(ctx.service.fallback, _UPDATE_MAX),
        "recipients": [_who(c) for c in ctx.recipients],
        "ack_url": _ack_url(ctx),
        "ack_state": ack_state,
        "acknowledged": f"Acknowledged {ack_state}" if ack_state else "",
        "ack_note_lines": lines(incident.ack_note or "", _UPDATE_MAX) if ack_state else [],
        "related": [_related(r) for r in ctx.related[:_RELATED_MAX]],
        "related_more": max(0, len(ctx.related) - _RELATED_MAX),
        "incident_id": one_line(incident.id, _NAME_MAX),
        "generated": format_local(ctx.now, tz),
        "provider_name": one_line(provider.name, _NAME_MAX) if provider else "",
        "status_page": _link(provider.status_page if provider else None),
    }


def _recovered_values(ctx: AlertContext, common: dict[str, Any]) -> dict[str, Any]:
    service, incident, tz = ctx.service, ctx.incident, ctx.organisation.tz
    resolved = incident.resolved_at or ctx.now
    down_for = format_duration(_aware(resolved) - _aware(incident.opened_at))
    name, place = common["service"], common["place"]
    limit = tolerable(service.max_tolerable_outage, incident.opened_at, resolved, tz)
    recovered_at = format_local(resolved, tz)
    facts = _rows(
        ("Recovered at", recovered_at),
        ("Down since", common["since"]),
        ("Down for", down_for),
        ("Worst status", common["worst_label"]),
        ("Criticality", common["criticality"]),
        ("Affected", ", ".join(common["functions"])),
        ("Tolerable outage", limit),
    )
    if common["status_page"]:
        facts.append({"label": "Status page", **common["status_page"]})
    brief = f"{_cut_ascii(name, _SHORT_NAME_MAX)} at {_cut_ascii(place, _SHORT_NAME_MAX)}"
    opened = _clock(incident.opened_at, ctx.now, tz)
    back = f"{name} is working again: you can stop the fallback procedure and return to normal."
    return {
        "subject": subject(f"RECOVERED: {name} at {place} — down for {down_for}"),
        "headline": f"{name} at {place} has RECOVERED after {down_for}",
        "banner": "RECOVERED",
        "banner_colour": _COLOURS[Status.UP],
        "intro": [],
        "short_headline": f"RECOVERED: {brief} after {down_for} (down since {opened}).",
        "facts": facts,
        "status_text": f"Recovered after {down_for}",
        "since_detail": common["since"],
        "recovered_at": recovered_at,
        "down_for": down_for,
        "tolerable": limit,
        "fallback_heading": "What to do now",
        "fallback_intro": f"{back} The fallback was:" if common["fallback_lines"] else back,
        "no_fallback": "",
        "update": None,
        "update_heading": "",
        "provider_incidents": [],
        "provider_incidents_heading": "",
        "show_support": False,
        "support": [],
        "support_heading": "",
        "told_heading": "Who was told",
        "nobody": "nobody",
    }


def _open_values(ctx: AlertContext, common: dict[str, Any]) -> dict[str, Any]:
    """DOWN (first or escalated), REMINDER, ACKNOWLEDGED and UPDATE: the incident is open."""
    service, incident, tz = ctx.service, ctx.incident, ctx.organisation.tz
    provider = common["provider_name"]
    since_detail = _since_detail(common["since"], _aware(ctx.now) - _aware(incident.opened_at))
    cause = one_line(latest_cause(incident), _UPDATE_MAX)
    limit = tolerable(service.max_tolerable_outage, incident.opened_at, ctx.now, tz)
    post = _update_post(ctx)
    others = [p for p in incident.provider_incidents if post is None or _key(p) != _key(post)]
    support = _support(service)
    wording = _wording(ctx, common)
    return {
        "subject": subject(wording.subject),
        "headline": wording.headline,
        "banner": f"{wording.tag} — {common['status_label']}",
        "banner_colour": _COLOURS[incident.status],
        "intro": wording.intro,
        "short_headline": wording.short,
        "facts": _rows(
            ("Status", common["status_label"]),
            ("Since", since_detail),
            ("Cause", cause),
            ("Criticality", common["criticality"]),
            ("Affects", ", ".join(common["functions"])),
            ("Tolerable outage", limit),
        ),
        "status_text": common["status_label"],
        "since_detail": since_detail,
        "cause": cause,
        "tolerable": limit,
        "fallback_heading": "What to do now",
        "fallback_intro": "",
        "no_fallback": "No fallback procedure is written down for this service yet.",
        "update": _provider_incident(post, tz) if post is not None else None,
        "update_heading": f"Update from {provider or 'the provider'}",
        "provider_incidents": [_provider_incident(p, tz) for p in others[:_PROVIDER_INCIDENTS_MAX]],
        "provider_incidents_heading": f"Reported by {provider or 'the provider'}",
        "show_support": bool(support or common["status_page"]),
        "support": support,
        "support_heading": f"{provider or 'Provider'} support",
        "told_heading": "Who has been told",
        "nobody": "nobody yet",
    }


@dataclass(frozen=True)
class _Wording:
    tag: str  # DOWN, ESCALATED…: the banner's first word
    subject: str  # without the prefix
    headline: str  # the first line of the text body
    intro: list[str]  # paragraphs before the facts
    short: str  # the SMS headline, before GSM folding


def _wording(ctx: AlertContext, common: dict[str, Any]) -> _Wording:
    """What the open-incident kinds say in their subject, first line, intro and SMS."""
    incident, tz = ctx.incident, ctx.organisation.tz
    name, place, label = common["service"], common["place"], common["status_label"]
    what = f"{name} at {place}"
    elapsed = _elapsed(incident.opened_at, ctx.now)
    ack_state = common["ack_state"]
    # For the SMS: shorter names, the opening time of day.
    brief = (
        f"{_cut_ascii(name, _SHORT_NAME_MAX)} at {_cut_ascii(place, _SHORT_NAME_MAX)}"
        f" since {_clock(incident.opened_at, ctx.now, tz)} - {label}"
    )
    # Reminders and escalations stop on acknowledgement; should one cross it in flight, it
    # must not claim that nobody has acknowledged.
    acked = f"acknowledged {ack_state}"
    if ctx.kind == "down":
        count = _affected_count(len(ctx.related))
        if ctx.step <= 0:
            return _Wording(
                tag="DOWN",
                subject=f"DOWN: {what} — {label}{count}",
                headline=f"{what} is DOWN: {label}{count}",
                intro=[],
                short=f"DOWN: {brief}{_short_count(len(ctx.related))}.",
            )
        why = acked if ack_state else f"not acknowledged after {elapsed}"
        intro = (
            []
            if ack_state
            else [
                f"This alert is being escalated to you because nobody has acknowledged it"
                f" after {elapsed}."
            ]
        )
        return _Wording(
            tag="ESCALATED",
            subject=f"ESCALATED: {what} — {label}{count}, {why}",
            headline=f"ESCALATED: {what} is DOWN: {label}{count}",
            intro=intro,
            short=f"ESCALATED: {brief}{_short_count(len(ctx.related))}, {why}.",
        )
    if ctx.kind == "reminder":
        nobody = "" if ack_state else " and nobody has acknowledged it yet"
        state = acked if ack_state else "not acknowledged"
        return _Wording(
            tag="REMINDER",
            subject=f"REMINDER: {what} still down after {elapsed} — {state}",
            headline=f"REMINDER: {what} is still DOWN: {label}",
            intro=[f"Reminder: {name} has been down for {elapsed}{nobody}."],
            short=f"REMINDER: {brief}, {acked if ack_state else f'{state} after {elapsed}'}.",
        )
    if ctx.kind == "acknowledged":
        who = one_line(incident.acknowledged_by or "", _NAME_MAX) or "Someone"
        return _Wording(
            tag="ACKNOWLEDGED",
            subject=f"ACKNOWLEDGED: {what} — {ack_state}",
            headline=f"ACKNOWLEDGED: {what} is DOWN: {label}",
            intro=[
                f"{who} has acknowledged this alert and is dealing with it, so escalation has"
                " stopped: nobody else will be alerted and there will be no more reminders."
                " You will hear when it recovers."
            ],
            short=f"ACKNOWLEDGED: {brief}. Acknowledged {_cut_ascii(ack_state, 90)},"
            " escalation stopped.",
        )
    # update
    post = _update_post(ctx)
    provider = common["provider_name"] or "Provider"
    word = one_line(post.status, _WORD_MAX) if post is not None else ""
    news = f"{provider}: {word[:1].upper() + word[1:] if word else 'new update'}"
    return _Wording(
        tag="UPDATE",
        subject=f"UPDATE: {what} — {news}",
        headline=f"UPDATE: {what} is DOWN: {label}",
        intro=[f"{common['provider_name'] or 'The provider'} has posted an update."],
        short=f"UPDATE: {brief}. {_cut_ascii(news, 90)}.",
    )


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
    text = f"{format_duration(limit)} (until {_clock(deadline, opened_at, tz)})"
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


# --- The structured parts: chat cards and SMS --------------------------------------------


def _message_facts(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs = (
        ("Status", values["status_text"]),
        ("Site", values["place"]),
        ("Since", values["since_detail"]),
        ("Affects", ", ".join(values["functions"])),
        ("Tolerable outage", values["tolerable"] or ""),
        ("Who has been told", ", ".join(values["recipients"])),
        ("Acknowledged", values["ack_state"]),
    )
    return tuple((label, value) for label, value in pairs if value)


def _message_sections(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(heading, body) pairs, plain text with ``\\n`` line breaks; empty ones left out."""
    sections: list[tuple[str, str]] = []
    if values["ack_note_lines"]:
        sections.append(("Acknowledgement note", "\n".join(values["ack_note_lines"])))
    if values["update"] is not None:
        sections.append((values["update_heading"], _post_text(values["update"])))
    if values["fallback_lines"]:
        body = "\n".join(values["fallback_lines"])
        intro = values["fallback_intro"]
        sections.append((values["fallback_heading"], f"{intro}\n{body}" if intro else body))
    if values["provider_incidents"]:
        posts = "\n\n".join(_post_text(p) for p in values["provider_incidents"])
        sections.append((values["provider_incidents_heading"], posts))
    if values["related"]:
        sections.append(("Also affected", _related_text(values["related"], values)))
    return tuple(sections)


def _message_links(ctx: AlertContext, ack_url: str) -> tuple[tuple[str, str], ...]:
    found = [("Acknowledge", ack_url)] if ack_url else []
    post = _update_post(ctx)
    posts = (post, *ctx.incident.provider_incidents) if post else ctx.incident.provider_incidents
    return tuple(found) + _links(ctx.service, posts)


def _short_summary(ctx: AlertContext, values: dict[str, Any]) -> str:
    """One line of at most ``SHORT_MAX`` characters for SMS, in GSM-friendly characters.

    Priority: the headline (kind, service, place, since, status), then the acknowledgement
    link (whole or not at all), then what to do — the fallback, or for ACKNOWLEDGED the note
    and for UPDATE the provider's words — then the functions affected. Lower priorities are
    dropped first; the last part shown may be cut with ``...``.
    """
    fallback = f"Do: {_flat(values['fallback_lines'])}" if values["fallback_lines"] else ""
    affects = f"Affects: {', '.join(values['functions'])}." if values["functions"] else ""
    parts: list[_Part] = []  # in priority order
    if ctx.kind != "recovered":
        if ctx.kind == "acknowledged" and values["ack_note_lines"]:
            parts.append(_Part(0, f"Note: {_flat(values['ack_note_lines'])}"))
        if ctx.kind == "update" and values["update"] is not None:
            post = values["update"]
            said = _flat(post["update_lines"])
            parts.append(_Part(0, f"{post['name']}: {said}" if said else f"{post['name']}."))
        # A list of functions cut in the middle misleads: it is shown whole or not at all.
        parts += [_Part(2, fallback), _Part(1, affects, cuttable=False)]
    return _fit(
        _gsm(values["short_headline"]),
        [_Part(p.position, _gsm(p.text), p.cuttable) for p in parts if p.text],
        values["ack_url"],
    )


@dataclass(frozen=True)
class _Part:
    position: int  # where it goes in the SMS (its place in the list is its priority)
    text: str
    cuttable: bool = True


def _fit(head: str, parts: Sequence[_Part], ack_url: str) -> str:
    tail = f" Ack: {ack_url}" if ack_url else ""
    if len(tail) > SHORT_MAX - _SHORT_HEAD_MIN:
        tail = ""
    room = SHORT_MAX - len(tail)
    text = _cut_ascii(head, room)
    used = len(text)
    chosen: list[tuple[int, str]] = []
    for part in parts:
        space = room - used - 1
        if len(part.text) > space:
            if part.cuttable and space >= _SHORT_PART_MIN:
                chosen.append((part.position, _cut_ascii(part.text, space)))
            break
        chosen.append((part.position, part.text))
        used += len(part.text) + 1
    return " ".join([text, *(t for _, t in sorted(chosen, key=lambda c: c[0]))]) + tail


def _post_text(post: dict[str, Any]) -> str:
    heading = f"{post['name']} ({post['state']})" if post["state"] else post["name"]
    updated = [f"Updated {post['updated']}"] if post["updated"] else []
    return "\n".join([heading, *post["update_lines"], *updated])


def _related_text(related: list[dict[str, Any]], values: dict[str, Any]) -> str:
    out: list[str] = []
    for r in related:
        out.append(f"- {r['summary']}")
        if r["affects"]:
            out.append(f"  Affects: {r['affects']}")
        for i, line in enumerate(r["fallback_lines"]):
            out.append(f"  {'What to do: ' if i == 0 else ''}{line}".rstrip())
    if values["related_more"]:
        out.append(f"- …and {values['related_more']} more")
    return "\n".join(out)


# --- Helpers -----------------------------------------------------------------------------


def _ack_url(ctx: AlertContext) -> str:
    """The acknowledgement link to show, or ``""``: only while there is something to
    acknowledge, and only a safe http(s) URL (anything else is dropped, not shown as text)."""
    incident = ctx.incident
    if ctx.kind not in _ACKABLE or not incident.is_open or incident.acknowledged_at is not None:
        return ""
    return safe_url(ctx.ack_url) or ""


def _ack_state(ctx: AlertContext) -> str:
    """``"by Jo Patel at 09:12"`` once acknowledged (the day is added when it is not
    today), ``""`` before."""
    incident = ctx.incident
    at = incident.acknowledged_at or (ctx.now if ctx.kind == "acknowledged" else None)
    if at is None:
        return ""
    who = one_line(incident.acknowledged_by or "", _NAME_MAX)
    when = _clock(at, ctx.now, ctx.organisation.tz)
    return f"by {who} at {when}" if who else f"at {when}"


def _update_post(ctx: AlertContext) -> ProviderIncident | None:
    return ctx.update if ctx.kind == "update" else None


def _key(incident: ProviderIncident) -> str:
    """What identifies a provider's post across updates: its link, else its title."""
    return incident.url.strip() or incident.name.strip()


def _functions(service: Service, related: Sequence[Related]) -> list[str]:
    """The functions of the service and every related one, each once, in order."""
    seen: dict[str, str] = {}
    for each in (service, *(r.service for r in related)):
        for function in each.functions:
            name = one_line(function, _NAME_MAX)
            if name:
                seen.setdefault(name.casefold(), name)
    return list(seen.values())


def _related(related: Related) -> dict[str, Any]:
    name = one_line(related.service.name, _NAME_MAX)
    reason = one_line(related.reason, _REASON_MAX)
    status = related.status.label
    return {
        "name": name,
        "status_label": status,
        "reason": reason,
        "summary": f"{name}: {status} — {reason}" if reason else f"{name}: {status}",
        "affects": ", ".join(one_line(f, _NAME_MAX) for f in related.service.functions),
        "fallback_lines": lines(related.service.fallback, _RELATED_FALLBACK_MAX),
    }


def _affected_count(count: int) -> str:
    if count <= 0:
        return ""
    return f" (+{count} service{'s' if count != 1 else ''} affected)"


def _short_count(count: int) -> str:
    return f" (+{count} more)" if count > 0 else ""


def _rows(*pairs: tuple[str, str | None]) -> list[dict[str, str]]:
    """Fact rows ``{"label", "text", "href"}`` for the non-empty values."""
    return [{"label": label, "text": text, "href": ""} for label, text in pairs if text]


def _since_detail(since: str, elapsed: timedelta) -> str:
    """``since`` plus ``" (47m so far)"`` once a minute has passed (an alert sent at once
    would otherwise say "0s so far")."""
    return (
        f"{since} ({format_duration(elapsed)} so far)" if elapsed >= timedelta(minutes=1) else since
    )


def _elapsed(opened_at: datetime, now: datetime) -> str:
    """Time since ``opened_at`` in whole minutes once past a minute ("30m", not "30m 4s")."""
    delta = max(_aware(now) - _aware(opened_at), timedelta(0))
    if delta >= timedelta(minutes=1):
        delta = timedelta(minutes=delta // timedelta(minutes=1))
    return format_duration(delta)


def _clock(moment: datetime, reference: datetime, tz: tzinfo) -> str:
    """``"09:12"`` local time, or ``"Fri 4 Dec, 09:12"`` when not on ``reference``'s day."""
    local = _aware(moment).astimezone(tz)
    hhmm = f"{local:%H:%M}"
    if local.date() == _aware(reference).astimezone(tz).date():
        return hhmm
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}, {hhmm}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cut_ascii(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 3, 0)].rstrip() + "..." if limit >= 3 else text[:limit]


def _flat(items: Sequence[str]) -> str:
    """Lines as one sentence-ended line: ``["Paper registers", "Call office"]`` →
    ``"Paper registers. Call office."``."""
    out = []
    for item in items:
        text = _WHITESPACE.sub(" ", item).strip()
        if text:
            out.append(text if text[-1] in ".!?:;," else f"{text}.")
    return " ".join(out)


def _gsm(text: str) -> str:
    return text.translate(_GSM)


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


def _links(service: Service, incidents: Sequence[ProviderIncident]) -> tuple[tuple[str, str], ...]:
    """(label, url) for the provider's posts and status page: http(s) only, each URL once."""
    found: dict[str, str] = {}
    for incident in incidents[:_PROVIDER_INCIDENTS_MAX]:
        url = safe_url(incident.url)
        if url:
            found.setdefault(url, one_line(incident.name, _NAME_MAX) or "Provider incident")
    page = safe_url(service.provider.status_page if service.provider else None)
    if page:
        found.setdefault(page, "Status page")
    return tuple((label, url) for url, label in found.items())
