"""The YAML sections behind Lifeline's documents: ``reports``, ``communication``, ``exports``
and ``plan``.

They are meant to sit at the top level of the configuration file, next to ``services:``::

    reports:                         # the monthly SLA report, sent on the 1st of each month
      recipients: [trust-coo, governors@oakfieldtrust.org.uk]   # contact ids or addresses
      send_at: "07:00"               # local time on the 1st (quoted: else YAML reads a number)
      format: html                   # html (with a plain-text alternative) or text
      site: null                     # a site id for one school's report; null for the whole trust

    communication:                   # the continuity plan's communication protocol
      staff: Briefing by the headteacher; a post in the "All staff" Teams channel.
      parents: Text message from the parent app (the SMS account if the app is down).
      governors: The head phones the chair of governors within two hours.
      status_page_url: https://status.oakfieldtrust.example/
      update_every: 1h               # how often people hear again while it lasts

    exports:                         # local copies of data to fall back on
      - {name: Offline contact list, location: Encrypted USB in the office safe,
         owner: oak-it, max_age: 7d, site: oakfield-primary, service: oak-mis}

    plan:
      version: "1.3"                 # quoted: an unquoted 1.10 would read as the number 1.1
      reviewed: 2026-09-01
      owner: trust-it-director       # a contact id
      next_review: 2027-09-01        # optional: a year after ``reviewed`` by default

``Config`` carries them (validated with the rest of the file, errors with file and line);
``documents_of(config)`` gathers them into a ``DocumentsConfig`` for the document builders,
and ``reference_problems`` checks the ids they mention against the ``Config``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from monitor.durations import Duration
from monitor.schoolcal import Clock, Date

if TYPE_CHECKING:  # config.py will import this module once it carries these sections
    from monitor.config import Config

__all__ = [
    "SECTIONS",
    "Communication",
    "DocumentsConfig",
    "Export",
    "PlanInfo",
    "Reports",
    "documents_of",
    "reference_problems",
]

#: The top-level keys of the configuration file these models describe.
SECTIONS = ("reports", "communication", "exports", "plan")

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _version(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, int | float):
        raise ValueError(
            f'write the version in quotes, e.g. "{value}": YAML reads an unquoted version as a '
            "number (1.10 would become 1.1)"
        )
    return value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"{value!r} is not an http(s):// address")
    return value.strip()


class Reports(_Model):
    """The monthly SLA report: who receives it, when, in what form, for which site."""

    recipients: tuple[str, ...] = ()
    send_at: Clock = dt.time(7, 0)
    format: Literal["html", "text"] = "html"
    site: Id | None = None

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not entry.strip() or any(c.isspace() or c in "<>,;" for c in entry):
                raise ValueError(f"{entry!r} is neither a contact id nor a single email address")
        return value


class Communication(_Model):
    """How people are told during an outage (the continuity plan's communication protocol)."""

    staff: str = ""
    parents: str = ""
    governors: str = ""
    status_page_url: str | None = None
    update_every: Duration = dt.timedelta(hours=1)

    @field_validator("status_page_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)


class Export(_Model):
    """A local copy of data to fall back on, e.g. the offline contact list.

    ``max_age`` is how old it may be before it is stale. ``owner`` is a contact id; ``site``
    and ``service`` (optional) say whose and of what it is.
    """

    name: str = Field(min_length=1)
    location: str = ""
    owner: Id | None = None
    max_age: Duration = dt.timedelta(days=1)
    site: Id | None = None
    service: Id | None = None


class PlanInfo(_Model):
    """The continuity plan's own details: its version, last review and owner."""

    version: Annotated[str, BeforeValidator(_version)] = "1.0"
    reviewed: Date | None = None
    owner: Id | None = None
    next_review: Date | None = None

    @property
    def review_due(self) -> dt.date | None:
        """``next_review``, else a year after ``reviewed`` (28 Feb after a 29 Feb), else None."""
        if self.next_review is not None:
            return self.next_review
        if self.reviewed is None:
            return None
        try:
            return self.reviewed.replace(year=self.reviewed.year + 1)
        except ValueError:  # 29 February
            return self.reviewed.replace(year=self.reviewed.year + 1, day=28)


class DocumentsConfig(_Model):
    """The four optional sections; an empty one means "not set up" and documents say so."""

    reports: Reports | None = None
    communication: Communication | None = None
    exports: tuple[Export, ...] = ()
    plan: PlanInfo | None = None

    @field_validator("exports")
    @classmethod
    def _unique_exports(cls, value: tuple[Export, ...]) -> tuple[Export, ...]:
        names = [e.name for e in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"export names must be unique: {', '.join(repeated)} repeated")
        return value


def documents_of(config: object) -> DocumentsConfig:
    """The documents sections of a ``Config`` that carries them (all empty when it does not)."""
    values = {name: getattr(config, name, None) for name in SECTIONS}
    return DocumentsConfig.model_validate({k: v for k, v in values.items() if v is not None})


def reference_problems(config: Config, docs: DocumentsConfig) -> list[str]:
    """Ids in ``docs`` that ``config`` does not know, as
    ``path: message`` lines; an empty list when every reference resolves."""
    contacts = {c.id: c for c in config.contacts}
    sites = {s.id for s in config.sites}
    services = {s.id for s in config.services}
    problems: list[str] = []
    if docs.reports is not None:
        for i, entry in enumerate(docs.reports.recipients):
            if "@" in entry:
                continue
            if entry not in contacts:
                problems.append(f"reports.recipients[{i}]: unknown contact {entry!r}")
            elif contacts[entry].email is None:
                problems.append(f"reports.recipients[{i}]: contact {entry!r} has no email address")
        if docs.reports.site is not None and docs.reports.site not in sites:
            problems.append(f"reports.site: unknown site {docs.reports.site!r}")
    for i, export in enumerate(docs.exports):
        if export.owner is not None and export.owner not in contacts:
            problems.append(f"exports[{i}].owner: unknown contact {export.owner!r}")
        if export.site is not None and export.site not in sites:
            problems.append(f"exports[{i}].site: unknown site {export.site!r}")
        if export.service is not None and export.service not in services:
            problems.append(f"exports[{i}].service: unknown service {export.service!r}")
    if docs.plan is not None and docs.plan.owner is not None and docs.plan.owner not in contacts:
        problems.append(f"plan.owner: unknown contact {docs.plan.owner!r}")
    return problems
