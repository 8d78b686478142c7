"""Who is told what when an incident opens or resolves (pure).

An incident that opens sends a DOWN message to the service's ``notify`` contacts. When it
resolves, everyone who was sent the DOWN message gets RECOVERED. Messages are rendered now
and stored with the notification, so a retry after a restart sends exactly what was decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from monitor.config import Config, Contact
from monitor.incidents import Change
from monitor.model import Message
from monitor.render import AlertContext, render_alert
from monitor.store import Notification

EMAIL = "email"


def notification_key(incident_id: str, kind: str, contact_id: str, channel: str) -> str:
    return f"{incident_id}/{kind}/{contact_id}/{channel}"


def plan(
    config: Config, change: Change, told: Sequence[Notification], now: datetime
) -> list[Notification]:
    """Notifications for ``change``; ``told`` is what the incident has sent so far."""
    incident = change.incident
    if incident is None or not (change.opened or change.resolved):
        return []
    service = config.service(incident.service_id)
    if change.opened:
        kind: Literal["down", "recovered"] = "down"
        contacts = [config.contact(c) for c in service.notify]
    else:
        kind = "recovered"
        ids = dict.fromkeys(n.contact_id for n in told if n.kind == "down" and n.contact_id)
        contacts = [config.contact(c) for c in ids if c in {x.id for x in config.contacts}]
    recipients = tuple(c for c in contacts if c.email)
    if not recipients:
        return []
    message = render_alert(
        AlertContext(
            kind=kind,
            organisation=config.organisation,
            service=service,
            site=config.site(service.site),
            incident=incident,
            recipients=recipients,
            now=now,
        )
    )
    return [_email(incident.id, kind, c, message, now) for c in recipients]


def _email(
    incident_id: str, kind: str, contact: Contact, message: Message, now: datetime
) -> Notification:
    assert contact.email is not None
    return Notification(
        key=notification_key(incident_id, kind, contact.id, EMAIL),
        channel=EMAIL,
        recipient=contact.email,
        kind=kind,
        message=message,
        created_at=now,
        incident_id=incident_id,
        contact_id=contact.id,
    )
