"""SLA maths over status spans: uptime, coverage, error budget, projections. All pure.

The SLA record is the list of ``Span``s the store writes on every transition (DESIGN.md,
"Nothing lost"), so every figure here can be recomputed from the store at any time.

How a period is measured
------------------------
The *considered* time is the period ``[start, end)``, or only its parts inside ``windows``
when those are given (e.g. ``schoolcal.school_intervals`` for school-hours-only uptime).
Every considered instant is classified once, in this order:

1. at or after ``now`` → **unknown** (it has not happened yet);
2. inside a declared ``maintenance`` window → **maintenance**, whatever the status was — that
   is what declaring a window means (a service taken down for an upgrade is not an outage);
3. covered by a span → that span's status (a span with status ``maintenance`` or ``unknown``
   counts as such);
4. otherwise (before the first span, in a gap between spans) → **unknown**.

Spans are taken in order of ``started_at``; each ends at the earliest of its ``ended_at``,
the next span's ``started_at`` (a transition ends the previous status, as in the store),
``now`` and the end of the period. An open span (``ended_at`` None) therefore runs until
``now`` or the period's end.

- ``maintenance`` and ``unknown`` are both excluded from the denominator. Maintenance is
  excluded because SLAs exclude scheduled maintenance; unknown because we cannot claim the
  service was up or down when we could not see it. Unknown time is reported as a *coverage
  gap* (``coverage_percent``), never as downtime.
- ``observed`` = considered − maintenance − unknown; ``downtime`` = Σ weight(status) × time
  in that status; ``uptime_percent`` = 100 × (observed − downtime) / observed.

Downtime weights (``DEFAULT_WEIGHTS``)
--------------------------------------
``major_outage`` 1.0, ``partial_outage`` 0.3, ``degraded`` 0, ``up`` 0.

These are the weights of the uptime figures on Atlassian Statuspage pages, where many
providers publish theirs: time in major outage counts in full, time in partial outage at
30%, and degraded performance not at all. Sources: Statuspage's help page "Display
historical uptime of components" (help.statuspage.io/help/uptime-calendar) says the figures
come from the minutes a component spends in each state; Instatus, which mirrors it,
documents ``downtime = major + 0.3 × partial`` with degraded not affecting uptime
(instatus.com/help/status-page/uptime-colors); Sorry™'s comparison of the two products
describes Statuspage as applying 100% of major-outage time and a 30% weighting to partial
states (sorryapp.com/compare/uptime-sorry-vs-statuspage). Using the same weights lets
Lifeline's figure for a provider be held up against the provider's own status page. The
weights are a parameter: a trust that counts degraded service against a provider can pass
its own (incident.io, for one, counts partial outage in full).

Error budget
------------
The budget is based on the **observed** time: ``budget_allowed`` = observed × (1 − target).
It is the same basis as ``uptime_percent``, so ``met`` is true exactly when
``budget_remaining >= 0``; maintenance is excluded as the SLA excludes it, and unobserved
time neither spends nor earns budget. For a fully observed 30-day month without maintenance
this is the familiar figure: 99.9% allows 43m12s. In a month still in progress the budget
grows with the observed time; ``project_year`` gives the forward-looking view.

``combine`` sums durations, so a combined uptime weighs each service by its observed time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from fractions import Fraction
from types import MappingProxyType
from zoneinfo import ZoneInfo

from monitor.model import Status, worst
from monitor.store import Span

__all__ = [
    "DEFAULT_WEIGHTS",
    "DayFigure",
    "Period",
    "Uptime",
    "YearProjection",
    "combine",
    "daily",
    "day_period",
    "month_period",
    "parse_month",
    "project_year",
    "uptime",
    "year_period",
]

Interval = tuple[datetime, datetime]

#: Fraction of time in each status that counts as downtime (see the module docstring).
#: ``maintenance`` and ``unknown`` have no weight: they are excluded from the denominator.
DEFAULT_WEIGHTS: Mapping[Status, float] = MappingProxyType(
    {
        Status.UP: 0.0,
        Status.DEGRADED: 0.0,
        Status.PARTIAL_OUTAGE: 0.3,
        Status.MAJOR_OUTAGE: 1.0,
    }
)

_EXCLUDED = (Status.MAINTENANCE, Status.UNKNOWN)
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_US = timedelta(microseconds=1)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value}")


def _utc(name: str, value: datetime) -> datetime:
    _require_aware(name, value)
    return value.astimezone(UTC)


def _us(delta: timedelta) -> int:
    return delta // _US


@dataclass(frozen=True)
class Period:
    """The half-open time range ``[start, end)``; both ends aware, stored in UTC.

    ``start == end`` is an empty period (its figures are all zero, its percentages None).
    Unpacks like a pair: ``start, end = month_period(2026, 3, tz)``.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc("start", self.start))
        object.__setattr__(self, "end", _utc("end", self.end))
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")

    def __iter__(self) -> Iterator[datetime]:
        return iter((self.start, self.end))

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    """Calendar month ``year-month`` in ``tz``: local midnight on the 1st to the next 1st.

    In Europe/London, March 2026 is 743 hours long and October 2026 745 (the clocks change).
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1 to 12, got {month}")
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(_local_midnight(date(year, month, 1), tz), _local_midnight(following, tz))


def year_period(year: int, tz: ZoneInfo) -> Period:
    """Calendar year ``year`` in ``tz``: local midnight on 1 January to the next 1 January."""
    return Period(_local_midnight(date(year, 1, 1), tz), _local_midnight(date(year + 1, 1, 1), tz))


def day_period(day: date, tz: ZoneInfo) -> Period:
    """Local calendar day ``day`` in ``tz`` (23 or 25 hours long on a clock-change day)."""
    return Period(_local_midnight(day, tz), _local_midnight(day + timedelta(days=1), tz))


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-11"`` → ``(2026, 11)``. Raises ValueError with a message meant for users."""
    match = _MONTH.fullmatch(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{text!r} is not a month such as 2026-11 (YYYY-MM)")
    return int(match.group(1)), int(match.group(2))


def _check_target(target: float | None) -> None:
    if target is not None and not 0 <= target <= 100:
        raise ValueError(f"target must be a percentage from 0 to 100, got {target}")


def _percent(target: float) -> Fraction:
    # repr gives the shortest decimal that round-trips, so 99.9 is exactly 999/10 here.
    return Fraction(repr(float(target)))


def _budget(basis: timedelta, target: float) -> timedelta:
    """``basis`` × (1 − target/100), rounded to the microsecond, computed exactly."""
    return timedelta(microseconds=round(_us(basis) * (100 - _percent(target)) / 100))


@dataclass(frozen=True)
class Uptime:
    """The figures of one service (or, after ``combine``, several) over one period.

    Durations: ``total`` is the considered time; ``by_status`` splits it over every status
    (all keys present, summing to ``total``); ``maintenance`` and ``unknown`` are the excluded
    parts; ``observed`` = total − maintenance − unknown; ``downtime`` is the weighted downtime.
    ``target`` is the SLA percentage, or None when the service has none.
    """

    period: Period
    total: timedelta
    observed: timedelta
    maintenance: timedelta
    unknown: timedelta
    downtime: timedelta
    by_status: Mapping[Status, timedelta]
    target: float | None = None

    @property
    def uptime_percent(self) -> float | None:
        """100 × (observed − downtime) / observed; None when nothing was observed."""
        if not self.observed:
            return None
        return float(Fraction(_us(self.observed - self.downtime), _us(self.observed)) * 100)

    @property
    def coverage_percent(self) -> float | None:
        """Share of the non-maintenance time we observed; None when there was none."""
        expected = self.observed + self.unknown
        if not expected:
            return None
        return float(Fraction(_us(self.observed), _us(expected)) * 100)

    @property
    def met(self) -> bool | None:
        """Whether uptime reached ``target`` (exactly, no float rounding).

        None without a target or without observed time.
        """
        if self.target is None or not self.observed:
            return None
        return _us(self.downtime) * 100 <= _us(self.observed) * (100 - _percent(self.target))

    @property
    def budget_allowed(self) -> timedelta | None:
        """Downtime the target allows over the observed time; None without a target."""
        return None if self.target is None else _budget(self.observed, self.target)

    @property
    def budget_used(self) -> timedelta | None:
        """The weighted downtime, when there is a target to spend it against; else None."""
        return None if self.target is None else self.downtime

    @property
    def budget_remaining(self) -> timedelta | None:
        """Allowed − used: negative when the budget is overspent; None without a target."""
        allowed = self.budget_allowed
        return None if allowed is None else allowed - self.downtime


# --- interval algebra over sorted, disjoint, half-open UTC intervals ---------------------


def _normalise(intervals: Iterable[Interval], name: str, bounds: Period) -> list[Interval]:
    """Sorted, merged, non-empty intervals clipped to ``bounds``, in UTC."""
    clipped = []
    for start, end in intervals:
        start, end = _utc(f"{name} start", start), _utc(f"{name} end", end)
        start, end = max(start, bounds.start), min(end, bounds.end)
        if start < end:
            clipped.append((start, end))
    clipped.sort()
    merged: list[Interval] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > start:
                out.append((start, b[k][0]))
            start = max(start, b[k][1])
            k += 1
        if start < end:
            out.append((start, end))
    return out


def _length(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))


# --- spans -> figures --------------------------------------------------------------------

Piece = tuple[datetime, datetime, Status]


def _timeline(spans: Iterable[Span]) -> list[Piece]:
    """Spans as ordered, non-overlapping ``(start, end, status)`` pieces (end None → max).

    Each span ends at its ``ended_at`` or at the next span's start, whichever is earlier.
    """
    spans = list(spans)
    services = {s.service_id for s in spans}
    if len(services) > 1:
        raise ValueError(
            f"spans of {len(services)} services given: measure each service, then combine()"
        )
    starts = [_utc("span started_at", s.started_at) for s in spans]
    order = sorted(range(len(spans)), key=starts.__getitem__)
    pieces = []
    for n, i in enumerate(order):
        span = spans[i]
        end = datetime.max.replace(tzinfo=UTC)
        if span.ended_at is not None:
            end = _utc("span ended_at", span.ended_at)
        if n + 1 < len(order):
            end = min(end, starts[order[n + 1]])
        if starts[i] < end:
            pieces.append((starts[i], end, span.status))
    return pieces


def _weights(weights: Mapping[Status, float]) -> dict[Status, float]:
    """Every counted status with its weight (missing ones weigh 0); raises on bad input."""
    for status, weight in weights.items():
        if status in _EXCLUDED:
            raise ValueError(
                f"{status.value} takes no downtime weight: it is excluded from the denominator"
            )
        if not 0 <= weight <= 1:
            raise ValueError(f"the weight of {status.value} must be from 0 to 1, got {weight}")
    return {s: weights.get(s, 0.0) for s in Status if s not in _EXCLUDED}


def _measure(
    pieces: Sequence[Piece],
    period: Period,
    *,
    now: datetime,
    target: float | None,
    weights: Mapping[Status, float],
    windows: Sequence[Interval] | None,
    held: Sequence[Interval],
) -> Uptime:
    """The figures for ``period``; ``held`` is the normalised maintenance windows."""
    whole = [(period.start, period.end)] if period.start < period.end else []
    considered = whole if windows is None else _intersect(windows, whole)
    past = _intersect(considered, [(period.start, max(period.start, min(now, period.end)))])
    seen = _subtract(past, held)
    by_status = dict.fromkeys(Status, timedelta(0))
    by_status[Status.MAINTENANCE] = _length(_intersect(past, held))
    for status in Status:
        mine = [
            (s, e) for s, e, st in pieces if st is status and s < period.end and e > period.start
        ]
        by_status[status] += _length(_intersect(mine, seen))
    total = _length(considered)
    # Gaps, time before the first span and time from `now` on are unknown: the remainder.
    by_status[Status.UNKNOWN] += total - sum(by_status.values(), timedelta(0))
    observed = total - by_status[Status.MAINTENANCE] - by_status[Status.UNKNOWN]
    downtime = sum((by_status[s] * w for s, w in weights.items() if w), start=timedelta(0))
    return Uptime(
        period=period,
        total=total,
        observed=observed,
        maintenance=by_status[Status.MAINTENANCE],
        unknown=by_status[Status.UNKNOWN],
        downtime=downtime,
        by_status=MappingProxyType(by_status),
        target=target,
    )


def uptime(
    spans: Iterable[Span],
    period: Period,
    *,
    now: datetime,
    target: float | None = None,
    weights: Mapping[Status, float] = DEFAULT_WEIGHTS,
    windows: Sequence[Interval] | None = None,
    maintenance: Sequence[Interval] = (),
) -> Uptime:
    """Uptime of one service over ``period`` from its status ``spans``.

    ``spans`` must all belong to one service (ValueError otherwise); they may reach outside
    the period and be in any order. ``now`` (aware) is the current time: nothing at or after
    it has been observed. ``windows`` (aware ``(start, end)`` pairs, any order, may overlap)
    restrict the considered time, e.g. to school hours; None considers the whole period.
    ``maintenance`` windows are declared maintenance, excluded like the maintenance status.
    ``target`` is the SLA percentage (0–100) or None. ``weights`` maps each counted status to
    the fraction of its time that is downtime (0–1; a status left out weighs 0; maintenance
    and unknown may not appear). See the module docstring for the rules.
    """
    _check_target(target)
    now = _utc("now", now)
    return _measure(
        _timeline(spans),
        period,
        now=now,
        target=target,
        weights=_weights(weights),
        windows=None if windows is None else _normalise(windows, "window", period),
        held=_normalise(maintenance, "maintenance", period),
    )


def combine(uptimes: Sequence[Uptime]) -> Uptime:
    """One figure for several services (a provider, a site, a trust) or several periods.

    Every duration is summed, so each service weighs in by its observed time: a service
    watched all month counts for more than one added last week, and uptime_percent is
    (Σ observed − Σ downtime) / Σ observed — not the mean of the percentages. The period is
    the smallest one spanning all of them; the target is theirs when they all share one,
    else None (use ``dataclasses.replace`` to set another). Combining the months of one
    service gives its figures for the months together. Raises ValueError when empty.
    """
    if not uptimes:
        raise ValueError("nothing to combine")
    targets = {u.target for u in uptimes}
    by_status = {s: sum((u.by_status[s] for u in uptimes), timedelta(0)) for s in Status}

    def total(name: str) -> timedelta:
        return sum((getattr(u, name) for u in uptimes), timedelta(0))

    return Uptime(
        period=Period(min(u.period.start for u in uptimes), max(u.period.end for u in uptimes)),
        total=total("total"),
        observed=total("observed"),
        maintenance=total("maintenance"),
        unknown=total("unknown"),
        downtime=total("downtime"),
        by_status=MappingProxyType(by_status),
        target=targets.pop() if len(targets) == 1 else None,
    )


@dataclass(frozen=True)
class YearProjection:
    """Where a service's downtime is heading for the year, at the rate seen so far.

    ``projected_downtime`` = so_far.downtime × basis / so_far.observed: the downtime rate of
    the observed time so far, applied to the whole ``basis`` (the year's considered time).
    None when nothing has been observed yet. It assumes the rest of the year goes as the
    year so far did — a trend line for governors, not a forecast.
    """

    year: Period
    basis: timedelta
    so_far: Uptime
    projected_downtime: timedelta | None
    target: float | None

    @property
    def budget_allowed(self) -> timedelta | None:
        """Downtime the target allows over the whole basis; None without a target."""
        return None if self.target is None else _budget(self.basis, self.target)

    @property
    def budget_remaining(self) -> timedelta | None:
        """The year's budget less the downtime so far (negative when already overspent)."""
        allowed = self.budget_allowed
        return None if allowed is None else allowed - self.so_far.downtime

    @property
    def on_track(self) -> bool | None:
        """Projected downtime within the year's budget; None without target or projection."""
        allowed = self.budget_allowed
        if allowed is None or self.projected_downtime is None:
            return None
        return self.projected_downtime <= allowed


def project_year(
    so_far: Uptime | Sequence[Uptime],
    year: Period,
    *,
    basis: timedelta | None = None,
) -> YearProjection:
    """Project the year's downtime from the year to date.

    ``so_far`` is the year-to-date Uptime, or the months so far (combined with ``combine``).
    ``basis`` is the time the year's figure is measured over: by default the whole ``year``;
    for school-hours-only uptime, pass the total length of the year's school intervals. The
    target is ``so_far``'s.
    """
    ytd = so_far if isinstance(so_far, Uptime) else combine(so_far)
    basis = year.duration if basis is None else basis
    if basis < timedelta(0):
        raise ValueError("basis must not be negative")
    projected = None
    if ytd.observed:
        projected = timedelta(
            microseconds=round(Fraction(_us(ytd.downtime) * _us(basis), _us(ytd.observed)))
        )
    return YearProjection(year, basis, ytd, projected, ytd.target)


@dataclass(frozen=True)
class DayFigure:
    """One local calendar day of the report's day-by-day strip."""

    day: date
    uptime: Uptime

    @property
    def uptime_percent(self) -> float | None:
        return self.uptime.uptime_percent

    @property
    def worst(self) -> Status:
        """The most severe status held that day (declared maintenance shows as maintenance).

        ``unknown`` when nothing was known that day — including a day with no considered
        time at all (a weekend with school-hours windows: ``uptime.total`` is then zero).
        """
        return worst(s for s, d in self.uptime.by_status.items() if d)


def daily(
    spans: Iterable[Span],
    period: Period,
    tz: ZoneInfo,
    *,
    now: datetime,
    target: float | None = None,
    weights: Mapping[Status, float] = DEFAULT_WEIGHTS,
    windows: Sequence[Interval] | None = None,
    maintenance: Sequence[Interval] = (),
) -> list[DayFigure]:
    """``uptime`` for each local calendar day in ``tz`` that overlaps ``period``, in order.

    A day cut by the period's ends is measured over its part inside the period, so the days'
    durations always add up to the whole period's. Arguments as for ``uptime``.
    """
    _check_target(target)
    now = _utc("now", now)
    pieces = _timeline(spans)
    counted = _weights(weights)
    norm_windows = None if windows is None else _normalise(windows, "window", period)
    held = _normalise(maintenance, "maintenance", period)
    figures: list[DayFigure] = []
    day = period.start.astimezone(tz).date()
    while period.start < period.end:
        bounds = day_period(day, tz)
        if bounds.start >= period.end:
            break
        start, end = max(bounds.start, period.start), min(bounds.end, period.end)
        if start < end:  # always, except on a day a time zone skipped altogether
            measured = _measure(
                pieces,
                Period(start, end),
                now=now,
                target=target,
                weights=counted,
                windows=norm_windows,
                held=held,
            )
            figures.append(DayFigure(day, measured))
        day += timedelta(days=1)
    return figures
