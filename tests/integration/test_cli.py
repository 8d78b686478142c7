"""The ``lifeline`` command as a user runs it: a real process, real peers, real exit codes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from peers import HttpPeer, wait_until
from smtp_peer import SmtpPeer

ROOT = Path(__file__).resolve().parents[2]


async def lifeline(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "monitor",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(
    tmp_path: Path, peer: HttpPeer, smtp_port: int = 25, interval: str = "60s"
) -> Path:
    path = tmp_path / "lifeline.yaml"
    path.write_text(f"""\
organisation: {{name: Oakfield, timezone: Europe/London}}
smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false, from: "Lifeline <alerts@oak.example>"}}
defaults: {{interval: {interval}, timeout: 2s, spread: 0s, failures_before_alert: 1, retry_initial: 1s}}
alerting: {{group_window: 0s}}
contacts: [{{id: jo, name: Jo Patel, role: IT lead, email: jo@oak.example}}]
services:
  - id: mis
    name: MIS
    criticality: critical
    notify: [jo]
    checks: [{{type: statuspage, url: "{peer.url("/api/v2/summary.json")}"}}]
  - id: website
    name: Website
    criticality: low
    depends_on: [mis]
    checks: [{{type: http, url: "{peer.url("/")}", contains: Welcome}}]
""")
    return path


def summary(indicator: str) -> dict[str, object]:
    return {
        "page": {"id": "p", "name": "MIS"},
        "status": {"indicator": indicator, "description": "x"},
        "components": [],
        "incidents": [],
        "scheduled_maintenances": [],
    }


async def test_validate_ok(tmp_path: Path, http_peer: HttpPeer) -> None:
    code, out, err = await lifeline("validate", "-c", str(write_config(tmp_path, http_peer)))
    assert code == 0 and "OK — 2 service(s), 2 check(s), 1 contact(s)" in out


async def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "organisation: {name: X}\nservices:\n  - id: Bad Id\n    name: x\n    sla: 150\n    checks: []\n"
    )
    code, out, err = await lifeline("validate", "-c", str(bad))
    assert code == 2
    assert f"{bad}:3: services[0].id: String should match pattern" in err
    assert f"{bad}:5: services[0].sla: Input should be less than or equal to 100" in err
    assert f"{bad}:6: services[0].checks: List should have at least 1 item" in err
    assert "3 problem(s) found." in err and "Traceback" not in err


async def test_missing_config_and_bad_usage_exit_2(tmp_path: Path) -> None:
    code, _, err = await lifeline("validate", "-c", str(tmp_path / "nope.yaml"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    code, _, err = await lifeline("frobnicate")
    assert code == 2 and "invalid choice" in err


async def test_unsupported_database_url_is_a_usage_error(
    tmp_path: Path, http_peer: HttpPeer
) -> None:
    config = write_config(tmp_path, http_peer)
    code, _, err = await lifeline("run", "-c", str(config), "--db", "mysql://user:hunter2@db/x")
    assert code == 2 and "unsupported database URL" in err and "hunter2" not in err


async def test_check_prints_statuses_and_exits_1_when_a_critical_service_is_down(
    tmp_path: Path, http_peer: HttpPeer
) -> None:
    http_peer.set_json("/api/v2/summary.json", summary("none"))
    http_peer.set("/", "Welcome to Oakfield")
    config = str(write_config(tmp_path, http_peer))
    code, out, _ = await lifeline("check", "-c", config, "--format", "json")
    assert code == 0
    rows = {row["service"]: row for row in json.loads(out)}
    assert (rows["mis"]["status"], rows["website"]["status"]) == ("up", "up")

    http_peer.set_json("/api/v2/summary.json", summary("critical"))
    http_peer.set("/", "Maintenance", status=503)
    code, out, _ = await lifeline("check", "-c", config)
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "Major outage" in lines["MIS"] and "critical" in lines["MIS"]
    assert "HTTP 503" in lines["Website"] and "impacted by MIS" in lines["Website"]
    code, out, _ = await lifeline("check", "-c", config, "--format", "json")
    rows = {row["service"]: row for row in json.loads(out)}
    assert (rows["website"]["impacted_by"], rows["mis"]["impacted_by"]) == ("mis", None)

    http_peer.set_json(
        "/api/v2/summary.json", summary("none")
    )  # only the low-criticality site down
    code, _, _ = await lifeline("check", "-c", config)
    assert code == 0


async def test_run_alerts_and_stops_cleanly_on_sigterm(tmp_path: Path, http_peer: HttpPeer) -> None:
    http_peer.set_json("/api/v2/summary.json", summary("none"))
    http_peer.set("/", "Welcome")
    with SmtpPeer() as smtp:
        config = write_config(tmp_path, http_peer, smtp.port, interval="0.3s")
        db = tmp_path / "lifeline.db"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor",
            "run",
            "-c",
            str(config),
            "--db",
            f"sqlite:///{db}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        try:
            await wait_until(lambda: http_peer.hits["/api/v2/summary.json"] >= 2, timeout=20)
            http_peer.set_json("/api/v2/summary.json", summary("major"))
            received = await smtp.wait_for(1, timeout=20)
            assert received[0].rcpt_tos == ("jo@oak.example",)
            assert "DOWN: MIS" in str(received[0].message["Subject"])
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    assert "shutting down" in err.decode() and "Traceback" not in err.decode()
    assert db.exists()


async def test_demo_runs_the_scripted_outage() -> None:
    code, out, err = await lifeline("demo", "--speed", "8", timeout=120)
    assert code == 0, out + err
    assert "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School" in out
    assert "[Lifeline] ESCALATED: MIS (Arbor) at Oakfield Primary School" in out
    assert "[Lifeline] ACKNOWLEDGED: MIS (Arbor) at Oakfield Primary School — by Jo Patel" in out
    assert "[Lifeline] RECOVERED: MIS (Arbor) at Oakfield Primary School" in out
    assert "mis: up -> partial_outage" in out or "mis: up -> major_outage" in out


async def test_ack_and_incidents_commands_on_the_store(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from monitor.incidents import apply
    from monitor.model import Status, Transition
    from monitor.store import Store

    db = f"sqlite:///{tmp_path / 'l.db'}"
    store = await Store.open(db)
    t = Transition(
        "mis", Status.UP, Status.MAJOR_OUTAGE, datetime(2026, 12, 3, 9, 2, tzinfo=UTC), "HTTP 503"
    )
    await store.commit_transition(t, [apply(None, t, "mis-20261203-0902-ab12")])
    await store.close()

    code, out, _ = await lifeline("incidents", "--db", db)
    assert code == 0 and "mis-20261203-0902-ab12  mis" in out and "NOT acknowledged" in out
    code, out, _ = await lifeline(
        "ack", "mis-20261203-0902-ab12", "--by", "Jo Patel", "--note", "on it", "--db", db
    )
    assert code == 0 and "acknowledged by Jo Patel" in out
    code, out, _ = await lifeline("ack", "mis-20261203-0902-ab12", "--by", "Sam", "--db", db)
    assert code == 0 and "already acknowledged by Jo Patel" in out
    code, _, err = await lifeline("ack", "nope", "--by", "Sam", "--db", db)
    assert code == 1 and "no incident 'nope'" in err
    code, out, _ = await lifeline("incidents", "--db", db)
    assert "acknowledged by Jo Patel" in out

    store = await Store.open(db)
    stored = await store.incident("mis-20261203-0902-ab12")
    await store.close()
    assert (
        stored is not None and stored.acknowledged_by == "Jo Patel" and stored.ack_note == "on it"
    )
