"""A real SMTP server for integration tests: aiosmtpd in a thread on 127.0.0.1.

``SmtpPeer`` listens on a port the OS picks, keeps every message it accepts, and can offer
STARTTLS or implicit TLS (``trustme`` certificates) and AUTH LOGIN/PLAIN for one known user.
``stop()`` closes the listener, which is how tests simulate a mail server that is down.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    user: str | None  # who authenticated, None without AUTH
    tls: bool  # whether the session was encrypted (STARTTLS or implicit TLS)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    """aiosmtpd handler: accept everything but ``refuse``'s addresses, remember what came.
    Runs in the server's thread."""

    def __init__(self, refuse: dict[str, str]) -> None:
        self.refuse = refuse
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        user = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self._lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=envelope.original_content or envelope.content,
                    user=user,
                    tls=tls,
                )
            )
        return "250 OK"

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user = user.encode()
        self.password = password.encode()

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        # auth_data=login makes session.auth_data the user name the handler records.
        if not ok:
            # handled=False: let aiosmtpd send its standard 535 reply.
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data.login)


class _AnyPortController(Controller):
    """A Controller that accepts ``port=0`` (it learns the real port before aiosmtpd
    connects to itself to check the server is up) and that closes its connections before
    it stops, so no socket outlives the server's event loop (a ResourceWarning otherwise)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session: SMTP = super().factory()  # type: ignore[no-untyped-call]
        self.sessions.append(session)
        return session

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]

    def stop(self, no_assert: bool = False) -> None:
        async def hang_up(grace: float = 2.0) -> None:
            # A client that just failed may still be closing: let it, then close the rest.
            deadline = time.monotonic() + grace
            while any(s.transport is not None for s in self.sessions):
                if time.monotonic() >= deadline:
                    for session in self.sessions:
                        if session.transport is not None:
                            session.transport.close()
                await asyncio.sleep(0.01)

        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(hang_up(), self.loop).result(timeout=10)
        super().stop(no_assert)


class SmtpPeer:
    """A running SMTP server; use as a context manager or call ``start``/``stop``.

    ``mode`` is ``"plain"``, ``"starttls"`` (offered, and required before AUTH) or
    ``"tls"`` (implicit TLS from the first byte). With ``user``/``password`` the server
    offers AUTH LOGIN and PLAIN and (except over implicit TLS) refuses mail from
    unauthenticated sessions. ``refuse``
    maps recipient addresses to the reply the server gives them (``"550 5.1.1 No such user"``).
    """

    def __init__(
        self,
        mode: str = "plain",
        *,
        ca: trustme.CA | None = None,
        user: str | None = None,
        password: str | None = None,
        refuse: dict[str, str] | None = None,
    ) -> None:
        self.handler = _Handler(refuse or {})
        self.ca = ca
        kwargs: dict[str, Any] = {}
        if mode != "plain":
            assert ca is not None, "TLS modes need a trustme CA"
            server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(HOST, "localhost").configure_cert(server_ctx)
            if mode == "starttls":
                kwargs |= {"tls_context": server_ctx, "require_starttls": True}
            elif mode == "tls":
                kwargs["ssl_context"] = server_ctx
            else:
                raise ValueError(f"unknown mode {mode!r}")
        if user is not None:
            assert password is not None
            kwargs |= {
                "authenticator": _Authenticator(user, password),
                # aiosmtpd only knows STARTTLS as "TLS": for implicit TLS (encrypted from the
                # first byte) it must be told not to require it, and then it warns if AUTH is
                # required, so there AUTH is offered but not enforced.
                "auth_require_tls": mode != "tls",
                "auth_required": mode != "tls",
            }
        self._kwargs = kwargs
        self._port = 0
        self._controller: _AnyPortController | None = None
        self.running = False

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> SmtpPeer:
        """Listen; after a ``stop`` the server comes back on the same port."""
        self._controller = _AnyPortController(
            self.handler,
            hostname=HOST,
            port=self._port,
            server_hostname="lifeline-test",
            **self._kwargs,
        )
        self._controller.start()
        self._port = int(self._controller.port)
        self.running = True
        return self

    def stop(self) -> None:
        """Close the listener: later connections are refused. Safe to call twice."""
        if self.running and self._controller is not None:
            self._controller.stop()
            self.running = False

    def __enter__(self) -> SmtpPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.snapshot()

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """The received messages once there are at least ``count``; AssertionError after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.received
            if len(received) >= count:
                return received
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} message(s), got {len(received)}")
            await asyncio.sleep(0.01)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def to(self, word: str) -> list[str]:
        """Recipients of the messages whose subject contains ``word``, sorted."""
        return sorted(str(m["To"]) for m in self.messages if word in str(m["Subject"]))

    @staticmethod
    def text(message: EmailMessage) -> str:
        """The plain-text part of ``message``."""
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context trusting only this peer's CA (hostname checked)."""
        assert self.ca is not None
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx
