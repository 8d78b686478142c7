"""checks.feed: RSS/Atom incident feeds → CheckResult (pure; fixtures, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from checks import feed
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult, Status

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"
NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
URL = "https://status.meridianmis.example/history.rss"
WHO = "status.meridianmis.example"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def spec(**fields: Any) -> feed.Spec:
    return feed.Spec(type="feed", url=URL, **fields)


def observe(body: bytes, now: datetime = NOW, **fields: Any) -> HttpObservation:
    defaults: dict[str, Any] = {"status_code": 200, "elapsed": 0.2}
    return HttpObservation(
        probe=HttpProbe(url=URL, conditional=True),
        observed_at=now,
        body=body,
        **(defaults | fields),
    )


def run(body: bytes, now: datetime = NOW, **spec_fields: Any) -> CheckResult:
    return feed.evaluate(spec(**spec_fields), observe(body, now), "svc:1")


def rss(*items: str) -> bytes:
    """A minimal RSS 2.0 document around ``items``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Test Status - Incident History</title><link>https://status.test.example</link>"
        f"<description>Statuspage</description>{''.join(items)}</channel></rss>"
    ).encode()


def item(
    title: str,
    description_html: str,
    pub: str = "Tue, 12 Mar 2024 09:00:00 +0000",
    link: str = "https://status.test.example/incidents/abc123",
    extra: str = "",
) -> str:
    return (
        f"<item><title>{escape(title)}</title>"
        f"<description>{escape(description_html)}</description>"
        f"<pubDate>{pub}</pubDate><link>{escape(link)}</link>{extra}</item>"
    )


def trail(*updates: tuple[str, str]) -> str:
    """A Statuspage update trail, newest first."""
    return "".join(
        f"<p><small>Mar <var data-var='date'>12</var>, <var data-var='time'>09:00</var> UTC"
        f"</small><br><strong>{label}</strong> - {text}</p>"
        for label, text in updates
    )


# --- the fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "now", "fields", "status", "summary", "incidents"),
    [
        (
            "history.rss",
            NOW,
            {},
            Status.DEGRADED,
            f"{WHO}: degraded ('Card payments failing for some parents' - Identified; +1 more)",
            [
                ("Card payments failing for some parents", "identified", False),
                ("Reporting database upgrade", "in progress", True),
            ],
        ),
        (
            "history.rss",
            NOW,
            {"open_status": "partial_outage"},
            Status.PARTIAL_OUTAGE,
            f"{WHO}: partial outage ('Card payments failing for some parents' - Identified; "
            "+1 more)",
            [
                ("Card payments failing for some parents", "identified", False),
                ("Reporting database upgrade", "in progress", True),
            ],
        ),
        (
            # "Monitoring" is not resolved: still open.
            "history.atom",
            NOW,
            {},
            Status.DEGRADED,
            f"{WHO}: degraded ('Delays sending push notifications to the parent app' - Monitoring)",
            [("Delays sending push notifications to the parent app", "monitoring", False)],
        ),
        (
            "history.atom",
            NOW,
            {"resolved_labels": ["Resolved", "Completed", "Postmortem", "Monitoring"]},
            Status.UP,
            f"{WHO}: no open incidents in the last 7d",
            [],
        ),
        (
            "history_2014.rss",
            datetime(2014, 1, 3, 12, 0, tzinfo=UTC),
            {},
            Status.DEGRADED,
            f"{WHO}: degraded ('Increased API latency' - Investigating)",
            [("Increased API latency", "investigating", False)],
        ),
        (
            # Weeks later the unresolved entry is stale, not a current incident.
            "history_2014.rss",
            datetime(2014, 1, 20, 12, 0, tzinfo=UTC),
            {},
            Status.UP,
            f"{WHO}: no open incidents in the last 7d",
            [],
        ),
        (
            # No labels: recent entries are open, "[Resolved] …" is not.
            "plain.rss",
            NOW,
            {},
            Status.DEGRADED,
            f"{WHO}: degraded ('Increased packet loss for schools in the North West')",
            [("Increased packet loss for schools in the North West", "recent", False)],
        ),
        (
            "plain.rss",
            NOW + timedelta(hours=6),
            {},
            Status.UP,
            f"{WHO}: no open incidents in the last 7d",
            [],
        ),
        (
            "plain.rss",
            NOW,
            {"recency": "1h"},
            Status.UP,
            f"{WHO}: no open incidents in the last 7d",
            [],
        ),
    ],
)
def test_fixture_feeds(
    fixture: str,
    now: datetime,
    fields: dict[str, Any],
    status: Status,
    summary: str,
    incidents: list[tuple[str, str, bool]],
) -> None:
    result = run(raw(fixture), now, **fields)
    assert result.status is status
    assert result.summary == summary
    assert [(i.name, i.status, i.is_maintenance) for i in result.incidents] == incidents


def test_rss_incident_fields() -> None:
    payments, upgrade = run(raw("history.rss")).incidents
    assert payments.url == "https://status.meridianmis.example/incidents/5vb0x2kq9tdh"
    assert payments.latest_update == (
        "We have identified an issue with our card payment provider. "
        "Payments by card may fail; balances are unaffected."
    )
    assert payments.updated_at == datetime(2024, 3, 12, 9, 40, 51, tzinfo=UTC)
    assert payments.impact == ""
    assert upgrade.impact == "maintenance"
    assert upgrade.latest_update.startswith("Scheduled maintenance is currently in progress.")


def test_atom_dates_use_updated_not_published() -> None:
    (incident,) = run(raw("history.atom")).incidents
    assert incident.updated_at == datetime(2024, 3, 12, 9, 30, 4, tzinfo=UTC)


def test_2014_feed_without_var_tags_reads_label_and_text() -> None:
    result = run(raw("history_2014.rss"), datetime(2014, 1, 3, 12, 0, tzinfo=UTC))
    (incident,) = result.incidents
    assert incident.latest_update == "We are investigating increased latency on API requests."
    # pubDate was -0800: stored in UTC.
    assert incident.updated_at == datetime(2014, 1, 3, 10, 15, 41, tzinfo=UTC)


def test_unlabelled_entry_carries_its_description() -> None:
    (incident,) = run(raw("plain.rss")).incidents
    assert incident.latest_update.startswith("Engineers are investigating packet loss")


def test_lookback_decides_what_is_stale() -> None:
    # The February census incident was never resolved; a long lookback brings it back.
    result = run(raw("history.rss"), lookback="60d")
    assert "Intermittent errors exporting census data" in [i.name for i in result.incidents]
    assert "Intermittent errors exporting census data" not in [
        i.name for i in run(raw("history.rss")).incidents
    ]


# --- entry states -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "status"),
    [
        (["Investigating"], Status.DEGRADED),
        (["Identified", "Investigating"], Status.DEGRADED),
        (["Update", "Investigating"], Status.DEGRADED),
        (["Monitoring", "Identified"], Status.DEGRADED),
        (["Resolved", "Monitoring"], Status.UP),
        (["Postmortem", "Resolved"], Status.UP),
        (["RESOLVED", "Investigating"], Status.UP),  # labels are case-insensitive
        (["Investigating", "Resolved"], Status.DEGRADED),  # re-opened: newest label wins
        (["Degraded"], Status.DEGRADED),  # an unknown label followed by a dash still counts
        (["In progress", "Scheduled"], Status.MAINTENANCE),
        (["Verifying", "In progress"], Status.MAINTENANCE),
        (["Scheduled"], Status.UP),  # not started
        (["Completed", "Verifying"], Status.UP),
    ],
)
def test_newest_label_decides(labels: list[str], status: Status) -> None:
    body = rss(item("Something", trail(*[(label, "text") for label in labels])))
    assert run(body).status is status


def test_em_dash_and_other_markup_around_labels() -> None:
    # A custom feed (not Statuspage) with <b> and an em dash.
    body = rss(item("Webhooks failing", "<p><b>Identified</b> — Webhooks are failing.</p>"))
    (incident,) = run(body).incidents
    assert (incident.status, incident.latest_update) == ("identified", "Webhooks are failing.")


def test_bold_words_that_are_not_labels_are_not_states() -> None:
    description = "<p>Please <strong>do not</strong> retry payments.</p>"
    body = rss(item("Payments notice", description, pub="Tue, 12 Mar 2024 01:00:00 +0000"))
    # No label, and older than the 6h recency: not open.
    assert run(body).status is Status.UP
    assert run(body, recency="12h").incidents[0].status == "recent"


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (datetime(2024, 3, 12, 7, 59, tzinfo=UTC), Status.UP),  # not started
        (datetime(2024, 3, 12, 8, 0, tzinfo=UTC), Status.MAINTENANCE),
        (datetime(2024, 3, 12, 11, 59, tzinfo=UTC), Status.MAINTENANCE),
        (datetime(2024, 3, 12, 12, 0, tzinfo=UTC), Status.UP),  # over
    ],
)
def test_maintenance_without_trail_uses_its_window(now: datetime, status: Status) -> None:
    header = (
        "<p><strong>THIS IS A SCHEDULED EVENT Mar <var>12</var>, 08:00 - 12:00 GMT</strong></p>"
    )
    body = rss(
        item(
            "Network upgrade",
            header,
            pub="Tue, 12 Mar 2024 08:00:00 +0000",
            extra="<maintenanceEndDate>Tue, 12 Mar 2024 12:00:00 +0000</maintenanceEndDate>",
        )
    )
    result = run(body, now)
    assert result.status is status
    assert all(i.is_maintenance for i in result.incidents)


def test_maintenance_end_date_alone_marks_a_maintenance() -> None:
    body = rss(
        item(
            "Planned work",
            "<p>Work on the servers.</p>",
            pub="Tue, 12 Mar 2024 09:00:00 +0000",
            extra="<maintenanceEndDate>Tue, 12 Mar 2024 11:00:00 +0000</maintenanceEndDate>",
        )
    )
    assert run(body).status is Status.MAINTENANCE


def test_long_maintenance_that_started_before_lookback_is_still_in_scope() -> None:
    body = rss(
        item(
            "Data centre move",
            trail(("In progress", "Moving.")),
            pub="Mon, 26 Feb 2024 08:00:00 +0000",
            extra="<maintenanceEndDate>Fri, 15 Mar 2024 18:00:00 +0000</maintenanceEndDate>",
        )
    )
    assert run(body).status is Status.MAINTENANCE


def test_maintenance_and_incident_together_report_the_incident() -> None:
    result = run(raw("history.rss"), open_status="major_outage")
    assert result.status is Status.MAJOR_OUTAGE
    assert "Card payments failing" in result.summary


def test_only_maintenance_open_names_the_maintenance() -> None:
    body = rss(item("Reporting upgrade", trail(("In progress", "Working."))))
    assert run(body).summary == f"{WHO}: under maintenance ('Reporting upgrade' - In progress)"


@pytest.mark.parametrize(
    "title",
    ["[Resolved] DNS failures", "Resolved: DNS failures", "(resolved) DNS failures"],
)
def test_unlabelled_entry_with_resolved_title_is_closed(title: str) -> None:
    assert run(rss(item(title, "<p>DNS lookups failed.</p>"))).status is Status.UP


def test_undated_entries_are_ignored_but_all_undated_is_unknown() -> None:
    undated = (
        "<item><title>Investigating errors</title>"
        f"<description>{escape(trail(('Investigating', 'x')))}</description></item>"
    )
    only_undated = run(rss(undated))
    assert only_undated.status is Status.UNKNOWN
    assert only_undated.summary == f"{WHO}: could not read feed (entries carry no dates)"
    mixed = run(rss(undated, item("Dated", trail(("Resolved", "ok")))))
    assert mixed.status is Status.UP


def test_empty_feed_is_up() -> None:
    result = run(rss())
    assert result.status is Status.UP
    assert result.summary == f"{WHO}: no open incidents in the last 7d"


# --- untrusted text ---------------------------------------------------------------------------


def test_provider_text_becomes_capped_plain_text() -> None:
    hostile = (
        "<p><strong>Investigating</strong> - Parents &amp; carers: "
        "<script>alert('x')</script><a href='javascript:evil()'>click</a> "
        "<img src=x onerror=alert(1)> &lt;b&gt;not bold&lt;/b&gt;\x1b[2J" + "y" * 100_000 + "</p>"
    )
    body = rss(
        item(
            "Outage &amp; <b>bold</b> \u202etitle " + "z" * 5000,
            hostile,
            link="javascript:alert(document.cookie)",
        )
    )
    (incident,) = run(body).incidents
    assert incident.url == ""  # never a javascript: link
    # feedparser types an RSS title with markup as HTML: tags go, entities are decoded.
    assert incident.name.startswith("Outage & bold title z")
    assert len(incident.name) <= 300
    update = incident.latest_update
    assert update.startswith("Parents & carers: click <b>not bold</b>[2J")
    assert "alert" not in update and "\x1b" not in update
    assert len(update) <= 300


def test_huge_description_with_many_strong_tags_stays_cheap() -> None:
    description = "<strong>" * 20_000 + trail(("Investigating", "late label"))
    result = run(rss(item("Flood", description)))
    # The label sits beyond what we scan: treated as unlabelled and recent.
    assert result.status is Status.DEGRADED
    assert result.incidents[0].status == "recent"


# --- what we could not read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status_code": None, "error": "DNS lookup failed"}, "DNS lookup failed"),
        ({"status_code": 500}, "HTTP 500"),
        ({"status_code": 404}, "HTTP 404"),
        ({"truncated": True}, "response larger than 2000000 bytes"),
    ],
)
def test_unreadable_feed_is_unknown(fields: dict[str, Any], reason: str) -> None:
    result = feed.evaluate(spec(), observe(raw("history.rss"), **fields), "svc:1")
    assert result.status is Status.UNKNOWN
    assert result.summary == f"{WHO}: could not read feed ({reason})"
    assert result.incidents == ()


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">'
    b'<!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
    b'<rss version="2.0"><channel><title>&h;</title></channel></rss>'
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty response"),
        (b"  \n\t ", "empty response"),
        (b'{"status": {"indicator": "none"}}', "not an RSS or Atom feed"),
        (b"<!DOCTYPE html><html><head><title>Status</title></head><body/></html>", "not an RSS"),
        (b"plain text, not a feed", "not an RSS or Atom feed"),
        (bytes(range(256)) * 50, "not an RSS or Atom feed"),
        (_LAUGHS, "not well-formed"),
        (
            b"<rss version='2.0'><channel>" + b"<a>" * 20_000 + b"</channel></rss>",
            "not well-formed",
        ),
    ],
)
def test_not_a_feed_is_unknown(body: bytes, reason: str) -> None:
    result = run(body)
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith(f"{WHO}: could not read feed (")
    assert reason in result.summary
    assert len(result.summary) <= 300


def test_body_that_looks_like_a_path_is_not_opened(tmp_path: Path) -> None:
    # feedparser opens a local file when handed bytes naming one; a hostile server must not
    # be able to make us read (or block on) our own files.
    local = tmp_path / "feed.rss"
    local.write_bytes(raw("history.rss"))
    result = run(str(local).encode())
    assert result.status is Status.UNKNOWN
    assert result.summary == f"{WHO}: could not read feed (not an RSS or Atom feed)"


def test_feed_served_as_text_html_is_still_read() -> None:
    observation = observe(raw("history.atom"), headers={"content-type": "text/html; charset=utf-8"})
    assert feed.evaluate(spec(), observation, "svc:1").status is Status.DEGRADED


def test_a_bug_becomes_unknown_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> None:
        raise AttributeError("surprise")

    monkeypatch.setattr(feed, "_read_entry", explode)
    result = run(raw("history.rss"))
    assert result.status is Status.UNKNOWN
    assert result.summary == "feed status.meridianmis.example: could not evaluate (AttributeError)"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_evaluate_never_raises_on_arbitrary_bytes(body: bytes) -> None:
    result = run(body)
    assert isinstance(result.status, Status)


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=400), description=st.text(max_size=800))
def test_evaluate_never_raises_on_arbitrary_entry_text(title: str, description: str) -> None:
    result = run(rss(item(title, description)))
    assert isinstance(result.status, Status)
    for incident in result.incidents:
        assert len(incident.name) <= 300 and len(incident.latest_update) <= 300
        assert not any(ord(c) < 32 for c in incident.name + incident.latest_update)


# --- result plumbing, spec and probe ----------------------------------------------------------


def test_result_carries_observation_time_latency_and_check_id() -> None:
    result = feed.evaluate(spec(), observe(raw("history.rss"), elapsed=1.5), "parents:2")
    assert (result.check_id, result.observed_at, result.latency) == ("parents:2", NOW, 1.5)


def test_naive_observation_time_is_taken_as_utc() -> None:
    naive = observe(raw("history.rss"), now=NOW.replace(tzinfo=None))
    assert feed.evaluate(spec(), naive, "svc:1").status is Status.DEGRADED


def test_spec_defaults_and_normalisation() -> None:
    made = spec(resolved_labels=["  Resolved ", "ALL  CLEAR", ""], lookback="3d", recency=3600)
    assert made.resolved_labels == ["resolved", "all clear"]
    assert made.lookback == timedelta(days=3)
    assert made.recency == timedelta(hours=1)
    default = spec()
    assert (default.lookback, default.recency) == (timedelta(days=7), timedelta(hours=6))
    assert default.open_status is Status.DEGRADED
    assert default.resolved_labels == ["resolved", "completed", "postmortem"]


@pytest.mark.parametrize(
    "fields",
    [
        {"open_status": "up"},
        {"open_status": "unknown"},
        {"open_status": "broken"},
        {"resolved_labels": []},
        {"resolved_labels": ["  "]},
        {"lookback": "0s"},
        {"lookback": "soon"},
        {"url": "file:///etc/passwd"},
        {"lookbak": "7d"},
    ],
)
def test_spec_rejects_bad_values(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        feed.Spec.model_validate({"type": "feed", "url": URL} | fields)


def test_describe_and_probe() -> None:
    assert spec().describe() == "feed status.meridianmis.example"
    assert spec(name="Meridian incidents").describe() == "Meridian incidents"
    made = feed.probe(spec(open_status="major_outage"))
    assert (made.url, made.method, made.conditional, made.verify_tls) == (URL, "GET", True, True)
    assert made == feed.probe(spec(name="shared by another service"))
