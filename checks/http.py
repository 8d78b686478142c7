"""The ``http`` check: is an endpoint answering the way it should?

An endpoint that cannot be reached, answers with an unexpected status, or serves the wrong
page is a **major outage** of that endpoint (unlike a status page, which only *reports* on a
service: see ``checks.statuspage``). Slower than ``max_latency`` is **degraded**.

YAML::

    - type: http
      url: https://mis.example.org/login
      contains: "Sign in"
      max_latency: 2s

This module also holds the few helpers every HTTP-based check shares (URL validation, the
"could we read the body at all" test, and trimming untrusted text for one-line summaries).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from checks.base import CheckSpec
from monitor.durations import Duration
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult, ProviderIncident, Status

# --- helpers shared by the HTTP-based checks --------------------------------------------------

SUMMARY_TEXT_LIMIT = 300
"""Longest provider-controlled text (incident name, update body) we put into a result."""

# C0/C1 controls (terminal escapes in ``lifeline check`` output) and bidi overrides (text that
# renders differently from what it says). Whitespace controls are collapsed separately.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WHITESPACE = re.compile(r"\s+")


def _check_web_url(value: str) -> str:
    value = value.strip()
    if _WHITESPACE.search(value):
        raise ValueError("must not contain whitespace")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


WebUrl = Annotated[str, AfterValidator(_check_web_url)]
"""A ``str`` field holding an absolute http(s) URL (validated, otherwise kept as written)."""


def host_of(url: str) -> str:
    """The host name of ``url`` for labels (``status.example.com``); ``url`` itself if none."""
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment: those may hold secrets (tokens, keys)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return clip(url, 120)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def safe_link(url: object) -> str:
    """``url`` if it is an http(s) URL, else ``""``: providers' links are untrusted
    (a ``javascript:`` link must never reach a dashboard or an email)."""
    if not isinstance(url, str):
        return ""
    try:
        return _check_web_url(url[:2000])
    except ValueError:
        return ""


def clip(text: str, limit: int = SUMMARY_TEXT_LIMIT) -> str:
    """Untrusted text made safe for a one-line summary: control characters removed,
    whitespace collapsed, at most ``limit`` characters (ending in ``…`` when cut).

    Plain text only; HTML escaping is the renderer's job.
    """
    # Cut before the regexes so a multi-megabyte string costs nothing; collapsing whitespace
    # only shortens text, so 4x the limit is plenty.
    text = _UNSAFE_CHARS.sub("", text[: limit * 4 + 16])
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def unreadable_reason(observation: HttpObservation) -> str | None:
    """Why the fetched document cannot be evaluated, or ``None`` when its body is usable.

    Used by checks that read a provider's document (status page, feed): a missing, partial or
    non-200 document tells us nothing about the service, so the caller reports ``unknown``.
    """
    if observation.error:
        return clip(observation.error, 200)
    if observation.status_code is None:
        return "no response"
    if observation.status_code != 200:
        return f"HTTP {observation.status_code}"
    if observation.truncated:
        return f"response larger than {observation.probe.max_body} bytes"
    return None


Judgement = tuple[Status, str, tuple[ProviderIncident, ...]]


def judged(
    check_id: str,
    observation: HttpObservation,
    what: str,
    judge: Callable[[], Judgement],
) -> CheckResult:
    """The result of ``judge()``, the one place a check's rules run. A bug or an input no
    rule anticipated becomes ``unknown`` with ``what`` named: never a crash."""
    try:
        status, summary, incidents = judge()
    except Exception as exc:  # the contract: a check never raises
        status, summary, incidents = (
            Status.UNKNOWN,
            f"{what}: could not evaluate ({type(exc).__name__})",
            (),
        )
    return CheckResult(
        check_id=check_id,
        status=status,
        summary=clip(summary),
        observed_at=observation.observed_at,
        latency=observation.elapsed,
        incidents=incidents,
    )


# --- the http check ---------------------------------------------------------------------------

# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Spec(CheckSpec):
    """An endpoint to request and what a healthy answer looks like."""

    type: Literal["http"]
    url: WebUrl
    method: Literal["GET", "HEAD", "POST", "OPTIONS"] = "GET"
    expect_status: list[int] | None = None
    """Acceptable status codes; ``None`` (the default) accepts any 2xx or 3xx."""
    contains: str | None = Field(default=None, min_length=1)
    """Text the body must contain (case-sensitive), e.g. the login form's button."""
    not_contains: str | None = Field(default=None, min_length=1)
    """Text the body must not contain, e.g. "Service unavailable"."""
    max_latency: Duration | None = None
    """Slower answers are ``degraded``."""
    follow_redirects: bool = True
    verify_tls: bool = True
    max_body: int = Field(default=1_000_000, ge=1, le=50_000_000)
    """Bytes of the body read at most; ``contains`` only sees this much."""
    headers: dict[str, str] = {}

    @field_validator("expect_status")
    @classmethod
    def _valid_codes(cls, codes: list[int] | None) -> list[int] | None:
        if codes is None:
            return None
        if not codes:
            raise ValueError("must list at least one status code (omit it to accept 2xx/3xx)")
        bad = [code for code in codes if not 100 <= code <= 599]
        if bad:
            raise ValueError(f"{bad} are not HTTP status codes (100-599)")
        return codes

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            # A newline in a value would smuggle extra headers into the request.
            if any(c in value for c in "\r\n\x00"):
                raise ValueError(f"header {name!r} must not contain line breaks")
        return headers

    @model_validator(mode="after")
    def _body_checks_need_a_body(self) -> Spec:
        if self.method == "HEAD" and (self.contains or self.not_contains):
            raise ValueError("contains/not_contains need a body; HEAD responses have none")
        return self

    def describe(self) -> str:
        return self.name or f"{self.method} {display_url(self.url)}"


def probe(spec: Spec) -> HttpProbe:
    """Always a fresh request (not conditional): a cached 304 would hide an outage."""
    return HttpProbe(
        url=spec.url,
        method=spec.method,
        verify_tls=spec.verify_tls,
        follow_redirects=spec.follow_redirects,
        max_body=spec.max_body,
        conditional=False,
        # Lower-cased and sorted so equal configs make equal (shared) probes.
        headers=tuple(sorted((k.lower(), v) for k, v in spec.headers.items())),
    )


def evaluate(spec: Spec, observation: HttpObservation, check_id: str) -> CheckResult:
    """Judge one response. The first failing rule decides, in this order:

    no response ⇒ major outage (the reason, e.g. "connection refused"); unexpected status ⇒
    major outage; ``contains`` missing or ``not_contains`` present ⇒ major outage; slower
    than ``max_latency`` ⇒ degraded; otherwise up. Never raises.
    """
    return judged(
        check_id, observation, display_url(spec.url), lambda: (*_judge(spec, observation), ())
    )


def _judge(spec: Spec, observation: HttpObservation) -> tuple[Status, str]:
    url = display_url(spec.url)
    if observation.error:
        return Status.MAJOR_OUTAGE, f"{clip(observation.error, 200)} ({url})"
    code = observation.status_code
    if code is None:
        return Status.UNKNOWN, f"no response recorded for {url}"
    if not _status_expected(code, spec.expect_status):
        return Status.MAJOR_OUTAGE, f"HTTP {code} from {url}"
    body_problem = _body_problem(spec, observation)
    if body_problem:
        return Status.MAJOR_OUTAGE, f"{body_problem} (HTTP {code} from {url})"
    took = _format_latency(observation.elapsed)
    answered = f"HTTP {code} in {took}" if took else f"HTTP {code}"
    if spec.max_latency is not None and observation.elapsed is not None:
        limit = spec.max_latency.total_seconds()
        if observation.elapsed > limit:
            return Status.DEGRADED, f"slow: {answered} (limit {_format_latency(limit)})"
    return Status.UP, answered


def _status_expected(code: int, expected: list[int] | None) -> bool:
    if expected is None:
        return 200 <= code <= 399
    return code in expected


def _body_problem(spec: Spec, observation: HttpObservation) -> str | None:
    if spec.contains is None and spec.not_contains is None:
        return None
    text = observation.text()
    if spec.contains is not None and spec.contains not in text:
        problem = f"expected text {clip(spec.contains, 60)!r} not found"
        if observation.truncated:
            problem += f" in the first {observation.probe.max_body} bytes"
        return problem
    if spec.not_contains is not None and spec.not_contains in text:
        return f"unwanted text {clip(spec.not_contains, 60)!r} found"
    return None


def _format_latency(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms"
