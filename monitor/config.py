"""The configuration model: one YAML file describes the whole estate.

``load_config(path)`` reads, interpolates ``${VAR}``s, validates with pydantic, checks every
cross-reference (sites, contacts, ``depends_on``, ``notify``) and rejects ``depends_on`` cycles.
Every problem is reported at once as ``file:line: field.path: message`` in a ConfigError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from checks import AnyCheck
from monitor.documents_config import (
    Communication,
    DocumentsConfig,
    Export,
    PlanInfo,
    Reports,
    documents_of,
    reference_problems,
)
from monitor.durations import Duration
from monitor.errors import ConfigError
from monitor.escalation import DEFAULT_POLICY, EMAIL, SERVICE_CONTACTS, Step
from monitor.maintenance import MaintenanceWindow
from monitor.schoolcal import Calendar
from monitor.yamlsource import Path as DataPath
from monitor.yamlsource import SourceMap, format_path, load_yaml
from notifiers.channels import AnyChannel

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
Criticality = Literal["critical", "high", "normal", "low"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _read_secret_file(path: Path | None) -> SecretStr | None:
    if path is None:
        return None
    try:
        return SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None


class Organisation(Model):
    name: str
    timezone: str = "Europe/London"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/London)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Smtp(Model):
    """Outgoing mail. ``starttls`` upgrades a plain connection; ``tls`` is implicit TLS (465)."""

    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    from_: str = Field(alias="from")
    timeout: Duration = timedelta(seconds=30)

    @model_validator(mode="after")
    def _password(self) -> Smtp:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise ValueError("a password needs a username (AUTH is used only with a username)")
        if self.tls and self.starttls and "starttls" in self.model_fields_set:
            raise ValueError("tls (implicit TLS) and starttls cannot both be true")
        return self

    @property
    def use_starttls(self) -> bool:
        """STARTTLS unless implicit TLS was chosen (``tls: true`` alone turns it off)."""
        return self.starttls and not self.tls

    def secret(self) -> str | None:
        """The password, read from ``password_file`` when that is how it is given."""
        value = self.password or _read_secret_file(self.password_file)
        return value.get_secret_value() if value else None


class Defaults(Model):
    interval: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=10)
    failures_before_alert: int = Field(2, ge=1, le=100)
    successes_before_recovery: int = Field(2, ge=1, le=100)
    # First runs are spread at random over this window (default: each probe's interval), so
    # probes keep an even load instead of all firing together; later runs keep their phase.
    spread: Duration | None = None
    concurrency: int = Field(100, ge=1, le=10_000)  # probes in flight at once
    retention: Duration = timedelta(days=90)  # how long raw check results are kept
    retry_initial: Duration = timedelta(seconds=30)  # first outbox retry after a failed send
    retry_max: Duration = timedelta(minutes=15)

    @field_validator("interval", "timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("must be more than 0s")
        return value


class Site(Model):
    id: Id
    name: str
    address: str | None = None


# One plain address: no display name, spaces, control characters or header syntax.
_EMAIL = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\]+")


class Contact(Model):
    id: Id
    name: str
    role: str = ""
    site: Id | None = None
    email: str | None = None
    phone: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class Support(Model):
    email: str | None = None
    phone: str | None = None
    url: str | None = None


class Provider(Model):
    name: str
    status_page: str | None = None
    support: Support | None = None


class Service(Model):
    id: Id
    name: str
    site: Id | None = None
    criticality: Criticality = "normal"
    functions: list[str] = []
    depends_on: list[Id] = []
    sla: float | None = Field(None, ge=0, le=100)
    max_tolerable_outage: Duration | None = None
    fallback: str = ""
    provider: Provider | None = None
    notify: list[Id] = []
    escalation: Id | list[Step] | None = None  # a policy's name, or steps of its own
    provider_updates: bool | None = (
        None  # tell those alerted when the provider posts (default: alerting.provider_updates)
    )
    checks: list[AnyCheck] = Field(min_length=1)


class Flapping(Model):
    window: Duration = timedelta(minutes=30)
    max_changes: int = Field(6, ge=1, le=1000)


class Reminders(Model):
    every: Duration = timedelta(hours=1)
    criticality: list[Criticality] = ["critical"]


class Alerting(Model):
    """How alerts are shaped: grouping, flap damping, reminders, provider updates."""

    group_window: Duration = timedelta(seconds=60)
    flapping: Flapping = Flapping()
    reminders: Reminders | None = Reminders()
    provider_updates: bool = True
    quiet_hours: list[Criticality] = ["normal", "low"]  # held until school hours (needs calendar:)


class Web(Model):
    """The daemon's own web server (acknowledgement pages; the dashboard later)."""

    listen: str = "127.0.0.1:8080"
    base_url: str
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    ack_valid_for: Duration = timedelta(days=7)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be the http(s):// address people reach Lifeline at")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_secret(self) -> Web:
        if (self.secret_key is None) == (self.secret_key_file is None):
            raise ValueError(
                "give secret_key or secret_key_file (used to sign acknowledgement links)"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("secret_key must be at least 16 characters")
        return self

    def secret(self) -> bytes:
        value = self.secret_key or _read_secret_file(self.secret_key_file)
        assert value is not None
        text = value.get_secret_value()
        if len(text) < 16:
            raise ValueError("secret_key must be at least 16 characters")
        return text.encode()

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class Config(Model):
    organisation: Organisation
    smtp: Smtp | None = None
    defaults: Defaults = Defaults()
    sites: list[Site] = []
    contacts: list[Contact] = []
    channels: dict[Id, AnyChannel] = {}
    groups: dict[Id, list[Id]] = {}
    escalation: dict[Id, list[Step]] = {}
    alerting: Alerting = Alerting()
    maintenance: list[MaintenanceWindow] = []
    calendar: Calendar | None = None
    web: Web | None = None
    reports: Reports | None = None
    communication: Communication | None = None
    exports: list[Export] = []
    plan: PlanInfo | None = None

    @field_validator("exports")
    @classmethod
    def _unique_exports(cls, value: list[Export]) -> list[Export]:
        return list(DocumentsConfig._unique_exports(tuple(value)))

    services: list[Service] = Field(min_length=1)

    def service(self, service_id: str) -> Service:
        return self._services[service_id]

    def contact(self, contact_id: str) -> Contact:
        return self._contacts[contact_id]

    def site(self, site_id: str | None) -> Site | None:
        return self._sites.get(site_id) if site_id else None

    @cached_property
    def _services(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def _contacts(self) -> dict[str, Contact]:
        return {c.id: c for c in self.contacts}

    @cached_property
    def _sites(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    def policy(self, service: Service) -> tuple[Step, ...]:
        """The escalation steps of ``service``: its own, its named policy, the policy named
        after its criticality, or the default (its ``notify`` contacts by email at once)."""
        if isinstance(service.escalation, list):
            return tuple(service.escalation)
        name = service.escalation or service.criticality
        return tuple(self.escalation.get(name, DEFAULT_POLICY))

    def check_interval(self, check: AnyCheck) -> timedelta:
        return check.interval or self.defaults.interval

    def check_timeout(self, check: AnyCheck) -> timedelta:
        return check.timeout or self.defaults.timeout


def secret_problems(config: Config) -> list[str]:
    """Secrets given as files that cannot be read (or are too short), as messages: checked
    by ``lifeline validate`` and before the daemon starts, not first at 3 a.m."""
    checks: list[tuple[str, Callable[[], object]]] = []
    if config.smtp is not None:
        checks.append(("smtp.password_file", config.smtp.secret))
    if config.web is not None:
        checks.append(("web.secret_key_file", config.web.secret))
    problems = []
    for name, read in checks:
        try:
            read()
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    return problems


def check_id(service_id: str, index: int) -> str:
    """Stable id of a service's ``index``-th check (its position in the YAML list)."""
    return f"{service_id}#{index}"


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``. Raises ConfigError with every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not a UTF-8 text file"]) from None
    return parse_config(text, str(path), os.environ if env is None else env)


def parse_config(text: str, filename: str, env: Mapping[str, str]) -> Config:
    """Validate YAML ``text``; ``filename`` is only used in error messages."""
    data, source = load_yaml(text, filename, env)
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{filename}:1: the file must be a mapping of sections (organisation:, services: …)"]
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_pydantic_problems(exc, data, source)) from None
    problems = [
        f"{source.where(p)}: {format_path(p)}: {msg}" for p, msg in _reference_problems(config)
    ]
    for line in reference_problems(config, documents_of(config)):
        where, _, message = line.partition(": ")
        path = _parse_path(where)
        problems.append(f"{source.where(path)}: {where}: {message}")
    if problems:
        raise ConfigError(problems)
    return config


def _pydantic_problems(exc: ValidationError, data: Any, source: SourceMap) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        path = _data_path(error["loc"], data)
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see the README's configuration reference)"
        elif error["type"] == "union_tag_invalid":
            message = (
                f"unknown check type {error['input'].get('type')!r}"
                if isinstance(error.get("input"), dict)
                else message
            )
        problems.append(f"{source.where(path)}: {format_path(path)}: {message}")
    return problems


def _data_path(loc: tuple[int | str, ...], data: Any) -> DataPath:
    """Map a pydantic error location onto the YAML data, dropping union tags it inserts."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and node.get("type") == part:
            continue  # the discriminator value pydantic adds to the location
        else:
            path.append(part)
            node = None
    return tuple(path)


def _reference_problems(config: Config) -> Iterator[tuple[DataPath, str]]:
    site_ids = {s.id for s in config.sites}
    contact_ids = {c.id for c in config.contacts}
    service_ids = {s.id for s in config.services}
    for kind, ids in (
        ("site", [s.id for s in config.sites]),
        ("contact", [c.id for c in config.contacts]),
        ("service", [s.id for s in config.services]),
    ):
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if item_id in seen:
                yield (f"{kind}s", i, "id"), f"duplicate {kind} id {item_id!r}"
            seen.add(item_id)
    for i, contact in enumerate(config.contacts):
        if contact.site is not None and contact.site not in site_ids:
            yield ("contacts", i, "site"), f"unknown site {contact.site!r}"
    for i, service in enumerate(config.services):
        if service.site is not None and service.site not in site_ids:
            yield ("services", i, "site"), f"unknown site {service.site!r}"
        for j, dep in enumerate(service.depends_on):
            if dep not in service_ids:
                yield ("services", i, "depends_on", j), f"unknown service {dep!r}"
            elif dep == service.id:
                yield ("services", i, "depends_on", j), "a service cannot depend on itself"
        for j, who in enumerate(service.notify):
            if who not in contact_ids:
                yield ("services", i, "notify", j), f"unknown contact {who!r}"
            elif config.contact(who).email is None and config.smtp is not None:
                yield ("services", i, "notify", j), f"contact {who!r} has no email address"
    group_ids = set(config.groups)
    for name, members in config.groups.items():
        if name in contact_ids:
            yield ("groups", name), f"group {name!r} has the same id as a contact"
        for j, member in enumerate(members):
            if member not in contact_ids:
                yield ("groups", name, j), f"unknown contact {member!r}"
    channels = {EMAIL, *config.channels}
    if EMAIL in config.channels:
        yield ("channels", EMAIL), "'email' is the built-in email channel (configured by smtp:)"
    steps: list[tuple[DataPath, Step]] = [
        (("escalation", name, j), step)
        for name, policy in config.escalation.items()
        for j, step in enumerate(policy)
    ]
    for i, service in enumerate(config.services):
        if isinstance(service.escalation, str) and service.escalation not in config.escalation:
            yield ("services", i, "escalation"), f"unknown escalation policy {service.escalation!r}"
        elif isinstance(service.escalation, list):
            steps += [
                (("services", i, "escalation", j), s) for j, s in enumerate(service.escalation)
            ]
    for path, step in steps:
        for k, who in enumerate(step.notify):
            if who != SERVICE_CONTACTS and who not in contact_ids and who not in group_ids:
                yield (*path, "notify", k), f"unknown contact or group {who!r} (or @service)"
        for k, channel in enumerate(step.via):
            if channel not in channels:
                yield (
                    (*path, "via", k),
                    f"unknown channel {channel!r} (email, or a name under channels:)",
                )
    for i, window in enumerate(config.maintenance):
        for j, sid in enumerate(window.services):
            if sid not in service_ids:
                yield ("maintenance", i, "services", j), f"unknown service {sid!r}"
        for j, site in enumerate(window.sites):
            if site not in site_ids:
                yield ("maintenance", i, "sites", j), f"unknown site {site!r}"
    uses_email = any(
        EMAIL in step.via for s in config.services for step in config.policy(s)
    ) and any(s.notify for s in config.services)
    if config.smtp is None and (uses_email or any(EMAIL in s.via for _, s in steps)):
        yield ("smtp",), "an smtp: section is needed to email the contacts in notify:"
    for cycle in _cycles(
        {s.id: [d for d in s.depends_on if d in service_ids and d != s.id] for s in config.services}
    ):
        index = next(i for i, s in enumerate(config.services) if s.id == cycle[0])
        yield (
            ("services", index, "depends_on"),
            "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
        )


def _parse_path(text: str) -> DataPath:
    """``reports.recipients[0]`` → ``("reports", "recipients", 0)``."""
    parts: list[str | int] = []
    for piece in text.replace("]", "").split("."):
        name, *indices = piece.split("[")
        if name:
            parts.append(name)
        parts += [int(i) for i in indices if i.isdigit()]
    return tuple(parts)


def _cycles(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Each cycle of the dependency graph once (depth-first, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                yield stack[stack.index(nxt) :]
            elif nxt not in state:
                yield from visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            yield from visit(node)
