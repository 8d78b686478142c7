"""The HTTP adapter and the checks against real local servers (plain and TLS)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from peers import HttpPeer

from checks import feed, http, module_for, statuspage
from monitor.config import parse_config
from monitor.http import HttpFetcher, HttpProbe
from monitor.model import Status
from monitor.probes import ProbeGroup, ProbeUse, fetch, plan_probes, run_group

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_peer(ca: trustme.CA) -> AsyncIterator[HttpPeer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    peer = HttpPeer(ssl_context=context)
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def group(probe: HttpProbe, timeout: float = 5.0) -> ProbeGroup:
    return ProbeGroup(probe, 60.0, timeout, ())


async def test_conditional_request_reuses_the_body_on_304(http_peer: HttpPeer) -> None:
    http_peer.set_json("/api/v2/summary.json", {"hello": "world"}, etag=True)
    probe = HttpProbe(http_peer.url("/api/v2/summary.json"), conditional=True)
    async with HttpFetcher() as fetcher:
        first = await fetcher.fetch(probe, 5)
        second = await fetcher.fetch(probe, 5)
    assert (first.status_code, first.not_modified) == (200, False)
    assert (second.status_code, second.not_modified) == (200, True)
    assert second.body == first.body == b'{"hello": "world"}'
    assert http_peer.not_modified["/api/v2/summary.json"] == 1


async def test_unconditional_probe_never_sends_validators(http_peer: HttpPeer) -> None:
    http_peer.set("/login", "Sign in", etag=True)
    async with HttpFetcher() as fetcher:
        for _ in range(2):
            assert (
                await fetcher.fetch(HttpProbe(http_peer.url("/login")), 5)
            ).not_modified is False
    assert http_peer.not_modified["/login"] == 0


async def test_body_read_is_capped(http_peer: HttpPeer) -> None:
    http_peer.set("/big", b"x" * 300_000)
    async with HttpFetcher() as fetcher:
        seen = await fetcher.fetch(HttpProbe(http_peer.url("/big"), max_body=10_000), 5)
    assert seen.truncated and len(seen.body) == 10_000


@pytest.mark.parametrize(("follow", "status"), [(True, 200), (False, 302)])
async def test_redirects(http_peer: HttpPeer, follow: bool, status: int) -> None:
    http_peer.set("/old", status=302, headers={"Location": "/login"})
    http_peer.set("/login", "Sign in")
    async with HttpFetcher() as fetcher:
        seen = await fetcher.fetch(HttpProbe(http_peer.url("/old"), follow_redirects=follow), 5)
    assert seen.status_code == status
    if follow:
        assert seen.final_url == http_peer.url("/login") and seen.body == b"Sign in"


async def test_connection_refused_is_an_observation_not_an_exception(http_peer: HttpPeer) -> None:
    url = http_peer.url("/login")
    await http_peer.stop()
    async with HttpFetcher() as fetcher:
        seen = await fetcher.fetch(HttpProbe(url), 5)
    assert seen.status_code is None and seen.error == "connection refused"


async def test_slow_endpoint_times_out_within_the_probe_timeout(http_peer: HttpPeer) -> None:
    http_peer.set("/slow", "late", delay=5)
    async with HttpFetcher() as fetcher:
        seen = await fetch(group(HttpProbe(http_peer.url("/slow")), timeout=0.3), fetcher, NOW)
    assert seen.error == "timed out after 0.3s"
    assert seen.elapsed is not None and seen.elapsed < 2


async def test_tls_verified_against_a_trusted_ca(tls_peer: HttpPeer, ca: trustme.CA) -> None:
    tls_peer.set("/login", "Sign in")
    async with HttpFetcher(ssl_context=trusting(ca)) as fetcher:
        seen = await fetcher.fetch(HttpProbe(tls_peer.url("/login")), 5)
    assert (seen.status_code, seen.body) == (200, b"Sign in")


async def test_untrusted_certificate_is_a_tls_error_unless_verification_is_off(
    tls_peer: HttpPeer,
) -> None:
    tls_peer.set("/login", "Sign in")
    async with HttpFetcher() as fetcher:
        refused = await fetcher.fetch(HttpProbe(tls_peer.url("/login")), 5)
        allowed = await fetcher.fetch(HttpProbe(tls_peer.url("/login"), verify_tls=False), 5)
    assert (
        refused.error is not None
        and "TLS error" in refused.error
        and "certificate" in refused.error.lower()
    )
    assert allowed.status_code == 200


async def test_checks_against_real_payloads(http_peer: HttpPeer) -> None:
    http_peer.set(
        "/api/v2/summary.json",
        (FIXTURES / "statuspage" / "partial_outage_group.json").read_bytes(),
        content_type="application/json",
    )
    http_peer.set(
        "/history.rss",
        (FIXTURES / "feeds" / "history.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    http_peer.set("/login", "<h1>Sign in</h1>")
    config = parse_config(
        f"""
organisation: {{name: Test}}
services:
  - id: mis
    name: MIS
    checks:
      - {{type: statuspage, url: "{http_peer.url("/api/v2/summary.json")}"}}
      - {{type: feed, url: "{http_peer.url("/history.rss")}", lookback: 3650d}}
      - {{type: http, url: "{http_peer.url("/login")}", contains: "Sign in"}}
""",
        "t.yaml",
        {},
    )
    async with HttpFetcher() as fetcher:
        results = [r for g in plan_probes(config) for _, r in await run_group(g, fetcher, clock)]
    by_type = dict(
        zip(["statuspage", "feed", "http"], sorted(results, key=lambda r: r.check_id), strict=True)
    )
    assert by_type["statuspage"].status is Status.PARTIAL_OUTAGE
    assert by_type["statuspage"].incidents
    assert by_type["feed"].status is not Status.UNKNOWN
    assert by_type["http"].status is Status.UP and by_type["http"].latency is not None


async def test_unreachable_status_page_is_unknown_but_unreachable_endpoint_is_an_outage(
    http_peer: HttpPeer,
) -> None:
    base = http_peer.base
    await http_peer.stop()
    uses = (
        ProbeUse("a", "a#0", statuspage.Spec(type="statuspage", url=f"{base}/api/v2/summary.json")),
        ProbeUse("b", "b#0", feed.Spec(type="feed", url=f"{base}/history.atom")),
        ProbeUse("c", "c#0", http.Spec(type="http", url=f"{base}/login")),
    )
    async with HttpFetcher() as fetcher:
        results = []
        for use in uses:
            probe = module_for(use.spec).probe(use.spec)
            results += await run_group(ProbeGroup(probe, 60, 5, (use,)), fetcher, clock)
    statuses = {sid: r.status for sid, r in results}
    assert statuses == {"a": Status.UNKNOWN, "b": Status.UNKNOWN, "c": Status.MAJOR_OUTAGE}
    assert all("refused" in r.summary for _, r in results)
