"""SMS channel: one text message per contact through Twilio's Programmable Messaging REST API
(or any service that copies it).

YAML::

    channels:
      sms:
        type: sms
        account_sid: ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        auth_token: ${TWILIO_AUTH_TOKEN}        # or auth_token_file: /run/secrets/twilio
        from: "+447700900123"                   # or messaging_service_sid: MG…
        # api_base: https://api.twilio.com      # another Twilio-compatible API's base URL
        timeout: 10s

The recipient is the contact's ``phone``, which must be international (E.164: ``+`` and the
country code; spaces, dots, dashes and brackets are ignored).

What this relies on (sources):

- Request (twilio.com/docs/messaging/api/message-resource, "Create a Message resource"):
  ``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``
  (E.164), ``Body`` and either ``From`` (a number, short code or alphanumeric sender ID) or
  ``MessagingServiceSid`` (``MG…``); HTTP basic auth ``AccountSid:AuthToken``. Success is
  **201 Created** with the Message resource as JSON (``sid``, ``status: queued``).
- Errors (twilio.com/docs/usage/twilios-response, twilio.com/docs/api/errors): JSON
  ``{"code", "message", "more_info", "status"}`` - 400 for a request that can never succeed
  (21211 invalid ``To``, 21610 unsubscribed recipient, 21408 region not enabled …), 401 (20003)
  for bad credentials: permanent; 429 (20429) and 5xx: temporary.
- Length (twilio.com/docs/glossary/what-sms-character-limit): GSM-7 text fits 160 characters
  in one segment and 153 per segment when split; anything outside GSM-7 makes the whole
  message UCS-2: 70 in one, 67 per segment. GSM 03.38 extension-table characters
  (``^ { } \\ [ ~ ] | €``) take two septets, and the escape pair is never split across segments;
  UCS-2 is counted in UTF-16 code units (an emoji is two). The body is made to fit
  ``MAX_SEGMENTS`` (two) segments, clipped with ``...`` (GSM-7; ``…`` is not in GSM-7) or ``…``.
- Typographic punctuation (curly quotes, dashes, ``…``, non-breaking spaces) is first replaced by
  its GSM-7 equivalent, as Twilio's Smart Encoding does, so one "—" does not halve the room.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from monitor.errors import NotifierError
from monitor.model import Message
from notifiers.base import (
    ChannelConfig,
    check_endpoint_url,
    endpoint_label,
    exactly_one,
    multi_line,
    one_line,
    post,
    secret_value,
)

LABEL = "SMS"

MAX_SEGMENTS = 2

# GSM 03.38 default alphabet (ESC, 0x1B, left out: it only introduces the extension table).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as ESC + a septet, so it counts twice.
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_SMART = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2022", "-"),
        **dict.fromkeys("\u00a0\u2002\u2003\u2007\u2009\u202f\u205f\u3000\t", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
        "\u2026": "...",
    }
)

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_PUNCTUATION = re.compile(r"[\s.\-()]")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")


class Config(ChannelConfig):
    type: Literal["sms"]
    api_base: str = "https://api.twilio.com"
    """Base URL of the Twilio-compatible API (https; http only to localhost)."""
    account_sid: str = Field(pattern=r"^[A-Za-z0-9_-]{2,64}$")
    auth_token: SecretStr | None = None
    auth_token_file: Path | None = None
    from_: str | None = Field(None, alias="from")
    messaging_service_sid: str | None = Field(None, pattern=r"^MG[0-9a-fA-F]{32}$")

    @field_validator("api_base")
    @classmethod
    def _valid_base(cls, value: str) -> str:
        value = check_endpoint_url(value)
        parts = urlsplit(value)
        if parts.query or parts.fragment:
            raise ValueError("must be a base URL without ?query or #fragment")
        return value.rstrip("/")

    @field_validator("from_")
    @classmethod
    def _valid_sender(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("+"):
            return e164(value)
        if not (_SHORT_CODE.fullmatch(value) or _ALPHANUMERIC_SENDER.fullmatch(value)):
            raise ValueError(
                "must be a phone number in E.164 form (+447700900123), a short code, "
                "or an alphanumeric sender ID (up to 11 letters, digits and spaces)"
            )
        return value

    @model_validator(mode="after")
    def _one_of_each(self) -> Config:
        exactly_one(self, "auth_token", "auth_token_file")
        exactly_one(self, "from_", "messaging_service_sid")
        return self

    def token(self) -> str:
        """The auth token, read from ``auth_token_file`` when given that way (ValueError if not)."""
        return secret_value(self.auth_token, self.auth_token_file)

    def messages_url(self) -> str:
        return (
            f"{self.api_base}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"
        )


def e164(phone: str) -> str:
    """``phone`` as E.164 (``+`` and up to 15 digits) once spaces, dots, dashes and brackets are
    dropped; ValueError otherwise (a national number cannot be dialled without its country)."""
    number = _PHONE_PUNCTUATION.sub("", phone)
    if not _E164.fullmatch(number):
        raise ValueError(
            f"{one_line(phone, 40)!r} is not an international phone number "
            "(E.164: + and the country code, e.g. +447700900123)"
        )
    return number


def build_form(message: Message, to: str, cfg: Config) -> dict[str, str]:
    """The form fields of the Twilio request for ``message`` to ``to``: ``To`` (E.164), ``Body``
    (``message.short``, else the subject, fitted to ``MAX_SEGMENTS``) and ``From`` or
    ``MessagingServiceSid``. Raises ValueError when ``to`` is not an E.164 number."""
    form = {"To": e164(to), "Body": fit_sms(message.short or message.subject or "Lifeline alert")}
    if cfg.messaging_service_sid is not None:
        form["MessagingServiceSid"] = cfg.messaging_service_sid
    else:
        assert cfg.from_ is not None  # the validator requires one of the two
        form["From"] = cfg.from_
    return form


def sms_text(text: str) -> str:
    """``text`` cleaned for SMS: control characters removed, line breaks kept as LF, spaces
    collapsed, and typographic punctuation replaced by its GSM-7 equivalent."""
    return multi_line(text[:8000].translate(_SMART), 2000)


def is_gsm(text: str) -> bool:
    """True when every character of ``text`` is in GSM-7 (basic set or extension table)."""
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def segments(text: str) -> int:
    """How many SMS segments ``text`` is sent as (0 for empty text).

    GSM-7: up to 160 septets in one; otherwise parts of up to 153, extension characters
    counting two and never split from their escape. UCS-2: up to 70 UTF-16 units in one;
    otherwise parts of up to 67, a surrogate pair never split.
    """
    if not text:
        return 0
    if is_gsm(text):
        units = [2 if c in GSM_EXTENDED else 1 for c in text]
        single, part = GSM_SINGLE, GSM_PART
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = UCS2_SINGLE, UCS2_PART
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for unit in units:
        if used + unit > part:
            count, used = count + 1, 0
        used += unit
    return count


def fit_sms(text: str, max_segments: int = MAX_SEGMENTS) -> str:
    """``sms_text(text)`` if it fits ``max_segments`` segments, else its longest prefix that does
    with ``...`` (GSM-7) or ``…`` (UCS-2) appended, cut at a space when one is close."""
    text = sms_text(text)
    if segments(text) <= max_segments:
        return text
    low, high, best = 0, len(text) - 1, ""
    while low <= high:
        middle = (low + high) // 2
        if segments(_clipped(text[:middle])) <= max_segments:
            best, low = text[:middle], middle + 1
        else:
            high = middle - 1
    space = best.rfind(" ", max(0, len(best) - 15))
    return _clipped(best[:space] if space > 0 else best)


def _clipped(prefix: str) -> str:
    prefix = prefix.rstrip()
    return prefix + ("..." if is_gsm(prefix) else "\u2026")


async def send(
    message: Message, cfg: Config, http: httpx.AsyncClient, recipient: str | None = None
) -> None:
    """Text ``message`` to ``recipient`` (the contact's phone, required). Returns when the API
    accepted it (Twilio answers 201; delivery to the handset is later and not tracked here);
    raises NotifierError otherwise - permanent for a missing or non-E.164 number."""
    if not recipient:
        raise NotifierError(f"{LABEL}: the contact has no phone number", permanent=True)
    try:
        form = build_form(message, recipient, cfg)
    except ValueError as exc:
        raise NotifierError(f"{LABEL}: {exc}", permanent=True) from None
    try:
        token = cfg.token()
    except ValueError as exc:
        # The token file may be mounted late or fixed by an admin: worth retrying.
        raise NotifierError(f"{LABEL}: {exc}", permanent=False) from None
    url = cfg.messages_url()
    basic = base64.b64encode(f"{cfg.account_sid}:{token}".encode()).decode("ascii")
    await post(
        http,
        url,
        data=form,
        auth=httpx.BasicAuth(cfg.account_sid, token),
        timeout=cfg.timeout.total_seconds(),
        secrets=(token, basic),
        where=f"{LABEL} {endpoint_label(url)}",
    )
