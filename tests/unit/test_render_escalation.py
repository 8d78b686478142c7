"""render_alert for escalation: every kind says what, since when, what to do, who knows and how
to acknowledge; related services; the chat/SMS parts; untrusted text stays inert."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.config import Contact, Organisation, Service, Site
from monitor.model import EventKind, Incident, IncidentEvent, Message, ProviderIncident, Status
from monitor.render import SHORT_MAX, AlertContext, AlertKind, Related, render_alert

ORG = Organisation(name="Oakfield Academy Trust", timezone="Europe/London")
SITE = Site(id="oakfield", name="Oakfield Primary School")
WINTER = datetime(2026, 12, 3, 9, 12, tzinfo=UTC)  # GMT: local time = UTC
SUMMER = datetime(2026, 7, 2, 8, 12, tzinfo=UTC)  # BST: local time = UTC + 1h
LOCAL = {WINTER: "Thu 3 Dec 2026, 09:12 GMT", SUMMER: "Thu 2 Jul 2026, 09:12 BST"}
ACK_URL = "https://lifeline.oakfield.sch.uk/ack/inc-42.head.Zx8bQk1v3Jw"

CONTACTS = (
    Contact(id="head", name="Jane Smith", role="Headteacher", email="head@oakfield.sch.uk"),
    Contact(id="bm", name="Raj Patel", role="Business manager", email="bm@oakfield.sch.uk"),
    Contact(id="it", name="Sam Lee", email="it@oakfield.sch.uk"),
)
TOLD = ("Jane Smith (Headteacher)", "Raj Patel (Business manager)", "Sam Lee")
FUNCTIONS = ("Attendance registers", "Behaviour logs")
FALLBACK = ("Take paper registers from the office.", "Phone absences to the office by 9:30.")

POST = ProviderIncident(
    name="Users unable to log in",
    status="investigating",
    impact="major",
    url="https://status.arbor.example/incidents/abc123",
    latest_update="We are investigating reports of login failures.",
    updated_at=WINTER + timedelta(minutes=3),
)
NEW_POST = replace(
    POST,
    status="identified",
    latest_update="A faulty database node was found.\nFailover under way.",
    updated_at=WINTER + timedelta(minutes=40),
)


def service(**overrides: Any) -> Service:
    data: dict[str, Any] = {
        "id": "mis",
        "name": "MIS (Arbor)",
        "site": "oakfield",
        "criticality": "critical",
        "functions": list(FUNCTIONS),
        "max_tolerable_outage": "4h",
        "fallback": "\n".join(FALLBACK),
        "provider": {"name": "Arbor", "status_page": "https://status.arbor.example"},
        "notify": ["head", "bm", "it"],
        "checks": [{"type": "http", "url": "https://login.arbor.example"}],
    }
    return Service.model_validate(data | overrides)


def related_service(sid: str, name: str, functions: list[str], fallback: str = "") -> Service:
    return service(id=sid, name=name, functions=functions, fallback=fallback, provider=None)


WIFI = Related(
    related_service("wifi", "Wi-Fi", ["Lesson resources", "Attendance registers"], "Use packs."),
    Status.MAJOR_OUTAGE,
    "impacted by School internet",
)
PHONES = Related(
    related_service("phones", "Phones", ["Parent calls"], "Use the mobile in the office."),
    Status.PARTIAL_OUTAGE,
    "failed within 60s at the same site",
)


def incident(opened: datetime = WINTER, **overrides: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": "inc-42",
        "service_id": "mis",
        "opened_at": opened,
        "status": Status.MAJOR_OUTAGE,
        "worst": Status.MAJOR_OUTAGE,
        "provider_incidents": (POST,),
        "events": (
            IncidentEvent(opened, EventKind.OPENED, "login page: timed out", Status.MAJOR_OUTAGE),
        ),
    }
    return Incident(**(fields | overrides))


def acked(
    opened: datetime = WINTER, after: timedelta = timedelta(minutes=28), **kw: Any
) -> Incident:
    fields: dict[str, Any] = {
        "acknowledged_at": opened + after,
        "acknowledged_by": "Jo Patel",
        "ack_note": "On the phone to Arbor.\nPaper registers are out.",
    }
    return incident(opened, **(fields | kw))


def context(kind: AlertKind = "down", opened: datetime = WINTER, **overrides: Any) -> AlertContext:
    """A context as the planner builds it for ``kind``: acknowledged incidents for
    ACKNOWLEDGED, resolved ones for RECOVERED, an ack link only where one can be used."""
    inc = {
        "acknowledged": acked(opened),
        "recovered": acked(opened, resolved_at=opened + timedelta(hours=1, minutes=5)),
    }.get(kind, incident(opened))
    fields: dict[str, Any] = {
        "kind": kind,
        "organisation": ORG,
        "service": service(),
        "site": SITE,
        "incident": inc,
        "recipients": CONTACTS,
        "now": inc.resolved_at or opened + timedelta(minutes=30),
        "ack_url": ACK_URL if kind in ("down", "reminder", "update") else None,
        "update": NEW_POST if kind == "update" else None,
    }
    return AlertContext(**(fields | overrides))


def render(kind: AlertKind = "down", opened: datetime = WINTER, **overrides: Any) -> Message:
    return render_alert(context(kind, opened, **overrides))


def text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


ALL_KINDS: tuple[AlertKind, ...] = ("down", "reminder", "acknowledged", "update", "recovered")
ACKABLE: tuple[AlertKind, ...] = ("down", "reminder", "update")
BOTH_SEASONS = pytest.mark.parametrize("opened", [WINTER, SUMMER], ids=["GMT", "BST"])


# --- Subjects -----------------------------------------------------------------------------

WHAT = "MIS (Arbor) at Oakfield Primary School"


@BOTH_SEASONS
@pytest.mark.parametrize(
    ("kind", "overrides", "expected"),
    [
        ("down", {}, f"[Lifeline] DOWN: {WHAT} — Major outage"),
        (
            "down",
            {"step": 1},
            f"[Lifeline] ESCALATED: {WHAT} — Major outage, not acknowledged after 30m",
        ),
        (
            "down",
            {"step": 2, "now": 2 * 60 + 15.5},
            f"[Lifeline] ESCALATED: {WHAT} — Major outage, not acknowledged after 2h 15m",
        ),
        (
            "reminder",
            {"now": 90},
            f"[Lifeline] REMINDER: {WHAT} still down after 1h 30m — not acknowledged",
        ),
        ("acknowledged", {}, f"[Lifeline] ACKNOWLEDGED: {WHAT} — by Jo Patel at 09:40"),
        ("update", {}, f"[Lifeline] UPDATE: {WHAT} — Arbor: Identified"),
        ("recovered", {}, f"[Lifeline] RECOVERED: {WHAT} — down for 1h 5m"),
        (
            "down",
            {"related": (WIFI,)},
            f"[Lifeline] DOWN: {WHAT} — Major outage (+1 service affected)",
        ),
        (
            "down",
            {"related": (WIFI, PHONES, WIFI, PHONES)},
            f"[Lifeline] DOWN: {WHAT} — Major outage (+4 services affected)",
        ),
        (
            "down",
            {"related": (WIFI, PHONES), "step": 1},
            f"[Lifeline] ESCALATED: {WHAT} — Major outage (+2 services affected),"
            " not acknowledged after 30m",
        ),
    ],
)
def test_subject_of_every_kind(
    kind: AlertKind, overrides: dict[str, Any], expected: str, opened: datetime
) -> None:
    if "now" in overrides:  # minutes after opening
        overrides = overrides | {"now": opened + timedelta(minutes=overrides["now"])}
    assert render(kind, opened, **overrides).subject == expected


def test_update_subject_without_provider_or_post() -> None:
    message = render("update", service=service(provider=None), update=None)
    assert message.subject == f"[Lifeline] UPDATE: {WHAT} — Provider: new update"


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("down", Status.MAJOR_OUTAGE),
        ("reminder", Status.MAJOR_OUTAGE),
        ("acknowledged", Status.MAJOR_OUTAGE),
        ("update", Status.MAJOR_OUTAGE),
        ("recovered", Status.UP),
    ],
)
def test_severity_of_every_kind(kind: AlertKind, severity: Status) -> None:
    assert render(kind).severity is severity


# --- What every message says --------------------------------------------------------------


@BOTH_SEASONS
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_says_what_since_affects_fallback_tolerable_and_who(
    kind: AlertKind, opened: datetime
) -> None:
    message = render(kind, opened)
    for body in (message.text, message.html):
        assert WHAT in body
        assert "Oakfield Primary School" in body
        assert LOCAL[opened] in body
        assert all(f in body for f in FUNCTIONS)
        assert all(line in body for line in FALLBACK)
        assert "4h (until 13:12)" in body
        assert all(who in body for who in TOLD)


@BOTH_SEASONS
@pytest.mark.parametrize("kind", ACKABLE)
def test_ackable_kinds_carry_the_ack_link_in_text_and_as_a_button(
    kind: AlertKind, opened: datetime
) -> None:
    message = render(kind, opened)
    assert f"Acknowledge: {ACK_URL}" in text_lines(message.text)
    assert re.search(
        rf'<a href="{re.escape(ACK_URL)}"[^>]*>Acknowledge this alert</a>', message.html
    )
    assert message.links[0] == ("Acknowledge", ACK_URL)


@BOTH_SEASONS
@pytest.mark.parametrize("kind", ["acknowledged", "recovered"])
def test_acknowledged_incidents_say_who_acknowledged_when(
    kind: AlertKind, opened: datetime
) -> None:
    message = render(kind, opened)
    assert "Acknowledged by Jo Patel at 09:40" in text_lines(message.text)
    assert "Acknowledged by Jo Patel at 09:40" in message.html
    assert "Acknowledge:" not in message.text
    assert ("Acknowledged", "by Jo Patel at 09:40") in message.facts


@pytest.mark.parametrize("kind", ["acknowledged", "recovered"])
def test_ack_link_is_never_shown_once_acknowledged_or_resolved(kind: AlertKind) -> None:
    message = render(kind, ack_url=ACK_URL)
    assert ACK_URL not in message.text + message.html + message.short
    assert all(label != "Acknowledge" for label, _ in message.links)


@pytest.mark.parametrize("kind", ["down", "reminder"])
def test_a_message_crossing_an_acknowledgement_does_not_claim_nobody_acknowledged(
    kind: AlertKind,
) -> None:
    message = render(kind, incident=acked(), step=1)
    assert "not acknowledged" not in message.subject
    assert message.subject.endswith("acknowledged by Jo Patel at 09:40")
    assert ACK_URL not in message.text
    assert "nobody has acknowledged" not in message.text
    assert "Acknowledged by Jo Patel at 09:40" in text_lines(message.text)


def test_acknowledgement_on_an_earlier_day_names_the_day() -> None:
    inc = acked(resolved_at=WINTER + timedelta(days=1))
    message = render("recovered", incident=inc, now=inc.resolved_at)
    assert "Acknowledged by Jo Patel at Thu 3 Dec, 09:40" in text_lines(message.text)


def test_acknowledged_without_a_name_says_when() -> None:
    message = render("acknowledged", incident=acked(acknowledged_by=None))
    assert message.subject == f"[Lifeline] ACKNOWLEDGED: {WHAT} — at 09:40"
    assert "Acknowledged at 09:40" in text_lines(message.text)


def test_no_ack_link_without_a_web_server_and_no_ack_line() -> None:
    message = render("down", ack_url=None)
    assert "Acknowledge" not in message.text
    assert "Acknowledge this alert" not in message.html
    assert all(label != "Acknowledge" for label, _ in message.links)


# --- Kind-specific wording ----------------------------------------------------------------


@pytest.mark.parametrize(("step", "elapsed"), [(1, "30m"), (2, "2h"), (3, "1d 2h")])
def test_escalated_message_says_why_it_is_escalated(step: int, elapsed: str) -> None:
    minutes = {"30m": 30, "2h": 120, "1d 2h": 26 * 60}[elapsed]
    message = render("down", step=step, now=WINTER + timedelta(minutes=minutes, seconds=40))
    lines = text_lines(message.text)
    assert lines[0] == f"ESCALATED: {WHAT} is DOWN: Major outage"
    reason = (
        f"This alert is being escalated to you because nobody has acknowledged it after {elapsed}."
    )
    assert reason in lines
    assert reason in message.html
    assert "ESCALATED — Major outage" in message.html
    assert message.short.startswith("ESCALATED: MIS (Arbor)")


def test_first_down_message_is_not_called_escalated() -> None:
    message = render("down", step=0)
    assert "escalat" not in message.text.lower().replace("stops escalation", "")
    assert text_lines(message.text)[0] == f"{WHAT} is DOWN: Major outage"


def test_reminder_says_how_long_and_that_nobody_has_acknowledged() -> None:
    message = render("reminder", now=WINTER + timedelta(hours=1, minutes=30))
    lines = text_lines(message.text)
    assert lines[0] == f"REMINDER: {WHAT} is still DOWN: Major outage"
    assert (
        "Reminder: MIS (Arbor) has been down for 1h 30m and nobody has acknowledged it yet."
        in lines
    )


def test_acknowledged_message_gives_the_note_and_says_escalation_stopped() -> None:
    message = render("acknowledged")
    lines = text_lines(message.text)
    assert "escalation has stopped" in message.text
    assert "Note: On the phone to Arbor." in lines
    assert "Paper registers are out." in lines
    assert "On the phone to Arbor.<br>Paper registers are out." in message.html
    assert message.sections[0] == (
        "Acknowledgement note",
        "On the phone to Arbor.\nPaper registers are out.",
    )


def test_update_message_shows_the_providers_new_post_once() -> None:
    message = render("update")
    lines = text_lines(message.text)
    heading = lines.index("UPDATE FROM ARBOR")
    assert lines[heading + 2 : heading + 7] == [
        "- Users unable to log in (identified, major impact)",
        "Latest update: A faulty database node was found.",
        "Failover under way.",
        "Updated: Thu 3 Dec 2026, 09:52 GMT",
        "https://status.arbor.example/incidents/abc123",
    ]
    # The older copy of the same post is not repeated under "Reported by".
    assert "REPORTED BY ARBOR" not in lines
    assert "investigating" not in message.text
    assert message.sections[0] == (
        "Update from Arbor",
        "Users unable to log in (identified, major impact)\n"
        "A faulty database node was found.\nFailover under way.\n"
        "Updated Thu 3 Dec 2026, 09:52 GMT",
    )
    assert "A faulty database node was found.<br>Failover under way." in message.html


def test_recovered_message_says_the_fallback_can_stop() -> None:
    lines = text_lines(render("recovered").text)
    what = lines.index("WHAT TO DO NOW")
    assert lines[what + 2].startswith("MIS (Arbor) is working again")
    assert lines[what + 4 : what + 6] == list(FALLBACK)


# --- Related services ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_related_services_are_listed_with_status_reason_functions_and_fallback(
    kind: AlertKind,
) -> None:
    message = render(kind, related=(WIFI, PHONES))
    lines = text_lines(message.text)
    start = lines.index("ALSO AFFECTED")
    assert lines[start + 2 : start + 8] == [
        "- Wi-Fi: Major outage — impacted by School internet",
        "Affects: Lesson resources, Attendance registers",
        "What to do: Use packs.",
        "- Phones: Partial outage — failed within 60s at the same site",
        "Affects: Parent calls",
        "What to do: Use the mobile in the office.",
    ]
    assert "<b>Wi-Fi</b>: Major outage &mdash; impacted by School internet" in message.html
    assert "What to do: Use the mobile in the office." in message.html
    assert dict(message.sections)["Also affected"].splitlines()[0] == (
        "- Wi-Fi: Major outage — impacted by School internet"
    )


def test_affects_is_the_union_of_all_functions_without_repeats() -> None:
    message = render("down", related=(WIFI, PHONES))
    union = "Attendance registers, Behaviour logs, Lesson resources, Parent calls"
    assert f"Affects: {union}" in text_lines(message.text)
    assert ("Affects", union) in message.facts


def test_a_long_list_of_related_services_is_bounded_and_counted() -> None:
    many = tuple(
        Related(related_service(f"s{i}", f"Cloud app {i}", []), Status.MAJOR_OUTAGE, "impacted")
        for i in range(25)
    )
    message = render("down", related=many)
    assert message.subject.endswith("(+25 services affected)")
    lines = text_lines(message.text)
    assert "- Cloud app 19: Major outage — impacted" in lines
    assert "- Cloud app 20: Major outage — impacted" not in lines
    assert "- …and 5 more" in lines


# --- Untrusted text -----------------------------------------------------------------------

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"


@pytest.mark.parametrize(
    ("kind", "overrides"),
    [
        ("acknowledged", {"incident": acked(ack_note=XSS)}),
        ("acknowledged", {"incident": acked(acknowledged_by=XSS)}),
        ("recovered", {"incident": acked(ack_note=XSS, resolved_at=WINTER + timedelta(hours=1))}),
        ("down", {"related": (replace(WIFI, service=related_service("x", XSS, [XSS], XSS)),)}),
        ("down", {"related": (replace(WIFI, reason=XSS),)}),
        ("update", {"update": replace(NEW_POST, name=XSS)}),
        ("update", {"update": replace(NEW_POST, status=XSS)}),
        ("update", {"update": replace(NEW_POST, latest_update=XSS)}),
    ],
    ids=[
        "ack_note",
        "acknowledged_by",
        "ack_note_recovered",
        "related_name_functions_fallback",
        "related_reason",
        "update_name",
        "update_status",
        "update_text",
    ],
)
def test_hostile_text_is_escaped_in_html(kind: AlertKind, overrides: dict[str, Any]) -> None:
    message = render(kind, **overrides)
    html = message.html
    assert "<script" not in html and "<img" not in html
    assert XSS_ESCAPED in html
    assert "\n" not in message.subject and "\r" not in message.subject


def test_crlf_in_who_acknowledged_stays_out_of_the_subject_and_fields() -> None:
    message = render("acknowledged", incident=acked(acknowledged_by="Jo\r\nBcc: all@example.com"))
    assert message.subject == (
        f"[Lifeline] ACKNOWLEDGED: {WHAT} — by Jo Bcc: all@example.com at 09:40"
    )
    assert not any(line.startswith("Bcc:") for line in message.text.splitlines())


@pytest.mark.parametrize(
    "bad_url",
    [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/ack",
        "https://evil.example/ack\nBcc: x",
        "",
    ],
)
@pytest.mark.parametrize("kind", ACKABLE)
def test_an_unsafe_ack_url_is_never_a_link_nor_shown(kind: AlertKind, bad_url: str) -> None:
    message = render(kind, ack_url=bad_url)
    hrefs = re.findall(r'href="([^"]*)"', message.html)
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs)
    assert "javascript" not in message.html.lower()
    assert "Acknowledge this alert" not in message.html
    assert "Acknowledge:" not in message.text
    assert "Ack:" not in message.short
    assert all(label != "Acknowledge" for label, _ in message.links)
    assert all(url.startswith("https://") for _, url in message.links)


def test_ack_url_is_attribute_escaped_in_html() -> None:
    url = "https://lifeline.example/ack/t?a=1&b=2"
    html = render("down", ack_url=url).html
    assert 'href="https://lifeline.example/ack/t?a=1&amp;b=2"' in html


# --- facts / sections / links -------------------------------------------------------------


def test_down_structured_parts() -> None:
    message = render("down", related=(PHONES,), now=WINTER + timedelta(minutes=30))
    assert message.facts == (
        ("Status", "Major outage"),
        ("Site", "Oakfield Primary School"),
        ("Since", "Thu 3 Dec 2026, 09:12 GMT (30m so far)"),
        ("Affects", "Attendance registers, Behaviour logs, Parent calls"),
        ("Tolerable outage", "4h (until 13:12)"),
        ("Who has been told", ", ".join(TOLD)),
    )
    assert message.sections == (
        ("What to do now", "\n".join(FALLBACK)),
        (
            "Reported by Arbor",
            "Users unable to log in (investigating, major impact)\n"
            "We are investigating reports of login failures.\n"
            "Updated Thu 3 Dec 2026, 09:15 GMT",
        ),
        (
            "Also affected",
            "- Phones: Partial outage — failed within 60s at the same site\n"
            "  Affects: Parent calls\n"
            "  What to do: Use the mobile in the office.",
        ),
    )
    assert message.links == (
        ("Acknowledge", ACK_URL),
        ("Users unable to log in", "https://status.arbor.example/incidents/abc123"),
        ("Status page", "https://status.arbor.example"),
    )


def test_structured_parts_leave_out_what_is_empty() -> None:
    bare = service(functions=[], max_tolerable_outage=None, fallback="", provider=None)
    message = render(
        "down", service=bare, site=None, recipients=(), ack_url=None,
        incident=incident(provider_incidents=()),
    )  # fmt: skip
    assert [label for label, _ in message.facts] == ["Status", "Site", "Since"]
    assert ("Site", "Oakfield Academy Trust") in message.facts
    assert message.sections == ()
    assert message.links == ()
    assert "No fallback procedure is written down for this service yet." in message.text


def test_recovered_structured_parts() -> None:
    message = render("recovered")
    assert message.facts == (
        ("Status", "Recovered after 1h 5m"),
        ("Site", "Oakfield Primary School"),
        ("Since", "Thu 3 Dec 2026, 09:12 GMT"),
        ("Affects", "Attendance registers, Behaviour logs"),
        ("Tolerable outage", "4h (until 13:12)"),
        ("Who has been told", ", ".join(TOLD)),
        ("Acknowledged", "by Jo Patel at 09:40"),
    )
    assert [heading for heading, _ in message.sections] == [
        "Acknowledgement note",
        "What to do now",
    ]
    assert message.links[0] == ("Users unable to log in", POST.url)


def test_update_links_the_new_post_once_after_the_ack_link() -> None:
    message = render("update")
    assert message.links == (
        ("Acknowledge", ACK_URL),
        ("Users unable to log in", "https://status.arbor.example/incidents/abc123"),
        ("Status page", "https://status.arbor.example"),
    )


def test_structured_parts_are_plain_unescaped_text() -> None:
    message = render("acknowledged", incident=acked(ack_note="Tom & Jerry <on it>"))
    assert dict(message.sections)["Acknowledgement note"] == "Tom & Jerry <on it>"


# --- short (SMS) --------------------------------------------------------------------------


@BOTH_SEASONS
def test_short_reads_like_a_text_message(opened: datetime) -> None:
    lean = service(functions=["attendance"], fallback="Paper registers in office drawer 2")
    message = render("down", opened, service=lean)
    assert message.short == (
        "DOWN: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage."
        " Affects: attendance. Do: Paper registers in office drawer 2."
        f" Ack: {ACK_URL}"
    )


@pytest.mark.parametrize(
    ("kind", "overrides", "start"),
    [
        ("down", {}, "DOWN: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage."),
        ("down", {"step": 1}, "ESCALATED: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage, not acknowledged after 30m."),
        ("down", {"related": (WIFI, PHONES)}, "DOWN: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage (+2 more)."),
        ("reminder", {}, "REMINDER: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage, not acknowledged after 30m."),
        ("acknowledged", {}, "ACKNOWLEDGED: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage. Acknowledged by Jo Patel at 09:40, escalation stopped. Note: On the phone to Arbor. Paper registers are out."),
        ("update", {}, "UPDATE: MIS (Arbor) at Oakfield Primary School since 09:12 - Major outage. Arbor: Identified. Users unable to log in: A faulty database node was found. Failover under way."),
        ("recovered", {}, "RECOVERED: MIS (Arbor) at Oakfield Primary School after 1h 5m (down since 09:12)."),
    ],
)  # fmt: skip
def test_short_of_every_kind_starts_with_what_happened(
    kind: AlertKind, overrides: dict[str, Any], start: str
) -> None:
    short = render(kind, **overrides).short
    assert short.startswith(start)
    assert len(short) <= SHORT_MAX


@pytest.mark.parametrize("kind", ACKABLE)
def test_short_keeps_the_whole_ack_link_when_the_fallback_is_huge(kind: AlertKind) -> None:
    message = render(kind, service=service(fallback="Go to the office and " * 100))
    short = message.short
    assert len(short) <= SHORT_MAX
    assert short.endswith(f"... Ack: {ACK_URL}")
    assert "Do: Go to the office and" in short


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_short_is_bounded_one_line_and_gsm_friendly(kind: AlertKind) -> None:
    long = service(
        name="Très long — “MIS” " * 20,
        functions=[f"Function {i}" for i in range(50)],
        fallback="Use the “red folder” — it’s in the office…\n" * 60,
    )
    message = render(kind, service=long, site=Site(id="s", name="Site – name " * 30))
    short = message.short
    assert len(short) <= SHORT_MAX
    assert "\n" not in short and "\r" not in short
    assert not set("—–“”‘’…") & set(short)
    if kind in ACKABLE:
        assert short.endswith(f" Ack: {ACK_URL}")


def test_short_drops_rather_than_cuts_an_ack_link_too_long_to_fit() -> None:
    url = "https://lifeline.example/ack/" + "x" * 260
    short = render("down", ack_url=url).short
    assert len(short) <= SHORT_MAX
    assert "Ack:" not in short and "xxxx" not in short
    assert ("Acknowledge", url) in render("down", ack_url=url).links  # still in the email/chat


def test_short_drops_the_function_list_before_cutting_it() -> None:
    many = service(functions=[f"Function {i}" for i in range(30)], fallback="Paper registers.")
    short = render("down", service=many).short
    assert "Affects" not in short
    assert "Do: Paper registers." in short


# --- Old callers --------------------------------------------------------------------------


def test_context_without_new_fields_still_renders_a_first_down_alert() -> None:
    ctx = AlertContext(
        kind="down",
        organisation=ORG,
        service=service(),
        site=SITE,
        incident=incident(),
        recipients=CONTACTS,
        now=WINTER + timedelta(minutes=5),
    )
    message = render_alert(ctx)
    assert message.subject == f"[Lifeline] DOWN: {WHAT} — Major outage"
    assert "Acknowledge" not in message.text
    assert message.short.startswith("DOWN: MIS (Arbor)")
