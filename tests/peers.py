"""Real local peers for integration tests: an HTTP server on 127.0.0.1 whose responses
tests change over time (a timeline of real-format payloads)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import json
import socket
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    etag: bool = False
    delay: float = 0.0


class HttpPeer:
    """Serve whatever ``set``/``set_json`` last put at each path; count requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: str | bytes = b"", *, status: int = 200,
            content_type: str = "text/plain", etag: bool = False, delay: float = 0.0) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, data, content_type, etag, delay)

    def set_json(self, path: str, payload: Any, **kw: Any) -> None:
        self.set(path, json.dumps(payload), content_type="application/json", **kw)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = {}
        if route.etag:
            tag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                self.not_modified[request.path] += 1
                return web.Response(status=304, headers=headers)
        return web.Response(status=route.status, body=route.body, headers=headers,
                            content_type=route.content_type)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

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


class SmtpPeer:
    """A real aiosmtpd server on 127.0.0.1 that keeps what it receives.

    ``stop()`` then ``start()`` brings it back on the same port (an SMTP outage).
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def start(self) -> None:
        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def to(self, word: str) -> list[str]:
        """Recipients of messages whose subject contains ``word``, sorted."""
        return sorted(str(m["To"]) for m in self.messages if word in str(m["Subject"]))

    def text(self, index: int) -> str:
        body = self.messages[index].get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())
