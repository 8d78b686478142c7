"""``lifeline demo``: a scripted outage against simulated providers, all on 127.0.0.1.

Starts a fake Statuspage-style provider (summary.json and history.atom), a school login page
and an SMTP sink, then runs the real daemon — scheduler, checks, tracker, store, outbox,
email — through an outage of the MIS and its recovery, printing what it detects and the mails
it sends. Nothing leaves the machine; no set-up is needed.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import re
import secrets
import socket
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiosmtpd.controller import Controller

from monitor.config import Config, parse_config
from monitor.daemon import Daemon
from monitor.store import Store

DEMO_CONFIG = """
organisation: {name: Oakfield Academy Trust (demo), timezone: Europe/London}
smtp: {host: 127.0.0.1, port: SMTP_PORT, starttls: false,
       from: "Lifeline <alerts@oakfield.example>"}
defaults: {interval: INTERVAL, timeout: 2s, spread: 0s, failures_before_alert: 2,
           successes_before_recovery: 2, retry_initial: 1s}
alerting: {group_window: INTERVAL}
web: {listen: "127.0.0.1:WEB_PORT", base_url: "http://127.0.0.1:WEB_PORT", secret_key: SECRET}
groups: {leadership: [sam]}
escalation:
  critical:
    - {after: 0s, notify: ["@service"], via: [email]}
    - {after: ESCALATE_AFTER, notify: [leadership], via: [email]}
sites: [{id: oakfield-primary, name: Oakfield Primary School}]
contacts:
  - {id: jo, name: Jo Patel, role: IT lead, site: oakfield-primary, email: jo@oakfield.example}
  - {id: sam, name: Sam Okafor, role: Business manager, site: oakfield-primary,
     email: sam@oakfield.example}
services:
  - id: mis
    name: MIS (Arbor)
    site: oakfield-primary
    criticality: critical
    functions: [attendance, assessment, parent contact details]
    sla: 99.9
    max_tolerable_outage: 4h
    fallback: |
      Take paper registers (office, drawer 2) and phone them through by 09:30.
      The offline parent contact list is on the encrypted USB stick in the safe.
    provider:
      name: Arbor Education (simulated)
      status_page: BASE/
      support: {email: support@provider.example, phone: "0300 000 0000"}
    notify: [jo]
    checks:
      - {type: statuspage, url: BASE/api/v2/summary.json, components: [MIS]}
      - {type: http, url: BASE/login, contains: Sign in}
  - id: parent-app
    name: Parent app
    site: oakfield-primary
    criticality: normal
    functions: [messages to parents]
    notify: [jo]
    checks:
      - {type: feed, url: BASE/history.atom}
"""


@dataclass
class Provider:
    """The simulated provider's state, changed by the script."""

    outage: bool = False
    requests: int = 0
    log: list[str] = field(default_factory=list)

    def summary(self, now: datetime) -> dict[str, Any]:
        status = "partial_outage" if self.outage else "operational"
        incidents = []
        if self.outage:
            incidents.append(
                {
                    "id": "demo1",
                    "name": "Attendance registers not saving",
                    "status": "investigating",
                    "impact": "major",
                    "shortlink": "https://stspg.io/demo1",
                    "created_at": now.isoformat(),
                    "updated_at": now.isoformat(),
                    "components": [{"id": "mis1", "name": "MIS"}],
                    "incident_updates": [
                        {
                            "id": "u1",
                            "status": "investigating",
                            "body": "We are investigating reports that registers are not saving.",
                            "created_at": now.isoformat(),
                        }
                    ],
                }
            )
        return {
            "page": {
                "id": "demo",
                "name": "Arbor (simulated)",
                "url": "",
                "updated_at": now.isoformat(),
            },
            "status": {
                "indicator": "major" if self.outage else "none",
                "description": "Partial System Outage"
                if self.outage
                else "All Systems Operational",
            },
            "components": [
                {"id": "mis1", "name": "MIS", "status": status, "group": False, "group_id": None},
                {
                    "id": "api1",
                    "name": "API",
                    "status": "operational",
                    "group": False,
                    "group_id": None,
                },
            ],
            "incidents": incidents,
            "scheduled_maintenances": [],
        }


def provider_app(provider: Provider) -> web.Application:
    async def summary(request: web.Request) -> web.Response:
        provider.requests += 1
        return web.json_response(provider.summary(datetime.now(UTC)))

    async def login(request: web.Request) -> web.Response:
        if provider.outage:
            return web.Response(status=503, text="Service Unavailable")
        return web.Response(
            text="<html><body><h1>Sign in</h1></body></html>", content_type="text/html"
        )

    async def history(request: web.Request) -> web.Response:
        feed = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US">
  <id>tag:parentapp.example,2005:/history</id>
  <title>Parent app status - Incident History</title>
  <updated>2026-11-02T10:00:00Z</updated>
  <entry>
    <id>tag:parentapp.example,2005:Incident/1</id>
    <published>2026-11-02T09:00:00Z</published><updated>2026-11-02T10:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://parentapp.example/incidents/1"/>
    <title>Delayed push notifications</title>
    <content type="html">TRAIL</content>
  </entry>
</feed>"""
        trail = (
            "<p><small>Nov <var data-var='date'>2</var>, 10:00 UTC</small><br>"
            "<strong>Resolved</strong> - Messages are flowing again.</p>"
        )
        feed = feed.replace("TRAIL", html.escape(trail))
        return web.Response(text=feed, content_type="application/atom+xml")

    app = web.Application()
    app.router.add_get("/api/v2/summary.json", summary)
    app.router.add_get("/login", login)
    app.router.add_get("/history.atom", history)
    return app


class MailSink:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


def demo_config(base: str, smtp_port: int, web_port: int, interval: float) -> Config:
    text = (
        DEMO_CONFIG.replace("BASE", base)
        .replace("SMTP_PORT", str(smtp_port))
        .replace("WEB_PORT", str(web_port))
        .replace("SECRET", secrets.token_hex(16))
        .replace("ESCALATE_AFTER", f"{5 * interval:g}s")
        .replace("INTERVAL", f"{interval:g}s")
    )
    return parse_config(text, "<demo>", {})


def _say(line: str) -> None:
    print(f"{datetime.now():%H:%M:%S}  {line}", flush=True)


def _print_mail(message: EmailMessage) -> None:
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    print(f"  To: {message['To']}\n  Subject: {message['Subject']}")
    print(textwrap.indent(text.strip(), "  | "))
    print()


async def run_demo(speed: float = 1.0) -> int:
    """Run the scripted outage; return 0 if every expected mail arrived."""
    provider = Provider()
    runner = web.AppRunner(provider_app(provider), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    sink = MailSink()
    smtp_port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    interval = max(0.2, 2.0 / speed)
    config = demo_config(f"http://127.0.0.1:{port}", smtp_port, _free_port(), interval)
    workdir = Path(tempfile.mkdtemp(prefix="lifeline-demo-"))
    store = await Store.open(f"sqlite:///{workdir / 'demo.db'}")
    daemon = Daemon(config, store)
    daemon.tick_every = interval / 2
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    ok = False
    try:
        _say(f"Simulated provider on http://127.0.0.1:{port}, SMTP sink on 127.0.0.1:{smtp_port}")
        _say(f"Watching {len(config.services)} services every {interval:g}s; all operational.")
        await asyncio.sleep(6 * interval)
        _say("SCRIPT: the MIS provider posts a partial outage and the login page returns 503.")
        provider.outage = True
        down = await _wait_for(lambda: _count(sink, "DOWN") >= 1, 15 * interval)
        _say("Lifeline alerted the IT lead." if down else "No DOWN mail arrived in time!")
        escalated = await _wait_for(lambda: _count(sink, "ESCALATED") >= 1, 15 * interval)
        _say(
            "Nobody acknowledged, so Lifeline escalated to the business manager."
            if escalated
            else "No escalation arrived in time!"
        )
        acked = await _acknowledge_from_mail(sink, "jo@oakfield.example")
        _say(
            "SCRIPT: Jo opened the link in the alert and pressed Acknowledge."
            if acked
            else "Could not acknowledge through the link!"
        )
        told = await _wait_for(lambda: _count(sink, "ACKNOWLEDGED") >= 2, 10 * interval)
        await asyncio.sleep(3 * interval)
        _say("SCRIPT: the provider resolves the incident; the login page answers again.")
        provider.outage = False
        up = await _wait_for(lambda: _count(sink, "RECOVERED") >= 2, 15 * interval)
        _say(
            "Lifeline told everyone it had told that the MIS is back."
            if up
            else "No RECOVERED mail!"
        )
        ok = down and escalated and acked and told and up
    finally:
        stop.set()
        await task
        await store.close()
        controller.stop()
        await runner.cleanup()
    print("\nTransitions detected:")
    for t in daemon.monitor.transitions:
        print(
            f"  {t.at.astimezone():%H:%M:%S}  {t.service_id}: "
            f"{t.old.value} -> {t.new.value}  ({t.cause})"
        )
    print(
        f"\nThe provider's status page was fetched {provider.requests} times "
        f"(one request per interval, shared by every check that uses it)."
    )
    print(f"\nMails sent ({len(sink.messages)}):")
    for message in sink.messages:
        print(f"  To: {message['To']:<24} {message['Subject']}")
    if sink.messages:
        print("\nThe first one in full:\n")
        _print_mail(sink.messages[0])
    print(f"Store: {workdir / 'demo.db'}")
    return 0 if ok else 1


async def _acknowledge_from_mail(sink: MailSink, to: str) -> bool:
    """Do what Jo would: open the link in the alert (a GET shows a form), then press
    Acknowledge (a POST)."""
    for message in sink.messages:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None and str(message["To"]) == to else ""
        link = re.search(r"http://127\.0\.0\.1:\d+/ack/\S+", text)
        if link is None:
            continue
        async with httpx.AsyncClient() as client:
            page = await client.get(link.group(0))
            if page.status_code != 200 or 'method="post"' not in page.text:
                return False
            done = await client.post(
                link.group(0), data={"name": "Jo Patel", "note": "Paper registers out"}
            )
            return done.status_code == 200
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _count(sink: MailSink, word: str) -> int:
    return sum(1 for m in sink.messages if word in str(m["Subject"]))


async def _wait_for(condition: Any, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return bool(condition())
