"""Email channel: ``build_email`` (pure) and ``send`` (SMTP via aiosmtplib).

TLS follows the ``smtp:`` settings: ``tls: true`` is implicit TLS from the first byte (usually
port 465); otherwise ``starttls: true`` (the default, port 587) *requires* the server to offer
STARTTLS and upgrades before any credentials are sent — there is no silent fallback to plain
text. ``starttls: false`` with ``tls: false`` sends in the clear (a local relay on port 25).
Certificates are always verified.

Failures raise ``NotifierError``; ``permanent`` follows the SMTP reply class: 5xx (recipient or
sender refused, authentication failed) is permanent, 4xx and network failures (refused,
reset, timed out) are not. A server that lacks what the settings require (STARTTLS, AUTH) is
permanent too: only a configuration change helps. A reason never contains the password.
"""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid

import aiosmtplib

from monitor.config import Smtp
from monitor.errors import NotifierError
from monitor.model import Message

SUBJECT_MAX = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def build_email(
    message: Message,
    to: Sequence[str],
    sender: str,
    *,
    message_id_domain: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """A multipart/alternative email (plain text first, then HTML) for ``message``.

    ``sender`` may carry a display name (``Lifeline <alerts@school.org>``); each entry of ``to``
    must be exactly one address. ``Date`` is ``now`` (default: the current time) and the
    ``Message-ID`` domain is ``message_id_domain`` (default: the sender's domain). The subject
    is flattened to one line without control characters and capped at ``SUBJECT_MAX``.

    Raises ValueError when there is no recipient, or the sender or a recipient is not a single
    plain address (control characters, several addresses in one entry, no domain).
    """
    if not to:
        raise ValueError("no recipients")
    from_ = parse_address(sender, "sender")
    recipients = [parse_address(entry, "recipient") for entry in to]

    email = EmailMessage(policy=default_policy)
    email.set_raw("Subject", _encoded_subject(_header_text(message.subject, SUBJECT_MAX)))
    email["From"] = from_
    email["To"] = recipients
    email["Date"] = format_datetime(now or datetime.now(UTC))
    email["Message-ID"] = make_msgid("lifeline", domain=message_id_domain or from_.domain)
    # RFC 3834: tells out-of-office responders and mailing lists not to answer or loop.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Lifeline-Severity"] = message.severity.value
    email.set_content(message.text, subtype="plain", charset="utf-8")
    email.add_alternative(message.html, subtype="html", charset="utf-8")
    return email


def _encoded_subject(subject: str) -> str:
    """``subject`` folded and RFC 2047-encoded by hand, stored raw.

    The modern ``email`` folder mangles long subjects mixing ASCII and non-ASCII text (an
    "—" after a fold point comes back with two spaces before it, or with an empty encoded
    word), and aiosmtplib refolds every parsed header with ``policy.SMTP``. A raw value
    whose lines are already short is sent as it is and decodes to exactly ``subject``.
    """
    charset = "us-ascii" if subject.isascii() else "utf-8"
    return Header(subject, charset, header_name="Subject").encode(linesep="\n", maxlinelen=76)


def parse_address(value: str, role: str) -> Address:
    """Parse one mailbox (``a@b`` or ``Name <a@b>``); ValueError naming ``role`` otherwise."""
    if _CONTROL.search(value):
        raise ValueError(f"{role} address {value!r} contains control characters")
    header = default_policy.header_factory("To", value)
    addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise ValueError(f"{role} {value!r} is not a single email address")
    return addresses[0]


async def send(
    message: Message,
    to: Sequence[str],
    smtp: Smtp,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> None:
    """Deliver ``message`` to every address in ``to`` in one SMTP transaction.

    ``tls_context`` replaces the default (system CAs, hostname checked), e.g. to trust a
    private CA. ``smtp.timeout`` bounds each network step (connect, each command).

    Returns when the server accepted the message for every recipient. Raises NotifierError
    otherwise; when only some recipients were refused the others *have* been sent the
    message, so callers wanting per-recipient retries should send to one address per call.
    """
    where = f"SMTP {smtp.host}:{smtp.port}"
    try:
        email = build_email(message, to, smtp.from_)
    except ValueError as exc:
        raise NotifierError(f"cannot build the email: {exc}", permanent=True) from None
    try:
        password = smtp.secret()
    except ValueError as exc:
        # The password file may be mounted late or fixed by an admin: worth retrying.
        raise NotifierError(f"{where}: {exc}", permanent=False) from None
    secrets = _secret_forms(smtp.username, password)
    sender = parse_address(smtp.from_, "sender").addr_spec
    recipients = [parse_address(entry, "recipient").addr_spec for entry in to]
    try:
        refused, _ = await aiosmtplib.send(
            email,
            sender=sender,
            recipients=recipients,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=password if smtp.username else None,
            timeout=smtp.timeout.total_seconds(),
            use_tls=smtp.tls,
            start_tls=smtp.use_starttls,
            validate_certs=True,
            tls_context=tls_context,
        )
    except Exception as exc:  # every failure, whatever its type, becomes a NotifierError
        reason, permanent = classify(exc)
        raise NotifierError(_redact(f"{where}: {reason}", secrets), permanent=permanent) from None
    if refused:
        details = "; ".join(
            f"{addr}: {_reply(code, text)}" for addr, (code, text) in refused.items()
        )
        permanent = all(code >= 500 for code, _ in refused.values())
        reason = f"{where}: recipients refused (the others were sent it): {details}"
        raise NotifierError(_redact(reason, secrets), permanent=permanent)


def classify(exc: BaseException) -> tuple[str, bool]:
    """``(reason, permanent)`` for an exception raised while sending.

    SMTP replies decide by class (5xx permanent, 4xx temporary); network failures are
    temporary; a server lacking a required capability (STARTTLS, AUTH) is permanent.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        details = "; ".join(f"{r.recipient}: {_reply(r.code, r.message)}" for r in exc.recipients)
        return f"all recipients refused: {details}", all(code >= 500 for code in codes)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"authentication failed: {_reply(exc.code, exc.message)}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused: {_reply(exc.code, exc.message)}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"server replied {_reply(exc.code, exc.message)}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return f"timed out: {_text(exc) or 'no answer'}", False
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return f"connection failed: {_text(exc)}", False
    if isinstance(exc, aiosmtplib.SMTPException):
        # STARTTLS or AUTH not offered, no common AUTH method, SMTPUTF8 unsupported.
        return f"server cannot do what the settings require: {_text(exc)}", True
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {_text(exc)}", False
    if isinstance(exc, OSError):
        return f"connection failed: {_text(exc)}", False
    if isinstance(exc, ValueError):
        return f"invalid SMTP settings: {_text(exc)}", True
    return f"unexpected {type(exc).__name__}: {_text(exc)}", False


def _reply(code: int, text: str) -> str:
    return f"{code} {_header_text(text, 300)}".rstrip()


def _text(exc: BaseException) -> str:
    return _header_text(str(exc), 500)


def _header_text(value: str, limit: int) -> str:
    """One line, control characters removed, whitespace collapsed, at most ``limit`` chars."""
    flat = _WHITESPACE.sub(" ", _CONTROL.sub(" ", value)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _secret_forms(username: str | None, password: str | None) -> list[str]:
    """The password as it could appear in a server's echo: raw, and base64 as AUTH sends it."""
    if not password:
        return []
    forms = [password, _b64(password)]
    if username is not None:
        forms.append(_b64(f"\0{username}\0{password}"))
    return forms


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
