"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1, trustme TLS)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from smtp_peer import SmtpPeer

from monitor.config import Smtp
from monitor.errors import NotifierError
from monitor.model import Message, Status
from notifiers.email import build_email, send

SENDER = "Lifeline alerts <alerts@oakfield.sch.uk>"
USER = "lifeline"
PASSWORD = "correct-horse-battery-staple"

MESSAGE = Message(
    subject="[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage",
    text="MIS (Arbor) at Oakfield Primary School is DOWN: Major outage\n\nTake paper registers.\n",
    html="<!DOCTYPE html><html><body><p>MIS (Arbor) is <b>DOWN</b></p></body></html>\n",
    severity=Status.MAJOR_OUTAGE,
    links=(("Status page", "https://status.arbor-education.com"),),
)


def smtp_settings(peer: SmtpPeer, **overrides: Any) -> Smtp:
    data: dict[str, Any] = {
        "host": peer.host,
        "port": peer.port,
        "starttls": False,
        "from": SENDER,
        "timeout": "5s",
    }
    return Smtp.model_validate(data | overrides)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def plain_peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def starttls_peer(ca: trustme.CA) -> Iterator[SmtpPeer]:
    with SmtpPeer("starttls", ca=ca, user=USER, password=PASSWORD) as peer:
        yield peer


@pytest.fixture
def tls_peer(ca: trustme.CA) -> Iterator[SmtpPeer]:
    with SmtpPeer("tls", ca=ca, user=USER, password=PASSWORD) as peer:
        yield peer


# --- build_email (pure) ------------------------------------------------------------------


def test_build_email_is_multipart_alternative_with_both_parts() -> None:
    email = build_email(
        MESSAGE,
        ["head@oakfield.sch.uk", "Raj Patel <bm@oakfield.sch.uk>"],
        SENDER,
        now=datetime(2026, 12, 3, 9, 12, tzinfo=UTC),
    )
    assert email.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in email.iter_parts()] == ["text/plain", "text/html"]
    assert email["Subject"] == MESSAGE.subject
    assert email["From"] == SENDER
    assert email["To"] == "head@oakfield.sch.uk, Raj Patel <bm@oakfield.sch.uk>"
    assert email["Date"] == "Thu, 03 Dec 2026 09:12:00 +0000"
    assert email["Message-ID"].endswith("@oakfield.sch.uk>")
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["X-Lifeline-Severity"] == "major_outage"


def test_build_email_message_id_domain_can_be_chosen() -> None:
    email = build_email(MESSAGE, ["a@b.example"], SENDER, message_id_domain="lifeline.example")
    assert email["Message-ID"].endswith("@lifeline.example>")


def test_build_email_flattens_a_subject_with_line_breaks() -> None:
    hostile = Message("Alert\r\nBcc: everyone@example.com", "t", "<p>h</p>", Status.DEGRADED)
    email = build_email(hostile, ["a@b.example"], SENDER)
    assert email["Subject"] == "Alert Bcc: everyone@example.com"
    assert email["Bcc"] is None
    assert "\nBcc:" not in email.as_string()


@pytest.mark.parametrize(
    "recipient",
    [
        "a@b.example\r\nBcc: evil@example.com",
        "a@b.example, evil@example.com",
        "not-an-address",
        "",
    ],
)
def test_build_email_rejects_anything_but_one_address_per_recipient(recipient: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_email(MESSAGE, [recipient], SENDER)


def test_build_email_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="no recipients"):
        build_email(MESSAGE, [], SENDER)


SUBJECTS = [
    "[Lifeline] RECOVERED: MIS (Arbor) at Oakfield Primary School — down for 1h 5m",
    "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage",
    "[Lifeline] DOWN: Arlwy Ysgol Gymraeg — ffôn — " + "ŵŷ ✓ 漢字 " * 12,
    "[Lifeline] DOWN: a plain ASCII subject long enough to need folding " * 2,
    "[Lifeline] short",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_survives_the_wire_exactly(subject: str) -> None:
    email = build_email(replace(MESSAGE, subject=subject), ["a@b.example"], SENDER)
    wire = email.as_bytes(policy=policy.SMTP)  # what aiosmtplib sends
    header = wire.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in header.split(b"\r\n")) <= 78
    assert message_from_bytes(wire, policy=policy.default)["Subject"] == subject.strip()


# --- send: success ------------------------------------------------------------------------


async def test_plain_send_delivers_one_multipart_message(plain_peer: SmtpPeer) -> None:
    to = ["head@oakfield.sch.uk", "bm@oakfield.sch.uk"]
    await send(MESSAGE, to, smtp_settings(plain_peer))

    [received] = await plain_peer.wait_for(1)
    assert received.mail_from == "alerts@oakfield.sch.uk"
    assert received.rcpt_tos == ("head@oakfield.sch.uk", "bm@oakfield.sch.uk")
    assert received.user is None and not received.tls
    email = received.message
    assert email["Subject"] == MESSAGE.subject
    assert email["To"] == "head@oakfield.sch.uk, bm@oakfield.sch.uk"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and text.get_content().replace("\r\n", "\n") == MESSAGE.text
    assert html is not None and html.get_content().replace("\r\n", "\n") == MESSAGE.html


async def test_starttls_with_auth_delivers_as_the_user(
    starttls_peer: SmtpPeer,
) -> None:
    smtp = smtp_settings(starttls_peer, starttls=True, username=USER, password=PASSWORD)
    await send(
        MESSAGE, ["head@oakfield.sch.uk"], smtp, tls_context=starttls_peer.client_tls_context()
    )

    [received] = await starttls_peer.wait_for(1)
    assert received.user == USER
    assert received.tls
    assert received.rcpt_tos == ("head@oakfield.sch.uk",)


async def test_password_can_come_from_a_file(starttls_peer: SmtpPeer, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    smtp = smtp_settings(starttls_peer, starttls=True, username=USER, password_file=str(secret))
    await send(
        MESSAGE, ["head@oakfield.sch.uk"], smtp, tls_context=starttls_peer.client_tls_context()
    )

    [received] = await starttls_peer.wait_for(1)
    assert received.user == USER


async def test_implicit_tls_with_auth_delivers(tls_peer: SmtpPeer) -> None:
    smtp = smtp_settings(tls_peer, tls=True, username=USER, password=PASSWORD)
    assert not smtp.use_starttls
    await send(MESSAGE, ["head@oakfield.sch.uk"], smtp, tls_context=tls_peer.client_tls_context())

    [received] = await tls_peer.wait_for(1)
    assert received.tls
    assert received.user == USER


# --- send: failures -----------------------------------------------------------------------


async def test_wrong_password_is_permanent_and_never_shown(starttls_peer: SmtpPeer) -> None:
    wrong = "hunter2-wrong-password"
    smtp = smtp_settings(starttls_peer, starttls=True, username=USER, password=wrong)
    with pytest.raises(NotifierError) as caught:
        await send(
            MESSAGE, ["head@oakfield.sch.uk"], smtp, tls_context=starttls_peer.client_tls_context()
        )

    error = caught.value
    assert error.permanent
    assert "535" in str(error) and "authentication failed" in str(error)
    for form in (wrong, base64.b64encode(wrong.encode()).decode()):
        assert form not in str(error) and form not in repr(error)
    assert starttls_peer.received == []


async def test_server_down_is_temporary(plain_peer: SmtpPeer) -> None:
    smtp = smtp_settings(plain_peer)
    plain_peer.stop()
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["head@oakfield.sch.uk"], smtp)

    assert not caught.value.permanent
    assert f"SMTP 127.0.0.1:{smtp.port}: connection failed" in str(caught.value)


async def test_server_that_never_answers_times_out_as_temporary() -> None:
    handlers: list[asyncio.Task[Any]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.read()  # no greeting; wait until the client gives up and hangs up
        finally:
            writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    smtp = Smtp.model_validate(
        {"host": "127.0.0.1", "port": port, "starttls": False, "from": SENDER, "timeout": "200ms"}
    )
    try:
        with pytest.raises(NotifierError) as caught:
            await send(MESSAGE, ["head@oakfield.sch.uk"], smtp)
    finally:
        server.close()
        await asyncio.wait_for(asyncio.gather(*handlers), timeout=5)
        await server.wait_closed()

    assert not caught.value.permanent
    assert "timed out" in str(caught.value)


async def test_starttls_required_but_not_offered_is_permanent(plain_peer: SmtpPeer) -> None:
    smtp = smtp_settings(plain_peer, starttls=True, username=USER, password=PASSWORD)
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["head@oakfield.sch.uk"], smtp)

    assert caught.value.permanent
    assert "STARTTLS" in str(caught.value)
    assert plain_peer.received == []  # never fell back to sending in the clear


async def test_untrusted_certificate_is_refused(starttls_peer: SmtpPeer) -> None:
    smtp = smtp_settings(starttls_peer, starttls=True, username=USER, password=PASSWORD)
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["head@oakfield.sch.uk"], smtp)  # system CAs: trustme is unknown

    assert "certificate" in str(caught.value).lower()
    assert PASSWORD not in str(caught.value)
    assert starttls_peer.received == []


@pytest.fixture
def refusing_peer() -> Iterator[SmtpPeer]:
    refuse = {
        "left@oakfield.sch.uk": "550 5.1.1 No such user",
        "full@oakfield.sch.uk": "452 4.2.2 Mailbox full, try later",
    }
    with SmtpPeer(refuse=refuse) as peer:
        yield peer


async def test_refused_recipient_is_permanent(refusing_peer: SmtpPeer) -> None:
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["left@oakfield.sch.uk"], smtp_settings(refusing_peer))

    assert caught.value.permanent
    assert "left@oakfield.sch.uk: 550 5.1.1 No such user" in str(caught.value)


async def test_temporarily_refused_recipient_is_temporary(refusing_peer: SmtpPeer) -> None:
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["full@oakfield.sch.uk"], smtp_settings(refusing_peer))

    assert not caught.value.permanent


async def test_partly_refused_delivers_to_the_others_and_says_who_failed(
    refusing_peer: SmtpPeer,
) -> None:
    to = ["head@oakfield.sch.uk", "left@oakfield.sch.uk"]
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, to, smtp_settings(refusing_peer))

    assert caught.value.permanent
    assert "left@oakfield.sch.uk" in str(caught.value)
    [received] = await refusing_peer.wait_for(1)
    assert received.rcpt_tos == ("head@oakfield.sch.uk",)


async def test_unreadable_password_file_is_temporary(plain_peer: SmtpPeer, tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    smtp = smtp_settings(plain_peer, username=USER, password_file=str(missing))
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["head@oakfield.sch.uk"], smtp)

    assert not caught.value.permanent
    assert "cannot read secret file" in str(caught.value)


async def test_bad_recipient_is_permanent_and_sends_nothing(plain_peer: SmtpPeer) -> None:
    with pytest.raises(NotifierError) as caught:
        await send(MESSAGE, ["a@b.example\r\nBcc: evil@example.com"], smtp_settings(plain_peer))

    assert caught.value.permanent
    assert plain_peer.received == []
