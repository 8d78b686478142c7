"""Probe planning and running: one fetch per distinct probe, fanned out to every check using it.

``plan_probes`` is pure: it groups the checks of all services by their ``HttpProbe`` (thirty
schools watching one MIS status page share one request per interval). ``run_group`` owns the
timeout and the timing for one fetch, then evaluates every check of the group from it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from checks import AnyCheck, module_for
from monitor.config import Config, check_id
from monitor.http import HttpFetcher, HttpObservation, HttpProbe
from monitor.model import CheckResult, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeUse:
    service_id: str
    check_id: str
    spec: AnyCheck


@dataclass(frozen=True)
class ProbeGroup:
    """One fetch and the checks evaluated from it. ``interval``/``timeout`` in seconds."""

    probe: HttpProbe
    interval: float
    timeout: float
    uses: tuple[ProbeUse, ...]


def plan_probes(config: Config) -> list[ProbeGroup]:
    """Group every check by its probe; a shared probe runs at its users' shortest interval."""
    uses: dict[HttpProbe, list[ProbeUse]] = {}
    intervals: dict[HttpProbe, float] = {}
    timeouts: dict[HttpProbe, float] = {}
    for service in config.services:
        for index, spec in enumerate(service.checks):
            probe = module_for(spec).probe(spec)
            uses.setdefault(probe, []).append(
                ProbeUse(service.id, check_id(service.id, index), spec)
            )
            interval = config.check_interval(spec).total_seconds()
            timeout = config.check_timeout(spec).total_seconds()
            intervals[probe] = min(intervals.get(probe, interval), interval)
            timeouts[probe] = max(timeouts.get(probe, timeout), timeout)
    return [
        ProbeGroup(probe, intervals[probe], min(timeouts[probe], intervals[probe]), tuple(group))
        for probe, group in uses.items()
    ]


async def fetch(group: ProbeGroup, fetcher: HttpFetcher, now: datetime) -> HttpObservation:
    """Fetch once, bounded by the group's timeout; never raises for a failing target."""
    try:
        async with asyncio.timeout(group.timeout):
            return await fetcher.fetch(group.probe, group.timeout, now)
    except TimeoutError:
        return HttpObservation(
            probe=group.probe,
            observed_at=now,
            elapsed=group.timeout,
            error=f"timed out after {group.timeout:g}s",
        )


def evaluate_all(group: ProbeGroup, observation: HttpObservation) -> list[tuple[str, CheckResult]]:
    """Evaluate every check of the group; one that raises becomes ``unknown`` (and is logged)."""
    results = []
    for use in group.uses:
        try:
            result = module_for(use.spec).evaluate(use.spec, observation, use.check_id)
        except Exception as exc:  # a bug in one check must not stop the others
            log.exception("check %s failed to evaluate", use.check_id)
            result = CheckResult(
                use.check_id,
                Status.UNKNOWN,
                f"internal error in {use.spec.type} check: {type(exc).__name__}",
                observation.observed_at,
            )
        results.append((use.service_id, result))
    return results


# Parsing a large feed can take seconds of CPU (feedparser, ~2 s/MB on hostile markup); above
# this size evaluation moves to a worker thread so the event loop keeps its schedule.
THREAD_THRESHOLD = 64 * 1024


async def run_group(
    group: ProbeGroup, fetcher: HttpFetcher, clock: Callable[[], datetime]
) -> list[tuple[str, CheckResult]]:
    observation = await fetch(group, fetcher, clock())
    if len(observation.body) > THREAD_THRESHOLD:
        return await asyncio.to_thread(evaluate_all, group, observation)
    return evaluate_all(group, observation)
