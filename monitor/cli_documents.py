"""The documents' commands: ``report``, ``plan``, ``review``, ``note`` and ``scorecard``.

``add_commands(sub)`` registers them on ``lifeline``'s sub-parsers (each takes ``-c/--config``
and ``--db`` like ``run``); ``run_command(args, config, docs, store, now)`` runs the one
parsed, printing the document (or writing it to ``--out``) and returning the exit code:
0 done, 1 failed (unknown incident, Chromium missing or failing, file not writable),
2 bad usage (``--month 2026-13``, unknown site, PDF without ``--out``, nobody to send to).

::

    lifeline report [--month 2026-11] [--site ID] [--format html|text|json|csv|pdf]
                    [--out FILE] [--send]
    lifeline plan [--site ID] [--format html|md|pdf] [--out FILE]
    lifeline review INCIDENT [--format md|html] [--out FILE]
    lifeline note INCIDENT TEXT
    lifeline scorecard [--months 12] [--format text|html|json] [--out FILE]

``report --send`` queues the report email for every ``reports.recipients`` address in the
store's outbox; the daemon (``lifeline run``) delivers and retries it. Queuing the same month
again sends nothing new (the outbox key is ``report/2026-11/<address>``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from monitor import plan as plan_doc
from monitor import reports, review, scorecard, sla
from monitor.config import Config
from monitor.documents_config import DocumentsConfig
from monitor.errors import LifelineError
from monitor.model import EventKind, IncidentEvent
from monitor.pdf import html_to_pdf
from monitor.store import DEFAULT_URL, Store

__all__ = ["COMMANDS", "add_commands", "run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: The commands ``add_commands`` registers (for ``cli.main`` to dispatch on).
COMMANDS = frozenset({"report", "plan", "review", "note", "scorecard"})


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the documents' commands on ``lifeline``'s sub-parsers."""

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", required=True, help="the YAML configuration file")
        p.add_argument("--db", help=f"database URL (default: $LIFELINE_DB or {DEFAULT_URL})")

    def out(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of printing")

    report = sub.add_parser("report", help="the monthly SLA report")
    common(report)
    report.add_argument("--month", metavar="YYYY-MM", help="the month (default: last month)")
    report.add_argument("--site", metavar="ID", help="one site's report (default: the whole trust)")
    report.add_argument("--format", choices=["html", "text", "json", "csv", "pdf"], default="html")
    out(report)
    report.add_argument(
        "--send",
        action="store_true",
        help="queue it by email to reports.recipients (the daemon delivers it)",
    )

    plan = sub.add_parser("plan", help="the printable continuity plan")
    common(plan)
    plan.add_argument("--site", metavar="ID", help="one site's plan (default: the whole trust)")
    plan.add_argument("--format", choices=["html", "md", "pdf"], default="html")
    out(plan)

    rev = sub.add_parser("review", help="a pre-filled review of an incident")
    common(rev)
    rev.add_argument("incident", metavar="INCIDENT", help="the incident id")
    rev.add_argument("--format", choices=["md", "html"], default="md")
    out(rev)

    note = sub.add_parser("note", help="add a note to an incident's timeline")
    common(note)
    note.add_argument("incident", metavar="INCIDENT", help="the incident id")
    note.add_argument("text", metavar="TEXT", help="the note (quote it)")

    card = sub.add_parser("scorecard", help="the provider scorecard, for procurement")
    common(card)
    card.add_argument("--months", type=int, default=12, help="complete months to cover (12)")
    card.add_argument("--format", choices=["text", "html", "json"], default="text")
    out(card)


def _usage(message: str) -> int:
    print(f"lifeline: {message}", file=sys.stderr)
    return EXIT_USAGE


def _failed(message: str) -> int:
    print(f"lifeline: {message}", file=sys.stderr)
    return EXIT_FAILED


def _emit(text: str, out: Path | None) -> int:
    if out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _failed(f"cannot write {out}: {exc.strerror}")
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


async def _pdf(html: str, out: Path | None) -> int:
    if out is None:
        return _usage("--format pdf needs --out FILE")
    try:
        await html_to_pdf(html, out)
    except LifelineError as exc:
        return _failed(str(exc))
    except OSError as exc:
        return _failed(f"cannot write {out}: {exc.strerror}")
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def _site(config: Config, site: str | None) -> str | None:
    """None when ``site`` is fine, else the usage message."""
    if site is None or config.site(site) is not None:
        return None
    known = ", ".join(s.id for s in config.sites) or "none configured"
    return f"unknown site {site!r} (sites: {known})"


async def run_command(
    args: argparse.Namespace,
    config: Config,
    docs: DocumentsConfig,
    store: Store,
    now: datetime,
) -> int:
    """Run the parsed documents command; returns the exit code (see the module docstring).

    ``now`` is aware. Store failures raise StoreError for the caller to report, as for ``run``.
    """
    command = args.command
    if command == "report":
        return await _report(args, config, docs, store, now)
    if command == "plan":
        problem = _site(config, args.site)
        if problem:
            return _usage(problem)
        document = await plan_doc.build_plan(config, docs, store, now, args.site)
        if args.format == "pdf":
            return await _pdf(plan_doc.render_plan_html(document), args.out)
        if args.format == "md":
            return _emit(plan_doc.render_plan_md(document), args.out)
        return _emit(plan_doc.render_plan_html(document), args.out)
    if command == "review":
        found = await review.build_review(config, store, args.incident, now)
        if found is None:
            return _failed(f"no incident {args.incident!r}")
        if args.format == "html":
            return _emit(review.render_review_html(found), args.out)
        return _emit(review.render_review_md(found), args.out)
    if command == "note":
        text = args.text.strip()
        if not text:
            return _usage("the note is empty")
        if await store.incident(args.incident) is None:
            return _failed(f"no incident {args.incident!r}")
        await store.add_event(args.incident, IncidentEvent(now, EventKind.NOTE, text))
        print(f"note added to {args.incident}")
        return EXIT_OK
    if command == "scorecard":
        if args.months < 1 or args.months > 120:
            return _usage(f"--months must be from 1 to 120, got {args.months}")
        card = await scorecard.build_scorecard(config, store, now, args.months)
        if args.format == "json":
            return _emit(scorecard.render_scorecard_json(card), args.out)
        if args.format == "html":
            return _emit(scorecard.render_scorecard_html(card), args.out)
        return _emit(scorecard.render_scorecard_text(card), args.out)
    return _usage(f"unknown command {command!r}")


async def _report(
    args: argparse.Namespace,
    config: Config,
    docs: DocumentsConfig,
    store: Store,
    now: datetime,
) -> int:
    tz = config.organisation.tz
    if args.month is None:
        year, month = reports.previous_month(now, tz)
    else:
        try:
            year, month = sla.parse_month(args.month)
        except ValueError as exc:
            return _usage(f"--month: {exc}")
    site = (
        args.site
        if args.site is not None
        else (docs.reports.site if args.send and docs.reports else None)
    )
    problem = _site(config, site)
    if problem:
        return _usage(problem)
    if sla.month_period(year, month, tz).start >= now:
        return _usage(f"--month {year:04d}-{month:02d} has not started yet")
    document = await reports.build_monthly(config, docs, store, year, month, now, site)
    if args.send:
        style = docs.reports.format if docs.reports is not None else "html"
        message = reports.report_message(document, format=style)
        try:
            queued = reports.report_notifications(
                config, docs, message, year, month, now, site=site
            )
        except ValueError as exc:
            return _usage(str(exc))
        before = {n.key for n in await store.notifications()}
        await store.enqueue(queued)
        new = [n for n in queued if n.key not in before]
        addresses = ", ".join(n.recipient for n in queued)
        if new:
            print(
                f"queued the {document.month_label} report for {addresses}: the daemon's outbox "
                "(lifeline run) sends it and retries until it is delivered"
            )
        else:
            print(f"the {document.month_label} report was already queued for {addresses}")
        if args.out is None:
            return EXIT_OK
    fmt = args.format
    if fmt == "pdf":
        return await _pdf(reports.render_html(document, for_print=True), args.out)
    if fmt == "text":
        return _emit(reports.render_text(document), args.out)
    if fmt == "json":
        return _emit(reports.render_json(document), args.out)
    if fmt == "csv":
        return _emit(reports.render_csv(document), args.out)
    return _emit(reports.render_html(document), args.out)
