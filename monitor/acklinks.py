"""Signed, expiring acknowledgement links (pure).

A token names the incident and the contact it was sent to (``-`` for a chat room) and when
it expires, signed with HMAC-SHA256 under ``web.secret_key``. Anyone holding the link may
acknowledge that one incident until it expires — as with any emailed link — but cannot forge
one for another incident or extend it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime


class BadToken(ValueError):
    """The token is malformed, forged or expired; the message says which, for the page."""


@dataclass(frozen=True)
class AckClaim:
    incident_id: str
    contact_id: str | None
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, incident_id: str, contact_id: str | None, expires: datetime) -> str:
    payload = json.dumps(
        {"i": incident_id, "c": contact_id, "e": int(expires.timestamp())}, separators=(",", ":")
    ).encode()
    signature = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(secret: bytes, token: str, now: datetime) -> AckClaim:
    """The claim in ``token``; raises BadToken unless it is authentic and unexpired."""
    try:
        payload_text, signature_text = token.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, TypeError):
        raise BadToken("this link is incomplete or damaged") from None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise BadToken("this link is not valid")
    try:
        data = json.loads(payload)
        claim = AckClaim(str(data["i"]), data["c"], datetime.fromtimestamp(int(data["e"]), UTC))
    except (ValueError, KeyError, TypeError):
        raise BadToken("this link is not valid") from None
    if now >= claim.expires:
        raise BadToken("this link has expired")
    return claim
