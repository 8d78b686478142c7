"""The HTTP adapter every HTTP-based check uses.

One ``HttpFetcher`` per process owns the connection pools. It makes a request described by an
``HttpProbe`` and returns an ``HttpObservation`` — never raises for a failing target. It
remembers ``ETag``/``Last-Modified`` of conditional probes (status pages, feeds) and, on a 304,
hands back the body it already has, so checks always evaluate a full body.

Transport: httpx's API over the ``httpx-aiohttp`` transport. On this kind of machine httpx's
own transport falls from ~800 to ~300 requests/s with 50 in flight; the aiohttp transport
keeps ~2,200/s (benchmarks/README.md has our figures).
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from httpx_aiohttp import AiohttpTransport

USER_AGENT = "Lifeline/0.1 (+https://github.com/lifeline-monitor; school service monitor)"


@dataclass(frozen=True)
class HttpProbe:
    """What to fetch. Equal probes are fetched once and shared by every check that uses them."""

    url: str
    method: str = "GET"
    verify_tls: bool = True
    follow_redirects: bool = True
    max_body: int = 2_000_000
    conditional: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class HttpObservation:
    """What a fetch saw. ``error`` is set (and ``status_code`` is None) when no response came."""

    probe: HttpProbe
    observed_at: datetime
    status_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float | None = None
    error: str | None = None
    truncated: bool = False
    not_modified: bool = False
    final_url: str = ""

    def text(self) -> str:
        return self.body.decode(_charset(self.headers), errors="replace")


def _charset(headers: Mapping[str, str]) -> str:
    ctype = headers.get("content-type", "")
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


@dataclass
class _Validator:
    etag: str | None
    last_modified: str | None
    observation: HttpObservation


class HttpFetcher:
    """Shared HTTP client. Use as an async context manager, or call ``aclose``."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        transport_factory: type[httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=None)
        verify: ssl.SSLContext | bool = ssl_context or True
        self._clients = {
            True: self._client(verify, limits, transport_factory),
            False: self._client(False, limits, transport_factory),
        }
        self._validators: dict[HttpProbe, _Validator] = {}

    @staticmethod
    def _client(
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        transport_factory: type[httpx.AsyncBaseTransport] | None,
    ) -> httpx.AsyncClient:
        factory = transport_factory or AiohttpTransport
        transport = factory(verify=verify, limits=limits)  # type: ignore[call-arg]
        return httpx.AsyncClient(transport=transport, headers={"user-agent": USER_AGENT})

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def fetch(
        self, probe: HttpProbe, timeout: float, now: datetime | None = None
    ) -> HttpObservation:
        """Make the request. Transport failures become an observation with ``error`` set."""
        observed_at = now or datetime.now(UTC)
        headers = dict(probe.headers)
        cached = self._validators.get(probe) if probe.conditional else None
        if cached is not None:
            if cached.etag:
                headers["if-none-match"] = cached.etag
            if cached.last_modified:
                headers["if-modified-since"] = cached.last_modified
        client = self._clients[probe.verify_tls]
        started = time.perf_counter()
        try:
            request = client.build_request(
                probe.method, probe.url, headers=headers, timeout=httpx.Timeout(timeout)
            )
            response = await client.send(
                request, stream=True, follow_redirects=probe.follow_redirects
            )
            try:
                body, truncated = await _read_capped(response, probe.max_body)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            return HttpObservation(
                probe=probe,
                observed_at=observed_at,
                elapsed=time.perf_counter() - started,
                error=describe_error(exc, timeout),
            )
        except ssl.SSLError as exc:
            return HttpObservation(
                probe=probe,
                observed_at=observed_at,
                elapsed=time.perf_counter() - started,
                error=f"TLS error: {exc.reason or exc}",
            )
        elapsed = time.perf_counter() - started
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code == 304 and cached is not None:
            return HttpObservation(
                probe=probe,
                observed_at=observed_at,
                status_code=cached.observation.status_code,
                headers=cached.observation.headers,
                body=cached.observation.body,
                elapsed=elapsed,
                truncated=cached.observation.truncated,
                not_modified=True,
                final_url=str(response.url),
            )
        observation = HttpObservation(
            probe=probe,
            observed_at=observed_at,
            status_code=response.status_code,
            headers=response_headers,
            body=body,
            elapsed=elapsed,
            truncated=truncated,
            final_url=str(response.url),
        )
        if probe.conditional and response.status_code == 200:
            etag = response_headers.get("etag")
            last_modified = response_headers.get("last-modified")
            if etag or last_modified:
                self._validators[probe] = _Validator(etag, last_modified, observation)
            else:
                self._validators.pop(probe, None)
        return observation


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, human reason for a failed request (no traceback, no secrets).

    The transport re-raises its own errors as httpx ones (a refused connection arrives as a
    ``ConnectTimeout``), so the whole cause chain is read to say what really happened.
    """
    chain = _chain(exc)
    for cause in chain:
        verify_message = getattr(cause, "verify_message", None)
        if isinstance(cause, ssl.SSLCertVerificationError) and verify_message:
            return f"TLS error: certificate not trusted ({verify_message})"
        reason = getattr(cause, "reason", None)
        if isinstance(cause, ssl.SSLError) and isinstance(reason, str):
            return f"TLS error: {reason}"
        refused = getattr(cause, "errno", None) == errno.ECONNREFUSED
        if refused or isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    if any(isinstance(c, httpx.TimeoutException | TimeoutError) for c in chain):
        return f"timed out after {timeout:g}s"
    detail = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {detail[:200]}"
