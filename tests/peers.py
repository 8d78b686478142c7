"""Real local peers for integration tests: an HTTP server on 127.0.0.1 whose responses
tests change over time (a timeline of real-format payloads)."""

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

from aiohttp import web


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    etag: bool = False
    delay: float = 0.0
    headers: dict[str, str] | None = None


class HttpPeer:
    """Serve whatever ``set``/``set_json`` last put at each path; count requests."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
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
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, data, content_type, etag, delay, headers)

    def set_json(self, path: str, payload: Any, **kw: Any) -> None:
        self.set(path, json.dumps(payload), content_type="application/json", **kw)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = dict(route.headers or {})
        if route.etag:
            tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                self.not_modified[request.path] += 1
                return web.Response(status=304, headers=headers)
        return web.Response(
            status=route.status, body=route.body, headers=headers, content_type=route.content_type
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
