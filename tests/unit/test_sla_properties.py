"""Property tests of monitor.sla against a deliberately simple reference.

Every boundary generated is a whole minute after BASE, so each minute holds one status and
the reference can classify minute by minute — no interval algebra to share a bug with.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Status
from monitor.sla import DEFAULT_WEIGHTS, Period, Uptime, combine, daily, uptime
from monitor.store import Span

# Just before the clocks go forward in London, so day-by-day tests meet a 23-hour day.
BASE = datetime(2026, 3, 28, 20, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)
HORIZON = 2400  # minutes after BASE that generated data stays within
FAST = settings(max_examples=200, deadline=None)


def at(minute: int) -> datetime:
    return BASE + minute * MINUTE


Window = tuple[int, int]  # [start, end) in minutes after BASE


@dataclasses.dataclass(frozen=True)
class Case:
    spans: list[tuple[int, int | None, Status]]  # back to back or with gaps; last maybe open
    period: Window
    now: int
    maintenance: list[Window]
    windows: list[Window] | None
    target: float | None

    def measure(self, **changes: object) -> Uptime:
        case = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        return uptime(
            [Span("svc", s, at(a), None if b is None else at(b)) for a, b, s in case.spans],
            Period(at(case.period[0]), at(case.period[1])),
            now=at(case.now),
            target=case.target,
            windows=None if case.windows is None else [(at(a), at(b)) for a, b in case.windows],
            maintenance=[(at(a), at(b)) for a, b in case.maintenance],
        )


def windows_(max_count: int) -> st.SearchStrategy[list[Window]]:
    window = st.tuples(st.integers(0, HORIZON), st.integers(1, 400)).map(
        lambda t: (t[0], t[0] + t[1])
    )
    return st.lists(window, max_size=max_count)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    t = draw(st.integers(0, 300))
    spans: list[tuple[int, int | None, Status]] = []
    for _ in range(draw(st.integers(0, 8))):
        t += draw(st.sampled_from([0, 0, 0, 5, 60]))  # mostly back to back, sometimes a gap
        length = draw(st.integers(1, 400))
        spans.append((t, t + length, draw(st.sampled_from(list(Status)))))
        t += length
    last_open = draw(st.booleans())
    if spans and last_open:
        spans[-1] = (spans[-1][0], None, spans[-1][2])
    start = draw(st.integers(0, HORIZON // 2))
    end = draw(st.integers(start, HORIZON))
    return Case(
        spans=spans,
        period=(start, end),
        now=draw(st.integers(0, HORIZON + 60)),
        maintenance=draw(windows_(3)),
        windows=draw(st.none() | windows_(4)),
        target=draw(st.none() | st.sampled_from([90.0, 99.0, 99.5, 99.9, 100.0])),
    )


def reference(case: Case) -> tuple[Counter[Status], timedelta]:
    """Minutes in each status over the period, and the weighted downtime, by sampling."""
    minutes: Counter[Status] = Counter()
    for m in range(*case.period):
        if case.windows is not None and not any(a <= m < b for a, b in case.windows):
            continue
        status = Status.UNKNOWN
        if m >= case.now:
            status = Status.UNKNOWN
        elif any(a <= m < b for a, b in case.maintenance):
            status = Status.MAINTENANCE
        else:
            for a, b, s in case.spans:
                if a <= m and (b is None or m < b):
                    status = s
        minutes[status] += 1
    downtime = sum(
        (MINUTE * n * DEFAULT_WEIGHTS.get(s, 0.0) for s, n in minutes.items()), timedelta(0)
    )
    return minutes, downtime


@FAST
@given(cases())
def test_matches_minute_by_minute_reference(case: Case) -> None:
    u = case.measure()
    minutes, downtime = reference(case)
    assert {s: d for s, d in u.by_status.items() if d} == {
        s: n * MINUTE for s, n in minutes.items() if n
    }
    assert u.total == sum(minutes.values()) * MINUTE
    assert u.maintenance == minutes[Status.MAINTENANCE] * MINUTE
    assert u.unknown == minutes[Status.UNKNOWN] * MINUTE
    assert u.observed == u.total - u.maintenance - u.unknown
    assert u.downtime == downtime


@FAST
@given(cases())
def test_percentages_stay_in_range(case: Case) -> None:
    u = case.measure()
    assert (u.uptime_percent is None) == (u.observed == timedelta(0))
    if u.uptime_percent is not None:
        assert 0 <= u.uptime_percent <= 100
    if u.coverage_percent is not None:
        assert 0 <= u.coverage_percent <= 100
    assert timedelta(0) <= u.downtime <= u.observed <= u.total
    if u.target is not None and u.met is not None:
        assert u.budget_remaining is not None
        assert u.met is (u.budget_remaining >= timedelta(0))


@FAST
@given(cases(), st.integers(0, HORIZON))
def test_splitting_the_period_adds_up(case: Case, cut: int) -> None:
    start, end = case.period
    cut = min(max(cut, start), end)
    whole = case.measure()
    first = case.measure(period=(start, cut))
    second = case.measure(period=(cut, end))
    assert first.downtime + second.downtime == whole.downtime
    for status in Status:
        assert first.by_status[status] + second.by_status[status] == whole.by_status[status]
    assert combine([first, second]) == whole


@FAST
@given(cases())
def test_days_add_up_to_the_period(case: Case) -> None:
    whole = case.measure()
    spans = [Span("svc", s, at(a), None if b is None else at(b)) for a, b, s in case.spans]
    days = daily(
        spans,
        whole.period,
        LONDON,
        now=at(case.now),
        target=case.target,
        windows=None if case.windows is None else [(at(a), at(b)) for a, b in case.windows],
        maintenance=[(at(a), at(b)) for a, b in case.maintenance],
    )
    assert [d.day for d in days] == sorted({d.day for d in days})
    if days:
        assert combine([d.uptime for d in days]) == whole
    else:
        assert whole.period.duration == timedelta(0)


@FAST
@given(cases(), windows_(2))
def test_more_maintenance_never_adds_downtime(case: Case, extra: list[Window]) -> None:
    before = case.measure()
    after = case.measure(maintenance=case.maintenance + extra)
    assert after.downtime <= before.downtime
    assert after.observed <= before.observed
    assert after.unknown <= before.unknown
    assert after.maintenance >= before.maintenance
    assert after.total == before.total


@FAST
@given(cases(), st.data())
def test_maintenance_over_an_outage_never_lowers_uptime(case: Case, data: st.DataObject) -> None:
    # Over good time it can (see test_sla.py): only maintenance covering downtime is monotone.
    outages = [(a, b) for a, b, s in case.spans if s is Status.MAJOR_OUTAGE and b is not None]
    if not outages:
        return
    a, b = data.draw(st.sampled_from(outages))
    lo = data.draw(st.integers(a, b - 1))
    hi = data.draw(st.integers(lo + 1, b))
    before = case.measure()
    after = case.measure(maintenance=case.maintenance + [(lo, hi)])
    if before.uptime_percent is not None and after.uptime_percent is not None:
        assert after.uptime_percent >= before.uptime_percent


@FAST
@given(cases())
def test_combine_of_one_is_itself(case: Case) -> None:
    u = case.measure()
    assert combine([u]) == u


@FAST
@given(cases(), cases())
def test_combined_uptime_lies_between_its_parts(one: Case, two: Case) -> None:
    parts = [one.measure(), two.measure()]
    both = combine(parts)
    assert both.observed == parts[0].observed + parts[1].observed
    percents = [p.uptime_percent for p in parts if p.uptime_percent is not None]
    if percents:
        assert both.uptime_percent is not None
        assert min(percents) - 1e-9 <= both.uptime_percent <= max(percents) + 1e-9
    assert combine(parts[::-1]) == both
