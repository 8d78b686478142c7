"""render_alert: what people read in a DOWN / RECOVERED alert, and that provider text is tamed."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.config import Contact, Organisation, Service, Site
from monitor.model import EventKind, Incident, IncidentEvent, ProviderIncident, Status
from monitor.render import SUBJECT_MAX, AlertContext, format_local, render_alert, safe_url

ORG = Organisation(name="Oakfield Academy Trust", timezone="Europe/London")
SITE = Site(id="oakfield", name="Oakfield Primary School")
WINTER = datetime(2026, 12, 3, 9, 12, tzinfo=UTC)  # GMT: local time = UTC
SUMMER = datetime(2026, 7, 2, 8, 12, tzinfo=UTC)  # BST: local time = UTC + 1h

CONTACTS = (
    Contact(id="head", name="Jane Smith", role="Headteacher", email="head@oakfield.sch.uk"),
    Contact(id="bm", name="Raj Patel", role="Business manager", email="bm@oakfield.sch.uk"),
    Contact(id="it", name="Sam Lee", email="it@oakfield.sch.uk"),
)


def make_service(**overrides: Any) -> Service:
    data: dict[str, Any] = {
        "id": "mis",
        "name": "MIS (Arbor)",
        "site": "oakfield",
        "criticality": "critical",
        "functions": ["Attendance registers", "Behaviour logs", "Parent contact details"],
        "max_tolerable_outage": "4h",
        "fallback": "Take paper registers from the office.\nPhone absences to the office by 9:30.",
        "provider": {
            "name": "Arbor Education",
            "status_page": "https://status.arbor-education.com",
            "support": {
                "email": "support@arbor-education.com",
                "phone": "0203 123 4567",
                "url": "https://support.arbor-education.com",
            },
        },
        "notify": ["head", "bm", "it"],
        "checks": [{"type": "http", "url": "https://login.arbor.sc"}],
    }
    return Service.model_validate(data | overrides)


ARBOR_INCIDENT = ProviderIncident(
    name="Users unable to log in",
    status="investigating",
    impact="major",
    url="https://status.arbor-education.com/incidents/abc123",
    latest_update="We are investigating reports of login failures.\nNext update in 30 minutes.",
    updated_at=WINTER + timedelta(minutes=3),
)


def make_incident(opened: datetime = WINTER, **overrides: Any) -> Incident:
    events = (
        IncidentEvent(
            opened, EventKind.OPENED, "login page: connection timed out", Status.DEGRADED
        ),
        IncidentEvent(
            opened + timedelta(minutes=2),
            EventKind.STATUS,
            "status page reports major outage",
            Status.MAJOR_OUTAGE,
        ),
        IncidentEvent(opened + timedelta(minutes=3), EventKind.NOTIFIED, "emailed 3 contacts"),
    )
    fields: dict[str, Any] = {
        "id": "inc-42",
        "service_id": "mis",
        "opened_at": opened,
        "status": Status.MAJOR_OUTAGE,
        "worst": Status.MAJOR_OUTAGE,
        "provider_incidents": (ARBOR_INCIDENT,),
        "events": events,
    }
    return Incident(**(fields | overrides))


def down(
    incident: Incident | None = None,
    service: Service | None = None,
    site: Site | None = SITE,
    now: datetime | None = None,
    recipients: tuple[Contact, ...] = CONTACTS,
) -> AlertContext:
    incident = incident or make_incident()
    return AlertContext(
        kind="down",
        organisation=ORG,
        service=service or make_service(),
        site=site,
        incident=incident,
        recipients=recipients,
        now=now or incident.opened_at + timedelta(minutes=5),
    )


def recovered(incident: Incident, now: datetime | None = None) -> AlertContext:
    assert incident.resolved_at is not None
    return replace(down(incident), kind="recovered", now=now or incident.resolved_at)


def text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# --- DOWN ---------------------------------------------------------------------------------


def test_down_subject_names_service_site_and_status() -> None:
    message = render_alert(down())
    assert message.subject == (
        "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage"
    )


def test_down_subject_uses_status_label_of_current_status() -> None:
    incident = make_incident(status=Status.DEGRADED, worst=Status.DEGRADED)
    assert render_alert(down(incident)).subject.endswith("— Degraded")


def test_down_subject_without_site_names_the_organisation() -> None:
    message = render_alert(down(site=None))
    assert message.subject == (
        "[Lifeline] DOWN: MIS (Arbor) at Oakfield Academy Trust — Major outage"
    )


def test_down_text_says_what_when_and_what_to_do() -> None:
    lines = text_lines(render_alert(down()).text)
    assert "Status: Major outage" in lines
    assert "Since: Thu 3 Dec 2026, 09:12 GMT (5m so far)" in lines
    assert "Cause: status page reports major outage" in lines
    assert "Criticality: Critical" in lines
    assert "Affects: Attendance registers, Behaviour logs, Parent contact details" in lines
    assert "Tolerable outage: 4h (until 13:12)" in lines
    fallback = lines.index("WHAT TO DO NOW")
    assert lines[fallback + 2 : fallback + 4] == [
        "Take paper registers from the office.",
        "Phone absences to the office by 9:30.",
    ]


def test_down_text_shows_provider_incident_and_support() -> None:
    lines = text_lines(render_alert(down()).text)
    assert "- Users unable to log in (investigating, major impact)" in lines
    assert "Latest update: We are investigating reports of login failures." in lines
    assert "Next update in 30 minutes." in lines
    assert "Updated: Thu 3 Dec 2026, 09:15 GMT" in lines
    assert "https://status.arbor-education.com/incidents/abc123" in lines
    assert "Email: support@arbor-education.com" in lines
    assert "Phone: 0203 123 4567" in lines
    assert "Web: https://support.arbor-education.com" in lines
    assert "Status page: https://status.arbor-education.com" in lines


def test_down_text_lists_who_has_been_told_with_roles() -> None:
    lines = text_lines(render_alert(down()).text)
    told = lines.index("WHO HAS BEEN TOLD")
    assert lines[told + 2 : told + 5] == [
        "- Jane Smith (Headteacher)",
        "- Raj Patel (Business manager)",
        "- Sam Lee",
    ]


def test_times_are_local_summer_time_in_july() -> None:
    lines = text_lines(render_alert(down(make_incident(opened=SUMMER))).text)
    assert "Since: Thu 2 Jul 2026, 09:12 BST (5m so far)" in lines
    assert "Tolerable outage: 4h (until 13:12)" in lines


def test_tolerable_outage_names_the_day_when_it_ends_tomorrow() -> None:
    service = make_service(max_tolerable_outage="1d")
    lines = text_lines(render_alert(down(service=service)).text)
    assert "Tolerable outage: 1d (until Fri 4 Dec, 09:12)" in lines


def test_tolerable_outage_says_when_it_is_exceeded() -> None:
    late = WINTER + timedelta(hours=4, minutes=20)
    lines = text_lines(render_alert(down(now=late)).text)
    assert "Tolerable outage: 4h (until 13:12) — exceeded" in lines
    assert "Since: Thu 3 Dec 2026, 09:12 GMT (4h 20m so far)" in lines


def test_cause_is_the_latest_status_event_not_later_notifications() -> None:
    text = render_alert(down()).text
    assert "Cause: status page reports major outage" in text
    assert "emailed 3 contacts" not in text
    assert "connection timed out" not in text


def test_minimal_service_renders_without_optional_sections() -> None:
    service = make_service(
        provider=None, functions=[], max_tolerable_outage=None, fallback="", criticality="low"
    )
    incident = make_incident(provider_incidents=(), events=())
    message = render_alert(down(incident, service=service, site=None, recipients=()))
    lines = text_lines(message.text)
    assert "No fallback procedure is written down for this service yet." in lines
    assert "- nobody yet" in lines
    assert not any(line.startswith(("Cause:", "Affects:", "Tolerable")) for line in lines)
    assert "SUPPORT" not in message.text
    assert message.links == ()


def test_down_message_severity_and_links() -> None:
    message = render_alert(down())
    assert message.severity is Status.MAJOR_OUTAGE
    assert message.links == (
        ("Users unable to log in", "https://status.arbor-education.com/incidents/abc123"),
        ("Status page", "https://status.arbor-education.com"),
    )


def test_down_html_has_banner_sections_and_links() -> None:
    html = render_alert(down()).html
    assert 'bgcolor="#b91c1c"' in html  # red banner for a major outage
    assert "DOWN — Major outage" in html
    assert "Take paper registers from the office.<br>Phone absences to the office by 9:30." in html
    assert '<a href="https://status.arbor-education.com/incidents/abc123"' in html
    assert '<a href="mailto:support@arbor-education.com"' in html
    assert '<li style="margin:0 0 4px 0;">Raj Patel (Business manager)</li>' in html
    assert "Thu 3 Dec 2026, 09:12 GMT (5m so far)" in html


def test_html_is_email_safe() -> None:
    html = render_alert(down()).html.lower()
    for forbidden in ("<script", "<img", "<link", "<style", "javascript:", "src="):
        assert forbidden not in html
    assert 'role="presentation"' in html


# --- RECOVERED ----------------------------------------------------------------------------


def test_recovered_subject_says_how_long_it_was_down() -> None:
    incident = make_incident(resolved_at=WINTER + timedelta(hours=1, minutes=5), status=Status.UP)
    message = render_alert(recovered(incident))
    assert message.subject == (
        "[Lifeline] RECOVERED: MIS (Arbor) at Oakfield Primary School — down for 1h 5m"
    )
    assert message.severity is Status.UP


def test_recovered_text_gives_times_worst_status_and_who_was_told() -> None:
    incident = make_incident(
        resolved_at=WINTER + timedelta(hours=1, minutes=5),
        status=Status.UP,
        worst=Status.PARTIAL_OUTAGE,
    )
    lines = text_lines(render_alert(recovered(incident)).text)
    assert "Recovered at: Thu 3 Dec 2026, 10:17 GMT" in lines
    assert "Down since: Thu 3 Dec 2026, 09:12 GMT" in lines
    assert "Down for: 1h 5m" in lines
    assert "Worst status: Partial outage" in lines
    told = lines.index("WHO WAS TOLD")
    assert lines[told + 2] == "- Jane Smith (Headteacher)"


def test_recovered_duration_is_real_time_across_the_clock_change() -> None:
    # 01:30 BST, then the clocks go back at 02:00 BST: an hour later it is 01:30 GMT.
    opened = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    incident = make_incident(opened=opened, resolved_at=opened + timedelta(hours=1))
    message = render_alert(recovered(incident))
    assert message.subject.endswith("— down for 1h")
    lines = text_lines(message.text)
    assert "Down since: Sun 25 Oct 2026, 01:30 BST" in lines
    assert "Recovered at: Sun 25 Oct 2026, 01:30 GMT" in lines


def test_recovered_html_has_green_banner() -> None:
    incident = make_incident(resolved_at=WINTER + timedelta(minutes=30))
    html = render_alert(recovered(incident)).html
    assert 'bgcolor="#15803d"' in html
    assert "Down for" in html and "30m" in html


# --- Untrusted text -----------------------------------------------------------------------

HOSTILE = ProviderIncident(
    name='<script>alert(1)</script>"><img src=x onerror=alert(2)>',
    status="investigating</div><b>",
    url="javascript:alert(document.cookie)",
    latest_update="Fixed\r\nBcc: victim@example.com\n<iframe src=//evil>",
)
HOSTILE_CRLF_TITLE = ProviderIncident(
    name="Outage\r\nSubject: injected\r\n\r\nbody", status="identified", url=" JaVaScRiPt:x"
)


def hostile_message() -> Any:
    incident = make_incident(provider_incidents=(HOSTILE, HOSTILE_CRLF_TITLE))
    return render_alert(down(incident))


def test_hostile_provider_text_is_escaped_in_html() -> None:
    html = hostile_message().html
    assert "<script" not in html
    assert "<img" not in html
    assert "<iframe" not in html
    assert "</div><b>" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    )
    assert "&lt;iframe src=//evil&gt;" in html


def test_only_http_links_become_hrefs() -> None:
    message = hostile_message()
    hrefs = re.findall(r'href="([^"]*)"', message.html)
    assert hrefs and all(h.startswith(("https://", "mailto:")) for h in hrefs)
    assert "javascript:alert(document.cookie)" in message.html  # shown, as text
    assert all(url.startswith("https://") for _, url in message.links)


def test_crlf_in_provider_title_stays_on_one_line() -> None:
    message = hostile_message()
    assert "\r" not in message.text
    lines = text_lines(message.text)
    assert "- Outage Subject: injected body (identified)" in lines
    # Multi-line updates stay indented under their incident: nothing reads as a new field.
    assert not any(line.startswith(("Subject:", "Bcc:")) for line in message.text.splitlines())


def test_subject_has_no_line_breaks_even_from_config_text() -> None:
    service = make_service(name="MIS\r\nBcc: everyone@example.com")
    message = render_alert(down(service=service, site=Site(id="x", name="Oak\nfield")))
    assert "\r" not in message.subject and "\n" not in message.subject
    assert message.subject == (
        "[Lifeline] DOWN: MIS Bcc: everyone@example.com at Oak field — Major outage"
    )


def test_subject_is_capped() -> None:
    message = render_alert(down(service=make_service(name="Very long name " * 30)))
    assert len(message.subject) == SUBJECT_MAX
    assert message.subject.endswith("…")


def test_fallback_is_escaped_and_keeps_line_breaks_in_html() -> None:
    service = make_service(fallback="Use <paper> registers & call\r\nthe office\n\n\n\nThen wait")
    html = render_alert(down(service=service)).html
    assert "Use &lt;paper&gt; registers &amp; call<br>the office<br><br>Then wait" in html


def test_huge_provider_update_is_bounded() -> None:
    flood = replace(ARBOR_INCIDENT, latest_update="A" * 100_000)
    message = render_alert(down(make_incident(provider_incidents=(flood,) * 50)))
    assert len(message.text) < 30_000
    assert len(message.html) < 60_000


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://status.example.com/x?y=1", "https://status.example.com/x?y=1"),
        ("http://status.example.com", "http://status.example.com"),
        ("  HTTPS://status.example.com  ", "HTTPS://status.example.com"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("vbscript:msgbox", None),
        ("//evil.example.com", None),
        ("http://", None),
        ("https://exa mple.com", None),
        ("https://example.com/\nx", None),
        ("ftp://example.com", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 3, 9, 12, tzinfo=UTC), "Thu 3 Dec 2026, 09:12 GMT"),
        (datetime(2026, 7, 2, 8, 12, tzinfo=UTC), "Thu 2 Jul 2026, 09:12 BST"),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Sun 29 Mar 2026, 00:59 GMT"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Sun 29 Mar 2026, 02:00 BST"),
        (datetime(2026, 12, 3, 9, 12), "Thu 3 Dec 2026, 09:12 GMT"),  # naive is read as UTC
    ],
)
def test_format_local(moment: datetime, expected: str) -> None:
    assert format_local(moment, ORG.tz) == expected


def test_alert_sent_at_once_does_not_say_zero_so_far() -> None:
    lines = text_lines(render_alert(down(now=WINTER + timedelta(seconds=20))).text)
    assert "Since: Thu 3 Dec 2026, 09:12 GMT" in lines
