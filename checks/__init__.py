"""Check types: one module per ``type``, and the explicit registry that maps one to the other.

Each module follows the interface in ``checks.base`` (``Spec``, ``probe``, ``evaluate``).
Adding a type means writing its module, then adding it to ``REGISTRY`` and ``AnyCheck`` below;
a unit test holds the two in step. Importing this package only imports those modules: no
reflection, no registration side effects.
"""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import Field

from checks import feed, http, statuspage
from checks.base import CheckModule, CheckSpec
from monitor.errors import CheckError

REGISTRY: dict[str, CheckModule] = {
    # cast: a module object satisfies the protocol structurally; mypy cannot see that a
    # module's ``Spec`` class fits ``type[CheckSpec]``.
    "statuspage": cast(CheckModule, statuspage),
    "feed": cast(CheckModule, feed),
    "http": cast(CheckModule, http),
}
"""``type`` → check module."""

AnyCheck = Annotated[statuspage.Spec | feed.Spec | http.Spec, Field(discriminator="type")]
"""Any check spec, chosen by its ``type`` key (for use in the config model)."""


def module_for(spec: CheckSpec) -> CheckModule:
    """The module that probes and evaluates ``spec``.

    Raises ``CheckError`` for a type with no module, which only a spec built outside
    ``AnyCheck`` can have.
    """
    try:
        return REGISTRY[spec.type]
    except KeyError:
        raise CheckError(f"no check module for type {spec.type!r}") from None


__all__ = ["REGISTRY", "AnyCheck", "CheckModule", "CheckSpec", "module_for"]
