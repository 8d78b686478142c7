"""A recording HTTP peer for the channel tests: a real aiohttp server on 127.0.0.1 that keeps
every request exactly as received (method, path, query, headers, body bytes) and answers each
path with whatever the test scripted - status, body, headers - or hangs until released."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
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
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # wait for ``release()`` before answering
    echo: bool = False  # append the request's path and query (a careless server's error page)


class RecordingPeer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[str, Reply] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()

    def url(self, path_and_query: str) -> str:
        return f"http://127.0.0.1:{self.port}{path_and_query}"

    def reply(
        self,
        path: str,
        status: int = 200,
        body: str | bytes = b"",
        *,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
        hang: bool = False,
        echo: bool = False,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.replies[path] = Reply(status, data, content_type, headers or {}, hang, echo)

    def reply_json(self, path: str, status: int, payload: Any, **kw: Any) -> None:
        self.reply(path, status, json.dumps(payload), content_type="application/json", **kw)

    def release(self) -> None:
        self._released.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
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
        reply = self.replies.get(request.path, Reply(404, b"no such webhook"))
        if reply.hang:
            await self._released.wait()
        data = reply.body
        if reply.echo:
            data += f" {request.path_qs} {request.raw_path}".encode()
        return web.Response(
            status=reply.status, body=data, headers=reply.headers, content_type=reply.content_type
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.release()  # a hanging handler finishes, so shutdown does not wait for it
        if self._runner is not None:
            await self._runner.cleanup()
