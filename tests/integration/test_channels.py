"""Chat, SMS and webhook channels against a real HTTP server on 127.0.0.1 that records every
request and answers the way each service documents (status codes, bodies, Retry-After)."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from peers import HttpPeer

from monitor.errors import NotifierError
from monitor.model import Message, Status
from notifiers import base, google_chat, slack, sms, teams, webhook
from notifiers.channels import CHANNELS

MESSAGE = Message(
    subject="[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage",
    text="MIS (Arbor) at Oakfield Primary School is DOWN: Major outage\n\nTake paper registers.\n",
    html="<p>DOWN</p>",
    severity=Status.MAJOR_OUTAGE,
    links=(("Acknowledge", "https://lifeline.oakfield.sch.uk/ack/7f3c9a"),),
    facts=(("Status", "Major outage"), ("Since", "09:12")),
    sections=(("What to do now", "Take paper registers.\nPhone the office."),),
    short="DOWN: MIS (Arbor) at Oakfield Primary — Major outage since 09:12. Take paper registers.",
)

# Each webhook's path and query hold its credential, as the real services' URLs do.
SECRET_PARTS = {
    "teams": ["4b8e1c2d9f3a4e5b8c7d6e5f4a3b2c1d", "Zm9vYmFyc2VjcmV0c2lnbmF0dXJlMTIzNDU2"],
    "slack": ["T0123ABCD", "B0456EFGH", "aBcDeFgHiJkLmNoPqRsTuVwX"],
    "google_chat": ["AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "tok3nS3cr3tValue_abc123XYZ"],
    "webhook": ["s3cr3t-query-token-987654"],
}
PATHS = {
    "teams": "/workflows/4b8e1c2d9f3a4e5b8c7d6e5f4a3b2c1d/triggers/manual/paths/invoke",
    "slack": "/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX",
    "google_chat": "/v1/spaces/AAAAb1c2d3e/messages",
    "webhook": "/hooks/lifeline",
}
QUERIES = {
    "teams": "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
    "&sig=Zm9vYmFyc2VjcmV0c2lnbmF0dXJlMTIzNDU2",
    "slack": "",
    "google_chat": "?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=tok3nS3cr3tValue_abc123XYZ",
    "webhook": "?auth=s3cr3t-query-token-987654",
}
HMAC_SECRET = "whsec-shared-with-the-receiver"
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "tw1l10-auth-t0ken-0123456789"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
async def peer() -> AsyncIterator[HttpPeer]:
    server = HttpPeer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def chat_config(kind: str, peer: HttpPeer, **extra: Any) -> Any:
    data: dict[str, Any] = {"type": kind, "url": peer.url(PATHS[kind] + QUERIES[kind]), **extra}
    if kind == "webhook":
        data.setdefault("secret", HMAC_SECRET)
    return CHANNELS[kind].Config.model_validate(data)


def sms_config(api_base: str, **extra: Any) -> sms.Config:
    data = {"type": "sms", "account_sid": SID, "auth_token": TOKEN, "from": "+447700900123"}
    return sms.Config.model_validate(data | {"api_base": api_base} | extra)


def free_port() -> int:
    """A port nothing listens on (bound, then released): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def expect_failure(coroutine: Any) -> NotifierError:
    with pytest.raises(NotifierError) as info:
        await coroutine
    return info.value


def assert_no_secret(error: NotifierError, parts: list[str]) -> None:
    for text in (error.reason, str(error), repr(error)):
        for part in parts:
            assert part not in text


CHAT = ["teams", "slack", "google_chat", "webhook"]
SUCCESS = {
    "teams": (202, "", "text/plain"),
    "slack": (200, "ok", "text/plain"),
    "google_chat": (200, '{"name": "spaces/AAAAb1c2d3e/messages/abc.abc"}', "application/json"),
    "webhook": (204, "", "text/plain"),
}


# --- delivery: what each service receives ------------------------------------------------------


@pytest.mark.parametrize("kind", ["teams", "slack", "google_chat"])
async def test_chat_channel_posts_its_documented_payload(
    kind: str, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    status, body, content_type = SUCCESS[kind]
    peer.reply(PATHS[kind], status, body, content_type=content_type)
    module: Any = CHANNELS[kind]

    await module.send(MESSAGE, chat_config(kind, peer), http)

    [request] = peer.requests
    assert (request.method, request.path, "?" + request.query) == (
        "POST",
        PATHS[kind],
        QUERIES[kind] or "?",
    )
    assert request.headers["content-type"] == "application/json"
    payload = module.build_payload(MESSAGE)
    assert request.body == base.encode_json(payload)  # exactly the bytes measured for limits
    assert request.json() == payload
    assert "authorization" not in request.headers  # the URL is the credential


async def test_teams_workflow_accepts_with_202(peer: HttpPeer, http: httpx.AsyncClient) -> None:
    peer.reply(PATHS["teams"], 202)
    await teams.send(MESSAGE, chat_config("teams", peer), http)
    card = peer.requests[0].json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"


async def test_webhook_receiver_can_verify_the_signature(
    peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS["webhook"], 204)
    await webhook.send(MESSAGE, chat_config("webhook", peer), http, now=NOW)

    [request] = peer.requests
    timestamp = request.headers["x-lifeline-timestamp"]
    signature = request.headers["x-lifeline-signature"]
    assert timestamp == str(int(NOW.timestamp())) and signature.startswith("sha256=")
    assert request.headers["content-type"] == "application/json"
    # What a receiver does: verify the raw bytes first, then parse them.
    assert webhook.verify_signature(HMAC_SECRET, timestamp, request.body, signature, NOW)
    assert request.json() == webhook.build_payload(MESSAGE, now=NOW)
    assert not webhook.verify_signature("wrong secret", timestamp, request.body, signature, NOW)
    assert not webhook.verify_signature(
        HMAC_SECRET, timestamp, request.body.replace(b"DOWN", b"UP"), signature, NOW
    )


async def test_webhook_secret_file(peer: HttpPeer, http: httpx.AsyncClient, tmp_path: Path) -> None:
    key = tmp_path / "webhook.key"
    key.write_text(HMAC_SECRET + "\n")
    cfg = webhook.Config.model_validate(
        {"type": "webhook", "url": peer.url(PATHS["webhook"]), "secret_file": str(key)}
    )
    peer.reply(PATHS["webhook"], 200)
    await webhook.send(MESSAGE, cfg, http)
    request = peer.requests[0]
    headers = request.headers
    now = datetime.fromtimestamp(int(headers["x-lifeline-timestamp"]), UTC)
    assert webhook.verify_signature(
        HMAC_SECRET,
        headers["x-lifeline-timestamp"],
        request.body,
        headers["x-lifeline-signature"],
        now,
    )


async def test_url_file_is_read_at_send_time(
    peer: HttpPeer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    url_file = tmp_path / "slack.url"
    cfg = slack.Config.model_validate({"type": "slack", "url_file": str(url_file)})
    error = await expect_failure(slack.send(MESSAGE, cfg, http))
    assert not error.permanent  # the file may be mounted late: retry
    assert "cannot read secret file" in error.reason and str(url_file) in error.reason
    url_file.write_text(peer.url(PATHS["slack"]) + "\n")
    peer.reply(PATHS["slack"], 200, "ok")
    await slack.send(MESSAGE, cfg, http)
    assert len(peer.requests) == 1


# --- failures: permanent or not, as each service documents ----------------------------------------

SLACK_ERRORS = [
    (400, "invalid_payload", True),
    (400, "no_text", True),
    (403, "action_prohibited", True),
    (404, "channel_not_found", True),
    (404, "no_service", True),
    (410, "channel_is_archived", True),
    (500, "rollup_error", False),
    (503, "service unavailable", False),
]


@pytest.mark.parametrize(("status", "body", "permanent"), SLACK_ERRORS)
async def test_slack_errors(
    status: int, body: str, permanent: bool, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS["slack"], status, body)
    error = await expect_failure(slack.send(MESSAGE, chat_config("slack", peer), http))
    assert error.permanent is permanent
    assert error.reason.startswith(f"Slack 127.0.0.1:{peer.port}: HTTP {status} ")
    assert error.reason.endswith(f": {body}")
    assert_no_secret(error, SECRET_PARTS["slack"])


@pytest.mark.parametrize("kind", CHAT)
async def test_rate_limited_is_temporary_with_retry_after(
    kind: str, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS[kind], 429, "rate_limited", headers={"Retry-After": "30"})
    module: Any = CHANNELS[kind]
    error = await expect_failure(module.send(MESSAGE, chat_config(kind, peer), http))
    assert not error.permanent
    assert "HTTP 429 Too Many Requests (retry after 30s): rate_limited" in error.reason


@pytest.mark.parametrize("kind", CHAT)
@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (404, True), (410, True), (500, False)]
)
async def test_status_codes_map_to_permanence(
    kind: str, status: int, permanent: bool, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS[kind], status, "nope")
    module: Any = CHANNELS[kind]
    error = await expect_failure(module.send(MESSAGE, chat_config(kind, peer), http))
    assert error.permanent is permanent
    assert f"HTTP {status}" in error.reason


async def test_google_chat_json_error_detail(peer: HttpPeer, http: httpx.AsyncClient) -> None:
    peer.reply_json(
        PATHS["google_chat"],
        400,
        {
            "error": {
                "code": 400,
                "message": 'Invalid JSON payload received. Unknown name "cards_v3": Cannot find field.',
                "status": "INVALID_ARGUMENT",
            }
        },
    )
    error = await expect_failure(google_chat.send(MESSAGE, chat_config("google_chat", peer), http))
    assert error.permanent
    assert error.reason == (
        f"Google Chat 127.0.0.1:{peer.port}: HTTP 400 Bad Request: INVALID_ARGUMENT "
        'Invalid JSON payload received. Unknown name "cards_v3": Cannot find field.'
    )


async def test_redirect_is_not_followed(peer: HttpPeer, http: httpx.AsyncClient) -> None:
    peer.reply(PATHS["teams"], 301, "", headers={"Location": "https://elsewhere.example/x"})
    error = await expect_failure(teams.send(MESSAGE, chat_config("teams", peer), http))
    assert error.permanent and "redirects are not followed" in error.reason
    assert len(peer.requests) == 1


@pytest.mark.parametrize("kind", CHAT)
async def test_server_echoing_the_url_cannot_leak_it(
    kind: str, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS[kind], 404, "unknown hook:", echo=True)
    module: Any = CHANNELS[kind]
    error = await expect_failure(module.send(MESSAGE, chat_config(kind, peer), http))
    assert error.permanent
    assert error.reason.startswith(
        f"{module.LABEL} 127.0.0.1:{peer.port}: HTTP 404 Not Found: unknown hook: ***"
    )
    assert_no_secret(error, SECRET_PARTS[kind])


@pytest.mark.parametrize("kind", CHAT)
async def test_connection_refused_is_temporary(kind: str, http: httpx.AsyncClient) -> None:
    port = free_port()
    module: Any = CHANNELS[kind]
    data: dict[str, Any] = {
        "type": kind,
        "url": f"http://127.0.0.1:{port}{PATHS[kind]}{QUERIES[kind]}",
    }
    if kind == "webhook":
        data["secret"] = HMAC_SECRET
    error = await expect_failure(module.send(MESSAGE, module.Config.model_validate(data), http))
    assert not error.permanent
    assert error.reason == f"{module.LABEL} 127.0.0.1:{port}: connection refused"
    assert_no_secret(error, SECRET_PARTS[kind])


@pytest.mark.parametrize("kind", CHAT)
async def test_no_answer_is_a_temporary_timeout(
    kind: str, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply(PATHS[kind], 200, hang=True)  # answers only when released, at teardown
    module: Any = CHANNELS[kind]
    error = await expect_failure(
        module.send(MESSAGE, chat_config(kind, peer, timeout="200ms"), http)
    )
    assert not error.permanent
    assert error.reason == (
        f"{module.LABEL} 127.0.0.1:{peer.port}: no answer within 0.2s "
        "(it may or may not have been delivered)"
    )
    assert len(peer.requests) == 1  # it did arrive: hence "may have been delivered"


# --- SMS (Twilio) -----------------------------------------------------------------------------------


async def test_sms_posts_twilio_form_with_basic_auth(
    peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply_json(
        MESSAGES_PATH,
        201,
        {"sid": "SM" + "0" * 32, "status": "queued", "to": "+447700900456", "num_segments": "1"},
    )
    await sms.send(MESSAGE, sms_config(peer.url("")), http, "+44 7700 900456")

    [request] = peer.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == expected
    assert request.form() == {
        "To": "+447700900456",
        "From": "+447700900123",
        "Body": "DOWN: MIS (Arbor) at Oakfield Primary - Major outage since 09:12. "
        "Take paper registers.",
    }


async def test_sms_token_file(peer: HttpPeer, http: httpx.AsyncClient, tmp_path: Path) -> None:
    token_file = tmp_path / "twilio.token"
    token_file.write_text(TOKEN + "\n")
    cfg = sms.Config.model_validate(
        {
            "type": "sms",
            "api_base": peer.url(""),
            "account_sid": SID,
            "auth_token_file": str(token_file),
            "messaging_service_sid": "MG" + "1" * 32,
        }
    )
    peer.reply_json(MESSAGES_PATH, 201, {"sid": "SM1", "status": "accepted"})
    await sms.send(MESSAGE, cfg, http, "+15005550006")
    request = peer.requests[0]
    assert request.form()["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in request.form()
    assert request.headers["authorization"].endswith(
        base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )


TWILIO_ERRORS = [
    (400, 21211, "The 'To' number +15005550001 is not a valid phone number.", True),
    (400, 21610, "Attempt to send to unsubscribed recipient", True),
    (401, 20003, "Authenticate", True),
    (404, 20404, "The requested resource was not found", True),
    (429, 20429, "Too Many Requests", False),
    (500, 20500, "Internal Server Error", False),
]


@pytest.mark.parametrize(("status", "code", "text", "permanent"), TWILIO_ERRORS)
async def test_sms_twilio_errors(
    status: int, code: int, text: str, permanent: bool, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply_json(
        MESSAGES_PATH,
        status,
        {
            "code": code,
            "message": text,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
    error = await expect_failure(sms.send(MESSAGE, sms_config(peer.url("")), http, "+15005550001"))
    assert error.permanent is permanent
    assert error.reason.startswith(f"SMS 127.0.0.1:{peer.port}: HTTP {status} ")
    assert error.reason.endswith(f": {code} {text}")


async def test_sms_token_never_appears_in_errors(peer: HttpPeer, http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    peer.reply(MESSAGES_PATH, 401, f"bad credentials {TOKEN} (Authorization: Basic {basic})")
    error = await expect_failure(sms.send(MESSAGE, sms_config(peer.url("")), http, "+15005550006"))
    assert error.permanent
    assert_no_secret(error, [TOKEN, basic])
    assert error.reason.endswith("bad credentials *** (Authorization: Basic ***)")


async def test_sms_rate_limit_with_retry_after(peer: HttpPeer, http: httpx.AsyncClient) -> None:
    peer.reply_json(
        MESSAGES_PATH,
        429,
        {"code": 20429, "message": "Too Many Requests", "status": 429},
        headers={"Retry-After": "5"},
    )
    error = await expect_failure(sms.send(MESSAGE, sms_config(peer.url("")), http, "+15005550006"))
    assert not error.permanent
    assert "HTTP 429 Too Many Requests (retry after 5s): 20429 Too Many Requests" in error.reason


@pytest.mark.parametrize(
    ("recipient", "problem"),
    [
        (None, "the contact has no phone number"),
        ("", "the contact has no phone number"),
        ("01632 960123", "is not an international phone number"),
        ("+44 1632 960123 ext. 12", "is not an international phone number"),
    ],
)
async def test_sms_bad_recipient_is_permanent_and_sends_nothing(
    recipient: str | None, problem: str, peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    error = await expect_failure(sms.send(MESSAGE, sms_config(peer.url("")), http, recipient))
    assert error.permanent and problem in error.reason
    assert peer.requests == []


async def test_sms_connection_refused_and_timeout_are_temporary(
    peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    port = free_port()
    refused = await expect_failure(
        sms.send(MESSAGE, sms_config(f"http://127.0.0.1:{port}"), http, "+15005550006")
    )
    assert not refused.permanent and refused.reason == f"SMS 127.0.0.1:{port}: connection refused"
    peer.reply(MESSAGES_PATH, 201, hang=True)
    slow = await expect_failure(
        sms.send(MESSAGE, sms_config(peer.url(""), timeout="200ms"), http, "+15005550006")
    )
    assert not slow.permanent and "no answer within 0.2s" in slow.reason


# --- the transport on its own ---------------------------------------------------------------------


async def test_response_body_is_read_only_up_to_the_cap(
    peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply("/big", 500, b"x" * (base.MAX_RESPONSE_BYTES * 4))
    error = await expect_failure(
        base.post(http, peer.url("/big"), json={}, timeout=5, where="Test 127.0.0.1")
    )
    assert not error.permanent and error.reason.endswith("x…")
    assert len(error.reason) < 300


async def test_post_returns_the_response_with_its_body(
    peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    peer.reply_json("/ok", 201, {"sid": "SM1"})
    response = await base.post(http, peer.url("/ok"), data={"a": "b"}, timeout=5, where="Test")
    assert response.status_code == 201 and response.json() == {"sid": "SM1"}
    assert peer.requests[0].form() == {"a": "b"}


async def test_invalid_url_is_permanent(http: httpx.AsyncClient) -> None:
    error = await expect_failure(
        base.post(http, "gopher://x.example/", json={}, timeout=1, where="Test")
    )
    assert error.permanent and error.reason.startswith("Test: invalid URL")


def test_every_channel_is_covered_here() -> None:
    assert {*CHAT, "sms"} == set(CHANNELS)
