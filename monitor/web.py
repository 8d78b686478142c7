"""The daemon's own small web server: acknowledgement pages (the dashboard will join them).

``GET /ack/{token}`` only *shows* the incident and a form: mail scanners such as Safe Links
open every link in an email, so a GET must never acknowledge. ``POST /ack/{token}``
acknowledges. Tokens are signed and expiring (``monitor.acklinks``). Every page is rendered
with autoescaping, sent with a strict Content-Security-Policy, never cached, and never
leaks the token in a Referer header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from monitor.acklinks import BadToken, read_token
from monitor.config import Config
from monitor.engine import Monitor
from monitor.render import format_local
from monitor.store import Store
from monitor.templating import environment

NAME_MAX = 100
NOTE_MAX = 1000

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _page(template: str, http_status: int = 200, **values: Any) -> web.Response:
    html = environment().get_template(template).render(**values)
    return web.Response(text=html, status=http_status, content_type="text/html", headers=_HEADERS)


def build_app(
    config: Config, store: Store, monitor: Monitor, clock: Callable[[], datetime]
) -> web.Application:
    assert config.web is not None
    secret = config.web.secret()
    tz = config.organisation.tz
    organisation = config.organisation.name

    def message(title: str, text: str, http_status: int = 200) -> web.Response:
        return _page(
            "page_message.html", http_status, title=title, text=text, organisation=organisation
        )

    async def claim_and_incident(request: web.Request) -> tuple[Any, Any] | web.Response:
        try:
            claim = read_token(secret, request.match_info["token"], clock())
        except BadToken as exc:
            return message(
                "Link not valid",
                f"Sorry — {exc}. Ask for the incident to be acknowledged another way.",
                400,
            )
        incident = await store.incident(claim.incident_id)
        if incident is None:
            return message("Incident not found", "This incident is not in Lifeline's records.", 404)
        if incident.resolved_at is not None:
            when = format_local(incident.resolved_at, tz)
            return message(
                "Already resolved", f"This incident was resolved at {when}. Nothing to acknowledge."
            )
        if incident.acknowledged_at is not None:
            when = format_local(incident.acknowledged_at, tz)
            return message(
                "Already acknowledged",
                f"{incident.acknowledged_by} acknowledged this incident at {when}.",
            )
        return claim, incident

    def who(contact_id: str | None) -> str:
        contact = next((c for c in config.contacts if c.id == contact_id), None)
        return contact.name if contact else ""

    async def confirm(request: web.Request) -> web.Response:
        found = await claim_and_incident(request)
        if isinstance(found, web.Response):
            return found
        claim, incident = found
        service = config.service(incident.service_id)
        site = config.site(service.site)
        return _page(
            "page_ack.html",
            organisation=organisation,
            service=service.name,
            place=site.name if site else organisation,
            status=incident.status.label,
            since=format_local(incident.opened_at, tz),
            functions=", ".join(service.functions),
            fallback=service.fallback,
            name=who(claim.contact_id),
            name_max=NAME_MAX,
            note_max=NOTE_MAX,
        )

    async def acknowledge(request: web.Request) -> web.Response:
        found = await claim_and_incident(request)
        if isinstance(found, web.Response):
            return found
        claim, incident = found
        form = await request.post()
        name = " ".join(str(form.get("name", "")).split())[:NAME_MAX] or who(claim.contact_id)
        note = str(form.get("note", "")).strip()[:NOTE_MAX] or None
        if not name:
            return message(
                "Name needed",
                "Please go back and give your name, so others know who is on it.",
                400,
            )
        done = await monitor.acknowledge(incident.id, name, note)
        if done is None or done.acknowledged_by is None:
            return message("Not acknowledged", "The incident could not be acknowledged.", 409)
        when = format_local(done.acknowledged_at or clock(), tz)
        service = config.service(incident.service_id).name
        return message(
            "Acknowledged",
            f"{service}: acknowledged by {done.acknowledged_by} at {when}. Escalation has stopped "
            "and everyone already told is being let know.",
        )

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok\n", headers=_HEADERS)

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_get("/ack/{token}", confirm)
    app.router.add_post("/ack/{token}", acknowledge)
    app.router.add_get("/healthz", health)
    return app
