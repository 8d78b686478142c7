"""Display helpers shared by the documents (report, plan, review, scorecard). Pure.

Figures are turned into display strings here, so templates only lay them out. Percentages
are computed exactly from the durations and *truncated*, never rounded up: 99.8996% shows as
99.899%, so a figure below its target never displays as meeting it.

Escaping: HTML templates are autoescaped by Jinja; Markdown templates pass every value
through the ``md`` filter (``md_escape``), which backslash-escapes Markdown and HTML syntax so
provider text cannot add links, emphasis, tables cells or raw HTML to a document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from fractions import Fraction

from markupsafe import Markup, escape

from monitor.durations import format_duration
from monitor.model import Status
from monitor.sla import DayFigure, Uptime
from monitor.templating import environment, md_escape

__all__ = [
    "STATUS_COLOURS",
    "budget_text",
    "day_strip_svg",
    "duration_text",
    "environment",
    "long_date",
    "md_escape",
    "percent",
    "percent_of",
    "signed_duration",
    "target_text",
]

_US = timedelta(microseconds=1)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: Fill colours of the day strip and status badges (readable with dark text beside them).
STATUS_COLOURS = {
    Status.UP: "#16a34a",
    Status.MAINTENANCE: "#2563eb",
    Status.DEGRADED: "#eab308",
    Status.PARTIAL_OUTAGE: "#f97316",
    Status.MAJOR_OUTAGE: "#dc2626",
    Status.UNKNOWN: "#9ca3af",
}
NO_DATA_COLOUR = "#e5e7eb"


def month_name(month: int) -> str:
    return _MONTHS[month - 1]


def long_date(day: date) -> str:
    """``"1 September 2026"``; locale-independent."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def percent_of(part: timedelta, whole: timedelta, places: int = 3) -> str:
    """``part / whole`` as a percentage truncated to ``places`` decimals; ``"—"`` if ``whole`` is 0.

    Exactly 100 shows as ``"100%"``; anything less keeps its decimals (``"99.999%"``).
    """
    if whole <= timedelta(0):
        return "—"
    value = Fraction(part // _US, whole // _US) * 100
    scale = 10**places
    scaled = value.numerator * scale // value.denominator  # floor, exactly
    if scaled == 100 * scale:
        return "100%"
    whole_part, decimals = divmod(scaled, scale)
    return f"{whole_part}.{decimals:0{places}d}%" if places else f"{whole_part}%"


def percent(uptime: Uptime | None, places: int = 3) -> str:
    """The uptime of ``uptime`` (see ``percent_of``); ``"—"`` when nothing was observed."""
    if uptime is None:
        return "—"
    return percent_of(uptime.observed - uptime.downtime, uptime.observed, places)


def coverage(uptime: Uptime | None) -> str:
    """Share of the non-maintenance time that was observed, like ``percent``."""
    if uptime is None:
        return "—"
    return percent_of(uptime.observed, uptime.observed + uptime.unknown)


def target_text(target: float | None) -> str:
    """``99.9`` → ``"99.9%"``; ``"none"`` without a target."""
    return "none" if target is None else f"{target:g}%"


def duration_text(delta: timedelta | None) -> str:
    """``format_duration`` with ``"—"`` for None (e.g. no incidents, no mean)."""
    return "—" if delta is None else format_duration(delta)


def signed_duration(delta: timedelta) -> str:
    """``"+25m"`` / ``"−10m"`` / ``"0s"`` (a real minus sign)."""
    if delta > timedelta(0):
        return "+" + format_duration(delta)
    if delta < timedelta(0):
        return "\u2212" + format_duration(-delta)
    return "0s"


def budget_text(uptime: Uptime) -> str:
    """``"16m 5s left"``, ``"overspent by 1h 46m"``, ``"no target"`` or ``"no data"``."""
    remaining = uptime.budget_remaining
    if remaining is None:
        return "no target"
    if uptime.observed <= timedelta(0):
        return "no data"
    if remaining < timedelta(0):
        return f"overspent by {format_duration(-remaining)}"
    return f"{format_duration(remaining)} left"


def result_text(uptime: Uptime) -> str:
    """``"MET"``, ``"BREACHED"``, or ``"no target"`` / ``"no data"``."""
    if uptime.met is None:
        return "no target" if uptime.target is None else "no data"
    return "MET" if uptime.met else "BREACHED"


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(moment: datetime, tz: tzinfo) -> date:
    return aware(moment).astimezone(tz).date()


def day_strip_svg(days: list[DayFigure] | tuple[DayFigure, ...], label: str) -> Markup:
    """The month's day-by-day strip as inline SVG: one square per local day, coloured by the
    worst status held that day, with a tooltip; day numbers below every few squares.

    No scripts, no external references; every text is escaped. ``label`` is the accessible
    name (``aria-label``).
    """
    cell, gap, height = 18, 2, 18
    width = len(days) * (cell + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 14}" '
        f'viewBox="0 0 {width} {height + 14}" role="img" aria-label="{escape(label)}">'
    ]
    for i, figure in enumerate(days):
        x = i * (cell + gap)
        known = figure.uptime.total > timedelta(0) and (
            figure.uptime.observed > timedelta(0) or figure.uptime.maintenance > timedelta(0)
        )
        colour = STATUS_COLOURS[figure.worst] if known else NO_DATA_COLOUR
        detail = f"{percent(figure.uptime)} up" if figure.uptime.observed else "no data"
        if known and figure.worst is not Status.UP:
            detail += f", worst: {figure.worst.label.lower()}"
        tip = f"{figure.day.day} {_MONTHS[figure.day.month - 1][:3]}: {detail}"
        parts.append(
            f'<rect x="{x}" y="0" width="{cell}" height="{height}" rx="2" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if figure.day.day == 1 or figure.day.day % 5 == 0:
            parts.append(
                f'<text x="{x + cell / 2:g}" y="{height + 11}" font-size="9" '
                f'font-family="Arial,Helvetica,sans-serif" fill="#4b5563" '
                f'text-anchor="middle">{figure.day.day}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
