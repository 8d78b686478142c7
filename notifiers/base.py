"""What the HTTP channels share: the one transport, config bases, and text helpers.

Transport
---------
``post()`` makes exactly one POST and either returns the (2xx) response or raises
``NotifierError``. It never retries: the outbox does, once, for every channel. Outcomes map to
``permanent`` like this:

=====================================================  =========  ==============================
outcome                                                permanent  why
=====================================================  =========  ==============================
2xx                                                    (success)
connection refused/reset, DNS, TLS, timeout            False      the network or peer may recover
HTTP 408, 429 (Retry-After seconds in the reason), 5xx False      the service says "not now"
other 4xx (bad payload, revoked/unknown webhook, auth)  True       only a config change helps
3xx (redirects are never followed on a POST)           True       the URL must be updated
malformed URL / unsupported scheme                     True       only a config change helps
=====================================================  =========  ==============================

A reason names the channel and the host (``Slack hooks.slack.com: HTTP 404 Not Found:
no_service``), never the full URL: a webhook URL *is* a credential (its path or query holds the
token). Every secret form the caller passes (see ``url_secrets``) is replaced by ``***`` in the
reason, so a server that echoes the request cannot leak it. The response body is read up to
``MAX_RESPONSE_BYTES``; a short, one-line, control-character-free snippet of it (the
``error.message``/``code`` of a JSON error, tags stripped from an HTML page) ends the reason.

Config
------
Channel configs do not import ``monitor.config`` (which will import this package's registry):
``ChannelConfig`` repeats its settings (unknown keys rejected, frozen). ``WebhookConfig`` holds a
webhook URL given inline (``url``, usually ``${ENV_VAR}``) or in a file (``url_file``). The URL
must be https; plain http is accepted only for loopback hosts (tests, a local relay).

Text
----
Everything in a ``Message`` is untrusted plain text. ``one_line``/``multi_line`` remove control
and bidi-override characters and clip; each channel then escapes for its own format, and
``fit`` clips *before* escaping so an escape sequence is never cut in half.
"""

from __future__ import annotations

import html
import ipaddress
import json as jsonlib
import math
import re
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from monitor.durations import Duration
from monitor.errors import NotifierError
from monitor.model import Message

MAX_RESPONSE_BYTES = 64 * 1024
"""Bytes of a response body read at most (only a snippet of it is ever used)."""

DETAIL_LIMIT = 200
"""Longest snippet of a response body put into a NotifierError reason."""

MAX_LINKS = 5
"""Buttons per message: Teams shows up to six actions; more are noise in an alert anyway."""

MAX_URL = 2000
"""Longest link kept; a longer one is dropped (a truncated URL would be a wrong link)."""


# --- config --------------------------------------------------------------------------------


class RateLimit(BaseModel):
    """At most ``count`` messages every ``per`` (YAML: ``rate_limit: {count: 50, per: 1d}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1, le=1_000_000)
    per: Duration

    @field_validator("per")
    @classmethod
    def _positive_period(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("must be more than 0s")
        return value


class ChannelConfig(BaseModel):
    """Base of every channel's config: unknown keys are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: str
    timeout: Duration = timedelta(seconds=10)
    """Bound on the whole request (connect, send, answer)."""
    rate_limit: RateLimit | None = None
    """A budget (an SMS bill): once spent, the outbox sends by email instead. None: no limit."""

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("must be more than 0s")
        return value


class WebhookConfig(ChannelConfig):
    """A channel that POSTs to a webhook URL. The URL carries the token, so it is a secret."""

    url: SecretStr | None = None
    url_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(check_endpoint_url(value.get_secret_value()))

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        exactly_one(self, "url", "url_file")
        return self

    def webhook_url(self) -> str:
        """The URL, read from ``url_file`` when given that way (on every call: it may rotate).

        Raises ValueError when the file cannot be read or does not hold a valid URL; the
        message never contains the URL.
        """
        if self.url is not None:
            return self.url.get_secret_value()
        return check_endpoint_url(read_secret_file(self.url_file))


def exactly_one(model: BaseModel, first: str, second: str) -> None:
    """Raise ValueError unless exactly one of the two fields is set (the ``x``/``x_file`` pair).
    The message names the fields as written in YAML (their alias, if any)."""
    given = [name for name in (first, second) if getattr(model, name) is not None]
    if len(given) != 1:
        names = [type(model).model_fields[name].alias or name for name in (first, second)]
        which = "both were given" if given else "neither was given"
        raise ValueError(f"give {names[0]} or {names[1]} (exactly one; {which})")


def read_secret_file(path: Path | None) -> str:
    """The file's text without its final line break. ValueError (naming the path) if unreadable."""
    if path is None:
        raise ValueError("no secret file is configured")
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"secret file {path} is not UTF-8 text") from None


def secret_value(inline: SecretStr | None, path: Path | None) -> str:
    """An inline secret, or the content of its ``*_file`` alternative (ValueError if unreadable)."""
    if inline is not None:
        return inline.get_secret_value()
    return read_secret_file(path)


def check_endpoint_url(value: str) -> str:
    """``value`` stripped, if it is an https URL (http only to a loopback host); else ValueError.

    Messages never repeat the value: for webhooks the URL is the credential.
    """
    value = value.strip()
    if not value or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must be a single URL, without spaces or line breaks")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError("must be an https:// URL")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(
            "must be https:// (plain http:// is only allowed to localhost): "
            "the URL and what is posted to it would travel unencrypted"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    return value


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_label(url: str) -> str:
    """``host`` or ``host:port`` of ``url``, for reasons: no path, query or credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def url_secrets(url: str) -> list[str]:
    """The forms in which ``url``'s token could be echoed back: the URL, its path and query,
    each query value, and each path segment that looks like a token (long, or with digits),
    raw and percent-encoded. Pass them to ``post(secrets=...)``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = {url, parts.path, parts.query, parts.path + "?" + parts.query}
    if parts.password:
        found.add(parts.password)
    for segment in parts.path.split("/"):
        if len(segment) >= 20 or (len(segment) >= 8 and any(c.isdigit() for c in segment)):
            found.update((segment, unquote(segment)))
    for _, value in parse_qsl(parts.query):
        found.update((value, quote(value, safe="")))
    found.discard(parts.hostname or "")
    return sorted((s for s in found if len(s) >= 6), key=len, reverse=True)


# --- the channel module interface -----------------------------------------------------------


class ChannelModule(Protocol):
    """What every module in the registry provides (``notifiers.channels`` holds them)."""

    LABEL: str
    Config: type[ChannelConfig]

    # ``cfg`` is the module's own ``Config``; typed Any so modules can narrow it.
    async def send(
        self, message: Message, cfg: Any, http: httpx.AsyncClient, recipient: str | None = None
    ) -> None: ...


# --- transport ---------------------------------------------------------------------------------


async def post(
    http: httpx.AsyncClient,
    url: str,
    *,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout: float,
    secrets: Sequence[str] = (),
    where: str,
) -> httpx.Response:
    """POST once to ``url`` and return the 2xx response (body read, at most
    ``MAX_RESPONSE_BYTES``); raise ``NotifierError`` for anything else (see the module doc).

    Give one of ``json`` (serialised by ``encode_json``, the bytes ``json_size`` measures),
    ``data`` (form-encoded) or ``content`` (raw bytes, e.g. exactly the bytes that were signed).
    ``where`` starts every reason (``"Slack hooks.slack.com"``); ``secrets`` are redacted from
    it. ``timeout`` bounds connect, write and read alike. Redirects are not followed.
    """
    if sum(x is not None for x in (json, data, content)) > 1:
        raise ValueError("give one of json, data or content")
    request_headers = httpx.Headers(headers)
    if json is not None:
        content = encode_json(json)
        request_headers.setdefault("content-type", "application/json")
    try:
        request = http.build_request(
            "POST",
            url,
            content=content,
            data=data,
            headers=request_headers,
            timeout=httpx.Timeout(timeout),
        )
        response = await http.send(request, auth=auth, follow_redirects=False, stream=True)
        try:
            body = await _read_capped(response, MAX_RESPONSE_BYTES)
        finally:
            await response.aclose()
    except Exception as exc:  # every failure, whatever its type, becomes a NotifierError
        reason, permanent = classify(exc, timeout, secrets)
        raise NotifierError(redact(f"{where}: {reason}", secrets), permanent=permanent) from None
    status = response.status_code
    if 200 <= status < 300:
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _REENCODED]
        return httpx.Response(status, headers=kept, content=body, request=request)
    reason, permanent = describe_status(
        status,
        response.headers.get("retry-after"),
        body,
        response.headers.get("content-type", ""),
        datetime.now(UTC),
        secrets,
    )
    raise NotifierError(redact(f"{where}: {reason}", secrets), permanent=permanent)


async def post_to_webhook(
    cfg: WebhookConfig,
    http: httpx.AsyncClient,
    label: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """``post`` to ``cfg``'s webhook URL; reasons name ``label`` and the host, never the URL.

    A URL file that cannot be read (or holds no valid URL) is a temporary failure: it may be
    mounted late or fixed by an admin, and the outbox will try again.
    """
    try:
        url = cfg.webhook_url()
    except ValueError as exc:
        raise NotifierError(f"{label}: {exc}", permanent=False) from None
    return await post(
        http,
        url,
        json=json,
        content=content,
        headers=headers,
        timeout=cfg.timeout.total_seconds(),
        secrets=url_secrets(url),
        where=f"{label} {endpoint_label(url)}",
    )


# The body handed back is already decoded and complete: these would describe it wrongly.
_REENCODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def classify(exc: BaseException, timeout: float, secrets: Sequence[str] = ()) -> tuple[str, bool]:
    """``(reason, permanent)`` for an exception raised while making the request; ``secrets``
    are redacted from the exception's text before it is clipped."""
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.WriteTimeout: "sending",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc))
        if phase is None:  # ReadTimeout: the request went out, the answer did not come back
            return f"no answer within {timeout:g}s (it may or may not have been delivered)", False
        return f"timed out after {timeout:g}s {phase}", False
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {_exc_text(exc, secrets)}", True
    if isinstance(exc, httpx.ConnectError):
        if _refused(exc):
            return "connection refused", False
        return f"could not connect: {_exc_text(exc, secrets)}", False
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"connection dropped: {_exc_text(exc, secrets)}", False
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {_exc_text(exc, secrets)}", False
    if isinstance(exc, httpx.HTTPError | OSError):
        return f"request failed: {_exc_text(exc, secrets)}", False
    return f"unexpected {type(exc).__name__}: {_exc_text(exc, secrets)}", False


def _refused(exc: BaseException) -> bool:
    """Whether ``exc`` or an exception it was raised from is a refused connection (httpx
    reports "All connection attempts failed", with the OS error as its cause)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or "refused" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def _exc_text(exc: BaseException, secrets: Sequence[str]) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or str(cause or "") or type(exc).__name__
    return one_line(redact(text, secrets), DETAIL_LIMIT)


def describe_status(
    status: int,
    retry_after: str | None,
    body: bytes,
    content_type: str,
    now: datetime,
    secrets: Sequence[str] = (),
) -> tuple[str, bool]:
    """``(reason, permanent)`` for a non-2xx answer. Pure: ``now`` reads an HTTP-date;
    ``secrets`` are redacted from the body before the snippet is clipped."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    reason = f"HTTP {status} {phrase}".rstrip()
    permanent = not (status in (408, 429) or status >= 500)
    wait = retry_after_seconds(retry_after, now)
    if wait is not None and not permanent:
        reason += f" (retry after {wait}s)"
    if 300 <= status < 400:
        reason += " (redirects are not followed: check the URL)"
    detail = response_detail(body, content_type, secrets)
    return (f"{reason}: {detail}" if detail else reason), permanent


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """Seconds asked for by a ``Retry-After`` header (delay-seconds or HTTP-date), else None."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{1,10}", value, re.ASCII):
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil((when - now).total_seconds()))


_TAG = re.compile(r"<[^>]{0,2000}>")


def response_detail(body: bytes, content_type: str = "", secrets: Sequence[str] = ()) -> str:
    """A one-line snippet of an error body: a JSON error's code and message when it has them
    (Twilio ``{code, message}``, Google ``{error: {status, message}}``), the text of an HTML page
    without its tags, else the body as text."""
    text = body[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace")
    try:
        detail = _json_detail(jsonlib.loads(text))
    except (ValueError, RecursionError):
        detail = None
    if detail is None:
        is_html = "html" in content_type.lower()
        detail = html.unescape(_TAG.sub(" ", text)) if is_html else text
    return one_line(redact(detail, secrets), DETAIL_LIMIT)


def _json_detail(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    source = error if isinstance(error, dict) else document
    status = source.get("status")  # Google: "INVALID_ARGUMENT"; Twilio: the HTTP status
    code = status if isinstance(status, str) and status else source.get("code")
    message = source.get("message") or (error if isinstance(error, str) else None)
    parts = [
        str(part)
        for part in (code, message)
        if isinstance(part, str | int) and not isinstance(part, bool) and str(part)
    ]
    return " ".join(parts) or None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longest first, so a token inside a URL goes too) as ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def encode_json(payload: Any) -> bytes:
    """The bytes sent for a JSON payload (the same encoding httpx uses for ``json=``)."""
    return jsonlib.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def json_size(payload: Any) -> int:
    return len(encode_json(payload))


SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125)


def shrink_to_fit(
    build: Callable[[float], dict[str, Any]], fits: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """``build(scale)`` for the largest scale in ``SCALES`` whose payload ``fits``.

    Builders multiply their text caps by ``scale`` (see ``scaled``); the smallest scale is
    returned if nothing fits (builders keep that under every service's limit by construction).
    """
    payload: dict[str, Any] = {}
    for scale in SCALES:
        payload = build(scale)
        if fits(payload):
            break
    return payload


def fits_in(max_bytes: int) -> Callable[[dict[str, Any]], bool]:
    """A ``fits`` test for ``shrink_to_fit``: the JSON is at most ``max_bytes`` long."""
    return lambda payload: json_size(payload) <= max_bytes


def scaled(limit: int, scale: float, floor: int = 20) -> int:
    return max(floor, int(limit * scale))


# --- untrusted text ------------------------------------------------------------------------

# C0/C1 controls (except tab and line breaks, handled below) and bidi overrides/isolates, which
# make text display differently from what it says.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029\x85]")
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s+")


def one_line(text: str, limit: int) -> str:
    """``text`` on one line: unsafe characters removed, whitespace (line breaks too)
    collapsed to single spaces, at most ``limit`` characters (``…`` ends a clipped one)."""
    # Cut first so a multi-megabyte string costs nothing; cleaning only shortens text.
    text = _UNSAFE.sub("", text[: limit * 4 + 16])
    return clip(_WHITESPACE.sub(" ", text).strip(), limit)


def multi_line(text: str, limit: int) -> str:
    """``text`` with its line breaks kept (CRLF, CR and Unicode separators become LF), unsafe
    characters removed, spaces collapsed within lines, at most one empty line in a row, and at
    most ``limit`` characters."""
    text = _LINE_BREAKS.sub("\n", text[: limit * 4 + 16])
    text = _UNSAFE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return clip("\n".join(kept).strip("\n"), limit)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters; a clipped text ends in ``…``."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how JavaScript-based services (Slack) count characters."""
    return len(text.encode("utf-16-le")) // 2


def fit(
    text: str,
    limit: int,
    render: Callable[[str], str],
    measure: Callable[[str], int] = len,
) -> str:
    """``render(text)``, or ``render`` of the longest clipped prefix (ending ``…``) of ``text``
    whose rendering measures at most ``limit``. Clipping the source, not the rendering, keeps
    escape sequences (``&amp;``) whole."""
    rendered = render(text)
    if measure(rendered) <= limit:
        return rendered
    low, high = 0, len(text) - 1  # prefix lengths; ``low`` always fits (or nothing does)
    best = render("…") if measure(render("…")) <= limit else ""
    while low < high:
        middle = (low + high + 1) // 2
        candidate = render(text[:middle].rstrip() + "…")
        if measure(candidate) <= limit:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


def http_links(links: Iterable[tuple[str, str]], limit: int = MAX_LINKS) -> list[tuple[str, str]]:
    """The first ``limit`` links whose URL is http(s), without spaces/controls, at most
    ``MAX_URL`` long; labels made one line (an empty label becomes "Open link"). Anything
    else (``javascript:``, ``data:``, relative) is dropped: a link must never run code."""
    kept: list[tuple[str, str]] = []
    for label, url in links:
        url = url.strip()
        if len(url) > MAX_URL or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in url):
            continue
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            continue
        kept.append((one_line(label, 80) or "Open link", url))
        if len(kept) == limit:
            break
    return kept


def body_sections(message: Message) -> list[tuple[str, str]]:
    """``message.sections``, or the whole ``text`` as one untitled section when a message has
    neither facts nor sections (so a channel never posts an empty card)."""
    if message.sections:
        return list(message.sections)
    if not message.facts and message.text.strip():
        return [("", message.text)]
    return []


def mark_replacer(table: Mapping[str, str]) -> Callable[[str], str]:
    """A function replacing each single character key of ``table`` by its value."""
    translation = str.maketrans(dict(table))
    return lambda text: text.translate(translation)


# ``_`` with a letter or digit on both sides cannot open or close emphasis (CommonMark; Slack
# and Google Chat behave the same), so ``it_support@school.org`` is left intact.
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")


def replace_lone_underscores(text: str, replacement: str) -> str:
    return _LONE_UNDERSCORE.sub(replacement, text)
