"""The documents' pure parts: formatting, aggregation, ladders, timelines, schedules, config."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor import docformat as fmt
from monitor import reports, review, scorecard, sla
from monitor.config import Config, parse_config
from monitor.documents_config import (
    DocumentsConfig,
    Reports,
    documents_of,
    reference_problems,
)
from monitor.errors import ConfigError
from monitor.model import EventKind, Incident, IncidentEvent, Message, ProviderIncident, Status
from monitor.plan import ladder, plan_from_data, render_plan_md
from monitor.store import Notification, Span

BASE_YAML = (
    "organisation: {name: Oakfield, timezone: Europe/London}\n"
    "contacts: [{id: jo, name: Jo, email: jo@oak.example}]\n"
    "services: [{id: a, name: A, checks: [{type: http, url: 'https://a.example/'}]}]\n"
)


def docs_from(text: str) -> DocumentsConfig:
    """The documents sections of ``text``, validated on their own (references unchecked)."""
    return DocumentsConfig.model_validate(yaml.safe_load(text) or {})


LONDON = ZoneInfo("Europe/London")
UP, MAJOR, PARTIAL, UNKNOWN = Status.UP, Status.MAJOR_OUTAGE, Status.PARTIAL_OUTAGE, Status.UNKNOWN
NOV_START = datetime(2026, 11, 1, tzinfo=UTC)  # GMT: local midnight
AFTER = datetime(2027, 1, 10, tzinfo=UTC)
M = timedelta(minutes=1)

CONFIG = """\
organisation: {name: Oakfield Academy Trust, timezone: Europe/London}
smtp: {host: smtp.example.org, from: "Lifeline <lifeline@example.org>"}
sites:
  - {id: oak, name: Oakfield Primary}
  - {id: river, name: Riverside Primary}
contacts:
  - {id: jo, name: Jo Patel, role: IT lead, site: oak, email: jo@oak.example}
  - {id: head, name: Alex Morgan, role: Headteacher, site: oak, email: head@oak.example}
  - {id: dee, name: Dee Hughes, role: Network manager, site: river, email: dee@river.example}
  - {id: morgan, name: Morgan Reed, role: Trust IT director, email: m.reed@trust.example}
  - {id: nomail, name: Pat Doe, role: Caretaker}
groups:
  leadership: [head, morgan]
escalation:
  critical:
    - {after: 0m, notify: ["@service"]}
    - {after: 30m, notify: [leadership], via: [email]}
calendar:
  school_hours: {start: "08:00", end: "16:00"}
  closures: [{date: 2026-11-20, reason: INSET}]
services:
  - id: internet
    name: Internet
    site: oak
    criticality: critical
    sla: 99.5
    fallback: Call the ISP.
    notify: [jo]
    checks: [{type: http, url: "https://gw.example/"}]
  - id: mis
    name: MIS
    site: oak
    criticality: critical
    depends_on: [internet]
    sla: 99.9
    max_tolerable_outage: 4h
    fallback: Paper registers.
    provider: {name: Arbor, status_page: "https://status.arbor.example/"}
    notify: [jo, head]
    checks:
      - {type: statuspage, url: "https://status.arbor.example/api/v2/summary.json"}
      - {type: http, url: "https://login.arbor.example/"}
  - id: river-mis
    name: MIS (Riverside)
    site: river
    criticality: high
    sla: 99.9
    provider: {name: Arbor}
    notify: [dee]
    checks: [{type: feed, url: "https://status.arbor.example/history.atom"}]
  - id: finance
    name: Finance
    criticality: normal
    notify: [morgan]
    checks: [{type: http, url: "https://finance.example/"}]
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG, "test.yaml", {})


def span(
    service: str, status: Status, start: datetime, minutes: float | None, by: str | None = None
) -> Span:
    end = None if minutes is None else start + timedelta(minutes=minutes)
    return Span(service, status, start, end, "", by)


def nov(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def incident(
    service: str,
    opened: datetime,
    minutes: float | None,
    *,
    posts: tuple[ProviderIncident, ...] = (),
    iid: str | None = None,
) -> Incident:
    resolved = None if minutes is None else opened + timedelta(minutes=minutes)
    return Incident(
        id=iid or f"{service}-{opened:%d%H%M}",
        service_id=service,
        opened_at=opened,
        status=MAJOR if resolved is None else UP,
        worst=MAJOR,
        resolved_at=resolved,
        provider_incidents=posts,
    )


# --- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (timedelta(minutes=43200 - 150), timedelta(minutes=43200), "99.652%"),  # 99.6527…
        (timedelta(seconds=99_899_6), timedelta(seconds=1_000_000), "99.899%"),  # never rounds up
        (timedelta(hours=1), timedelta(hours=1), "100%"),
        (timedelta(0), timedelta(hours=1), "0.000%"),
        (timedelta(hours=1), timedelta(0), "—"),
    ],
)
def test_percentages_are_truncated_never_rounded_up(
    part: timedelta, whole: timedelta, shown: str
) -> None:
    assert fmt.percent_of(part, whole) == shown


@given(
    whole=st.integers(min_value=1, max_value=10**12),
    share=st.fractions(min_value=0, max_value=1),
)
def test_a_shown_percentage_is_within_a_thousandth_below_the_truth(
    whole: int, share: Fraction
) -> None:
    part = int(whole * share)
    shown = fmt.percent_of(timedelta(microseconds=part), timedelta(microseconds=whole))
    truth = Fraction(part, whole) * 100
    value = Fraction(shown.rstrip("%"))
    assert value <= truth < value + Fraction(1, 1000)
    assert shown == "100%" or not shown.startswith("100")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words, 99.9% and (brackets)", "plain words, 99.9% and (brackets)"),
        ("*bold* _it_ `code`", r"\*bold\* \_it\_ \`code\`"),
        ("[click](http://evil.example)", r"\[click\](http://evil.example)"),
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("a | b", r"a \| b"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("1. first", r"1\. first"),
        ("---", r"\---"),
        ("AT&T &amp;", r"AT\&T \&amp;"),
        ("line one  \nline two", "line one\nline two"),
    ],
)
def test_markdown_escaping_keeps_text_literal(text: str, escaped: str) -> None:
    assert fmt.md_escape(text) == escaped


def test_day_strip_has_a_square_per_day_and_escapes_its_label() -> None:
    period = sla.month_period(2026, 11, LONDON)
    days = sla.daily([span("mis", UP, NOV_START, None)], period, LONDON, now=AFTER)
    svg = str(fmt.day_strip_svg(days, 'MIS <"x">'))
    assert svg.count("<rect") == 30
    assert "<script" not in svg and 'aria-label="MIS &lt;&#34;x&#34;&gt;"' in svg
    assert svg.count("<title>") == 30 and "30 Nov: 100% up" in svg


@pytest.mark.parametrize(
    ("delta", "text"),
    [(timedelta(minutes=25), "+25m"), (timedelta(minutes=-10), "\u221210m"), (timedelta(0), "0s")],
)
def test_signed_durations(delta: timedelta, text: str) -> None:
    assert fmt.signed_duration(delta) == text


# --- aggregation ---------------------------------------------------------------------------


def test_impacted_spans_become_unknown_and_nothing_else_changes() -> None:
    spans = [
        span("mis", UP, nov(1), 60),
        span("mis", MAJOR, nov(1, 1), 60, by="internet"),
        span("mis", MAJOR, nov(1, 2), 60),
    ]
    assert [s.status for s in reports.neutralise_impacted(spans)] == [UP, UNKNOWN, MAJOR]
    assert [s.impacted_by for s in reports.neutralise_impacted(spans)] == [None, "internet", None]


def test_incident_figures_run_open_incidents_to_now_and_mttr_counts_resolved_only() -> None:
    now = nov(10, 12)
    figures = reports.incident_figures(
        [
            incident("mis", nov(10, 11), None),
            incident("mis", nov(2), 90),
            incident("mis", nov(3), 30),
        ],
        now,
    )
    assert [f.duration for f in figures] == [90 * M, 30 * M, 60 * M]
    assert [f.ongoing for f in figures] == [False, False, True]
    assert reports.mean_time_to_recover(figures) == 60 * M
    assert reports.mean_time_to_recover(figures[2:]) is None


def test_provider_posts_are_listed_once_with_every_service_they_were_seen_on(
    config: Config,
) -> None:
    first = ProviderIncident(
        "Login failures",
        "investigating",
        "major",
        "https://s/1",
        "",
        nov(10, 9, 20),
        False,
        nov(10, 8, 50),
    )
    later = ProviderIncident(
        "Login failures",
        "resolved",
        "major",
        "https://s/1",
        "fixed",
        nov(10, 10, 25),
        False,
        nov(10, 8, 50),
    )
    other = ProviderIncident("Slow reports", "monitoring", "minor", "", "", nov(3, 9), False, None)
    posts = reports.provider_posts(
        config,
        [
            (config.service("mis"), incident("mis", nov(10, 9), 90, posts=(first,))),
            (config.service("river-mis"), incident("river-mis", nov(10, 9), 90, posts=(later,))),
            (config.service("mis"), incident("mis", nov(3, 9), 10, posts=(other,))),
        ],
    )
    assert [(p.name, p.status, p.services) for p in posts] == [
        ("Slow reports", "monitoring", ("MIS",)),
        ("Login failures", "resolved", ("MIS", "MIS (Riverside)")),
    ]
    assert posts[1].posted_at == nov(10, 8, 50)


def month_inputs(config: Config) -> list[reports.ServiceInput]:
    """Internet down 2h on a school day; MIS impacted by it for that time and down 43m12s
    of its own (exactly its 99.9% budget) on a Saturday; Riverside partial for 100 min."""
    internet = [
        span("internet", UP, nov(1), 10 * 24 * 60 + 13 * 60),
        span("internet", MAJOR, nov(11, 13), 120),
        span("internet", UP, nov(11, 15), None),
    ]
    mis = [
        span("mis", UP, nov(1), None),  # ended by the next span
        span("mis", MAJOR, nov(11, 13), 120, by="internet"),
        span("mis", UP, nov(11, 15), None),
        span("mis", MAJOR, nov(14, 10), 43.2),
        span("mis", UP, nov(14, 10) + timedelta(minutes=43.2), None),
    ]
    river = [
        span("river-mis", UP, nov(1), None),
        span("river-mis", PARTIAL, nov(2, 9), 100),
        span("river-mis", UP, nov(2, 10, 40), None),
    ]
    finance = [span("finance", UP, nov(1), None)]
    return [
        reports.ServiceInput(
            config.service("internet"), tuple(internet), (incident("internet", nov(11, 13), 120),)
        ),
        reports.ServiceInput(
            config.service("mis"), tuple(mis), (incident("mis", nov(14, 10), 43.2),)
        ),
        reports.ServiceInput(
            config.service("river-mis"), tuple(river), (incident("river-mis", nov(2, 9), 100),)
        ),
        reports.ServiceInput(config.service("finance"), tuple(finance), ()),
    ]


def test_monthly_figures_from_data(config: Config) -> None:
    report = reports.monthly_from_data(config, month_inputs(config), 2026, 11, AFTER)
    by_id = {r.service.id: r for r in report.services}
    month = 43200 * M
    internet, mis, river, finance = (by_id[i] for i in ("internet", "mis", "river-mis", "finance"))
    assert internet.uptime.downtime == 120 * M and internet.uptime.met is True
    # The impacted 2h is left out (unknown), not counted: only its own 43m12s is downtime.
    assert mis.uptime.observed == month - 120 * M and mis.dependency_time == 120 * M
    assert mis.uptime.downtime == timedelta(minutes=43.2)
    assert mis.dependency_causes == ("Internet",)
    # 99.9% of (43,200 − 120) min is 43.08 min: 43m12s of downtime overspends it by 7.2s.
    assert mis.uptime.budget_remaining == timedelta(seconds=-7.2) and mis.breached
    assert river.uptime.downtime == 30 * M  # 100 min × 0.3
    assert finance.uptime.met is None and fmt.result_text(finance.uptime) == "no target"
    assert len(mis.days) == 30 and mis.days[13].worst is MAJOR
    # School hours: 08:00–16:00 on weekdays except the INSET day: 20 days × 8h.
    assert internet.school is not None and internet.school.observed == 20 * 8 * 60 * M
    assert mis.school is not None and mis.school.downtime == timedelta(0)  # Saturday
    assert mis.school.observed == (20 * 8 * 60 - 120) * M
    assert [(g.name, g.services, g.met, g.breached) for g in report.sites] == [
        ("Oakfield Primary", 2, 1, 1),
        ("Riverside Primary", 1, 1, 0),
        ("Trust-wide services", 1, 0, 0),
    ]
    assert report.total.uptime.downtime == (120 + 43.2 + 30) * M
    assert report.total.incidents == 3
    assert any("MIS: 2h left out (caused by Internet)" in n for n in report.notes)
    assert any("20 school days" in n for n in report.notes)


def test_a_site_report_has_the_site_and_the_trust_wide_services(config: Config) -> None:
    assert [s.id for s in reports.services_for(config, "river")] == ["river-mis", "finance"]
    with pytest.raises(ValueError, match="unknown site 'nowhere'"):
        reports.services_for(config, "nowhere")


def test_a_month_in_progress_is_reported_to_date(config: Config) -> None:
    report = reports.monthly_from_data(config, month_inputs(config), 2026, 11, nov(15))
    assert not report.complete
    internet = report.services[0].uptime
    assert internet.observed == 14 * 24 * 60 * M and internet.unknown == 16 * 24 * 60 * M
    assert any("The month is not over" in n for n in report.notes)


def test_csv_cells_cannot_become_formulas(config: Config) -> None:
    hostile = config.model_copy(
        update={
            "services": [config.service("finance").model_copy(update={"name": "=HYPERLINK(1)"})]
        }
    )
    inputs = [reports.ServiceInput(hostile.services[0], (span("finance", UP, nov(1), None),), ())]
    csv_text = reports.render_csv(reports.monthly_from_data(hostile, inputs, 2026, 11, AFTER))
    assert "'=HYPERLINK(1)" in csv_text and ",=HYPERLINK" not in csv_text


# --- sending and schedule ------------------------------------------------------------------


def test_report_notifications_resolve_contacts_drop_duplicates_and_key_by_month(
    config: Config,
) -> None:
    docs = DocumentsConfig(
        reports=Reports(recipients=("jo", "governors@trust.example", "JO@oak.example"))
    )
    message = Message("[Lifeline] SLA report", "text", "<p>html</p>", UP)
    now = datetime(2026, 12, 1, 7, tzinfo=UTC)
    queued = reports.report_notifications(config, docs, message, 2026, 11, now)
    assert [(n.key, n.recipient, n.contact_id, n.channel, n.kind) for n in queued] == [
        ("report/2026-11/jo@oak.example", "jo@oak.example", "jo", "email", "report"),
        (
            "report/2026-11/governors@trust.example",
            "governors@trust.example",
            None,
            "email",
            "report",
        ),
    ]
    assert all(
        n.message is message and n.created_at == now and n.incident_id is None for n in queued
    )
    site = reports.report_notifications(config, docs, message, 2026, 11, now, site="oak")
    assert site[0].key == "report/2026-11/oak/jo@oak.example"


@pytest.mark.parametrize(
    ("docs", "error"),
    [
        (DocumentsConfig(), "no report recipients"),
        (DocumentsConfig(reports=Reports(recipients=("ghost",))), "unknown contact 'ghost'"),
        (DocumentsConfig(reports=Reports(recipients=("nomail",))), "has no email address"),
    ],
)
def test_report_notifications_refuse_what_cannot_be_sent(
    config: Config, docs: DocumentsConfig, error: str
) -> None:
    message = Message("s", "t", "h", UP)
    with pytest.raises(ValueError, match=error):
        reports.report_notifications(config, docs, message, 2026, 11, NOV_START)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 1, 7, tzinfo=UTC)),
        (datetime(2026, 12, 1, 6, 59, tzinfo=UTC), datetime(2026, 12, 1, 7, tzinfo=UTC)),
        (datetime(2026, 12, 1, 7, tzinfo=UTC), datetime(2027, 1, 1, 7, tzinfo=UTC)),
        # British Summer Time: 07:00 local on 1 April is 06:00 UTC.
        (datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 1, 6, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 1, 1, 7, tzinfo=UTC)),
    ],
)
def test_next_report_time_is_send_at_on_the_first(after: datetime, expected: datetime) -> None:
    assert reports.next_report_at(Reports(send_at=time(7)), LONDON, after) == expected


def test_the_report_due_on_the_first_covers_the_month_before() -> None:
    assert reports.previous_month(datetime(2026, 12, 1, 7, tzinfo=UTC), LONDON) == (2026, 11)
    assert reports.previous_month(datetime(2027, 1, 1, 7, tzinfo=UTC), LONDON) == (2026, 12)


# --- scorecard, review, plan ---------------------------------------------------------------


def test_scorecard_period_is_complete_months_before_now() -> None:
    period = scorecard.scorecard_period(datetime(2026, 12, 4, 9, tzinfo=UTC), LONDON, 12)
    assert period.start == datetime(2025, 12, 1, tzinfo=UTC) and period.end == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    one = scorecard.scorecard_period(datetime(2026, 4, 2, tzinfo=UTC), LONDON, 1)
    assert one.start == datetime(2026, 2, 28, 23, tzinfo=UTC) + timedelta(hours=1)  # 1 Mar GMT
    assert one.end == datetime(2026, 3, 31, 23, tzinfo=UTC)  # 1 April BST
    with pytest.raises(ValueError):
        scorecard.scorecard_period(NOV_START, LONDON, 0)


def test_detection_lead_only_for_endpoint_checked_services(config: Config) -> None:
    posted = ProviderIncident("Outage", "investigating", started_at=nov(10, 9, 25))
    maintenance = ProviderIncident(
        "Upgrade", "in progress", is_maintenance=True, started_at=nov(10, 8)
    )
    incidents = {
        "mis": [
            incident("mis", nov(10, 9), 60, posts=(posted, maintenance)),
            incident("mis", nov(12, 9), 10),
        ],
        "river-mis": [incident("river-mis", nov(10, 9), 60, posts=(posted,))],  # feed only
    }
    spans = {
        sid: [span(sid, UP, datetime(2025, 12, 1, tzinfo=UTC), None)]
        for sid in ("mis", "river-mis")
    }
    card = scorecard.scorecard_from_data(
        config, datetime(2026, 12, 4, tzinfo=UTC), 12, spans=spans, incidents=incidents
    )
    (arbor,) = card.providers
    assert [d.lead for d in arbor.detections] == [timedelta(minutes=25), None]
    assert arbor.mean_lead == timedelta(minutes=25)
    assert arbor.publishes_status and arbor.status_page == "https://status.arbor.example/"
    assert arbor.history_feed == "https://status.arbor.example/history.atom"
    assert len(arbor.incidents) == 3 and arbor.mttr == timedelta(minutes=(60 + 10 + 60) / 3)
    assert card.left_out == ("Internet", "Finance")


def test_review_timeline_is_in_time_order_with_records_and_provider_acknowledgement(
    config: Config,
) -> None:
    opened = nov(18, 10)
    post = ProviderIncident(
        "Disruption", "investigating", updated_at=nov(18, 10, 30), started_at=nov(18, 10, 25)
    )
    events = (
        IncidentEvent(opened, EventKind.OPENED, "Major outage: HTTP 503", MAJOR),
        IncidentEvent(
            nov(18, 10, 1), EventKind.NOTIFIED, "DOWN sent by email to Jo"
        ),  # replaced by the record
        IncidentEvent(nov(18, 10, 12), EventKind.ACKNOWLEDGED, "Acknowledged by Jo"),
        IncidentEvent(nov(18, 10, 27), EventKind.PROVIDER, "Provider: Disruption — investigating"),
        IncidentEvent(nov(18, 10, 40), EventKind.RESOLVED, "Up", UP),
    )
    inc = Incident(
        "mis-1", "mis", opened, UP, MAJOR, nov(18, 10, 40), (post,), events, nov(18, 10, 12), "Jo"
    )
    message = Message("s", "t", "h", MAJOR)
    sent = Notification(
        "mis-1/down/0/email/jo",
        "email",
        "jo@oak.example",
        "down",
        message,
        nov(18, 10, 1),
        "mis-1",
        "jo",
        1,
        "sent",
        1,
        None,
        nov(18, 10, 1) + timedelta(seconds=5),
    )
    failed = Notification(
        "mis-1/down/1/email/head",
        "email",
        "head@oak.example",
        "down",
        message,
        nov(18, 10, 30),
        "mis-1",
        "head",
        2,
        "failed",
        3,
        "550 no such user",
    )
    r = review.review_from_data(config, inc, [sent, failed], datetime(2026, 12, 1, tzinfo=UTC))
    assert [e.label for e in r.timeline] == [
        "Detected",
        "Notified",
        "Acknowledged",
        "Provider acknowledged",
        "Provider update seen",
        "Notification failed",
        "Recovered",
    ]
    assert r.timeline[1].text == "DOWN by email to Jo Patel (IT lead)"
    assert r.timeline[5].text.endswith(": 550 no such user")
    assert r.provider_acknowledged_at == nov(18, 10, 25)
    assert r.first_notified_at == nov(18, 10, 1) + timedelta(seconds=5)
    assert r.duration == 40 * M and r.within_tolerable is True
    assert [a.name for a in r.affected] == ["MIS"]


def test_provider_acknowledgement_ignores_maintenance_and_uses_update_time_without_start() -> None:
    items = [
        ProviderIncident("Planned", "scheduled", is_maintenance=True, started_at=nov(1)),
        ProviderIncident("Feed entry", "posted", updated_at=nov(5, 9, 40)),
        ProviderIncident(
            "Incident", "investigating", updated_at=nov(5, 9, 50), started_at=nov(5, 9, 45)
        ),
    ]
    assert review.provider_acknowledged_at(items) == nov(5, 9, 40)
    assert review.provider_acknowledged_at(items[:1]) is None


def test_ladder_expands_groups_and_service_contacts(config: Config) -> None:
    steps = ladder(config, config.service("mis"))
    assert [(s.after, [c.id for c in s.people], s.channels) for s in steps] == [
        (timedelta(0), ["jo", "head"], ("email",)),
        (timedelta(minutes=30), ["head", "morgan"], ("email",)),
    ]
    # No policy named after "normal": the default, the service's own contacts at once.
    assert [[c.id for c in s.people] for s in ladder(config, config.service("finance"))] == [
        ["morgan"]
    ]


def test_plan_orders_systems_by_criticality_and_shows_dependencies(config: Config) -> None:
    docs = docs_from(
        "exports:\n  - {name: Contacts, location: Safe, owner: jo, max_age: 1d, site: oak}\n"
        "  - {name: River list, location: Office, site: river}\n"
    )
    now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    plan = plan_from_data(config, docs, now, "oak", freshness={"Contacts": now - timedelta(days=2)})
    assert [s.service.id for s in plan.systems] == ["internet", "mis", "finance"]
    internet = plan.systems[0]
    assert internet.needed_by == ("MIS",) and plan.systems[1].depends_on == ("Internet",)
    assert [e.export.name for e in plan.exports] == ["Contacts"]
    assert plan.exports[0].stale is True
    md = render_plan_md(plan)
    assert "STALE: last fresh Wed 2 Dec 2026, 09:00 GMT" in md
    assert "not versioned" in md and "No communication protocol is written down" in md


# --- the configuration sections ------------------------------------------------------------


def test_documents_sections_parse_with_defaults() -> None:
    config = parse_config(
        "reports: {recipients: [jo], send_at: '06:30'}\n"
        "communication: {staff: Teams post, update_every: 30m, status_page_url: 'https://status.example/'}\n"
        "plan: {version: '2.0', reviewed: 2024-02-29}\n" + BASE_YAML,
        "lifeline.yaml",
        {},
    )
    docs = documents_of(config)
    assert docs.reports == Reports(
        recipients=("jo",), send_at=time(6, 30), format="html", site=None
    )
    assert docs.communication is not None and docs.communication.update_every == timedelta(
        minutes=30
    )
    assert docs.plan is not None and docs.plan.review_due == date(2025, 2, 28)
    assert docs.exports == ()


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("plan: {version: 1.10}\n", "lifeline.yaml:1: plan.version: write the version in quotes"),
        (
            "reports: {send_at: 16:30}\n",
            "reports.send_at: got the number 990 (did you mean 16:30?)",
        ),
        (
            "reports: {recipients: ['a@b.example, c@d.example']}\n",
            "neither a contact id nor a single email",
        ),
        (
            "communication: {status_page_url: 'javascript:alert(1)'}\n",
            "is not an http(s):// address",
        ),
        ("exports:\n  - {name: A}\n  - {name: A}\n", "export names must be unique: A repeated"),
        ("plan: {colour: red}\n", "lifeline.yaml:1: plan.colour: unknown field"),
        (
            "exports:\n  - {name: A, max_age: soon}\n",
            "lifeline.yaml:2: exports[0].max_age: 'soon' is not a duration",
        ),
    ],
)
def test_documents_section_errors_name_file_line_and_field(yaml_text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml_text + BASE_YAML, "lifeline.yaml", {})
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_references_are_checked_against_the_config(config: Config) -> None:
    docs = docs_from(
        "reports: {recipients: [ghost, nomail, x@y.example], site: mars}\n"
        "exports: [{name: A, owner: nobody, site: oak, service: nothing}]\n"
        "plan: {owner: jo}\n"
    )
    assert reference_problems(config, docs) == [
        "reports.recipients[0]: unknown contact 'ghost'",
        "reports.recipients[1]: contact 'nomail' has no email address",
        "reports.site: unknown site 'mars'",
        "exports[0].owner: unknown contact 'nobody'",
        "exports[0].service: unknown service 'nothing'",
    ]


def test_documents_of_reads_the_sections_off_a_config_that_has_them(config: Config) -> None:
    assert documents_of(config) == DocumentsConfig()

    class Wired:
        reports = Reports(recipients=("jo",))
        communication = None
        exports = [{"name": "A"}]
        plan = None

    docs = documents_of(Wired())
    assert docs.reports == Reports(recipients=("jo",)) and docs.exports[0].name == "A"
