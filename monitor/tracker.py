"""Pure state tracking: check results in, service transitions out.

Each check has a *confirmed* status that changes only after enough consecutive results agree
(``failures_before_alert`` to go bad, ``successes_before_recovery`` to come back), so one
dropped packet is not an outage. A service's status is the worst confirmed status of its
checks (``monitor.model.worst``: what we could see outranks what we could not).

Results are grouped into three classes — up, problem (maintenance or worse) and unknown —
and the thresholds count consecutive results of one class. Within the problem class the
confirmed status follows the latest result at once: an outage that worsens from degraded to
major is news now, not two probes later.

A confirmed change is dated from the first result of the streak that confirmed it: an
outage seen at 09:02 and confirmed at 09:03 started at 09:02, for the alert and for the SLA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.model import CheckResult, ProviderIncident, Status, Transition, worst


@dataclass(frozen=True)
class Thresholds:
    failures_before_alert: int = 2
    successes_before_recovery: int = 2


@dataclass(frozen=True)
class CheckState:
    confirmed: Status | None = None  # None until the first confirmation
    streak_class: str = ""
    streak: int = 0
    streak_started: datetime | None = None
    last: CheckResult | None = None


@dataclass(frozen=True)
class ServiceState:
    service_id: str
    status: Status = Status.UNKNOWN
    since: datetime | None = None
    checks: Mapping[str, CheckState] = field(default_factory=dict)


def _class_of(status: Status) -> str:
    if status is Status.UP:
        return "up"
    if status is Status.UNKNOWN:
        return "unknown"
    return "problem"


def _observe_check(state: CheckState, result: CheckResult, thresholds: Thresholds) -> CheckState:
    cls = _class_of(result.status)
    continues = cls == state.streak_class
    streak = state.streak + 1 if continues else 1
    started = state.streak_started if continues and state.streak_started else result.observed_at
    confirmed = state.confirmed
    if confirmed is not None and _class_of(confirmed) == cls:
        confirmed = result.status
    else:
        needed = (
            thresholds.successes_before_recovery
            if cls == "up"
            else thresholds.failures_before_alert
        )
        # A check never confirmed before accepts "up" at once: there is nothing to recover from.
        if streak >= needed or (confirmed is None and cls == "up"):
            confirmed = result.status
    return CheckState(confirmed, cls, streak, started, result)


def observe(
    state: ServiceState, result: CheckResult, thresholds: Thresholds
) -> tuple[ServiceState, Transition | None]:
    """Fold one result into the service state; return the transition it causes, if any."""
    checks = dict(state.checks)
    before = checks.get(result.check_id, CheckState())
    after = checks[result.check_id] = _observe_check(before, result, thresholds)
    confirmed = [c.confirmed for c in checks.values() if c.confirmed is not None]
    if not confirmed:
        return replace(state, checks=checks), None
    new_status = worst(confirmed)
    if new_status is state.status and state.since is not None:
        return replace(state, checks=checks), None
    at = result.observed_at
    if before.confirmed is None or _class_of(before.confirmed) != after.streak_class:
        at = after.streak_started or at  # a newly confirmed class dates from its streak's start
    if state.since is not None:
        at = max(at, state.since)  # never before the status it replaces began
    transition = Transition(
        service_id=state.service_id,
        old=state.status,
        new=new_status,
        at=at,
        cause=_cause(checks, new_status),
        incidents=provider_incidents(checks),
    )
    return ServiceState(state.service_id, new_status, at, checks), transition


def _cause(checks: Mapping[str, CheckState], status: Status) -> str:
    """The summaries of the checks that account for ``status``."""
    summaries = [
        c.last.summary for c in checks.values() if c.last is not None and c.confirmed is status
    ]
    return "; ".join(dict.fromkeys(summaries)) or status.label


def provider_incidents(checks: Mapping[str, CheckState]) -> tuple[ProviderIncident, ...]:
    """Provider incidents from every check's latest result, without repeats."""
    seen: dict[tuple[str, str], ProviderIncident] = {}
    for check in checks.values():
        for incident in check.last.incidents if check.last else ():
            seen.setdefault((incident.name, incident.url), incident)
    return tuple(seen.values())


def is_flapping(
    changes: Sequence[datetime], now: datetime, window: timedelta, max_changes: int
) -> bool:
    """More than ``max_changes`` status changes within ``window`` before ``now``."""
    return sum(1 for at in changes if timedelta(0) <= now - at <= window) > max_changes


def resumed(service_id: str, status: Status, since: datetime, check_ids: list[str]) -> ServiceState:
    """The state after a restart: every check confirmed at the last recorded status.

    A service still down after a restart stays in its incident without a new alert; one that
    recovered meanwhile recovers after the usual number of good results.
    """
    checks = {
        cid: CheckState(confirmed=status, streak_class=_class_of(status)) for cid in check_ids
    }
    return ServiceState(service_id, status, since, checks)
