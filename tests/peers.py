"""Real local peers for integration tests: an HTTP server on 127.0.0.1 whose responses tests
change over time (a timeline of real-format payloads) and that keeps every request exactly
as received, for asserting what a channel sent."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str  # as sent, percent-encoding kept
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(
            parse_qsl(self.body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        )


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    etag: bool = False
    delay: float = 0.0
    headers: dict[str, str] | None = None
    hang: bool = False  # wait for ``release()`` before answering
    echo: bool = False  # append the request's path and query (a careless server's error page)


class HttpPeer:
    """Serve whatever ``set``/``reply`` last put at each path; count and keep requests."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.requests: list[Recorded] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(
        self,
        path: str,
        body: str | bytes = b"",
        *,
        status: int = 200,
        content_type: str = "text/plain",
        etag: bool = False,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        hang: bool = False,
        echo: bool = False,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, data, content_type, etag, delay, headers, hang, echo)

    def set_json(self, path: str, payload: Any, **kw: Any) -> None:
        self.set(path, json.dumps(payload), content_type="application/json", **kw)

    def reply(self, path: str, status: int = 200, body: str | bytes = b"", **kw: Any) -> None:
        """``set`` with the status first: how a webhook's answer reads in channel tests."""
        self.set(path, body, status=status, **kw)

    def reply_json(self, path: str, status: int, payload: Any, **kw: Any) -> None:
        self.set(path, json.dumps(payload), status=status, content_type="application/json", **kw)

    def release(self) -> None:
        """Let every hanging route answer."""
        self._released.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.raw_path.partition("?")[2],
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.hang:
            await self._released.wait()
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = dict(route.headers or {})
        if route.etag:
            tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                self.not_modified[request.path] += 1
                return web.Response(status=304, headers=headers)
        data = route.body
        if route.echo:
            data += f" {request.path_qs} {request.raw_path}".encode()
        return web.Response(
            status=route.status, body=data, headers=headers, content_type=route.content_type
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.release()  # a hanging handler finishes, so shutdown does not wait for it
        if self._runner is not None:
            await self._runner.cleanup()


async def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``condition`` (sync or async) until true; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


POSTGRES = os.environ.get("LIFELINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def database_url(backend: str, tmp_path: Path) -> str:
    """A fresh, empty database of ``backend``: a SQLite file, or the local PostgreSQL server
    (this machine kind runs one on 127.0.0.1) with its public schema emptied."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'lifeline.db'}"
    import asyncpg

    connection = await asyncpg.connect(POSTGRES)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()
    return POSTGRES
