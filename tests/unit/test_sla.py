from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor.model import Status
from monitor.schoolcal import Calendar, school_intervals
from monitor.sla import (
    DEFAULT_WEIGHTS,
    Period,
    Uptime,
    combine,
    daily,
    day_period,
    month_period,
    parse_month,
    project_year,
    uptime,
    year_period,
)
from monitor.store import Span

LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)
M = timedelta(minutes=1)
UP, MAJOR, PARTIAL, DEGRADED = (
    Status.UP,
    Status.MAJOR_OUTAGE,
    Status.PARTIAL_OUTAGE,
    Status.DEGRADED,
)
MAINT, UNKNOWN = Status.MAINTENANCE, Status.UNKNOWN

NOV = month_period(2026, 11, LONDON)  # 30 days, all GMT: 2026-11-01T00:00Z to 12-01T00:00Z
AFTER = datetime(2027, 1, 1, tzinfo=UTC)  # a `now` after every period used here


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def span(status: Status, start: datetime, end: datetime | None, service: str = "mis") -> Span:
    return Span(service, status, start, end)


def history(
    start: datetime, *parts: tuple[Status, timedelta], open_end: bool = False
) -> list[Span]:
    """Back-to-back spans from ``start``; the last one stays open when ``open_end``."""
    spans = []
    for i, (status, length) in enumerate(parts):
        last = i == len(parts) - 1
        spans.append(span(status, start, None if open_end and last else start + length))
        start += length
    return spans


ALL_UP = [span(UP, utc(2026, 1, 1), None)]


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "hours", "start", "end"),
    [
        (2026, 3, 743, utc(2026, 3, 1), utc(2026, 3, 31, 23)),  # clocks go forward
        (2026, 10, 745, utc(2026, 9, 30, 23), utc(2026, 11, 1)),  # clocks go back
        (2026, 11, 720, utc(2026, 11, 1), utc(2026, 12, 1)),
        (2026, 2, 672, utc(2026, 2, 1), utc(2026, 3, 1)),
        (2026, 12, 744, utc(2026, 12, 1), utc(2027, 1, 1)),  # into the next year
        (2026, 7, 744, utc(2026, 6, 30, 23), utc(2026, 7, 31, 23)),
    ],
)
def test_month_period_in_london(
    year: int, month: int, hours: int, start: datetime, end: datetime
) -> None:
    period = month_period(year, month, LONDON)
    assert (period.start, period.end) == (start, end)
    assert period.duration == hours * H
    assert period.start.tzinfo is UTC


def test_other_periods() -> None:
    assert year_period(2026, LONDON).duration == timedelta(days=365)
    assert year_period(2028, LONDON).duration == timedelta(days=366)
    assert day_period(date(2026, 3, 29), LONDON).duration == 23 * H
    assert day_period(date(2026, 10, 25), LONDON).duration == 25 * H
    assert month_period(2026, 11, ZoneInfo("Pacific/Auckland")).start == utc(2026, 10, 31, 11)
    with pytest.raises(ValueError, match="month must be 1 to 12"):
        month_period(2026, 13, LONDON)


def test_period_contract() -> None:
    start, end = NOV  # unpacks like a pair
    assert (start, end) == (NOV.start, NOV.end)
    assert utc(2026, 11, 1) in NOV and utc(2026, 12, 1) not in NOV  # [start, end)
    local = Period(datetime(2026, 7, 1, tzinfo=LONDON), datetime(2026, 7, 2, tzinfo=LONDON))
    assert local.start == utc(2026, 6, 30, 23) and local.start.tzinfo is UTC
    assert Period(start, start).duration == timedelta(0)
    with pytest.raises(ValueError, match="before its start"):
        Period(end, start)
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(datetime(2026, 11, 1), end)


@pytest.mark.parametrize(("text", "expected"), [("2026-11", (2026, 11)), (" 2027-01 ", (2027, 1))])
def test_parse_month(text: str, expected: tuple[int, int]) -> None:
    assert parse_month(text) == expected


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01", ""]
)
def test_parse_month_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"is not a month such as 2026-11 \(YYYY-MM\)"):
        parse_month(bad)


# --- one service over one period -----------------------------------------------------------


def test_fully_up_30_day_month() -> None:
    u = uptime(ALL_UP, NOV, now=AFTER, target=99.9)
    assert u.total == u.observed == timedelta(days=30)
    assert u.uptime_percent == 100.0 and u.coverage_percent == 100.0
    assert u.downtime == timedelta(0) and u.met is True
    assert u.budget_allowed == timedelta(minutes=43, seconds=12)  # 99.9% of 30 days
    assert u.budget_used == timedelta(0)
    assert u.budget_remaining == timedelta(minutes=43, seconds=12)
    assert u.by_status[UP] == timedelta(days=30)
    assert sum(u.by_status.values(), timedelta(0)) == u.total


@pytest.mark.parametrize(
    ("down", "percent", "met", "remaining"),
    [
        (timedelta(minutes=43, seconds=12), 99.9, True, timedelta(0)),  # exactly on target
        (timedelta(minutes=43, seconds=13), 99.89996141975309, False, -timedelta(seconds=1)),
        (timedelta(minutes=10), 99.97685185185185, True, timedelta(minutes=33, seconds=12)),
        (timedelta(days=30), 0.0, False, timedelta(minutes=43, seconds=12) - timedelta(days=30)),
    ],
)
def test_budget_against_a_999_target(
    down: timedelta, percent: float, met: bool, remaining: timedelta
) -> None:
    spans = history(utc(2026, 11, 1), (MAJOR, down), (UP, timedelta(days=30) - down))
    u = uptime(spans, NOV, now=AFTER, target=99.9)
    assert (u.downtime, u.uptime_percent, u.met, u.budget_remaining) == (
        down,
        percent,
        met,
        remaining,
    )


def test_without_target_there_is_no_budget() -> None:
    u = uptime(ALL_UP, NOV, now=AFTER)
    assert u.target is None
    assert (u.met, u.budget_allowed, u.budget_used, u.budget_remaining) == (None,) * 4
    assert u.uptime_percent == 100.0


def test_span_crossing_the_month_end_is_split() -> None:
    # A major outage 23:00 on 31 October (GMT again by then) to 01:00 on 1 November.
    spans = [
        span(UP, utc(2026, 9, 1), utc(2026, 10, 31, 23)),
        span(MAJOR, utc(2026, 10, 31, 23), utc(2026, 11, 1, 1)),
        span(UP, utc(2026, 11, 1, 1), None),
    ]
    october = uptime(spans, month_period(2026, 10, LONDON), now=AFTER)
    november = uptime(spans, NOV, now=AFTER)
    assert october.downtime == november.downtime == H
    assert october.total == 745 * H and november.total == 720 * H


def test_open_span_ends_at_now() -> None:
    now = utc(2026, 11, 10, 12)
    spans = [
        span(UP, utc(2026, 10, 1), utc(2026, 11, 10, 10)),
        span(MAJOR, utc(2026, 11, 10, 10), None),
    ]
    u = uptime(spans, NOV, now=now, target=99.9)
    assert u.downtime == 2 * H
    assert u.observed == now - NOV.start
    assert u.unknown == NOV.end - now  # the rest of the month has not happened yet
    assert u.coverage_percent == pytest.approx(100 * 9.5 / 30)


def test_open_span_stops_at_the_period_end() -> None:
    u = uptime([span(MAJOR, utc(2026, 11, 30), None)], NOV, now=AFTER)
    assert u.downtime == timedelta(days=1) and u.by_status[MAJOR] == timedelta(days=1)


def test_closed_span_reaching_past_now_is_cut_at_now() -> None:
    u = uptime([span(UP, utc(2026, 11, 1), utc(2026, 12, 1))], NOV, now=utc(2026, 11, 16))
    assert u.observed == timedelta(days=15) and u.unknown == timedelta(days=15)


def test_now_before_the_period_means_nothing_observed() -> None:
    u = uptime(ALL_UP, NOV, now=utc(2026, 10, 1), target=99.9)
    assert u.unknown == u.total == timedelta(days=30)
    assert (u.uptime_percent, u.met, u.coverage_percent) == (None, None, 0.0)
    assert u.budget_allowed == timedelta(0)


def test_declared_maintenance_raises_uptime() -> None:
    outage = (utc(2026, 11, 7, 6), utc(2026, 11, 7, 8))
    spans = [span(UP, utc(2026, 10, 1), outage[0]), span(MAJOR, *outage), span(UP, outage[1], None)]
    plain = uptime(spans, NOV, now=AFTER, target=99.9)
    held = uptime(spans, NOV, now=AFTER, target=99.9, maintenance=[outage])
    assert plain.downtime == 2 * H and plain.met is False
    assert held.downtime == timedelta(0) and held.uptime_percent == 100.0 and held.met is True
    assert held.maintenance == held.by_status[MAINT] == 2 * H
    assert held.observed == timedelta(days=30) - 2 * H
    assert held.coverage_percent == 100.0  # maintenance is not a coverage gap


def test_maintenance_status_is_excluded_like_declared_maintenance() -> None:
    spans = history(utc(2026, 11, 1), (UP, timedelta(days=29)), (MAINT, timedelta(days=1)))
    u = uptime(spans, NOV, now=AFTER)
    assert u.maintenance == timedelta(days=1) and u.observed == timedelta(days=29)
    assert u.uptime_percent == 100.0


def test_declared_maintenance_wins_over_unknown_but_not_over_the_future() -> None:
    window = (utc(2026, 11, 10), utc(2026, 11, 12))
    u = uptime([], NOV, now=utc(2026, 11, 11), maintenance=[window])
    assert u.maintenance == timedelta(days=1)  # 10th: declared, so not a gap
    assert u.unknown == timedelta(days=29)  # everything else, including the 11th (future)


def test_unknown_lowers_coverage_not_uptime() -> None:
    spans = history(utc(2026, 11, 1), (UP, timedelta(days=10)), (UNKNOWN, timedelta(days=5)))
    spans.append(span(UP, utc(2026, 11, 16), None))
    u = uptime(spans, NOV, now=AFTER, target=99.9)
    assert u.uptime_percent == 100.0 and u.met is True
    assert u.unknown == timedelta(days=5) and u.coverage_percent == pytest.approx(100 * 25 / 30)
    assert u.budget_allowed == timedelta(days=25) / 1000  # budget only on observed time


def test_gaps_and_time_before_the_first_span_are_unknown() -> None:
    spans = [
        span(UP, utc(2026, 11, 3), utc(2026, 11, 10)),
        span(MAJOR, utc(2026, 11, 12), utc(2026, 11, 12, 1)),
        span(UP, utc(2026, 11, 12, 1), None),
    ]
    u = uptime(spans, NOV, now=AFTER)
    assert u.unknown == timedelta(days=4)  # 1st-2nd before the first span, 10th-11th gap
    assert u.downtime == H


@pytest.mark.parametrize(
    ("status", "weights", "downtime"),
    [
        (MAJOR, DEFAULT_WEIGHTS, 10 * H),
        (PARTIAL, DEFAULT_WEIGHTS, 3 * H),  # 30%, as Statuspage counts partial outages
        (DEGRADED, DEFAULT_WEIGHTS, timedelta(0)),
        (PARTIAL, {MAJOR: 1.0, PARTIAL: 0.5, DEGRADED: 0.1}, 5 * H),
        (DEGRADED, {MAJOR: 1.0, PARTIAL: 0.5, DEGRADED: 0.1}, H),
        (MAJOR, {PARTIAL: 1.0}, timedelta(0)),  # a status left out weighs nothing
    ],
)
def test_downtime_weights(
    status: Status, weights: dict[Status, float], downtime: timedelta
) -> None:
    spans = history(utc(2026, 11, 1), (UP, 100 * H), (status, 10 * H), (UP, 610 * H))
    u = uptime(spans, NOV, now=AFTER, weights=weights)
    assert u.downtime == downtime
    assert u.by_status[status] == 10 * H


def test_default_weights() -> None:
    assert dict(DEFAULT_WEIGHTS) == {UP: 0.0, DEGRADED: 0.0, PARTIAL: 0.3, MAJOR: 1.0}
    with pytest.raises(TypeError):
        DEFAULT_WEIGHTS[UP] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({MAINT: 0.5}, "maintenance takes no downtime weight"),
        ({UNKNOWN: 1.0}, "unknown takes no downtime weight"),
        ({MAJOR: 1.5}, "the weight of major_outage must be from 0 to 1, got 1.5"),
        ({PARTIAL: -0.1}, "the weight of partial_outage must be from 0 to 1"),
    ],
)
def test_bad_weights_are_rejected(weights: dict[Status, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        uptime(ALL_UP, NOV, now=AFTER, weights=weights)


@pytest.mark.parametrize("target", [-1, 100.5])
def test_bad_target_is_rejected(target: float) -> None:
    with pytest.raises(ValueError, match="target must be a percentage from 0 to 100"):
        uptime(ALL_UP, NOV, now=AFTER, target=target)


def test_spans_of_several_services_are_rejected() -> None:
    spans = [span(UP, utc(2026, 11, 1), None, "mis"), span(UP, utc(2026, 11, 1), None, "wifi")]
    with pytest.raises(ValueError, match="measure each service, then combine"):
        uptime(spans, NOV, now=AFTER)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        uptime(ALL_UP, NOV, now=datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="span started_at must be a timezone-aware"):
        uptime([span(UP, datetime(2026, 11, 1), None)], NOV, now=AFTER)
    with pytest.raises(ValueError, match="maintenance start must be a timezone-aware"):
        uptime(ALL_UP, NOV, now=AFTER, maintenance=[(datetime(2026, 11, 1), utc(2026, 11, 2))])


def test_unordered_and_overlapping_spans() -> None:
    # The store never writes overlaps, but a later span always ends the one before it.
    spans = [
        span(UP, utc(2026, 11, 2), None),
        span(MAJOR, utc(2026, 11, 1), utc(2026, 11, 5)),  # cut short by the span on the 2nd
    ]
    u = uptime(spans, NOV, now=AFTER)
    assert u.by_status[MAJOR] == timedelta(days=1) and u.by_status[UP] == timedelta(days=29)


def test_overlapping_windows_and_maintenance_are_merged() -> None:
    windows = [
        (utc(2026, 11, 2, 9), utc(2026, 11, 2, 12)),
        (utc(2026, 11, 2, 8), utc(2026, 11, 2, 10)),
    ]
    held = [
        (utc(2026, 11, 2, 8), utc(2026, 11, 2, 9)),
        (utc(2026, 11, 2, 8, 30), utc(2026, 11, 2, 9)),
    ]
    u = uptime(ALL_UP, NOV, now=AFTER, windows=windows, maintenance=held)
    assert u.total == 4 * H and u.maintenance == H and u.observed == 3 * H


def test_maintenance_over_up_time_can_lower_uptime_percent() -> None:
    # Why "adding maintenance never lowers uptime" is not a property: excluding good time
    # leaves the bad time a larger share. (It never adds downtime — see the property tests.)
    spans = history(utc(2026, 11, 1), (MAJOR, timedelta(days=15)), (UP, timedelta(days=15)))
    plain = uptime(spans, NOV, now=AFTER)
    held = uptime(spans, NOV, now=AFTER, maintenance=[(utc(2026, 11, 16), utc(2026, 12, 1))])
    assert plain.uptime_percent == 50.0 and held.uptime_percent == 0.0
    assert held.downtime == plain.downtime


# --- school hours --------------------------------------------------------------------------

CALENDAR = Calendar.model_validate(
    yaml.safe_load(
        """
        school_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:30"}
        terms:
          - {name: Autumn 2026, start: 2026-09-03, end: 2026-12-18}
        closures:
          - {date: 2026-11-20, reason: INSET day}
          - {start: 2026-10-26, end: 2026-10-30, reason: Half term}
        """
    )
)


def school(period: Period) -> list[tuple[datetime, datetime]]:
    return school_intervals(CALENDAR, period.start, period.end, LONDON)


def test_school_hours_only_uptime_in_october_with_half_term() -> None:
    october = month_period(2026, 10, LONDON)
    spans = [
        span(UP, utc(2026, 9, 1), utc(2026, 10, 6, 20)),
        span(MAJOR, utc(2026, 10, 6, 20), utc(2026, 10, 7, 6)),  # overnight: not school time
        span(UP, utc(2026, 10, 7, 6), utc(2026, 10, 14, 9)),
        span(MAJOR, utc(2026, 10, 14, 9), utc(2026, 10, 14, 10)),  # 10:00-11:00 BST: counts
        span(UP, utc(2026, 10, 14, 10), utc(2026, 10, 27, 9)),
        span(MAJOR, utc(2026, 10, 27, 9), utc(2026, 10, 28, 9)),  # half term: does not count
        span(UP, utc(2026, 10, 28, 9), None),
    ]
    u = uptime(spans, october, now=AFTER, target=99.5, windows=school(october))
    # 1-2 Oct, then 3 full weeks; half term (26-30 Oct) excluded: 17 days of 8.5 hours.
    assert u.total == u.observed == 17 * 8.5 * H
    assert u.downtime == H
    assert u.uptime_percent == pytest.approx(100 * (1 - 1 / 144.5))
    assert u.met is False  # 99.5% of 144.5 hours allows only 43m21s
    assert u.budget_allowed == timedelta(minutes=43, seconds=21)
    whole_day = uptime(spans, october, now=AFTER, target=99.5)
    assert whole_day.downtime == 35 * H


def test_school_hours_only_uptime_in_november_with_an_inset_day() -> None:
    spans = [
        span(UP, utc(2026, 9, 1), utc(2026, 11, 20, 8)),
        span(MAJOR, utc(2026, 11, 20, 8), None),
    ]
    u = uptime(spans, NOV, now=utc(2026, 11, 20, 17), windows=school(NOV))
    # Down since the INSET day began: not school time, nothing counted yet.
    assert u.downtime == timedelta(0) and u.uptime_percent == 100.0
    assert u.observed == 14 * 8.5 * H  # 2-19 Nov
    assert u.total == 20 * 8.5 * H  # 21 weekdays less the INSET day
    assert u.unknown == 6 * 8.5 * H  # 23-30 Nov, after now


def test_term_boundaries_limit_school_hours() -> None:
    december = month_period(2026, 12, LONDON)
    u = uptime(ALL_UP, december, now=AFTER, windows=school(december))
    assert u.total == 14 * 8.5 * H  # 1-18 Dec; the holiday is not school time
    days = daily(ALL_UP, december, LONDON, now=AFTER, windows=school(december))
    assert [d.day.day for d in days if d.uptime.total] == [
        1,
        2,
        3,
        4,
        7,
        8,
        9,
        10,
        11,
        14,
        15,
        16,
        17,
        18,
    ]


# --- combining and projecting --------------------------------------------------------------


def test_combine_weighs_services_by_observed_time() -> None:
    mis = uptime(
        history(utc(2026, 11, 1), (MAJOR, 3 * H), (UP, 717 * H)), NOV, now=AFTER, target=99.9
    )
    wifi = uptime([span(UP, utc(2026, 11, 26), None, "wifi")], NOV, now=AFTER, target=99.9)
    both = combine([mis, wifi])
    assert both.observed == 720 * H + 120 * H and both.total == 1440 * H
    assert both.downtime == 3 * H
    assert both.uptime_percent == pytest.approx(100 * (1 - 3 / 840))  # not the mean of the two
    assert both.unknown == 600 * H and both.target == 99.9
    assert both.period == NOV
    assert both.budget_allowed == mis.budget_allowed + wifi.budget_allowed  # type: ignore[operator]


def test_combine_keeps_a_target_only_when_shared() -> None:
    a = uptime(ALL_UP, NOV, now=AFTER, target=99.9)
    b = uptime(ALL_UP, NOV, now=AFTER, target=99.5)
    assert combine([a, b]).target is None
    assert combine([a, a]).target == 99.9
    assert dataclasses.replace(combine([a, b]), target=99.0).met is True
    with pytest.raises(ValueError, match="nothing to combine"):
        combine([])


def test_combine_of_months_spans_them() -> None:
    months = [uptime(ALL_UP, month_period(2026, m, LONDON), now=AFTER) for m in (10, 11)]
    both = combine(months)
    assert both.period == Period(utc(2026, 9, 30, 23), utc(2026, 12, 1))
    assert both.total == (745 + 720) * H


def test_project_year_scales_the_rate_so_far() -> None:
    year = year_period(2026, LONDON)
    months = [
        uptime(
            history(month_period(2026, m, LONDON).start, (MAJOR, 2 * H), (UP, timedelta(days=40))),
            month_period(2026, m, LONDON),
            now=AFTER,
            target=99.9,
        )
        for m in range(1, 4)
    ]  # 6 hours down in the 2159 hours of January to March
    projection = project_year(months, year)
    assert projection.so_far.downtime == 6 * H
    assert projection.basis == timedelta(days=365)
    assert projection.projected_downtime == pytest.approx(6 * H * 8760 / 2159, abs=M)
    assert projection.budget_allowed == timedelta(hours=8, minutes=45, seconds=36)  # 0.1% of 365 d
    assert projection.budget_remaining == timedelta(hours=2, minutes=45, seconds=36)
    assert projection.on_track is False  # ~24 hours projected against 8h45m allowed
    assert project_year(combine(months), year) == projection


def test_project_year_on_school_time_and_without_data() -> None:
    year = Period(utc(2026, 9, 1), utc(2027, 8, 31))
    term = Period(utc(2026, 9, 1), utc(2026, 10, 1))
    school_time = school(term)
    so_far = uptime(ALL_UP, term, now=AFTER, target=99.0, windows=school_time)
    projection = project_year(so_far, year, basis=1000 * H)
    assert projection.projected_downtime == timedelta(0) and projection.on_track is True
    assert projection.budget_allowed == 10 * H
    empty = project_year(uptime([], term, now=AFTER, target=99.0), year)
    assert empty.projected_downtime is None and empty.on_track is None
    no_target = project_year(uptime(ALL_UP, term, now=AFTER), year)
    assert (no_target.budget_allowed, no_target.budget_remaining, no_target.on_track) == (None,) * 3


# --- the day-by-day strip ------------------------------------------------------------------


def test_daily_strip() -> None:
    march = month_period(2026, 3, LONDON)
    spans = [
        span(UP, utc(2026, 2, 1), utc(2026, 3, 10, 9)),
        span(PARTIAL, utc(2026, 3, 10, 9), utc(2026, 3, 10, 19)),  # 10 hours: 3 count
        span(DEGRADED, utc(2026, 3, 10, 19), utc(2026, 3, 11, 2)),
        span(UP, utc(2026, 3, 11, 2), None),
    ]
    days = daily(spans, march, LONDON, now=utc(2026, 3, 30, 12), target=99.9)
    assert [d.day for d in days] == [date(2026, 3, n) for n in range(1, 32)]
    by_day = {d.day.day: d for d in days}
    assert by_day[10].worst is PARTIAL and by_day[10].uptime.downtime == 3 * H
    assert by_day[10].uptime_percent == pytest.approx(100 * 21 / 24)
    assert by_day[11].worst is DEGRADED and by_day[11].uptime_percent == 100.0
    assert by_day[12].worst is UP
    assert by_day[29].uptime.total == 23 * H  # the clocks went forward
    assert by_day[30].uptime.observed == 13 * H  # local midnight (23:00 UTC) until now
    assert by_day[31].worst is UNKNOWN and by_day[31].uptime_percent is None  # the future
    assert sum((d.uptime.total for d in days), timedelta(0)) == march.duration
    assert combine([d.uptime for d in days]) == uptime(
        spans, march, now=utc(2026, 3, 30, 12), target=99.9
    )


def test_daily_with_maintenance_and_partial_days() -> None:
    period = Period(utc(2026, 11, 2, 12), utc(2026, 11, 4, 6))
    held = [(utc(2026, 11, 3, 1), utc(2026, 11, 3, 3))]
    spans = [
        span(MAJOR, utc(2026, 11, 3, 1), utc(2026, 11, 3, 3)),
        span(UP, utc(2026, 11, 3, 3), None),
    ]
    days = daily(spans, period, LONDON, now=AFTER, maintenance=held)
    assert [(d.day.day, d.uptime.total, d.worst) for d in days] == [
        (2, 12 * H, UNKNOWN),  # from noon, before the first span
        (3, 24 * H, MAINT),  # the outage was declared maintenance
        (4, 6 * H, UP),
    ]
    assert daily(spans, Period(period.start, period.start), LONDON, now=AFTER) == []


def test_uptime_is_a_value() -> None:
    u = uptime(ALL_UP, NOV, now=AFTER)
    assert isinstance(u, Uptime) and u == uptime(ALL_UP, NOV, now=AFTER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.target = 99.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        u.by_status[UP] = timedelta(0)  # type: ignore[index]
