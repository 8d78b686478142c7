"""The daemon's lifecycle: start-up, the scheduled probes, and a graceful shutdown.

Start-up opens the store and resumes open incidents; APScheduler (AsyncIOScheduler) runs one
job per distinct probe, each at a random phase (``spread``), ``max_instances=1`` and a global
concurrency limit; the
outbox loop delivers notifications. Shutdown stops taking work, gives in-flight probes a
bounded grace period, cancels the rest, and closes the store last.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiohttp import web
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import alerts
from monitor import reports as reports_doc
from monitor.config import Config
from monitor.documents_config import documents_of
from monitor.engine import Monitor
from monitor.errors import LifelineError
from monitor.escalation import EMAIL
from monitor.http import USER_AGENT, HttpFetcher
from monitor.outbox import Outbox, Sender
from monitor.probes import ProbeGroup, plan_probes, run_group
from monitor.store import Notification, Store
from monitor.web import build_app
from notifiers import email
from notifiers.channels import CHANNELS, AnyChannel

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SchedulerStats:
    """Counters for the benchmark and the logs: probes run and how late they started."""

    probes: int = 0
    results: int = 0
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


def email_sender(config: Config) -> Sender:
    async def send(n: Notification) -> None:
        assert config.smtp is not None
        await email.send(n.message, [n.recipient], config.smtp)

    return send


async def queue_monthly_report(config: Config, store: Store, now: datetime) -> int:
    """Queue last month's SLA report for ``reports.recipients`` in the outbox (once: its keys
    name the month, so a restart or a second run queues nothing new)."""
    docs = documents_of(config)
    assert docs.reports is not None
    year, month = reports_doc.previous_month(now, config.organisation.tz)
    site = docs.reports.site
    report = await reports_doc.build_monthly(config, docs, store, year, month, now, site)
    message = reports_doc.report_message(report, format=docs.reports.format)
    notes = reports_doc.report_notifications(config, docs, message, year, month, now, site=site)
    await store.enqueue(notes)
    log.info("queued the SLA report for %04d-%02d to %d recipient(s)", year, month, len(notes))
    return len(notes)


def channel_sender(channel: AnyChannel, http: httpx.AsyncClient) -> Sender:
    module = CHANNELS[channel.type]

    async def send(n: Notification) -> None:
        recipient = n.recipient if n.contact_id is not None else None
        await module.send(n.message, channel, http, recipient)

    return send


def channel_kinds(config: Config) -> alerts.Channels:
    """Email and SMS channels address people; chat channels post to a room."""
    phone = frozenset(name for name, c in config.channels.items() if c.type == "sms")
    return alerts.Channels(frozenset({EMAIL}) | phone, phone)


class Daemon:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        senders: dict[str, Sender] | None = None,
        fetcher: HttpFetcher | None = None,
        grace: float = 10.0,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.stats = SchedulerStats()
        self._http = httpx.AsyncClient(headers={"user-agent": USER_AGENT})
        if senders is None:
            senders = {EMAIL: email_sender(config)} if config.smtp else {}
            senders |= {name: channel_sender(c, self._http) for name, c in config.channels.items()}
        limits = {
            name: (c.rate_limit.count, c.rate_limit.per)
            for name, c in config.channels.items()
            if c.rate_limit is not None
        }
        contacts = {c.id: c for c in config.contacts}

        def describe(n: Notification) -> str:
            contact = contacts.get(n.contact_id or "")
            return f"{contact.name} <{n.recipient}>" if contact else n.recipient

        self.outbox = Outbox(
            store,
            senders,
            clock,
            retry_initial=config.defaults.retry_initial,
            retry_max=config.defaults.retry_max,
            describe=describe,
            limits=limits,
        )
        self.monitor = Monitor(config, store, self.outbox, clock, channels=channel_kinds(config))
        self.groups = plan_probes(config)
        self._fetcher = fetcher
        self._grace = grace
        self._limit = asyncio.Semaphore(config.defaults.concurrency)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._scheduled_at: dict[str, datetime] = {}
        self._stopping = False

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down gracefully.

        Raises LifelineError before starting anything when the web server cannot listen."""
        try:
            web_runner = await self._start_web()
        except LifelineError:
            await self.aclose()
            raise
        await self.monitor.resume()
        await self._catch_up_on_reports()
        fetcher = self._fetcher or HttpFetcher(max_connections=self.config.defaults.concurrency)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        now = self.clock()
        spread = self.config.defaults.spread
        for index, group in enumerate(self.groups):
            # Spread first runs so a thousand probes don't fire together; each keeps its phase.
            window = (
                group.interval if spread is None else min(group.interval, spread.total_seconds())
            )
            first = now + timedelta(seconds=random.uniform(0, window))
            scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=group.interval, timezone=UTC),
                args=[f"probe-{index}", group, fetcher],
                id=f"probe-{index}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(group.interval)),
                next_run_time=first,
            )
        scheduler.add_job(
            self._purge, IntervalTrigger(hours=1, timezone=UTC), id="purge", next_run_time=now
        )
        scheduler.add_job(
            self._flush, IntervalTrigger(seconds=1, timezone=UTC), id="flush", max_instances=1
        )
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.tick_every, timezone=UTC),
            id="tick",
            max_instances=1,
        )
        if self.config.reports is not None and self.config.reports.recipients:
            reports = self.config.reports
            scheduler.add_job(
                self._monthly_report,
                CronTrigger(
                    day=1,
                    hour=reports.send_at.hour,
                    minute=reports.send_at.minute,
                    timezone=self.config.organisation.tz,
                ),
                id="monthly-report",
                max_instances=1,
                misfire_grace_time=6 * 3600,
            )
        outbox_task = asyncio.create_task(self.outbox.run(stop), name="outbox")
        scheduler.start()
        log.info(
            "monitoring %d service(s) with %d probe(s)", len(self.config.services), len(self.groups)
        )
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            self._stopping = True
            scheduler.shutdown(wait=False)
            await self._drain()
            try:
                await self.monitor.flush()
            except Exception:
                log.exception("writing the last check results failed")
            if web_runner is not None:
                await web_runner.cleanup()
            stop.set()
            await outbox_task
            if self._fetcher is None:
                await fetcher.aclose()
            await self.aclose()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        done, pending = await asyncio.wait(self._in_flight, timeout=self._grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.warning("cancelled %d probe(s) still running after %gs", len(pending), self._grace)

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        if event.scheduled_run_times:
            self._scheduled_at[event.job_id] = event.scheduled_run_times[-1]

    async def _guarded(self, what: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run one scheduled job: tracked for a graceful shutdown, never raising into the
        scheduler (a failing probe or a bad moment of the database must not stop the daemon)."""
        if self._stopping:  # submitted just before shutdown: don't start new work
            return
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await work()
        except Exception:
            log.exception("%s failed; will try again", what)
        finally:
            self._in_flight.discard(task)

    async def _job(self, job_id: str, group: ProbeGroup, fetcher: HttpFetcher) -> None:
        async def probe() -> None:
            async with self._limit:
                scheduled = self._scheduled_at.pop(job_id, None)
                if scheduled is not None:
                    self.stats.lateness.append((self.clock() - scheduled).total_seconds())
                results = await run_group(group, fetcher, self.clock)
            self.stats.probes += 1
            self.stats.results += len(results)
            await self.monitor.handle(results)

        await self._guarded(f"probe {group.probe.url}", probe)

    tick_every = 5.0  # seconds between escalation/reminder/acknowledgement passes

    async def aclose(self) -> None:
        """Release the notifiers' HTTP connections (``run`` does this when it stops)."""
        await self._http.aclose()

    async def _start_web(self) -> web.AppRunner | None:
        if self.config.web is None:
            return None
        app = build_app(self.config, self.store, self.monitor, self.clock)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.web.host, self.config.web.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise LifelineError(
                f"cannot serve the web pages on {self.config.web.listen}: {exc.strerror}"
            ) from None
        log.info(
            "web server on %s (links use %s)", self.config.web.listen, self.config.web.base_url
        )
        return runner

    async def _tick(self) -> None:
        await self._guarded("escalation pass", self.monitor.tick)

    async def _catch_up_on_reports(self) -> None:
        """If this month's report fell due while the daemon was down, queue it now (its keys
        name the month, so one already queued is not queued again)."""
        reports = self.config.reports
        if reports is None or not reports.recipients:
            return
        now = self.clock()
        local = now.astimezone(self.config.organisation.tz)
        due = local.replace(
            day=1, hour=reports.send_at.hour, minute=reports.send_at.minute, second=0, microsecond=0
        )
        if local >= due:
            await self._monthly_report()

    async def _monthly_report(self) -> None:
        async def queue() -> None:
            await queue_monthly_report(self.config, self.store, self.clock())
            self.outbox.wake()

        await self._guarded("the monthly SLA report", queue)

    async def _flush(self) -> None:
        async def flush() -> None:
            await self.monitor.flush()

        await self._guarded("writing check results", flush)

    async def _purge(self) -> None:
        async def purge() -> None:
            removed = await self.store.purge_results(self.clock() - self.config.defaults.retention)
            if removed:
                log.info("purged %d check result(s) older than the retention period", removed)

        await self._guarded("purging old check results", purge)
