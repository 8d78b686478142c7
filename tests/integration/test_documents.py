"""Every document rendered from a realistic store (tests/documents_store.py: the example trust
with a month of incidents) and checked for its facts; the HTML report opened in real headless
Chromium, the PDFs produced and read back with pypdf; the commands run through their parser."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest
from documents_store import (
    EXPECTED,
    MONTH,
    MYCONCERN_POST,
    NOW,
    RIVER_INTERNET_INCIDENT,
    SAFEGUARDING_INCIDENT,
    SCHOOL,
    at,
    build_store,
    documents_config,
    trust_config,
)
from markupsafe import escape
from pypdf import PdfReader

from monitor import plan as plan_doc
from monitor import reports, review, scorecard
from monitor.cli_documents import add_commands, run_command
from monitor.config import Config
from monitor.documents_config import DocumentsConfig
from monitor.errors import LifelineError
from monitor.model import EventKind, Status
from monitor.pdf import dump_dom, html_to_pdf
from monitor.store import Store
from notifiers.email import build_email

M = timedelta(minutes=1)
CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


@dataclass
class Trust:
    config: Config
    docs: DocumentsConfig
    store: Store
    tmp: Path


@pytest.fixture
async def trust(tmp_path: Path) -> AsyncIterator[Trust]:
    config = trust_config(tmp_path)
    store = await build_store(f"sqlite:///{tmp_path / 'lifeline.db'}", config)
    try:
        yield Trust(config, documents_config(), store, tmp_path)
    finally:
        await store.close()


# --- HTML checks ---------------------------------------------------------------------------

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _Checker(HTMLParser):
    """Tags balance (every element closed, in order), no scripts, no event handlers, no
    javascript:/data: links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problems: list[str] = []
        self.tags: list[str] = []

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        line = self.getpos()[0]
        if tag in ("script", "iframe", "object", "embed"):
            self.problems.append(f"line {line}: <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"line {line}: event handler {name}")
            if name in ("href", "src", "xlink:href") and (value or "").strip().lower().startswith(
                ("javascript:", "data:")
            ):
                self.problems.append(f"line {line}: {name}={value}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag in VOID:
            self.problems.append(f"line {line}: </{tag}> closes a void element")
        elif not self.stack or self.stack[-1][0] != tag:
            open_tag = self.stack[-1] if self.stack else ("nothing", 0)
            self.problems.append(
                f"line {line}: </{tag}> but <{open_tag[0]}> from line {open_tag[1]} is open"
            )
        else:
            self.stack.pop()


def check_html(html: str) -> list[str]:
    """Problems found in ``html`` (empty when well-formed and script-free); the tags seen."""
    assert html.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    problems = checker.problems + [f"<{t}> from line {n} never closed" for t, n in checker.stack]
    assert checker.tags[:1] == ["html"]
    return problems


def minutes_percent(observed: float, down: float) -> float:
    return float(Fraction(round((observed - down) * 60), round(observed * 60)) * 100)


# --- the monthly report --------------------------------------------------------------------


async def november(trust: Trust, site: str | None = None) -> reports.MonthlyReport:
    return await reports.build_monthly(trust.config, trust.docs, trust.store, 2026, 11, NOW, site)


async def test_monthly_report_figures_match_the_spans_written(trust: Trust) -> None:
    report = await november(trust)
    rows = {r.service.id: r for r in report.services}
    assert list(rows) == [s.id for s in trust.config.services]
    for sid, (observed, down, school_observed, school_down, count) in EXPECTED.items():
        row = rows[sid]
        assert row.uptime.observed == observed * M, sid
        assert row.uptime.downtime == down * M, sid
        assert row.uptime.uptime_percent == minutes_percent(observed, down), sid
        assert row.school is not None
        assert (row.school.observed, row.school.downtime) == (
            school_observed * M,
            school_down * M,
        ), sid
        assert len(row.incidents) == count, sid
        assert len(row.days) == 30, sid
    met = {sid for sid, r in rows.items() if r.uptime.met}
    assert {sid for sid, r in rows.items() if r.breached} == {"oak-mis", "river-mis"}
    assert met == set(EXPECTED) - {"oak-mis", "river-mis"}
    # Budgets: 99.9% of 43,200 min allows 43.2 min; of 43,080 min (2h unobserved), 43.08 min.
    assert rows["oak-mis"].uptime.budget_remaining == timedelta(minutes=43.2 - 150)
    assert rows["river-mis"].uptime.budget_remaining == timedelta(minutes=43.08 - 90)
    assert rows["hill-mis"].uptime.budget_remaining == timedelta(minutes=43.08 - 27)
    assert rows["hill-safeguarding"].uptime.budget_remaining == timedelta(minutes=43.2 - 40)
    assert rows["trust-finance"].uptime.budget_remaining == timedelta(minutes=216 - 180)  # 99.5%
    # The incident crossing the month end counts whole: 2h, so the longest; MTTR (90+120)/2.
    assert rows["oak-mis"].longest == 2 * 60 * M and rows["oak-mis"].mttr == 105 * M
    assert [i.id for i in rows["oak-mis"].incidents] == [
        "oak-mis-20261110-0900",
        "oak-mis-20261130-2300",
    ]
    # Only November's hour of it is downtime: 90 + 60 min. October's incident is not counted.
    assert rows["oak-mis"].uptime.downtime == 150 * M
    assert rows["river-mis"].dependency_time == 2 * 60 * M
    assert rows["river-mis"].dependency_causes == ("Internet (Riverside)",)
    days = {sid: {d.day.day: d.worst for d in r.days} for sid, r in rows.items()}
    assert days["oak-mis"][10] is Status.MAJOR_OUTAGE and days["oak-mis"][30] is Status.MAJOR_OUTAGE
    assert days["hill-mis"][10] is Status.PARTIAL_OUTAGE
    assert days["hill-internet"][15] is Status.MAINTENANCE
    assert days["oak-internet"][6] is Status.DEGRADED
    assert [d.day.isoformat() for d in rows["oak-mis"].days][::29] == ["2026-11-01", "2026-11-30"]
    # The trust: every service's time summed.
    observed = sum(e[0] for e in EXPECTED.values())
    down = sum(e[1] for e in EXPECTED.values())
    assert (observed, down) == (8 * MONTH - 480, 607)
    assert report.total.uptime.uptime_percent == minutes_percent(observed, down)
    assert (report.total.met, report.total.breached, report.total.incidents) == (6, 2, 8)
    school_down = sum(e[3] for e in EXPECTED.values())
    assert report.total.school is not None
    assert (
        report.total.school.observed == (8 * SCHOOL - 120) * M
        and report.total.school.downtime == school_down * M
    )
    assert [(g.name, g.services, g.met, g.breached, g.incidents) for g in report.sites] == [
        ("Oakfield Primary School", 2, 1, 1, 3),
        ("Riverside Primary School", 2, 1, 1, 2),
        ("Hillcrest Academy", 3, 3, 0, 2),
        ("Trust-wide services", 1, 1, 0, 1),
    ]
    assert [(p.provider, p.name, p.status, len(p.services)) for p in report.provider_posts] == [
        ("Arbor Education", "MIS unavailable for some schools", "resolved", 3),
        ("MyConcern (One Team Logic)", MYCONCERN_POST.name, "investigating", 1),
    ]


async def test_report_html_states_the_figures_and_is_email_safe(trust: Trust) -> None:
    html = reports.render_html(await november(trust))
    assert check_html(html) == []
    for fact in [
        "November 2026 &mdash; Oakfield Academy Trust",
        "6 of 8 services met their target; 2 breached: MIS (Arbor) — Oakfield, MIS (Arbor) — Riverside.",
        "99.652% (target 99.9%)",  # oak-mis: 1 − 150/43,200
        "99.791% (target 99.9%)",  # river-mis: 1 − 90/43,080
        "99.937% (target 99.9%)",  # hill-mis: 1 − 27/43,080
        "99.907% (target 99.9%)",  # hill-safeguarding: 1 − 40/43,200
        "99.583% (target 99.5%)",  # trust-finance: 1 − 180/43,200
        "overspent by 1h 46m of 43m 12s",
        "overspent by 46m 55s of 43m 5s",
        "16m 5s left of 43m 5s",
        "36m left of 3h 36m",
        "99.062%",  # oak-mis in school hours: 1 − 90/9,600
        "98.750%",  # trust-finance in school hours: 1 − 120/9,600
        "1h 45m (mean)",
        "Days with downtime: 10, 30",
        "2h (caused by another service)",
        "MIS unavailable for some schools",
    ]:
        assert fact in html, fact
    assert html.count("<svg") == 8 and html.count("<rect") == 8 * 30
    assert html.count(">BREACHED<") == 4  # two services, in the glance table and the cards
    # Email-safe: inline styles only (no <style>, no stylesheet links), no images or scripts.
    assert "<style" not in html and "<link" not in html and "<img" not in html
    # Provider text is escaped, and an unsafe link is neither linked nor shown.
    assert "<b>urgent</b>" not in html and "Service disruption &lt;b&gt;urgent&lt;/b&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "javascript:" not in html


async def test_print_version_adds_only_the_a4_page_rule(trust: Trust) -> None:
    report = await november(trust)
    printed = reports.render_html(report, for_print=True)
    assert "@page { size: A4; margin: 12mm }" in printed
    assert printed.replace(
        printed[printed.index("<style>") : printed.index("</style>\n") + 9], ""
    ) == reports.render_html(report)


@needs_chromium
async def test_report_html_renders_in_headless_chromium(trust: Trust) -> None:
    dom = await dump_dom(reports.render_html(await november(trust)), chromium=CHROMIUM)
    assert "99.652% (target 99.9%)" in dom
    assert (
        dom.count("<rect") == 240
        and "<title>10 Nov: 93.750% up, worst: major outage</title>" in dom
    )


@needs_chromium
async def test_report_pdf_reads_back_with_the_figures(trust: Trust) -> None:
    out = trust.tmp / "report.pdf"
    await html_to_pdf(
        reports.render_html(await november(trust), for_print=True), out, chromium=CHROMIUM
    )
    reader = PdfReader(out)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.pages[0].mediabox.width == pytest.approx(595.92, abs=1)  # A4: 210 mm
    for fact in [
        "November 2026 — Oakfield Academy Trust",
        "99.652%",
        "99.791%",
        "BREACHED",
        "overspent by 1h 46m",
        "16m 5s left",
    ]:
        assert fact in text, fact


async def test_report_text_json_and_csv_carry_the_same_figures(trust: Trust) -> None:
    report = await november(trust)
    text = reports.render_text(report)
    assert "MIS (Arbor) — Oakfield (Oakfield Primary School) — BREACHED" in text
    assert "  Uptime:       99.652% (target 99.9%)" in text
    assert "  Incidents:    2 (longest 2h, mean time to recover 1h 45m)" in text
    assert "  School hours: 99.062%" in text
    data = json.loads(reports.render_json(report))
    oak = next(s for s in data["services"] if s["id"] == "oak-mis")
    assert oak["month"]["downtime_seconds"] == 9000 and oak["month"]["met"] is False
    assert oak["month"]["budget_remaining_seconds"] == pytest.approx(-6408)
    assert oak["incidents"]["count"] == 2 and oak["incidents"]["mttr_seconds"] == 6300
    assert len(oak["days"]) == 30 and oak["days"][9] == {
        "date": "2026-11-10",
        "worst": "major_outage",
        "uptime_percent": pytest.approx(100 * (1 - 90 / 1440)),
        "downtime_seconds": 5400,
    }
    assert data["total"]["incidents"] == 8 and data["month"] == "2026-11"
    rows = reports.render_csv(report).splitlines()
    assert rows[0].startswith(
        "site,service_id,service,provider,target_percent,uptime_percent,result"
    )
    river = next(r for r in rows if ",river-mis," in r).split(",")
    assert river[6:9] == ["BREACHED", "5400", "-2815.2"] and river[-1] == "7200"


async def test_a_site_report_covers_the_site_and_trust_wide_services(trust: Trust) -> None:
    report = await november(trust, "hillcrest-academy")
    assert [r.service.id for r in report.services] == [
        "trust-finance",
        "hill-internet",
        "hill-mis",
        "hill-safeguarding",
    ]
    assert report.title == "SLA report November 2026 — Hillcrest Academy"
    assert [g.name for g in report.sites] == ["Hillcrest Academy", "Trust-wide services"]
    assert [p.services for p in report.provider_posts][0] == ("MIS (Arbor) — Hillcrest",)


async def test_report_message_is_a_sendable_email(trust: Trust) -> None:
    message = reports.report_message(await november(trust))
    assert message.subject == "[Lifeline] SLA report November 2026 — Oakfield Academy Trust"
    assert message.severity is Status.DEGRADED  # a target was breached
    email = build_email(
        message,
        ["governors@oakfieldtrust.org.uk"],
        "Lifeline <lifeline@oakfieldtrust.org.uk>",
        now=NOW,
    )
    parsed = message_from_bytes(email.as_bytes(), policy=default_policy)
    assert parsed["Subject"] == message.subject
    parts = {p.get_content_type(): p.get_content() for p in parsed.walk() if not p.is_multipart()}
    assert "99.652% (target 99.9%)" in parts["text/plain"] and "<svg" in parts["text/html"]


# --- the continuity plan -------------------------------------------------------------------


async def test_plan_lists_every_critical_system_with_fallback_and_ladder(trust: Trust) -> None:
    plan = await plan_doc.build_plan(trust.config, trust.docs, trust.store, NOW)
    html = plan_doc.render_plan_html(plan)
    md = plan_doc.render_plan_md(plan)
    assert check_html(html) == []
    assert "@page { size: A4; margin: 15mm;" in html and "<script" not in html
    critical = [s for s in trust.config.services if s.criticality == "critical"]
    assert len(critical) == 7
    for service in critical:
        assert escape(service.name) in html and escape(service.fallback) in html, service.id
        assert service.name in md and service.fallback in md.replace("\\", ""), service.id
    assert [s.service.criticality for s in plan.systems] == ["critical"] * 7 + ["high"]
    hill_mis = next(s for s in plan.systems if s.service.id == "hill-mis")
    assert hill_mis.depends_on == ("Internet (Hillcrest)",)
    assert [(step.after, [c.name for c in step.people]) for step in hill_mis.ladder] == [
        (timedelta(0), ["Kit Lowe", "Ravi Nair"]),
        (timedelta(minutes=30), ["Morgan Reed"]),
        (timedelta(hours=2), ["Morgan Reed", "Chris Lane"]),
    ]
    for fact in [
        "<b>At once:</b> Kit Lowe (IT lead), Ravi Nair (Business manager)",
        "<b>After 30m:</b> Morgan Reed (Trust IT director)",
        "<b>After 2h:</b> Morgan Reed (Trust IT director), Chris Lane (Chief operating officer)",
        "Needed by: MIS (Arbor) — Hillcrest, Safeguarding log (MyConcern) — Hillcrest",
        '<a href="https://status.arbor.example/">https://status.arbor.example/</a>',
        "Phone: 0300 000 0001",
        "<b>Version</b> 1.3",
        "<b>Reviewed</b> 1 September 2026",
        "<b>Next review</b> 1 September 2027",
        "<b>Owner</b> Morgan Reed (Trust IT director)",
        "The headteacher phones the chair of governors within two hours.",
        "Every 1h while the outage lasts",
        "Encrypted USB in the Hillcrest office safe",
        "not monitored",
    ]:
        assert fact in html, fact
    assert (
        "| **At once:** Kit Lowe (IT lead), Ravi Nair (Business manager) — by email<br>**After 30m:** Morgan Reed"
        in md
    )


async def test_plan_shows_when_exports_were_last_seen_fresh(trust: Trust) -> None:
    fresh = {
        "Offline contact list": NOW - timedelta(days=2),
        "Safeguarding concern forms": NOW - timedelta(days=45),
    }
    plan = await plan_doc.build_plan(
        trust.config, trust.docs, trust.store, NOW, "hillcrest-academy", freshness=fresh
    )
    md = plan_doc.render_plan_md(plan)
    assert "| 7d | fresh (Wed 2 Dec 2026, 09:00 GMT) |" in md
    assert "| 30d | STALE: last fresh Tue 20 Oct 2026, 10:00 BST |" in md
    assert "Medical needs list" not in md  # Oakfield's


@needs_chromium
async def test_a_school_plan_prints_on_two_a4_pages(trust: Trust) -> None:
    plan = await plan_doc.build_plan(
        trust.config, trust.docs, trust.store, NOW, "hillcrest-academy"
    )
    out = trust.tmp / "plan.pdf"
    await html_to_pdf(plan_doc.render_plan_html(plan), out, chromium=CHROMIUM)
    reader = PdfReader(out)
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for fact in [
        "Digital continuity plan",
        "Hillcrest Academy",
        "Paper concern forms in the DSL office",
        "Version 1.3",
        "Page 1 of 2",
    ]:
        assert fact in text, fact


# --- the incident review -------------------------------------------------------------------


async def test_review_of_an_incident_has_its_timeline_in_order(trust: Trust) -> None:
    found = await review.build_review(trust.config, trust.store, SAFEGUARDING_INCIDENT, NOW)
    assert found is not None
    assert [(e.at, e.label) for e in found.timeline] == [
        (at(11, 18, 10), "Detected"),
        (at(11, 18, 10, 1, 5), "Notified"),
        (at(11, 18, 10, 12), "Acknowledged"),
        (at(11, 18, 10, 12, 6), "Notified"),
        (at(11, 18, 10, 20), "Note"),
        (at(11, 18, 10, 25), "Provider acknowledged"),
        (at(11, 18, 10, 27), "Provider update seen"),
        (at(11, 18, 10, 40), "Recovered"),
        (at(11, 18, 10, 40, 10), "Notified"),
        (at(11, 19, 9), "Note"),
    ]
    assert [e.text for e in found.timeline if e.label == "Notified"] == [
        "DOWN by email to Kit Lowe (IT lead)",
        "ACKNOWLEDGED by email to Kit Lowe (IT lead)",
        "RECOVERED by email to Kit Lowe (IT lead)",
    ]
    assert found.duration == 40 * M and found.within_tolerable is True
    md = review.render_review_md(found)
    for fact in [
        "| **Duration** | 40m |",
        "| **Tolerable outage** | 4h — within it |",
        "| **First alert** | 1m 5s after detection |",
        "| **Acknowledged** | 12m after detection, by Kit Lowe |",
        "| **Provider acknowledged** | Wed 18 Nov 2026, 10:25 GMT (25m after we detected it) |",
        "- **Functions:** safeguarding concerns",
        "  > Paper concern forms in the DSL office; phone the DSL for anything urgent.",
        "- **Thu 19 Nov 2026, 09:00 GMT:** Review meeting booked for Friday",
        "### 1. Did staff know what to do?",
        "### 2. Was communication clear?",
        "### 3. Were contact lists accessible?",
        "### 4. What should change in the continuity plan",
    ]:
        assert fact in md, fact
    # The provider's markup stays literal text in Markdown…
    assert (
        r"\<script\>alert('x')\</script\> We are \*\*investigating\*\* \[click\](http://evil.example)"
        in md
    )
    html = review.render_review_html(found)
    assert check_html(html) == []
    # …and in HTML.
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count('class="answer"') == 4


async def test_review_of_a_root_cause_lists_the_impacted_services(trust: Trust) -> None:
    found = await review.build_review(trust.config, trust.store, RIVER_INTERNET_INCIDENT, NOW)
    assert found is not None
    assert [(a.name, a.impacted) for a in found.affected] == [
        ("Internet (Riverside)", False),
        ("MIS (Arbor) — Riverside", True),
    ]
    md = review.render_review_md(found)
    assert "### MIS (Arbor) — Riverside (impacted through this incident)" in md
    assert "- **Functions:** attendance, assessment, parent contact details" in md
    assert "Paper registers from the staffroom cupboard" in md
    assert "| **Acknowledged** | never |" in md
    assert "| **Provider acknowledged** | no provider (our own service) |" in md


async def test_review_of_an_unknown_incident_is_none(trust: Trust) -> None:
    assert await review.build_review(trust.config, trust.store, "no-such-incident", NOW) is None


# --- the provider scorecard ----------------------------------------------------------------


async def test_scorecard_measures_each_provider_against_its_contract(trust: Trust) -> None:
    card = await scorecard.build_scorecard(trust.config, trust.store, NOW)
    providers = {p.name: p for p in card.providers}
    assert list(providers) == ["PS Financials", "Arbor Education", "MyConcern (One Team Logic)"]
    arbor, finance = providers["Arbor Education"], providers["PS Financials"]
    myconcern = providers["MyConcern (One Team Logic)"]
    # Detection lead: provider's acknowledgement minus our detection.
    assert [(d.incident_id, d.lead) for d in myconcern.detections] == [
        (SAFEGUARDING_INCIDENT, 25 * M)
    ]
    assert [(d.incident_id, d.lead) for d in arbor.detections] == [
        ("hill-mis-20261110-0900", -10 * M)
    ]
    assert [(d.incident_id, d.lead) for d in finance.detections] == [
        ("trust-finance-20261123-1400", None)
    ]
    # Observed from 1 October (the store's start) to 1 December: 61 days per service.
    service_minutes = 61 * 24 * 60
    assert arbor.uptime.observed == (3 * service_minutes - 120 - 120) * M
    assert arbor.uptime.downtime == (20 + 150 + 90 + 27) * M  # October's 20 min counts here
    assert (len(arbor.incidents), arbor.mttr) == (5, (20 + 90 + 120 + 90 + 90) / 5 * M)
    assert arbor.contracted == (99.9,) and arbor.met is False
    assert (finance.met, myconcern.met) == (True, True)
    assert (arbor.publishes_status, finance.publishes_status, myconcern.publishes_status) == (
        True,
        False,
        True,
    )
    assert (
        arbor.history_feed == "https://status.arbor.example/history.atom"
        and myconcern.history_feed is None
    )
    assert card.left_out == ("Internet (Oakfield)", "Internet (Riverside)", "Internet (Hillcrest)")
    text = scorecard.render_scorecard_text(card)
    assert "Wed 18 Nov 2026, 10:00 GMT  +25m (we saw it first)" in text
    assert "Tue 10 Nov 2026, 09:00 GMT  \u221210m (provider posted first)" in text
    assert "Mon 23 Nov 2026, 14:00 GMT  not acknowledged by provider" in text
    assert "Incident history: feed https://status.arbor.example/history.atom" in text
    assert "Status page:      none found" in text
    html = scorecard.render_scorecard_html(card)
    assert check_html(html) == [] and "December 2025 to November 2026" in html
    data = json.loads(scorecard.render_scorecard_json(card))
    assert data["providers"][2]["mean_detection_lead_seconds"] == 1500


# --- the commands --------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lifeline")
    add_commands(p.add_subparsers(dest="command", required=True))
    return p


async def run(trust: Trust, *argv: str) -> int:
    args = parser().parse_args([argv[0], "-c", "lifeline.yaml", *argv[1:]])
    return await run_command(args, trust.config, trust.docs, trust.store, NOW)


async def test_report_command_prints_or_writes_each_format(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(trust, "report", "--month", "2026-11", "--format", "text") == 0
    assert "  Uptime:       99.652% (target 99.9%)" in capsys.readouterr().out
    out = trust.tmp / "november.csv"
    assert (
        await run(trust, "report", "--month", "2026-11", "--format", "csv", "--out", str(out)) == 0
    )
    assert out.read_bytes().count(b"\r\n") == 9
    # No --month: the month before now's (December 2026), i.e. November.
    assert await run(trust, "report", "--format", "json", "--site", "oakfield-primary") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["month"] == "2026-11" and data["site"] == "oakfield-primary"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["report", "--month", "2026-13"], "'2026-13' is not a month such as 2026-11"),
        (["report", "--month", "2027-01"], "--month 2027-01 has not started yet"),
        (["report", "--month", "2026-11", "--site", "mars"], "unknown site 'mars'"),
        (["report", "--month", "2026-11", "--format", "pdf"], "--format pdf needs --out FILE"),
        (["plan", "--site", "mars"], "unknown site 'mars'"),
        (["scorecard", "--months", "0"], "--months must be from 1 to 120"),
        (["note", SAFEGUARDING_INCIDENT, "  "], "the note is empty"),
    ],
)
async def test_bad_usage_exits_2(
    trust: Trust, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert await run(trust, *argv) == 2
    assert error in capsys.readouterr().err


def test_unparseable_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["scorecard", "-c", "x.yaml", "--months", "twelve"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        parser().parse_args(["report", "-c", "x.yaml", "--format", "docx"])
    capsys.readouterr()


async def test_report_send_queues_one_email_per_recipient_once(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(trust, "report", "--month", "2026-11", "--send") == 0
    assert (
        "queued the November 2026 report for c.lane@oakfieldtrust.org.uk, governors@oakfieldtrust.org.uk"
        in capsys.readouterr().out
    )
    queued = [n for n in await trust.store.notifications() if n.kind == "report"]
    assert [(n.key, n.state) for n in queued] == [
        ("report/2026-11/c.lane@oakfieldtrust.org.uk", "pending"),
        ("report/2026-11/governors@oakfieldtrust.org.uk", "pending"),
    ]
    assert (
        queued[0].message.subject == "[Lifeline] SLA report November 2026 — Oakfield Academy Trust"
    )
    assert "99.652%" in queued[0].message.html and "99.652%" in queued[0].message.text
    assert queued[0] in await trust.store.due_notifications(NOW)  # the outbox picks it up
    assert await run(trust, "report", "--month", "2026-11", "--send") == 0
    assert "already queued" in capsys.readouterr().out
    assert len([n for n in await trust.store.notifications() if n.kind == "report"]) == 2


async def test_report_send_without_recipients_is_bad_usage(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    trust.docs = DocumentsConfig()
    assert await run(trust, "report", "--month", "2026-11", "--send") == 2
    assert "no report recipients" in capsys.readouterr().err


async def test_note_command_adds_to_the_timeline_and_the_review(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        await run(trust, "note", SAFEGUARDING_INCIDENT, "Forms ran out at 10:30 | *print more*")
        == 0
    )
    assert f"note added to {SAFEGUARDING_INCIDENT}" in capsys.readouterr().out
    stored = await trust.store.incident(SAFEGUARDING_INCIDENT)
    assert (
        stored is not None
        and stored.events[-1].kind is EventKind.NOTE
        and stored.events[-1].at == NOW
    )
    assert await run(trust, "review", SAFEGUARDING_INCIDENT) == 0
    assert (
        r"- **Fri 4 Dec 2026, 09:00 GMT:** Forms ran out at 10:30 \| \*print more\*"
        in capsys.readouterr().out
    )
    assert await run(trust, "note", "no-such-incident", "text") == 1
    assert "no incident 'no-such-incident'" in capsys.readouterr().err


async def test_review_command_for_an_unknown_incident_exits_1(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(trust, "review", "no-such-incident", "--format", "html") == 1
    assert "no incident 'no-such-incident'" in capsys.readouterr().err


async def test_plan_and_scorecard_commands(
    trust: Trust, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(trust, "plan", "--site", "riverside-primary", "--format", "md") == 0
    md = capsys.readouterr().out
    assert md.startswith("# Digital continuity plan — Riverside Primary School\n")
    assert "Paper registers from the staffroom cupboard" in md and "Hillcrest" not in md
    out = trust.tmp / "plan.html"
    assert await run(trust, "plan", "--out", str(out)) == 0
    assert check_html(out.read_text()) == []
    assert await run(trust, "scorecard", "--months", "3", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["months"] == 3 and data["start"] == "2026-08-31T23:00:00+00:00"  # 1 Sep, 00:00 BST
    assert (
        await run(
            trust,
            "review",
            RIVER_INTERNET_INCIDENT,
            "--format",
            "html",
            "--out",
            str(trust.tmp / "r.html"),
        )
        == 0
    )


@needs_chromium
async def test_pdf_formats_write_pdfs(trust: Trust) -> None:
    for argv in (["report", "--month", "2026-11"], ["plan", "--site", "oakfield-primary"]):
        out = trust.tmp / f"{argv[0]}.pdf"
        assert await run(trust, *argv, "--format", "pdf", "--out", str(out)) == 0
        assert out.read_bytes().startswith(b"%PDF-")


# --- Chromium failures ---------------------------------------------------------------------


async def test_missing_chromium_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LifelineError, match="install the chromium package to produce PDFs"):
        await html_to_pdf(
            "<!DOCTYPE html><p>x</p>", tmp_path / "x.pdf", chromium=str(tmp_path / "no-chromium")
        )
    assert not (tmp_path / "x.pdf").exists()


def fake_chromium(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-chromium"
    script.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


async def test_a_hung_chromium_is_killed_after_the_timeout(tmp_path: Path) -> None:
    chromium = fake_chromium(tmp_path, "sleep 30 & wait")
    with pytest.raises(LifelineError, match="did not finish within 0.5s"):
        await html_to_pdf("<p>x</p>", tmp_path / "x.pdf", chromium=chromium, timeout=0.5)
    pid = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_failing_chromium_reports_its_error(tmp_path: Path) -> None:
    chromium = fake_chromium(
        tmp_path, "echo 'dbus: noise' >&2; echo 'cannot open display' >&2; exit 3"
    )
    with pytest.raises(
        LifelineError, match=r"Chromium failed \(exit status 3\): cannot open display$"
    ):
        await html_to_pdf("<p>x</p>", tmp_path / "x.pdf", chromium=chromium)
    chromium = fake_chromium(tmp_path, "exit 0")
    with pytest.raises(LifelineError, match="wrote nothing"):
        await html_to_pdf("<p>x</p>", tmp_path / "x.pdf", chromium=chromium)


async def test_daemon_queues_last_months_report_once(trust: Trust) -> None:
    from monitor.daemon import queue_monthly_report

    config = trust.config.model_copy(update={"reports": trust.docs.reports})
    first_of_december = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    # trust-coo is c.lane@…, also listed by address: one mail each
    assert await queue_monthly_report(config, trust.store, first_of_december) == 2
    await queue_monthly_report(config, trust.store, first_of_december)  # a restart: no repeats
    queued = [n for n in await trust.store.notifications() if n.key.startswith("report/")]
    assert sorted(n.recipient for n in queued) == [
        "c.lane@oakfieldtrust.org.uk",
        "governors@oakfieldtrust.org.uk",
    ]
    assert {n.key.split("/")[1] for n in queued} == {"2026-11"}
    assert all(
        n.state == "pending" and "SLA report November 2026" in n.message.subject for n in queued
    )
