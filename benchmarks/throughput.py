"""Throughput of the monitoring loop against local endpoints (run by ``make bench``).

Starts endpoint servers in a separate process (plain HTTP and HTTPS with a ``trustme``
certificate, on 127.0.0.1 only), then, each in a fresh process so peak RSS is its own:

- ``lifeline``: N http monitors through the real scheduler, checks, tracker and SQLite
  store for a fixed time; reports checks per CPU-second, peak RSS, and p50/p99 lateness of
  probes against their schedule;
- ``httpx``, ``httpx-aiohttp``, ``aiohttp``: a bare loop making the same requests (50 in
  flight) for the same time, as the yardstick.

Everything is bounded: fixed durations, loopback only, and the servers stop with the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

PORTS_PER_KIND = 4
IN_FLIGHT = 50


# --- endpoint servers (a separate process) ------------------------------------------------------


def serve(ports: list[int], tls_ports: list[int], cert_dir: str, ready: Any, stop: Any) -> None:
    async def main() -> None:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")

        app = web.Application()
        app.router.add_get("/{tail:.*}", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(f"{cert_dir}/server.pem")
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        for port in tls_ports:
            await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context, backlog=1024).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await runner.cleanup()

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    import socket

    sockets, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def urls(n: int, ports: list[int], tls_ports: list[int]) -> list[str]:
    out = []
    for i in range(n):
        if i % 2:
            out.append(f"https://127.0.0.1:{tls_ports[i % len(tls_ports)]}/m/{i}")
        else:
            out.append(f"http://127.0.0.1:{ports[i % len(ports)]}/m/{i}")
    return out


# --- scenarios (each in its own process) -------------------------------------------------------


def client_context(cert_dir: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=f"{cert_dir}/ca.pem")
    return context


async def scenario_lifeline(
    targets: list[str], duration: float, interval: float, cert_dir: str
) -> dict[str, Any]:
    from monitor.config import Config
    from monitor.daemon import Daemon
    from monitor.http import HttpFetcher
    from monitor.store import Store

    config = Config.model_validate(
        {
            "organisation": {"name": "Benchmark Trust"},
            "defaults": {"interval": f"{interval}s", "timeout": "5s", "concurrency": 100},
            "services": [
                {
                    "id": f"s{i}",
                    "name": f"Service {i}",
                    "checks": [{"type": "http", "url": url, "contains": "Sign in"}],
                }
                for i, url in enumerate(targets)
            ],
        }
    )
    workdir = tempfile.mkdtemp(prefix="lifeline-bench-")
    store = await Store.open(f"sqlite:///{workdir}/bench.db")
    fetcher = HttpFetcher(max_connections=100, ssl_context=client_context(cert_dir))
    daemon = Daemon(config, store, fetcher=fetcher, senders={})
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop))
    # Warm-up: the first interval spreads the initial runs; measure after it.
    await asyncio.sleep(interval)
    cpu0, wall0, results0 = time.process_time(), time.perf_counter(), daemon.stats.results
    daemon.stats.lateness.clear()
    await asyncio.sleep(duration)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = daemon.stats.results - results0
    lateness = sorted(daemon.stats.lateness)
    stop.set()
    await task
    await fetcher.aclose()
    await store.close()
    from monitor.model import Status

    ups = sum(1 for s in config.services if daemon.monitor.status(s.id).status is Status.UP)
    return {
        "checks": done,
        "checks_per_s": done / wall,
        "checks_per_cpu_s": done / cpu if cpu else 0.0,
        "cpu_s": cpu,
        "lateness_p50_ms": 1000 * _pct(lateness, 50),
        "lateness_p99_ms": 1000 * _pct(lateness, 99),
        "services_up": ups,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def scenario_bare(
    kind: str, targets: list[str], duration: float, cert_dir: str
) -> dict[str, Any]:
    context = client_context(cert_dir)
    deadline = time.perf_counter() + duration
    done = 0
    errors = 0
    next_index = 0

    def next_url() -> str:
        nonlocal next_index
        url = targets[next_index % len(targets)]
        next_index += 1
        return url

    cpu0, wall0 = time.process_time(), time.perf_counter()
    if kind == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=100, ssl=context)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal done, errors
                while time.perf_counter() < deadline:
                    try:
                        async with session.get(next_url()) as response:
                            await response.read()
                        done += 1
                    except aiohttp.ClientError:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    else:
        import httpx

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=None)
        if kind == "httpx":
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(
                verify=context, limits=limits
            )
        else:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(verify=context, limits=limits)
        async with httpx.AsyncClient(transport=transport) as client:

            async def worker() -> None:
                nonlocal done, errors
                while time.perf_counter() < deadline:
                    try:
                        response = await client.get(next_url())
                        response.read()
                        done += 1
                    except httpx.HTTPError:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "checks": done,
        "errors": errors,
        "checks_per_s": done / wall,
        "checks_per_cpu_s": done / cpu if cpu else 0.0,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


# --- orchestration ---------------------------------------------------------------------------


def run_child(
    args: argparse.Namespace,
    scenario: str,
    n: int,
    ports: list[int],
    tls_ports: list[int],
    cert_dir: str,
) -> dict[str, Any]:
    spec = json.dumps(
        {
            "scenario": scenario,
            "n": n,
            "ports": ports,
            "tls_ports": tls_ports,
            "cert_dir": cert_dir,
            "duration": args.duration,
            "interval": args.interval,
        }
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", spec],
        capture_output=True,
        text=True,
        timeout=args.duration + args.interval + 120,
    )
    if out.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def child(spec_text: str) -> None:
    spec = json.loads(spec_text)
    targets = urls(spec["n"], spec["ports"], spec["tls_ports"])
    if spec["scenario"] == "lifeline":
        result = asyncio.run(
            scenario_lifeline(targets, spec["duration"], spec["interval"], spec["cert_dir"])
        )
    else:
        result = asyncio.run(
            scenario_bare(spec["scenario"], targets, spec["duration"], spec["cert_dir"])
        )
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument(
        "--duration", type=float, default=30.0, help="measured seconds per scenario"
    )
    parser.add_argument(
        "--interval", type=float, default=10.0, help="check interval of each monitor"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    cert_dir = tempfile.mkdtemp(prefix="lifeline-bench-certs-")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(f"{cert_dir}/ca.pem")
    ca.issue_cert("localhost", "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        f"{cert_dir}/server.pem"
    )
    ports, tls_ports = free_ports(PORTS_PER_KIND), free_ports(PORTS_PER_KIND)
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(ports, tls_ports, cert_dir, ready, stop), daemon=True
    )
    server.start()
    if not ready.wait(30):
        raise SystemExit("endpoint servers did not start")
    rows = []
    try:
        for n in args.monitors:
            results = {
                s: run_child(args, s, n, ports, tls_ports, cert_dir)
                for s in ("lifeline", "httpx", "httpx-aiohttp", "aiohttp")
            }
            rows.append((n, results))
            print_table(n, results, args)
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.terminate()
    print(
        f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{args.duration:g}s measured per scenario; monitors at {args.interval:g}s intervals; "
        f"half plain HTTP, half HTTPS"
    )


def print_table(n: int, results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    life = results["lifeline"]
    print(f"\n### {n} monitors (target {n / args.interval:.0f} checks/s)\n")
    print(
        "| loop | checks | checks/s | checks per CPU-s | Lifeline ÷ loop (per CPU-s) "
        "| peak RSS MB | lateness p50 / p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        ratio = (
            life["checks_per_cpu_s"] / r["checks_per_cpu_s"]
            if r["checks_per_cpu_s"]
            else float("nan")
        )
        late = (
            f"{r['lateness_p50_ms']:.0f} / {r['lateness_p99_ms']:.0f}"
            if "lateness_p50_ms" in r
            else "—"
        )
        label = (
            "Lifeline (scheduler + checks + tracker + SQLite)"
            if name == "lifeline"
            else f"bare {name} loop, {IN_FLIGHT} in flight"
        )
        print(
            f"| {label} | {r['checks']} | {r['checks_per_s']:.0f} | {r['checks_per_cpu_s']:.0f} | "
            f"{ratio:.2f} | {r['peak_rss_mb']:.0f} | {late} |"
        )
    print(f"\nservices up at the end: {life['services_up']} of {n}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
