from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from monitor.maintenance import MaintenanceWindow, active

LONDON = ZoneInfo("Europe/London")


def window(**kw: object) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "w", **kw})


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 12, 6, 0, 59, tzinfo=UTC), False),
        (datetime(2026, 12, 6, 1, 0, tzinfo=UTC), True),  # GMT: local == UTC in December
        (datetime(2026, 12, 6, 4, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 6, 5, 0, tzinfo=UTC), False),
    ],
)
def test_one_off_window_in_local_time(moment: datetime, inside: bool) -> None:
    w = window(start="2026-12-06 01:00", end="2026-12-06 05:00")
    assert w.covers(moment, LONDON) is inside


def test_weekly_window_keeps_local_hours_across_the_clock_change() -> None:
    w = window(every=["sun"], start="01:00", end="03:00")
    # Sunday 5 July 2026 (BST): 01:30 local is 00:30 UTC
    assert w.covers(datetime(2026, 7, 5, 0, 30, tzinfo=UTC), LONDON)
    assert not w.covers(datetime(2026, 7, 5, 2, 30, tzinfo=UTC), LONDON)  # 03:30 local
    # Sunday 6 December 2026 (GMT)
    assert w.covers(datetime(2026, 12, 6, 2, 59, tzinfo=UTC), LONDON)
    assert not w.covers(datetime(2026, 12, 7, 1, 30, tzinfo=UTC), LONDON)  # a Monday


def test_weekly_window_past_midnight() -> None:
    w = window(every=["sat"], start="23:00", end="02:00")
    assert w.covers(datetime(2026, 12, 5, 23, 30, tzinfo=UTC), LONDON)  # Saturday night
    assert w.covers(datetime(2026, 12, 6, 1, 30, tzinfo=UTC), LONDON)  # into Sunday
    assert not w.covers(datetime(2026, 12, 6, 23, 30, tzinfo=UTC), LONDON)  # Sunday night


def test_scope_by_service_site_or_all() -> None:
    at = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    windows = [
        window(start="2026-12-06 01:00", end="2026-12-06 05:00", services=["internet"]),
        window(start="2026-12-06 01:00", end="2026-12-06 05:00", sites=["elm"]),
    ]
    assert active(windows, "internet", "oak", at, LONDON) is windows[0]
    assert active(windows, "mis", "elm", at, LONDON) is windows[1]
    assert active(windows, "mis", "oak", at, LONDON) is None
    assert (
        active([window(every=["sun"], start="01:00", end="03:00")], "any", None, at, LONDON)
        is not None
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"start": "01:00", "end": "03:00"},  # times without every
        {"every": ["sun"], "start": "2026-12-06 01:00", "end": "2026-12-06 03:00"},
        {"start": "2026-12-06 05:00", "end": "2026-12-06 01:00"},
        {"every": ["sunday"], "start": "01:00", "end": "03:00"},
    ],
)
def test_invalid_windows(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        window(**bad)
