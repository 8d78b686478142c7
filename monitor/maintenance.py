"""Declared maintenance windows (pure): one-off or weekly, for some services, sites or all.

During a window a service's problems read as ``maintenance``: no incident, no alert, and the
status spans say ``maintenance`` so the SLA maths leave that time out. Times are wall-clock
times in the organisation's timezone, so a weekly window keeps its local hours across a
clock change.

YAML::

    maintenance:
      - {name: Broadband upgrade, start: "2026-12-06 01:00", end: "2026-12-06 05:00",
         services: [internet]}
      - {name: Sunday patching, every: [sun], start: "01:00", end: "03:00"}
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceWindow(BaseModel):
    """A one-off window (``start``/``end`` are date-times) or a weekly one (``every`` plus
    ``start``/``end`` times of day; an end before the start runs past midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    start: datetime | time
    end: datetime | time
    every: list[Weekday] = []
    services: list[str] = []
    sites: list[str] = []

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if self.every:
            if not (isinstance(self.start, time) and isinstance(self.end, time)):
                raise ValueError('a weekly window needs times of day, e.g. start: "01:00"')
            if self.start == self.end:
                raise ValueError("start and end must differ")
        else:
            if not (isinstance(self.start, datetime) and isinstance(self.end, datetime)):
                raise ValueError(
                    'a one-off window needs date and time, e.g. start: "2026-12-06 01:00" '
                    "(or give every: [sun] for a weekly window)"
                )
            if self.end <= self.start:
                raise ValueError("end must be after start")
        return self

    def applies_to(self, service_id: str, site_id: str | None) -> bool:
        if not self.services and not self.sites:
            return True
        return service_id in self.services or (site_id is not None and site_id in self.sites)

    def covers(self, moment: datetime, tz: ZoneInfo) -> bool:
        """Whether the aware ``moment`` falls inside the window ([start, end))."""
        local = moment.astimezone(tz)
        if not self.every:
            assert isinstance(self.start, datetime) and isinstance(self.end, datetime)
            start, end = _aware(self.start, tz), _aware(self.end, tz)
            return start <= moment < end
        assert isinstance(self.start, time) and isinstance(self.end, time)
        for day in (local.date(), local.date() - timedelta(days=1)):
            if _DAYS[day.weekday()] not in self.every:
                continue
            start = _at(day, self.start, tz)
            end_day = day if self.end > self.start else day + timedelta(days=1)
            if start <= moment < _at(end_day, self.end, tz):
                return True
        return False


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


def active(
    windows: list[MaintenanceWindow],
    service_id: str,
    site_id: str | None,
    moment: datetime,
    tz: ZoneInfo,
) -> MaintenanceWindow | None:
    """The first declared window covering ``service_id`` at ``moment``, or None."""
    for window in windows:
        if window.applies_to(service_id, site_id) and window.covers(moment, tz):
            return window
    return None
