"""What every check type shares: the spec base class and the module interface.

A check module (``checks/<type>.py``) provides:

- ``Spec``: a pydantic model with ``type: Literal["<type>"]``, extending ``CheckSpec``;
- ``probe(spec) -> HttpProbe``: what to fetch. Checks whose probes are equal share one fetch
  per interval (thirty schools on one MIS status page cost one request);
- ``evaluate(spec, observation, check_id) -> CheckResult``: pure; turns what the fetch saw into
  a status with a one-line summary. Never raises: a payload it cannot read is ``unknown``.

The scheduler owns timing, timeouts and latency, so checks contain only their own logic.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from monitor.durations import Duration
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult


class CheckSpec(BaseModel):
    """Fields every check accepts. ``interval``/``timeout`` default to ``defaults:``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str | None = None
    interval: Duration | None = None
    timeout: Duration | None = None

    def describe(self) -> str:
        """A short label for messages and tables, e.g. ``statuspage status.example.com``."""
        return self.name or self.type


class CheckModule(Protocol):
    Spec: type[CheckSpec]

    # ``spec`` is the module's own ``Spec``; typed Any so modules can narrow it.
    def probe(self, spec: Any) -> HttpProbe: ...

    def evaluate(self, spec: Any, observation: HttpObservation, check_id: str) -> CheckResult: ...
