"""Durations as people write them in YAML: ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``, ``500ms``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """Parse ``value`` into a timedelta. Raises ValueError with a message meant for users.

    Bare numbers are seconds. Negative durations are rejected.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 5m, 2h or 1d")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text or _PART.sub("", text):
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m, 2h or 1d")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
    else:
        raise ValueError("must be a duration such as 30s, 5m, 2h or 1d")
    if seconds < 0:
        raise ValueError("must not be negative")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render for people: ``2h 5m``, ``43m 12s``, ``1d 3h``; zero is ``0s``."""
    total = int(round(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return " ".join(parts[:2]) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: f"{d.total_seconds():g}s", return_type=str),
]
