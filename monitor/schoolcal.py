"""The school calendar: when a school is open, for school-hours uptime and quiet hours.

The YAML section (the ``calendar:`` key of the configuration)::

    calendar:
      school_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "16:30"}
      terms:                                   # optional: without terms every week is term
        - {name: Autumn 2026, start: 2026-09-03, end: 2026-12-18}
        - {name: Spring 2027, start: 2027-01-05, end: 2027-03-26}
      closures:                                # optional: days the school is shut in term
        - {date: 2026-11-20, reason: INSET day}
        - {start: 2026-10-26, end: 2026-10-30, reason: Half term}

Rules:

- A *school day* is a local calendar date whose weekday is in ``school_hours.days``, that
  falls inside a term (or any date when no terms are given), and that no closure covers.
- Every date range (terms, closures) is **inclusive** of both ends, so ``start == end`` is a
  single day. Times are wall-clock times in the organisation's time zone, ``HH:MM`` (24-hour);
  the school-time window of a day is ``[start, end)``.
- Across a DST change the window follows the wall clock: 08:00–16:30 is 08:00–16:30 on the
  clocks both sides of the change, so its UTC bounds shift by an hour. A wall time that does
  not exist (skipped by a spring-forward) is read with the offset in force before the
  change, i.e. it lands just after the gap; an ambiguous time (repeated by a fall-back)
  means its first occurrence (PEP 495 ``fold=0``).

Every function is pure. Moments given must be timezone-aware (naive ones raise
ValueError); moments returned are aware UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

__all__ = [
    "Calendar",
    "Closure",
    "SchoolHours",
    "Term",
    "Weekday",
    "closure_on",
    "is_school_day",
    "is_school_time",
    "next_school_time",
    "school_intervals",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[str, ...] = get_args(Weekday)  # index == date.weekday()
_FULL_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")

#: How far ahead ``next_school_time`` looks by default: more than a year, so a summer
#: holiday or a calendar whose next term is not entered yet ends in None, not a long loop.
DEFAULT_HORIZON = dt.timedelta(days=400)


# Same settings as monitor.config.Model; kept local because config will import this module.
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _parse_weekday(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a day name: mon, tue, wed, thu, fri, sat or sun")
    key = value.strip().lower()
    key = _FULL_NAMES.get(key, key)
    if key not in _WEEKDAYS:
        raise ValueError(f"unknown day {value!r}: use mon, tue, wed, thu, fri, sat or sun")
    return key


def _parse_clock(value: Any) -> Any:
    """``"08:00"`` → time(8, 0). Rejects the number YAML makes of an unquoted ``16:30``."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads unquoted 16:30 as the base-60 number 16*60+30 = 990.
        hours, minutes = divmod(value, 60)
        guess = f" (did you mean {hours:02d}:{minutes:02d}?)" if 0 <= hours < 24 else ""
        raise ValueError(
            f'got the number {value}{guess}: write times in quotes, e.g. "16:30", '
            "because YAML reads an unquoted 16:30 as a number"
        )
    if not isinstance(value, str):
        raise ValueError('must be a time such as "08:30"')
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        raise ValueError(f'{value!r} is not a time such as "08:30" (24-hour HH:MM)')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59)")
    return dt.time(hours, minutes)


def _parse_date(value: Any) -> Any:
    """A calendar date: a YAML date (2026-09-03) or the same as a string."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"must be a date such as 2026-09-03, not a date and time ({value})")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    # Also reached for numbers, which pydantic would otherwise take as Unix timestamps.
    raise ValueError(f"{value!r} is not a date such as 2026-09-03 (YYYY-MM-DD)")


Clock = Annotated[
    dt.time,
    BeforeValidator(_parse_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
Day = Annotated[Weekday, BeforeValidator(_parse_weekday)]
Date = Annotated[dt.date, BeforeValidator(_parse_date)]


class SchoolHours(_Model):
    """The weekly pattern: on ``days``, school time is ``[start, end)`` local wall time."""

    days: tuple[Day, ...] = Field(("mon", "tue", "wed", "thu", "fri"), min_length=1)
    start: Clock
    end: Clock

    @field_validator("days")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({d for d in value if value.count(d) > 1}, key=_WEEKDAYS.index)
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SchoolHours:
        if self.start >= self.end:
            raise ValueError(
                f"start {self.start:%H:%M} must be before end {self.end:%H:%M} "
                "(school hours cannot run past midnight)"
            )
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        """The days as ``date.weekday()`` numbers (Monday is 0)."""
        return frozenset(_WEEKDAYS.index(d) for d in self.days)


class Term(_Model):
    """A term, ``start`` to ``end`` inclusive."""

    name: str = Field(min_length=1)
    start: Date
    end: Date

    @model_validator(mode="after")
    def _ordered(self) -> Term:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


class Closure(_Model):
    """Days the school is shut: one ``date``, or ``start`` to ``end`` inclusive."""

    date: Date | None = None
    start: Date | None = None
    end: Date | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Closure:
        if self.date is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give date: for one day, or start: and end: for a range, not both")
            return self
        if self.start is None and self.end is None:
            raise ValueError("give date: for one day, or start: and end: for a range")
        if self.start is None:
            raise ValueError("a closure range needs start: as well as end:")
        if self.end is None:
            raise ValueError("a closure range needs end: as well as start:")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def first(self) -> dt.date:
        day = self.date or self.start
        assert day is not None  # guaranteed by _one_form
        return day

    @property
    def last(self) -> dt.date:
        day = self.date or self.end
        assert day is not None  # guaranteed by _one_form
        return day

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last


class Calendar(_Model):
    """When the school is open. See the module docstring for the rules."""

    school_hours: SchoolHours
    terms: tuple[Term, ...] = ()
    closures: tuple[Closure, ...] = ()

    @field_validator("terms")
    @classmethod
    def _terms_apart(cls, value: tuple[Term, ...]) -> tuple[Term, ...]:
        ordered = sorted(value, key=lambda t: t.start)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start <= before.end:
                raise ValueError(
                    f"terms {before.name!r} ({before.start} to {before.end}) and "
                    f"{after.name!r} ({after.start} to {after.end}) overlap"
                )
        return value


def _require_aware(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value}")


def closure_on(cal: Calendar, day: dt.date) -> Closure | None:
    """The first closure (in YAML order) covering local date ``day``, or None."""
    return next((c for c in cal.closures if c.covers(day)), None)


def is_school_day(cal: Calendar, day: dt.date) -> bool:
    """True when the local date ``day`` is a school day: a school weekday, in term, not closed."""
    if day.weekday() not in cal.school_hours.weekdays:
        return False
    if cal.terms and not any(t.covers(day) for t in cal.terms):
        return False
    return closure_on(cal, day) is None


def _window(cal: Calendar, day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime] | None:
    """The UTC bounds of ``day``'s school time, or None when it is not a school day."""
    if not is_school_day(cal, day):
        return None
    hours = cal.school_hours
    start = dt.datetime.combine(day, hours.start, tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day, hours.end, tzinfo=tz).astimezone(dt.UTC)
    return (start, end) if start < end else None


def _windows(
    cal: Calendar, first: dt.date, last: dt.date, tz: ZoneInfo
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """School windows of local dates ``first`` to ``last`` inclusive, in order."""
    day = first
    while day <= last:
        window = _window(cal, day, tz)
        if window is not None:
            yield window
        day += dt.timedelta(days=1)


def is_school_time(cal: Calendar, moment: dt.datetime, tz: ZoneInfo) -> bool:
    """True when ``moment`` (aware) falls in a school-time window ``[start, end)``.

    Agrees exactly with ``school_intervals``: the moment is school time if and only if it lies
    in one of the intervals that function returns for any range containing it.
    """
    _require_aware("moment", moment)
    local = moment.astimezone(tz).date()
    one = dt.timedelta(days=1)
    return any(s <= moment < e for s, e in _windows(cal, local - one, local + one, tz))


def school_intervals(
    cal: Calendar, start: dt.datetime, end: dt.datetime, tz: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The school-time intervals inside ``[start, end)`` as aware UTC ``(start, end)`` pairs.

    Intervals are half-open, clipped to the range, non-empty, sorted and merged (touching
    windows become one). An empty range (``end <= start``) gives ``[]``.
    """
    _require_aware("start", start)
    _require_aware("end", end)
    if end <= start:
        return []
    one = dt.timedelta(days=1)
    first = start.astimezone(tz).date() - one
    last = end.astimezone(tz).date() + one
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in _windows(cal, first, last, tz):
        s, e = max(s, start.astimezone(dt.UTC)), min(e, end.astimezone(dt.UTC))
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def next_school_time(
    cal: Calendar,
    moment: dt.datetime,
    tz: ZoneInfo,
    *,
    horizon: dt.timedelta = DEFAULT_HORIZON,
) -> dt.datetime | None:
    """The first school-time instant at or after ``moment``, in aware UTC.

    ``moment`` itself (converted to UTC) when it is school time; otherwise the start of the
    next school-time window. None when no window starts within ``horizon`` of ``moment``
    (e.g. the calendar's last term has ended): the caller decides what to do then — for
    quiet hours, send at once rather than hold an alert forever.
    """
    _require_aware("moment", moment)
    moment = moment.astimezone(dt.UTC)
    limit = moment + horizon
    one = dt.timedelta(days=1)
    first = moment.astimezone(tz).date() - one
    last = limit.astimezone(tz).date() + one
    for s, e in _windows(cal, first, last, tz):
        if e <= moment:
            continue
        if s > limit:
            return None
        return max(s, moment)
    return None
