"""From due deliveries to stored notifications (pure): address, render, key.

``escalation.plan`` decides *what* is due for an incident; this module turns each ``Due`` into
a ``Notification`` with its recipient address (email, phone or chat room), a message rendered
for that recipient (with their own acknowledgement link), and the emails to fall back to if
the channel fails for good. Messages are rendered now and stored, so a retry after a restart
sends exactly what was decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from monitor.config import Config, Contact, Service
from monitor.escalation import EMAIL, Due, Target
from monitor.model import Incident, ProviderIncident, Status
from monitor.render import AlertContext, AlertKind, Related, render_alert
from monitor.store import Notification

AckUrl = Callable[[str, str | None], str | None]  # (incident id, contact id) -> link


@dataclass(frozen=True)
class Channels:
    """What the planner must know of the configured channels."""

    person: frozenset[str]  # channels addressed to a person: email, and every sms channel
    phone: frozenset[str]  # person channels that need a phone number (sms)

    def address(self, target: Target, contact: Contact | None) -> str | None:
        if target.contact_id is None:
            return target.channel  # a chat room: the channel itself
        if contact is None:
            return None
        return contact.phone if target.channel in self.phone else contact.email


def build(
    config: Config,
    channels: Channels,
    incident: Incident,
    dues: Sequence[Due],
    told: Sequence[Target],
    now: datetime,
    *,
    related: Sequence[Related] = (),
    ack_url: AckUrl = lambda incident_id, contact_id: None,
    update: ProviderIncident | None = None,
) -> list[Notification]:
    """A notification for each due delivery; ``told`` is everyone told before these."""
    service = config.service(incident.service_id)
    contacts = {c.id: c for c in config.contacts}
    everyone = [*told, *(d.target for d in dues)]
    recipients = tuple(
        contacts[cid]
        for cid in dict.fromkeys(t.contact_id for t in everyone if t.contact_id)
        if cid in contacts
    )
    # Falling back to email helps only those not emailed the same message already.
    emailed = {d.target.contact_id for d in dues if d.target.channel == EMAIL}
    step_emails = _fallback_emails(dues, contacts, service, emailed)
    out = []
    for due in dues:
        contact = contacts.get(due.target.contact_id) if due.target.contact_id else None
        address = channels.address(due.target, contact)
        if not address:
            continue
        open_for_ack = incident.resolved_at is None and incident.acknowledged_at is None
        message = render_alert(
            AlertContext(
                kind=cast(AlertKind, due.kind),
                organisation=config.organisation,
                service=service,
                site=config.site(service.site),
                incident=incident,
                recipients=recipients,
                now=now,
                ack_url=ack_url(incident.id, due.target.contact_id) if open_for_ack else None,
                related=tuple(related),
                step=due.step or 0,
                update=update,
            )
        )
        if due.target.channel == EMAIL:
            fallback: tuple[str, ...] = ()
        elif contact is not None:
            fallback = (contact.email,) if contact.email and contact.id not in emailed else ()
        else:
            fallback = step_emails
        out.append(
            Notification(
                key=due.key,
                channel=due.target.channel,
                recipient=address,
                kind=due.kind,
                message=message,
                created_at=now,
                incident_id=incident.id,
                contact_id=due.target.contact_id,
                fallback=fallback,
            )
        )
    return out


def _fallback_emails(
    dues: Sequence[Due], contacts: dict[str, Contact], service: Service, emailed: set[str | None]
) -> tuple[str, ...]:
    """Where a chat room's message goes if the room cannot be reached: the people named
    alongside it, else the service's own contacts — less anyone emailed it already."""
    named = [d.target.contact_id for d in dues if d.target.contact_id]
    ids = [c for c in (named or list(service.notify)) if c not in emailed]
    return tuple(
        dict.fromkeys(e for c in ids if (e := getattr(contacts.get(c), "email", None)) is not None)
    )


def related_services(
    config: Config, statuses: dict[str, Status], ids: Sequence[str], reason: Callable[[str], str]
) -> list[Related]:
    """``Related`` entries for the service ids given, with their current statuses."""
    return [
        Related(config.service(sid), statuses.get(sid, Status.UNKNOWN), reason(sid))
        for sid in dict.fromkeys(ids)
    ]
