"""Escalation planning (pure): who is told what, and when, about one incident.

A policy is a list of steps, each ``after`` a delay from the incident's start, naming contacts
(or groups, or ``@service`` for the service's own ``notify`` list) and the channels to use::

    escalation:
      critical:
        - {after: 0m,  notify: ["@service"], via: [email, teams-it]}
        - {after: 30m, notify: [leadership], via: [email, sms]}
        - {after: 2h,  notify: [trust-it-director], via: [email, sms]}

``plan`` compares what is due now with what the incident has already sent (the outbox keys)
and returns only what is missing, so running it again — after a restart, or every few
seconds — never repeats or skips a step. Acknowledging stops the steps not yet due; everyone
already told then hears who acknowledged, gets reminders while nobody has, and hears when it
is resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from monitor.durations import Duration
from monitor.schoolcal import Calendar, next_school_time

SERVICE_CONTACTS = "@service"
EMAIL = "email"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: Duration = timedelta(0)
    notify: list[str] = Field(min_length=1)
    via: list[str] = [EMAIL]


DEFAULT_POLICY = (Step(notify=[SERVICE_CONTACTS]),)
"""Without a policy: the service's ``notify`` contacts, by email, at once."""


@dataclass(frozen=True, order=True)
class Target:
    """One delivery address: a channel and, for per-person channels, the contact."""

    channel: str
    contact_id: str | None = None  # None: a chat channel that posts to a room

    @property
    def slug(self) -> str:
        return f"{self.channel}/{self.contact_id or '-'}"


@dataclass(frozen=True)
class ResolvedStep:
    after: timedelta
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Due:
    """A notification to create now. ``key`` makes it happen once."""

    key: str
    kind: str  # down | reminder | acknowledged | recovered
    target: Target
    step: int | None = None


@dataclass(frozen=True)
class IncidentClock:
    """What the planner needs to know of an incident."""

    id: str
    start: datetime  # when the policy's clock starts (opening, or the start of school hours)
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


def clock_start(
    opened_at: datetime,
    group_window: timedelta,
    calendar: Calendar | None,
    tz: ZoneInfo,
) -> datetime:
    """When an incident's escalation clock starts: once the group window has passed, and,
    given the school ``calendar`` of a service that may wait, not before school hours."""
    start = opened_at + group_window
    if calendar is not None:
        school = next_school_time(calendar, start, tz)
        if school is not None:
            start = max(start, school)
    return start


def key(incident_id: str, kind: str, number: int, target: Target) -> str:
    return f"{incident_id}/{kind}/{number}/{target.slug}"


def resolve(
    steps: Sequence[Step],
    service_contacts: Sequence[str],
    groups: dict[str, list[str]],
    person_channels: set[str],
    reachable: dict[str, set[str]],
) -> tuple[ResolvedStep, ...]:
    """Expand groups and ``@service`` into contacts and each channel into targets.

    ``person_channels`` are channels addressed to a person (email, sms); others post once
    per step to their room. ``reachable[channel]`` is the set of contacts with an address for
    that channel: a contact without a phone number is not sent an SMS.
    """
    resolved = []
    for step in steps:
        contacts = list(dict.fromkeys(_expand(step.notify, service_contacts, groups)))
        targets: list[Target] = []
        for channel in step.via:
            if channel in person_channels:
                targets += [
                    Target(channel, c) for c in contacts if c in reachable.get(channel, set())
                ]
            else:
                targets.append(Target(channel))
        resolved.append(ResolvedStep(step.after, tuple(dict.fromkeys(targets))))
    return tuple(resolved)


def _expand(
    names: Iterable[str], service_contacts: Sequence[str], groups: dict[str, list[str]]
) -> Iterable[str]:
    for name in names:
        if name == SERVICE_CONTACTS:
            yield from service_contacts
        elif name in groups:
            yield from groups[name]
        else:
            yield name


def plan(
    incident: IncidentClock,
    steps: Sequence[ResolvedStep],
    sent: Iterable[str],
    now: datetime,
    remind_every: timedelta | None = None,
) -> list[Due]:
    """What must be created now for ``incident``, given the keys already ``sent``."""
    existing = set(sent)
    told = told_targets(incident.id, existing)
    if incident.resolved_at is not None:
        # Over: a step or reminder that fell due meanwhile would only alarm people about an
        # outage that has ended. Everyone told hears it has recovered.
        recovered = [Due(key(incident.id, "recovered", 0, t), "recovered", t) for t in told]
        return [d for d in recovered if d.key not in existing]
    # A step is planned as a whole, so any key of it means it was done (or covered by a
    # grouped message naming this incident): later changes to its list don't re-fire it.
    done = {int(k.split("/")[2]) for k in existing if k.startswith(f"{incident.id}/down/")}
    due: list[Due] = []
    stop_at = min((t for t in (incident.acknowledged_at, incident.resolved_at) if t), default=None)
    for number, step in enumerate(steps):
        at = incident.start + step.after
        if number in done or at > now or (stop_at is not None and at > stop_at):
            continue
        for target in step.targets:
            due.append(Due(key(incident.id, "down", number, target), "down", target, number))
            told.setdefault(target, None)
    if incident.resolved_at is None and incident.acknowledged_at is None and remind_every:
        # Reminders repeat every ``remind_every`` after the latest step that has fired, so a
        # step is never followed at once by a reminder; the key names that step and the
        # round, and only the current round is created (no backlog after a restart).
        fired = [i for i, s in enumerate(steps) if incident.start + s.after <= now]
        if fired:
            last = fired[-1]
            rounds = int((now - incident.start - steps[last].after) / remind_every)
            if rounds >= 1:
                number = (last + 1) * 1000 + rounds
                due += [Due(key(incident.id, "reminder", number, t), "reminder", t) for t in told]
    if incident.acknowledged_at is not None:
        due += [Due(key(incident.id, "acknowledged", 0, t), "acknowledged", t) for t in told]
    if incident.resolved_at is not None:
        due += [Due(key(incident.id, "recovered", 0, t), "recovered", t) for t in told]
    return [d for d in due if d.key not in existing]


def told_targets(incident_id: str, keys: Iterable[str]) -> dict[Target, None]:
    """Everyone a DOWN message of the incident went (or is going) to, in order."""
    told: dict[Target, None] = {}
    prefix = f"{incident_id}/down/"
    for k in keys:
        if k.startswith(prefix) and "/fallback/" not in k:  # a fall-back email is no new target
            _, channel, contact = k[len(prefix) :].split("/", 2)
            told.setdefault(Target(channel, None if contact == "-" else contact), None)
    return told
