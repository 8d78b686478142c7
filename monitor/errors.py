"""Lifeline's one error tree.

LifelineError
├── ConfigError      the YAML is wrong; carries every problem found, each with file:line
├── CheckError       a probe could not be made (used inside checks; never escapes the scheduler)
├── NotifierError    a channel failed to deliver; ``permanent`` says whether retrying can help
└── StoreError       the database could not be read or written
"""

from __future__ import annotations


class LifelineError(Exception):
    """Base of every error Lifeline raises on purpose."""


class ConfigError(LifelineError):
    """The configuration is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class CheckError(LifelineError):
    """A probe failed in a way a check turns into a result with a reason."""


class NotifierError(LifelineError):
    """Delivery failed. ``permanent=True`` means retrying the same message cannot succeed."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)


class StoreError(LifelineError):
    """The store could not complete an operation."""
