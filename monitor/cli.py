"""``lifeline`` — the command line.

Exit codes: 0 all well, 1 something is down or failed, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor import correlation
from monitor.cli_documents import COMMANDS as DOCUMENT_COMMANDS
from monitor.cli_documents import add_commands as add_document_commands
from monitor.cli_documents import run_command as run_document_command
from monitor.config import Config, load_config, secret_problems
from monitor.documents_config import documents_of
from monitor.errors import ConfigError, LifelineError, StoreError
from monitor.http import HttpFetcher
from monitor.model import CheckResult, Status, worst
from monitor.probes import plan_probes, run_group
from monitor.store import DEFAULT_URL, BadDatabaseUrl, Store, async_url, redact

EXIT_OK, EXIT_DOWN, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("lifeline")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifeline", description="Service status monitor and outage alerting for schools."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("-c", "--config", required=True, help="the YAML configuration file")

    run = sub.add_parser("run", help="run the monitoring daemon")
    with_config(run)
    run.add_argument("--db", help=f"database URL (default: $LIFELINE_DB or {DEFAULT_URL})")

    check = sub.add_parser("check", help="check every service once and print its status")
    with_config(check)
    check.add_argument("--format", choices=["table", "json"], default="table")

    validate = sub.add_parser("validate", help="validate the configuration and exit")
    with_config(validate)

    ack = sub.add_parser("ack", help="acknowledge an incident: stops its escalation")
    ack.add_argument("incident", help="the incident id (see `lifeline incidents`)")
    ack.add_argument("--by", required=True, help="who is dealing with it")
    ack.add_argument("--note", help="e.g. 'on the phone to the provider'")
    ack.add_argument("--db", help=f"database URL (default: $LIFELINE_DB or {DEFAULT_URL})")

    incidents = sub.add_parser("incidents", help="list open incidents")
    incidents.add_argument("--all", action="store_true", help="include resolved ones (latest 50)")
    incidents.add_argument("--db", help=f"database URL (default: $LIFELINE_DB or {DEFAULT_URL})")

    add_document_commands(sub)

    demo = sub.add_parser("demo", help="run a scripted outage against local simulated providers")
    demo.add_argument("--speed", type=float, default=1.0, help="run the script N times faster")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(
        # The demo tells its own story; -v shows the daemon's log under it.
        level=logging.DEBUG
        if args.verbose
        else (logging.WARNING if args.command == "demo" else logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("apscheduler", "httpx", "aiosqlite", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "demo":
            from monitor.demo import run_demo

            return asyncio.run(run_demo(speed=args.speed))
        if args.command in ("ack", "incidents"):
            db_url = args.db or os.environ.get("LIFELINE_DB") or DEFAULT_URL
            async_url(db_url)
            if args.command == "ack":
                return asyncio.run(acknowledge(db_url, args.incident, args.by, args.note))
            return asyncio.run(list_incidents(db_url, args.all))
        config = load_config(args.config)
        if args.command in ("validate", "run"):
            unreadable = secret_problems(config)
            if unreadable:
                raise ConfigError([f"{args.config}: {p}" for p in unreadable])
        if args.command == "validate":
            print(
                f"{args.config}: OK — {len(config.services)} service(s), "
                f"{sum(len(s.checks) for s in config.services)} check(s), "
                f"{len(config.contacts)} contact(s)"
            )
            return EXIT_OK
        if args.command == "check":
            return asyncio.run(check_once(config, args.format))
        if args.command in DOCUMENT_COMMANDS:
            db_url = args.db or os.environ.get("LIFELINE_DB") or DEFAULT_URL
            async_url(db_url)
            return asyncio.run(documents(args, config, db_url))
        db_url = args.db or os.environ.get("LIFELINE_DB") or DEFAULT_URL
        async_url(db_url)  # an unsupported URL is a usage error, before anything starts
        return asyncio.run(run_daemon(config, db_url))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found.", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, BadDatabaseUrl) else EXIT_DOWN
    except LifelineError as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return EXIT_DOWN
    except KeyboardInterrupt:
        return 130


async def run_daemon(config: Config, db_url: str) -> int:
    from monitor.daemon import Daemon

    store = await Store.open(db_url)
    log.info("store: %s", redact(db_url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:
            log.warning("second signal: exiting now")
            os._exit(EXIT_DOWN)
        log.info("signal received: stopping (again to force)")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await Daemon(config, store).run(stop)
    finally:
        await store.close()
    return EXIT_OK


async def check_once(config: Config, fmt: str) -> int:
    """Run every probe once, print each service's status; 1 if a critical service isn't up."""
    async with HttpFetcher(max_connections=config.defaults.concurrency) as fetcher:
        batches = await asyncio.gather(
            *(run_group(g, fetcher, lambda: datetime.now(UTC)) for g in plan_probes(config))
        )
    by_service: dict[str, list[CheckResult]] = {}
    for batch in batches:
        for service_id, result in batch:
            by_service.setdefault(service_id, []).append(result)
    rows = []
    for service in config.services:
        results = sorted(by_service.get(service.id, []), key=lambda r: r.check_id)
        rows.append((service, worst(r.status for r in results), results))
    # Say which failures are only the consequence of another (the school's internet).
    down = {s.id for s, status, _ in rows if status.is_problem}
    graph = {s.id: s.depends_on for s in config.services}
    causes = {sid: correlation.root_cause(graph, sid, down, {}) for sid in down}
    if fmt == "json":
        print(
            json.dumps(
                [
                    {
                        "service": s.id,
                        "name": s.name,
                        "site": s.site,
                        "criticality": s.criticality,
                        "status": status.value,
                        "impacted_by": causes.get(s.id),
                        "checks": [
                            {
                                "check": r.check_id,
                                "status": r.status.value,
                                "summary": r.summary,
                                "latency": r.latency,
                            }
                            for r in results
                        ],
                    }
                    for s, status, results in rows
                ],
                indent=2,
            )
        )
    else:
        width = max(len(s.name) for s, _, _ in rows)
        for s, status, results in rows:
            problems = [r.summary for r in results if r.status is not Status.UP]
            detail = "; ".join(problems) if problems else "ok"
            if causes.get(s.id):
                detail = f"impacted by {config.service(causes[s.id] or '').name}: {detail}"
            print(f"{s.name:<{width}}  {status.label:<17}  {s.criticality:<8}  {detail}")
    bad = [s for s, status, _ in rows if s.criticality == "critical" and status is not Status.UP]
    return EXIT_DOWN if bad else EXIT_OK


async def acknowledge(db_url: str, incident_id: str, by: str, note: str | None) -> int:
    """Acknowledge in the store; the running daemon tells everyone on its next pass."""
    store = await Store.open(db_url)
    try:
        before = await store.incident(incident_id)
        if before is None:
            print(
                f"lifeline: no incident {incident_id!r} (see `lifeline incidents`)", file=sys.stderr
            )
            return EXIT_DOWN
        if before.resolved_at is not None:
            print(
                f"{incident_id} was resolved at {before.resolved_at:%Y-%m-%d %H:%M} UTC; "
                "nothing to do."
            )
            return EXIT_OK
        after = await store.acknowledge(incident_id, by, datetime.now(UTC), note)
    finally:
        await store.close()
    assert after is not None and after.acknowledged_at is not None
    if before.acknowledged_at is not None:
        print(
            f"{incident_id} was already acknowledged by {after.acknowledged_by} "
            f"at {after.acknowledged_at:%Y-%m-%d %H:%M} UTC."
        )
    else:
        print(
            f"{incident_id} acknowledged by {after.acknowledged_by}; escalation stops and "
            "everyone already told will hear within a few seconds (the daemon must be running)."
        )
    return EXIT_OK


async def list_incidents(db_url: str, include_resolved: bool) -> int:
    store = await Store.open(db_url)
    try:
        found = (
            await store.list_incidents(limit=50)
            if include_resolved
            else sorted((await store.open_incidents()).values(), key=lambda i: i.opened_at)
        )
    finally:
        await store.close()
    if not found:
        print("No open incidents." if not include_resolved else "No incidents recorded.")
        return EXIT_OK
    for i in found:
        state = (
            "resolved"
            if i.resolved_at
            else (
                f"acknowledged by {i.acknowledged_by}" if i.acknowledged_at else "NOT acknowledged"
            )
        )
        print(
            f"{i.id}  {i.service_id:<16} {i.status.label:<15} "
            f"since {i.opened_at:%Y-%m-%d %H:%M} UTC  {state}"
        )
    return EXIT_OK


async def documents(args: argparse.Namespace, config: Config, db_url: str) -> int:
    """``report``, ``plan``, ``review``, ``note``, ``scorecard``: from the config and the store."""
    store = await Store.open(db_url)
    try:
        return await run_document_command(
            args, config, documents_of(config), store, datetime.now(UTC)
        )
    finally:
        await store.close()
