from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.model import CheckResult, ProviderIncident, Status
from monitor.tracker import ServiceState, Thresholds, observe, resumed

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
S = Status


def result(status: Status, minute: int, check: str = "mis#0", summary: str = "") -> CheckResult:
    return CheckResult(check, status, summary or status.value, T0 + timedelta(minutes=minute))


TWO_TWO = Thresholds(2, 2)


def run(statuses: list[Status], thresholds: Thresholds = TWO_TWO) -> list[tuple[Status, Status]]:
    state = ServiceState("mis")
    seen = []
    for minute, status in enumerate(statuses):
        state, t = observe(state, result(status, minute), thresholds)
        if t is not None:
            seen.append((t.old, t.new))
    return seen


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        # first good result is accepted at once
        ([S.UP], [(S.UNKNOWN, S.UP)]),
        # one failure is not an outage
        ([S.UP, S.MAJOR_OUTAGE, S.UP, S.UP], [(S.UNKNOWN, S.UP)]),
        # two consecutive failures are
        ([S.UP, S.MAJOR_OUTAGE, S.MAJOR_OUTAGE], [(S.UNKNOWN, S.UP), (S.UP, S.MAJOR_OUTAGE)]),
        # recovery needs two successes
        (
            [S.UP, S.DEGRADED, S.DEGRADED, S.UP, S.DEGRADED, S.UP, S.UP],
            [(S.UNKNOWN, S.UP), (S.UP, S.DEGRADED), (S.DEGRADED, S.UP)],
        ),
        # once confirmed bad, worsening is immediate
        (
            [S.UP, S.DEGRADED, S.DEGRADED, S.MAJOR_OUTAGE],
            [(S.UNKNOWN, S.UP), (S.UP, S.DEGRADED), (S.DEGRADED, S.MAJOR_OUTAGE)],
        ),
        # a down service at start-up still needs the failure threshold
        ([S.MAJOR_OUTAGE, S.MAJOR_OUTAGE], [(S.UNKNOWN, S.MAJOR_OUTAGE)]),
        # losing sight of the provider is confirmed like a failure, then reported as unknown
        ([S.UP, S.UNKNOWN, S.UNKNOWN], [(S.UNKNOWN, S.UP), (S.UP, S.UNKNOWN)]),
    ],
)
def test_thresholds(statuses: list[Status], expected: list[tuple[Status, Status]]) -> None:
    assert run(statuses) == expected


def test_alternating_results_never_alert() -> None:
    assert run([S.UP, S.MAJOR_OUTAGE, S.UP, S.MAJOR_OUTAGE, S.UP, S.MAJOR_OUTAGE]) == [
        (S.UNKNOWN, S.UP)
    ]


def test_threshold_of_one_alerts_on_first_failure() -> None:
    assert run([S.UP, S.PARTIAL_OUTAGE], Thresholds(1, 1)) == [
        (S.UNKNOWN, S.UP),
        (S.UP, S.PARTIAL_OUTAGE),
    ]


def test_service_is_worst_known_check_and_cause_names_it() -> None:
    th = Thresholds(1, 1)
    state = ServiceState("mis")
    state, _ = observe(state, result(S.UP, 0, "mis#0", "status page fine"), th)
    state, _ = observe(state, result(S.UP, 0, "mis#1", "login fine"), th)
    state, t = observe(state, result(S.MAJOR_OUTAGE, 1, "mis#1", "HTTP 503 from /login"), th)
    assert t is not None and t.new is S.MAJOR_OUTAGE
    assert t.cause == "HTTP 503 from /login"
    # the status page going dark does not hide the endpoint's outage
    state, t = observe(state, result(S.UNKNOWN, 2, "mis#0", "timed out"), th)
    assert t is None and state.status is S.MAJOR_OUTAGE


def test_transition_carries_provider_incidents() -> None:
    incident = ProviderIncident("Registers not saving", "investigating", url="https://stspg.io/x")
    state = ServiceState("mis")
    r = CheckResult("mis#0", S.PARTIAL_OUTAGE, "partial", T0, incidents=(incident,))
    state, t = observe(state, r, Thresholds(1, 1))
    assert t is not None and t.incidents == (incident,)


def test_resumed_state_does_not_realert_a_continuing_outage() -> None:
    state = resumed("mis", S.MAJOR_OUTAGE, T0, ["mis#0"])
    state, t = observe(state, result(S.MAJOR_OUTAGE, 5), Thresholds(2, 2))
    assert t is None
    state, t = observe(state, result(S.UP, 6), Thresholds(2, 2))
    assert t is None
    state, t = observe(state, result(S.UP, 7), Thresholds(2, 2))
    assert t is not None and (t.old, t.new) == (S.MAJOR_OUTAGE, S.UP)
    assert t.at == T0 + timedelta(minutes=6)  # recovery dates from the first good result


def test_outage_is_dated_from_its_first_failed_result() -> None:
    state = ServiceState("mis")
    ats = []
    for minute, status in enumerate(
        [S.UP, S.UP, S.MAJOR_OUTAGE, S.MAJOR_OUTAGE, S.MAJOR_OUTAGE, S.UP, S.UP]
    ):
        state, t = observe(state, result(status, minute), Thresholds(3, 2))
        if t is not None:
            ats.append((t.new, t.at))
    assert ats == [
        (S.UP, T0),
        (S.MAJOR_OUTAGE, T0 + timedelta(minutes=2)),
        (S.UP, T0 + timedelta(minutes=5)),
    ]


def test_flapping_counts_changes_inside_the_window() -> None:
    from monitor.tracker import is_flapping

    changes = [T0 + timedelta(minutes=m) for m in (0, 5, 10, 40, 45)]
    window = timedelta(minutes=30)
    assert not is_flapping(changes, T0 + timedelta(minutes=45), window, 2)  # 40, 45 (and 15..) only
    assert is_flapping(changes, T0 + timedelta(minutes=12), window, 2)  # 0, 5, 10
    assert not is_flapping(changes, T0 + timedelta(minutes=12), window, 3)
