from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from monitor.schoolcal import (
    Calendar,
    closure_on,
    is_school_day,
    is_school_time,
    next_school_time,
    school_intervals,
)

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC

# The calendar of the README and the issue, as the YAML loader hands it over.
EXAMPLE = """\
school_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:30"}
terms:
  - {name: Autumn 2026, start: 2026-09-03, end: 2026-12-18}
  - {name: Spring 2027, start: 2027-01-05, end: 2027-03-26}
closures:
  - {date: 2026-11-20, reason: INSET day}
  - {start: 2026-10-26, end: 2026-10-30, reason: Half term}
"""


def calendar(text: str = EXAMPLE) -> Calendar:
    return Calendar.model_validate(yaml.safe_load(text))


CAL = calendar()
NO_TERMS = calendar('school_hours: {start: "08:00", end: "16:30"}')


def london(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=LONDON)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=UTC)


def errors(data: object) -> list[tuple[str, str]]:
    """(location, message) of every validation problem, as the config loader reports them."""
    with pytest.raises(ValidationError) as info:
        Calendar.model_validate(data)
    return [
        (".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
        for e in info.value.errors()
    ]


# --- the model -----------------------------------------------------------------------------


def test_example_yaml_validates() -> None:
    assert CAL.school_hours.days == ("mon", "tue", "wed", "thu", "fri")
    assert CAL.school_hours.start == dt.time(8) and CAL.school_hours.end == dt.time(16, 30)
    assert [t.name for t in CAL.terms] == ["Autumn 2026", "Spring 2027"]
    assert CAL.terms[0].start == dt.date(2026, 9, 3)
    assert CAL.closures[0].date == dt.date(2026, 11, 20)
    assert (CAL.closures[1].first, CAL.closures[1].last) == (
        dt.date(2026, 10, 26),
        dt.date(2026, 10, 30),
    )


def test_defaults_and_friendly_spellings() -> None:
    cal = calendar('school_hours: {start: "8:05", end: "15:00"}')
    assert cal.school_hours.days == ("mon", "tue", "wed", "thu", "fri")
    assert cal.school_hours.start == dt.time(8, 5)
    assert cal.terms == () and cal.closures == ()
    cal = calendar('school_hours: {days: [Monday, SAT], start: "08:00", end: "12:00"}')
    assert cal.school_hours.days == ("mon", "sat")
    quoted = calendar(
        'school_hours: {start: "08:00", end: "16:30"}\n'
        'terms: [{name: T, start: "2026-09-03", end: "2026-09-03"}]'
    )
    assert quoted.terms[0].start == quoted.terms[0].end == dt.date(2026, 9, 3)


def test_round_trips_through_model_dump() -> None:
    dumped = CAL.model_dump(mode="json")
    assert dumped["school_hours"] == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "08:00",
        "end": "16:30",
    }
    assert Calendar.model_validate(dumped) == CAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "school_hours: {start: 08:00, end: 16:30}",
            [
                (
                    "school_hours.end",
                    'got the number 990 (did you mean 16:30?): write times in quotes, e.g. "16:30", because YAML reads an unquoted 16:30 as a number',
                )
            ],
        ),
        (
            'school_hours: {start: "16:30", end: "08:00"}',
            [
                (
                    "school_hours",
                    "start 16:30 must be before end 08:00 (school hours cannot run past midnight)",
                )
            ],
        ),
        (
            'school_hours: {start: "08:00", end: "08:00"}',
            [
                (
                    "school_hours",
                    "start 08:00 must be before end 08:00 (school hours cannot run past midnight)",
                )
            ],
        ),
        (
            'school_hours: {start: "8am", end: "24:00"}',
            [
                ("school_hours.start", "'8am' is not a time such as \"08:30\" (24-hour HH:MM)"),
                ("school_hours.end", "'24:00' is not a time of day (00:00 to 23:59)"),
            ],
        ),
        (
            'school_hours: {days: [mon, funday], start: "08:00", end: "16:30"}',
            [
                (
                    "school_hours.days.1",
                    "unknown day 'funday': use mon, tue, wed, thu, fri, sat or sun",
                )
            ],
        ),
        (
            'school_hours: {days: [mon, tue, Mon], start: "08:00", end: "16:30"}',
            [("school_hours.days", "mon listed more than once")],
        ),
        (
            'school_hours: {days: [], start: "08:00", end: "16:30"}',
            [("school_hours.days", "Tuple should have at least 1 item after validation, not 0")],
        ),
        (
            'school_hours: {start: "08:00", end: "16:30", weekends: true}',
            [("school_hours.weekends", "Extra inputs are not permitted")],
        ),
        (
            'school_hours: {start: "08:00", end: "16:30"}\n'
            "terms: [{name: Autumn, start: 2026-12-18, end: 2026-09-03}]",
            [("terms.0", "end 2026-09-03 is before start 2026-12-18")],
        ),
        (
            'school_hours: {start: "08:00", end: "16:30"}\n'
            "terms: [{name: Autumn, start: 20260903, end: 2026-12-18T09:00:00}]",
            [
                ("terms.0.start", "20260903 is not a date such as 2026-09-03 (YYYY-MM-DD)"),
                (
                    "terms.0.end",
                    "must be a date such as 2026-09-03, not a date and time (2026-12-18 09:00:00)",
                ),
            ],
        ),
        (
            'school_hours: {start: "08:00", end: "16:30"}\n'
            "terms:\n"
            "  - {name: Spring, start: 2027-01-05, end: 2027-03-26}\n"
            "  - {name: Autumn, start: 2026-09-03, end: 2027-01-05}\n",
            [
                (
                    "terms",
                    "terms 'Autumn' (2026-09-03 to 2027-01-05) and 'Spring' (2027-01-05 to 2027-03-26) overlap",
                )
            ],
        ),
        (
            'school_hours: {start: "08:00", end: "16:30"}\n'
            "closures:\n"
            "  - {reason: Snow}\n"
            "  - {start: 2026-10-26, reason: Half term}\n"
            "  - {end: 2026-10-30}\n"
            "  - {date: 2026-11-20, start: 2026-11-20, end: 2026-11-21}\n"
            "  - {start: 2026-10-30, end: 2026-10-26}\n"
            '  - {date: "2026-02-30"}\n',
            [
                ("closures.0", "give date: for one day, or start: and end: for a range"),
                ("closures.1", "a closure range needs end: as well as start:"),
                ("closures.2", "a closure range needs start: as well as end:"),
                (
                    "closures.3",
                    "give date: for one day, or start: and end: for a range, not both",
                ),
                ("closures.4", "end 2026-10-26 is before start 2026-10-30"),
                ("closures.5.date", "'2026-02-30' is not a date such as 2026-09-03 (YYYY-MM-DD)"),
            ],
        ),
    ],
)
def test_invalid_calendars_get_clear_errors(text: str, expected: list[tuple[str, str]]) -> None:
    assert errors(yaml.safe_load(text)) == expected


def test_calendar_is_frozen() -> None:
    with pytest.raises(ValidationError):
        CAL.terms = ()  # type: ignore[misc]


# --- school days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        (dt.date(2026, 9, 2), False, "the day before term"),
        (dt.date(2026, 9, 3), True, "first day of term (inclusive)"),
        (dt.date(2026, 9, 5), False, "Saturday"),
        (dt.date(2026, 10, 23), True, "Friday before half term"),
        (dt.date(2026, 10, 26), False, "first day of half term"),
        (dt.date(2026, 10, 30), False, "last day of half term (inclusive)"),
        (dt.date(2026, 11, 2), True, "back after half term"),
        (dt.date(2026, 11, 20), False, "INSET day"),
        (dt.date(2026, 12, 18), True, "last day of term (inclusive)"),
        (dt.date(2026, 12, 21), False, "Christmas holiday"),
        (dt.date(2027, 1, 4), False, "the day before spring term"),
        (dt.date(2027, 1, 5), True, "first day of spring term"),
        (dt.date(2027, 3, 26), True, "last day of spring term"),
        (dt.date(2027, 3, 29), False, "after the last term entered"),
    ],
)
def test_school_days(day: dt.date, expected: bool, why: str) -> None:
    assert is_school_day(CAL, day) is expected, why


def test_without_terms_every_week_is_term() -> None:
    assert is_school_day(NO_TERMS, dt.date(2026, 8, 12))  # a Wednesday in August
    assert not is_school_day(NO_TERMS, dt.date(2026, 8, 15))  # Saturday
    cal = NO_TERMS.model_copy(update={"closures": CAL.closures})
    assert not is_school_day(cal, dt.date(2026, 11, 20))


def test_closure_on_names_the_reason() -> None:
    closure = closure_on(CAL, dt.date(2026, 10, 28))
    assert closure is not None and closure.reason == "Half term"
    assert closure_on(CAL, dt.date(2026, 11, 19)) is None


# --- school time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (london(2026, 11, 2, 7, 59), False),
        (london(2026, 11, 2, 8, 0), True),  # start is inclusive
        (london(2026, 11, 2, 16, 29, 59), True),
        (london(2026, 11, 2, 16, 30), False),  # end is exclusive
        (utc(2026, 9, 3, 7, 0), True),  # 08:00 BST
        (utc(2026, 11, 2, 7, 0), False),  # 07:00 GMT
        (utc(2026, 11, 20, 10, 0), False),  # INSET day
        (london(2026, 10, 27, 10, 0), False),  # half term
        # 10:00 at UTC-5 is 15:00 in London: what counts is the organisation's clock.
        (dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), True),
        (dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), False),
    ],
)
def test_is_school_time(moment: dt.datetime, expected: bool) -> None:
    assert is_school_time(CAL, moment, LONDON) is expected


def test_naive_moments_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_school_time(CAL, dt.datetime(2026, 11, 2, 10), LONDON)
    with pytest.raises(ValueError, match="end must be a timezone-aware"):
        school_intervals(CAL, utc(2026, 11, 2), dt.datetime(2026, 11, 3), LONDON)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_school_time(CAL, dt.datetime(2026, 11, 2, 10), LONDON)


def test_intervals_across_half_term_and_the_clock_change() -> None:
    # Fri 23 Oct is BST, half term (and the clocks going back on Sun 25th) follow,
    # school resumes Mon 2 Nov in GMT.
    got = school_intervals(CAL, london(2026, 10, 22, 12), london(2026, 11, 3), LONDON)
    assert got == [
        (utc(2026, 10, 22, 11), utc(2026, 10, 22, 15, 30)),  # clipped at the range start
        (utc(2026, 10, 23, 7), utc(2026, 10, 23, 15, 30)),
        (utc(2026, 11, 2, 8), utc(2026, 11, 2, 16, 30)),
    ]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in got)


def test_intervals_are_clipped_and_empty_ranges_give_nothing() -> None:
    assert school_intervals(CAL, london(2026, 11, 2, 9), london(2026, 11, 2, 10), LONDON) == [
        (utc(2026, 11, 2, 9), utc(2026, 11, 2, 10))
    ]
    assert school_intervals(CAL, london(2026, 11, 2, 10), london(2026, 11, 2, 10), LONDON) == []
    assert school_intervals(CAL, london(2026, 11, 3), london(2026, 11, 2), LONDON) == []
    assert school_intervals(CAL, london(2026, 12, 19), london(2027, 1, 5), LONDON) == []


def test_school_week_hours() -> None:
    got = school_intervals(CAL, london(2026, 11, 16), london(2026, 11, 23), LONDON)
    assert len(got) == 4  # Friday 20th is an INSET day
    assert sum((e - s for s, e in got), dt.timedelta()) == dt.timedelta(hours=34)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (dt.date(2026, 3, 28), 2.5),  # an ordinary Saturday
        (dt.date(2026, 3, 29), 1.5),  # clocks go forward at 01:00: the hour 01:00-02:00 never was
        (dt.date(2026, 10, 25), 3.5),  # clocks go back at 02:00: 01:00-02:00 happens twice
    ],
)
def test_windows_follow_the_wall_clock_across_dst(day: dt.date, hours: float) -> None:
    cal = calendar('school_hours: {days: [sat, sun], start: "00:30", end: "03:00"}')
    start = dt.datetime.combine(day, dt.time(), tzinfo=LONDON)
    got = school_intervals(cal, start, start + dt.timedelta(days=1), LONDON)
    assert len(got) == 1
    assert got[0][1] - got[0][0] == dt.timedelta(hours=hours)
    assert got[0][0].astimezone(LONDON).time() == dt.time(0, 30)
    assert got[0][1].astimezone(LONDON).time() == dt.time(3, 0)


def test_a_start_in_the_spring_gap_lands_after_it() -> None:
    cal = calendar('school_hours: {days: [sun], start: "01:30", end: "04:00"}')
    got = school_intervals(cal, utc(2026, 3, 28), utc(2026, 3, 30), LONDON)
    # 01:30 does not exist on 29 March; read with GMT it is 01:30 UTC = 02:30 BST.
    assert got == [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 3))]


# --- next school time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (london(2026, 11, 2, 10, 15), utc(2026, 11, 2, 10, 15)),  # in school time: itself
        (london(2026, 11, 2, 6, 0), utc(2026, 11, 2, 8)),  # before school: this morning
        (london(2026, 11, 2, 16, 30), utc(2026, 11, 3, 8)),  # at the bell: tomorrow
        (london(2026, 11, 6, 18, 0), utc(2026, 11, 9, 8)),  # Friday evening: Monday
        (london(2026, 11, 19, 17, 0), utc(2026, 11, 23, 8)),  # INSET Friday skipped
        (london(2026, 10, 23, 17, 0), utc(2026, 11, 2, 8)),  # half term skipped (and DST)
        (london(2026, 12, 18, 16, 45), utc(2027, 1, 5, 8)),  # Christmas holiday
        (london(2026, 8, 1, 12, 0), utc(2026, 9, 3, 7)),  # summer: first day, 08:00 BST
    ],
)
def test_next_school_time(moment: dt.datetime, expected: dt.datetime) -> None:
    got = next_school_time(CAL, moment, LONDON)
    assert got == expected and got is not None and got.tzinfo is UTC


def test_next_school_time_is_none_beyond_the_horizon() -> None:
    assert next_school_time(CAL, london(2027, 3, 26, 17), LONDON) is None  # no later term
    monday = london(2026, 11, 9, 8)
    friday_evening = london(2026, 11, 6, 18)
    assert next_school_time(CAL, friday_evening, LONDON, horizon=dt.timedelta(days=1)) is None
    assert next_school_time(CAL, friday_evening, LONDON, horizon=monday - friday_evening) == monday


# --- properties ----------------------------------------------------------------------------

moments = st.datetimes(
    min_value=dt.datetime(2026, 8, 25), max_value=dt.datetime(2027, 4, 5), timezones=st.just(UTC)
)
calendars = st.sampled_from(
    [
        CAL,
        NO_TERMS,
        calendar('school_hours: {days: [sat, sun], start: "00:30", end: "03:00"}'),
        calendar('school_hours: {days: [mon, wed, sun], start: "01:30", end: "23:59"}'),
    ]
)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, moment=moments)
def test_is_school_time_agrees_with_intervals(cal: Calendar, moment: dt.datetime) -> None:
    day = dt.timedelta(days=1)
    inside = any(
        s <= moment < e for s, e in school_intervals(cal, moment - day, moment + day, LONDON)
    )
    assert is_school_time(cal, moment, LONDON) is inside


@settings(max_examples=200, deadline=None)
@given(cal=calendars, moment=moments)
def test_next_school_time_is_the_first_school_instant(cal: Calendar, moment: dt.datetime) -> None:
    got = next_school_time(cal, moment, LONDON)
    if got is None:
        assert school_intervals(cal, moment, moment + dt.timedelta(days=400), LONDON) == []
        return
    assert got >= moment and is_school_time(cal, got, LONDON)
    assert school_intervals(cal, moment, got, LONDON) == []
