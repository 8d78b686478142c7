"""checks.http: one endpoint response → CheckResult, and the helpers HTTP checks share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from checks import http
from monitor.http import HttpObservation, HttpProbe
from monitor.model import Status

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
URL = "https://mis.oakfield.example/login"
LOGIN_PAGE = b"<html><head><title>Sign in</title></head><body><form>Sign in</form></body></html>"


def spec(**fields: Any) -> http.Spec:
    return http.Spec(type="http", url=URL, **fields)


def observe(made: http.Spec, **fields: Any) -> HttpObservation:
    defaults: dict[str, Any] = {"status_code": 200, "body": LOGIN_PAGE, "elapsed": 0.123}
    return HttpObservation(probe=http.probe(made), observed_at=NOW, **(defaults | fields))


@pytest.mark.parametrize(
    ("spec_fields", "seen", "status", "summary"),
    [
        ({}, {}, Status.UP, "HTTP 200 in 123 ms"),
        ({}, {"status_code": 302}, Status.UP, "HTTP 302 in 123 ms"),  # 2xx/3xx by default
        ({}, {"status_code": 204, "body": b""}, Status.UP, "HTTP 204 in 123 ms"),
        ({}, {"elapsed": None}, Status.UP, "HTTP 200"),
        ({}, {"status_code": 404}, Status.MAJOR_OUTAGE, f"HTTP 404 from {URL}"),
        ({}, {"status_code": 503}, Status.MAJOR_OUTAGE, f"HTTP 503 from {URL}"),
        ({}, {"status_code": 199}, Status.MAJOR_OUTAGE, f"HTTP 199 from {URL}"),
        ({"expect_status": [401]}, {"status_code": 401}, Status.UP, "HTTP 401 in 123 ms"),
        ({"expect_status": [401]}, {}, Status.MAJOR_OUTAGE, f"HTTP 200 from {URL}"),
        (
            {},
            {"status_code": None, "error": "connection refused", "body": b""},
            Status.MAJOR_OUTAGE,
            f"connection refused ({URL})",
        ),
        (
            {},
            {"status_code": None, "error": "timed out after 10s", "elapsed": 10.0},
            Status.MAJOR_OUTAGE,
            f"timed out after 10s ({URL})",
        ),
        (
            {},
            {"status_code": None, "error": "TLS error: certificate has expired"},
            Status.MAJOR_OUTAGE,
            f"TLS error: certificate has expired ({URL})",
        ),
        ({}, {"status_code": None}, Status.UNKNOWN, f"no response recorded for {URL}"),
        ({"contains": "Sign in"}, {}, Status.UP, "HTTP 200 in 123 ms"),
        (
            {"contains": "Sign in"},
            {"body": b"<h1>Maintenance</h1>"},
            Status.MAJOR_OUTAGE,
            f"expected text 'Sign in' not found (HTTP 200 from {URL})",
        ),
        (
            {"contains": "Sign in", "max_body": 10},
            {"body": LOGIN_PAGE[:10], "truncated": True},
            Status.MAJOR_OUTAGE,
            f"expected text 'Sign in' not found in the first 10 bytes (HTTP 200 from {URL})",
        ),
        (
            {"not_contains": "Service unavailable"},
            {"body": b"<p>Service unavailable</p>"},
            Status.MAJOR_OUTAGE,
            f"unwanted text 'Service unavailable' found (HTTP 200 from {URL})",
        ),
        ({"not_contains": "Service unavailable"}, {}, Status.UP, "HTTP 200 in 123 ms"),
        (
            {"max_latency": "1s"},
            {"elapsed": 2.35},
            Status.DEGRADED,
            "slow: HTTP 200 in 2350 ms (limit 1000 ms)",
        ),
        ({"max_latency": "1s"}, {"elapsed": 0.999}, Status.UP, "HTTP 200 in 999 ms"),
        ({"max_latency": "1s"}, {"elapsed": None}, Status.UP, "HTTP 200"),
        # The first failing rule decides: wrong status beats slowness and body checks.
        (
            {"max_latency": "1s", "contains": "Sign in"},
            {"status_code": 503, "elapsed": 5.0, "body": b""},
            Status.MAJOR_OUTAGE,
            f"HTTP 503 from {URL}",
        ),
        (
            {"max_latency": "1s", "contains": "Welcome"},
            {"elapsed": 5.0},
            Status.MAJOR_OUTAGE,
            f"expected text 'Welcome' not found (HTTP 200 from {URL})",
        ),
    ],
)
def test_evaluate(
    spec_fields: dict[str, Any], seen: dict[str, Any], status: Status, summary: str
) -> None:
    made = spec(**spec_fields)
    result = http.evaluate(made, observe(made, **seen), "mis:1")
    assert result.status is status
    assert result.summary == summary


def test_result_carries_observation_time_latency_and_check_id() -> None:
    made = spec()
    result = http.evaluate(made, observe(made, elapsed=0.5), "mis:4")
    assert (result.check_id, result.observed_at, result.latency, result.incidents) == (
        "mis:4",
        NOW,
        0.5,
        (),
    )


def test_contains_uses_the_declared_charset() -> None:
    made = spec(contains="Connexion réussie")
    body = "<p>Connexion réussie</p>".encode("latin-1")
    latin = observe(made, body=body, headers={"content-type": "text/html; charset=ISO-8859-1"})
    assert http.evaluate(made, latin, "x").status is Status.UP
    assert http.evaluate(made, observe(made, body=body), "x").status is Status.MAJOR_OUTAGE


def test_contains_is_case_sensitive() -> None:
    made = spec(contains="SIGN IN")
    assert http.evaluate(made, observe(made), "x").status is Status.MAJOR_OUTAGE


def test_summary_never_shows_credentials_or_query() -> None:
    made = http.Spec(type="http", url="https://monitor:s3cret@mis.example/health?token=abc123#x")
    result = http.evaluate(made, observe(made, status_code=500), "x")
    assert result.summary == "HTTP 500 from https://mis.example/health"
    assert made.describe() == "GET https://mis.example/health"


def test_huge_error_text_is_capped() -> None:
    made = spec()
    result = http.evaluate(made, observe(made, status_code=None, error="x" * 100_000), "x")
    assert result.status is Status.MAJOR_OUTAGE
    assert len(result.summary) <= 300


def test_a_bug_becomes_unknown_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr(http, "_judge", explode)
    made = spec()
    result = http.evaluate(made, observe(made), "x")
    assert result.status is Status.UNKNOWN
    assert result.summary == f"{URL}: could not evaluate (ZeroDivisionError)"


# --- spec and probe ---------------------------------------------------------------------------


def test_probe_maps_the_spec() -> None:
    made = spec(
        method="POST",
        verify_tls=False,
        follow_redirects=False,
        max_body=5000,
        headers={"X-Api-Key": "k", "Accept": "text/html"},
    )
    assert http.probe(made) == HttpProbe(
        url=URL,
        method="POST",
        verify_tls=False,
        follow_redirects=False,
        max_body=5000,
        conditional=False,
        headers=(("accept", "text/html"), ("x-api-key", "k")),
    )


def test_probe_defaults_and_sharing() -> None:
    made = http.probe(spec())
    assert (made.method, made.verify_tls, made.follow_redirects, made.max_body) == (
        "GET",
        True,
        True,
        1_000_000,
    )
    assert made.conditional is False  # a cached 304 must never stand in for the endpoint
    # Header order and case do not split the shared fetch.
    assert http.probe(spec(headers={"A": "1", "b": "2"})) == http.probe(
        spec(headers={"B": "2", "a": "1"})
    )


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({}, f"GET {URL}"),
        ({"method": "HEAD"}, f"HEAD {URL}"),
        ({"name": "MIS login"}, "MIS login"),
    ],
)
def test_describe(fields: dict[str, Any], label: str) -> None:
    assert spec(**fields).describe() == label


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "mis.example/login"},
        {"url": "ftp://mis.example/"},
        {"url": "javascript:alert(1)"},
        {"url": "https:///nohost"},
        {"method": "DELETE"},
        {"expect_status": []},
        {"expect_status": [200, 42]},
        {"expect_status": [600]},
        {"contains": ""},
        {"method": "HEAD", "contains": "x"},
        {"method": "HEAD", "not_contains": "x"},
        {"headers": {"X-Evil": "a\r\nInjected: yes"}},
        {"headers": {"Bad Name": "x"}},
        {"max_body": 0},
        {"max_latency": "fast"},
        {"expect": 200},  # a typo of expect_status
    ],
)
def test_spec_rejects_bad_values(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        http.Spec.model_validate({"type": "http", "url": URL} | fields)


def test_spec_accepts_yaml_shapes() -> None:
    made = http.Spec.model_validate(
        {"type": "http", "url": " http://10.0.0.5:8080/health ", "max_latency": "1500ms"}
    )
    assert made.url == "http://10.0.0.5:8080/health"
    assert made.max_latency is not None and made.max_latency.total_seconds() == 1.5


# --- shared helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("  several \n\t spaces  ", 300, "several spaces"),
        ("abcdef", 4, "abc…"),
        ("abcd", 4, "abcd"),
        ("esc\x1b[31m red\x07", 300, "esc[31m red"),
        ("bidi \u202eevil\u202c text", 300, "bidi evil text"),
        ("keeps émoji 🙂 and accents", 300, "keeps émoji 🙂 and accents"),
        ("x" * 1_000_000, 300, "x" * 299 + "…"),
    ],
)
def test_clip(text: str, limit: int, expected: str) -> None:
    assert http.clip(text, limit) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host.example:8443/a/b?x=1#f", "https://host.example:8443/a/b"),
        ("http://[::1]:8080/health", "http://[::1]:8080/health"),
        ("https://host.example", "https://host.example"),
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert http.display_url(url) == shown


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://stspg.io/x", "https://stspg.io/x"),
        ("HTTP://Example.com/", "HTTP://Example.com/"),
        ("javascript:alert(1)", ""),
        ("//evil.example/", ""),
        ("https://a b/", ""),
        (42, ""),
        (None, ""),
    ],
)
def test_safe_link(link: object, kept: str) -> None:
    assert http.safe_link(link) == kept


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status_code": 200}, None),
        ({"status_code": None, "error": "connection refused"}, "connection refused"),
        ({"status_code": None}, "no response"),
        ({"status_code": 301}, "HTTP 301"),
        ({"status_code": 200, "truncated": True}, "response larger than 2000000 bytes"),
    ],
)
def test_unreadable_reason(fields: dict[str, Any], reason: str | None) -> None:
    observation = HttpObservation(probe=HttpProbe(url=URL), observed_at=NOW, **fields)
    assert http.unreadable_reason(observation) == reason
