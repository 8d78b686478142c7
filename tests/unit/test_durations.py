from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1.5h", 5400),
        (45, 45),
        ("2 h", 7200),
        ("1w", 604800),
    ],
)
def test_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "5", "ten minutes", "5x", "-5m", True, None, [1]])
def test_parse_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (2592, "43m 12s"), (3900, "1h 5m"), (97200, "1d 3h"), (7200, "2h")],
)
def test_format(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
