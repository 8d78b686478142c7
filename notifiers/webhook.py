"""Generic webhook channel: the message as signed JSON, for any system that takes a POST.

YAML::

    channels:
      helpdesk:
        type: webhook
        url: https://helpdesk.example.org/hooks/lifeline     # or url_file:
        secret: ${LIFELINE_WEBHOOK_SECRET}                   # or secret_file:
        timeout: 10s

The request
-----------
``POST <url>`` with ``Content-Type: application/json`` and the body (UTF-8, compact)::

    {"event": "lifeline.alert",
     "subject": "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage",
     "severity": "major_outage",   # up|maintenance|degraded|partial_outage|major_outage|unknown
     "severity_label": "Major outage",
     "text": "<the full plain-text alert>",
     "facts": [{"label": "Status", "value": "Major outage"}, ...],
     "sections": [{"heading": "What to do now", "body": "Take paper registers..."}, ...],
     "links": [{"label": "Acknowledge", "url": "https://..."}, ...],   # http(s) only
     "sent_at": "2026-12-03T09:30:00Z"}

Every string is plain text exactly as Lifeline holds it - some of it written by service
providers - so a receiver must escape it wherever it displays it. Any 2xx answer is success;
other answers follow ``notifiers.base`` (429/5xx/timeouts are retried by the outbox).

Verifying a request
-------------------
Two headers sign it::

    X-Lifeline-Timestamp: 1796290200                 # Unix seconds when it was sent
    X-Lifeline-Signature: sha256=<hex HMAC-SHA256>   # key: the shared secret (UTF-8)
                                                     # message: b"<timestamp>." + the raw body

A receiver should (this is ``verify_signature``):

1. read the raw body bytes *before* parsing JSON (re-serialising changes the bytes);
2. compute ``HMAC-SHA256(secret, timestamp + "." + body)`` and compare its hex digest with the
   header's in constant time (``hmac.compare_digest``);
3. reject a timestamp more than 5 minutes from its own clock, so a captured request cannot be
   replayed later; a delivery may still arrive twice (a retry after a lost answer), so
   de-duplicate on the body if that matters.

The body is serialised once and exactly those bytes are signed and sent. This is the scheme of
Stripe's and Slack's request signing (``<timestamp>.<body>``, hex HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import SecretStr, model_validator

from monitor.errors import NotifierError
from monitor.model import Message
from notifiers.base import (
    WebhookConfig,
    encode_json,
    exactly_one,
    http_links,
    post_to_webhook,
    secret_value,
)

LABEL = "Webhook"

EVENT = "lifeline.alert"
TIMESTAMP_HEADER = "X-Lifeline-Timestamp"
SIGNATURE_HEADER = "X-Lifeline-Signature"
TOLERANCE = 300.0
"""Seconds a receiver should accept between the signed timestamp and its own clock."""


class Config(WebhookConfig):
    type: Literal["webhook"]
    secret: SecretStr | None = None
    secret_file: Path | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> Config:
        exactly_one(self, "secret", "secret_file")
        if self.secret is not None and not self.secret.get_secret_value():
            raise ValueError("secret must not be empty")
        return self

    def signing_secret(self) -> str:
        """The HMAC key, read from ``secret_file`` when given that way (ValueError if not)."""
        value = secret_value(self.secret, self.secret_file)
        if not value:
            raise ValueError("the webhook secret is empty")
        return value


def build_payload(message: Message, *, now: datetime) -> dict[str, Any]:
    """The JSON document sent for ``message`` at ``now`` (see the module doc). Pure."""
    return {
        "event": EVENT,
        "subject": message.subject,
        "severity": message.severity.value,
        "severity_label": message.severity.label,
        "text": message.text,
        "facts": [{"label": label, "value": value} for label, value in message.facts],
        "sections": [{"heading": heading, "body": body} for heading, body in message.sections],
        "links": [
            {"label": label, "url": url} for label, url in http_links(message.links, limit=50)
        ],
        "sent_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Lifeline-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of
    ``b"<timestamp>." + body`` keyed with ``secret`` (UTF-8 when a str)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str | bytes, body: bytes, now: datetime) -> dict[str, str]:
    """The headers that sign ``body`` as sent at ``now``."""
    timestamp = str(int(now.timestamp()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    header: str,
    now: datetime,
    tolerance: float = TOLERANCE,
) -> bool:
    """True when ``header`` (the ``X-Lifeline-Signature`` value) signs ``timestamp`` and the raw
    ``body`` with ``secret``, and ``timestamp`` (``X-Lifeline-Timestamp``, Unix seconds) is
    within ``tolerance`` seconds of ``now``, either way. For receivers; pure."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8"))


async def send(
    message: Message,
    cfg: Config,
    http: httpx.AsyncClient,
    recipient: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """POST ``message`` as signed JSON to ``cfg.url``; ``recipient`` is unused. ``now``
    (default: the current time) is the ``sent_at`` and the signed timestamp. Returns on a 2xx;
    raises NotifierError otherwise (an unreadable secret file is temporary, like the URL's)."""
    try:
        secret = cfg.signing_secret()
    except ValueError as exc:
        raise NotifierError(f"{LABEL}: {exc}", permanent=False) from None
    when = now or datetime.now(UTC)
    body = encode_json(build_payload(message, now=when))
    await post_to_webhook(
        cfg, http, LABEL, content=body, headers=signed_headers(secret, body, when)
    )
