"""checks.statuspage: Statuspage summary.json → CheckResult (pure; fixtures, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from checks import statuspage
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult, Status

FIXTURES = Path(__file__).parent.parent / "fixtures" / "statuspage"
NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
URL = "https://status.meridianmis.example/api/v2/summary.json"
PAYMENTS = "c4hn8sj2vw5e"
MESSAGING = "m1x9pq3r6tkz"


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw(name))
    return data


def component(data: dict[str, Any], component_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["components"] if c["id"] == component_id)
    return found


def spec(**fields: Any) -> statuspage.Spec:
    return statuspage.Spec(type="statuspage", url=URL, **fields)


def observe(body: bytes | dict[str, Any], **fields: Any) -> HttpObservation:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    defaults: dict[str, Any] = {"status_code": 200, "elapsed": 0.25}
    return HttpObservation(
        probe=HttpProbe(url=URL, conditional=True),
        observed_at=NOW,
        body=body,
        **(defaults | fields),
    )


def run(body: bytes | dict[str, Any], **spec_fields: Any) -> CheckResult:
    return statuspage.evaluate(spec(**spec_fields), observe(body), "svc:0")


def names(result: CheckResult) -> list[str]:
    return [i.name for i in result.incidents]


# --- whole page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "summary", "incidents"),
    [
        (
            "all_operational",
            Status.UP,
            "Meridian MIS: up (Statuspage: 'All Systems Operational')",
            [],  # the upcoming maintenance has not started
        ),
        (
            "partial_outage_group",
            Status.PARTIAL_OUTAGE,
            "Meridian MIS: partial outage (Statuspage: 'Partial System Outage'; "
            "'Payments': partial outage; 'Messaging': degraded)",
            [
                "Card payments failing for some parents",
                "Delayed delivery of text messages",
                "Slow page loads for some users",
            ],
        ),
        (
            "maintenance_in_progress",
            Status.MAINTENANCE,
            "Meridian MIS: under maintenance (Statuspage: 'Service Under Maintenance'; "
            "'Reporting': under maintenance; "
            "maintenance in progress: 'Reporting database upgrade')",
            ["Reporting database upgrade"],
        ),
        (
            "unknown_values",
            Status.UNKNOWN,
            "Meridian MIS: unknown (unrecognised page indicator 'elevated'; "
            "'Attendance' has unrecognised status 'recovering')",
            ["Registers slow to save"],
        ),
    ],
)
def test_whole_page(fixture: str, status: Status, summary: str, incidents: list[str]) -> None:
    result = run(raw(fixture))
    assert result.status is status
    assert result.summary == summary
    assert names(result) == incidents


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        ("none", Status.UP),
        ("minor", Status.DEGRADED),
        ("major", Status.PARTIAL_OUTAGE),
        ("critical", Status.MAJOR_OUTAGE),
        ("maintenance", Status.MAINTENANCE),
        ("MAJOR", Status.PARTIAL_OUTAGE),  # case does not matter
        ("elevated", Status.UNKNOWN),  # never "up"
        ("", Status.UNKNOWN),
    ],
)
def test_page_indicator_mapping(indicator: str, expected: Status) -> None:
    data = payload("all_operational")
    data["status"]["indicator"] = indicator
    assert run(data).status is expected


def test_worst_leaf_outranks_a_milder_indicator() -> None:
    data = payload("all_operational")
    data["status"] = {"indicator": "minor", "description": "Minor Service Outage"}
    component(data, PAYMENTS)["status"] = "major_outage"
    result = run(data)
    assert result.status is Status.MAJOR_OUTAGE
    assert "'Payments': major outage" in result.summary


def test_group_rows_do_not_count_as_leaves() -> None:
    # A stale roll-up on the group row must not outvote its (operational) children.
    data = payload("all_operational")
    component(data, "7wzr5hdyb0fs")["status"] = "major_outage"
    assert run(data).status is Status.UP


# --- selected components ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "components", "status", "incidents"),
    [
        # A leaf that is fine; the page-wide incident (no components) is still shown.
        ("partial_outage_group", ["Attendance"], Status.UP, ["Slow page loads for some users"]),
        (
            "partial_outage_group",
            ["Payments"],
            Status.PARTIAL_OUTAGE,
            ["Card payments failing for some parents", "Slow page loads for some users"],
        ),
        (
            "partial_outage_group",
            [MESSAGING],  # by id
            Status.DEGRADED,
            ["Delayed delivery of text messages", "Slow page loads for some users"],
        ),
        (
            "partial_outage_group",
            ["parent communication"],  # a group, case-insensitive: both children
            Status.PARTIAL_OUTAGE,
            [
                "Card payments failing for some parents",
                "Delayed delivery of text messages",
                "Slow page loads for some users",
            ],
        ),
        (
            "maintenance_in_progress",
            ["Reporting"],
            Status.MAINTENANCE,
            ["Reporting database upgrade"],
        ),
        # Its maintenance is only scheduled: not happening yet.
        ("maintenance_in_progress", ["Attendance"], Status.UP, []),
        ("unknown_values", ["Payments"], Status.UP, []),
        ("unknown_values", ["Attendance"], Status.UNKNOWN, ["Registers slow to save"]),
        ("unknown_values", ["Attendance", "Payments"], Status.UNKNOWN, ["Registers slow to save"]),
    ],
)
def test_selected_components(
    fixture: str, components: list[str], status: Status, incidents: list[str]
) -> None:
    result = run(raw(fixture), components=components)
    assert result.status is status
    assert names(result) == incidents


def test_selection_ignores_the_page_indicator() -> None:
    # The page says "major" because of Payments; Attendance itself is fine.
    result = run(raw("partial_outage_group"), components=["Attendance"])
    assert result.summary == "Meridian MIS: up (1 component operational)"


@pytest.mark.parametrize("key", ["PAYMENTS", "  payments ", PAYMENTS])
def test_component_matched_by_name_case_insensitively_or_by_id(key: str) -> None:
    assert run(raw("partial_outage_group"), components=[key]).status is Status.PARTIAL_OUTAGE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("operational", Status.UP),
        ("degraded_performance", Status.DEGRADED),
        ("partial_outage", Status.PARTIAL_OUTAGE),
        ("major_outage", Status.MAJOR_OUTAGE),
        ("under_maintenance", Status.MAINTENANCE),
        ("Major_Outage", Status.MAJOR_OUTAGE),
        ("recovering", Status.UNKNOWN),
        ("", Status.UNKNOWN),
    ],
)
def test_component_status_mapping(value: str, expected: Status) -> None:
    data = payload("all_operational")
    component(data, PAYMENTS)["status"] = value
    assert run(data, components=["Payments"]).status is expected


def test_group_children_found_through_group_id_alone() -> None:
    data = payload("partial_outage_group")
    del component(data, "7wzr5hdyb0fs")["components"]
    result = run(data, components=["Parent Communication"])
    assert result.status is Status.PARTIAL_OUTAGE
    assert "'Messaging': degraded" in result.summary


def test_group_without_children_stands_for_itself() -> None:
    data = payload("all_operational")
    data["components"] = [
        {"id": "g1", "name": "Apps", "status": "degraded_performance", "group": True}
    ]
    assert run(data, components=["Apps"]).status is Status.DEGRADED


def test_missing_component_is_unknown_and_named() -> None:
    result = run(raw("all_operational"), components=["Attendance", "Lunch Orders"])
    assert result.status is Status.UNKNOWN
    assert result.summary == (
        "Meridian MIS: unknown (component 'Lunch Orders' not found on status page)"
    )


def test_missing_component_does_not_hide_a_known_problem() -> None:
    result = run(raw("partial_outage_group"), components=["Payments", "Lunch Orders"])
    assert result.status is Status.PARTIAL_OUTAGE
    assert "component 'Lunch Orders' not found on status page" in result.summary


def test_unrecognised_value_does_not_hide_a_known_problem() -> None:
    data = payload("unknown_values")
    component(data, PAYMENTS)["status"] = "degraded_performance"
    result = run(data, components=["Attendance", "Payments"])
    assert result.status is Status.DEGRADED
    assert "'Attendance' has unrecognised status 'recovering'" in result.summary


def test_page_without_components_array_reports_selection_missing() -> None:
    data = payload("all_operational")
    del data["components"]
    assert run(data, components=["Attendance"]).status is Status.UNKNOWN
    assert run(data).status is Status.UP  # the indicator alone still speaks for the page


def test_long_lists_of_notes_are_cut() -> None:
    data = payload("all_operational")
    for row in data["components"]:
        row["status"] = "major_outage"
    result = run(data)
    assert result.summary.endswith("; +2 more)")


# --- provider incidents -----------------------------------------------------------------------


def test_incident_fields() -> None:
    first = run(raw("partial_outage_group")).incidents[0]
    assert first.name == "Card payments failing for some parents"
    assert first.status == "identified"
    assert first.impact == "major"
    assert first.url == "https://stspg.io/m3r1x5vb0q"
    assert first.latest_update.startswith("We have identified an issue with our card payment")
    assert first.updated_at == datetime(2024, 3, 12, 9, 40, 51, 190000, tzinfo=UTC)
    assert first.is_maintenance is False


def test_latest_update_chosen_by_time_not_position() -> None:
    data = payload("partial_outage_group")
    updates = data["incidents"][0]["incident_updates"]
    updates.reverse()  # oldest first now
    incident = run(data).incidents[0]
    assert incident.latest_update.startswith("We have identified")


def test_back_dated_update_uses_display_at() -> None:
    data = payload("partial_outage_group")
    updates = data["incidents"][0]["incident_updates"]
    updates[1]["display_at"] = "2024-03-12T09:59:00Z"  # shown as the latest on the page
    assert run(data).incidents[0].latest_update.startswith("We are continuing to investigate")


def test_undated_updates_keep_api_order_and_incident_time_falls_back() -> None:
    data = payload("partial_outage_group")
    incident = data["incidents"][0]
    del incident["updated_at"]
    for update in incident["incident_updates"]:
        update["created_at"] = update["display_at"] = None
    result = run(data).incidents[0]
    assert result.latest_update.startswith("We have identified")
    assert result.updated_at is None


def test_updated_at_is_utc() -> None:
    data = payload("partial_outage_group")
    data["incidents"][0]["updated_at"] = "2024-03-12T10:40:51+01:00"
    when = run(data).incidents[0].updated_at
    assert when == datetime(2024, 3, 12, 9, 40, 51, tzinfo=UTC)
    assert when is not None and when.utcoffset() is not None


@pytest.mark.parametrize("closed", ["resolved", "postmortem", "Resolved"])
def test_closed_incidents_are_left_out(closed: str) -> None:
    data = payload("partial_outage_group")
    data["incidents"][1]["status"] = closed
    assert "Delayed delivery of text messages" not in names(run(data))


def test_unrecognised_incident_status_is_still_open() -> None:
    assert names(run(raw("unknown_values"))) == ["Registers slow to save"]


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://stspg.io/abc", "https://stspg.io/abc"),
        ("javascript:alert(1)", ""),
        ("data:text/html,<script>", ""),
        (None, ""),
    ],
)
def test_only_http_links_are_kept(link: str | None, kept: str) -> None:
    data = payload("partial_outage_group")
    data["incidents"][0]["shortlink"] = link
    assert run(data).incidents[0].url == kept


@pytest.mark.parametrize(
    ("maintenance_status", "status", "listed"),
    [
        ("in_progress", Status.MAINTENANCE, True),
        ("verifying", Status.MAINTENANCE, True),
        ("scheduled", Status.UP, False),
        ("completed", Status.UP, False),
    ],
)
def test_maintenance_states(maintenance_status: str, status: Status, listed: bool) -> None:
    data = payload("maintenance_in_progress")
    data["status"] = {"indicator": "none", "description": "All Systems Operational"}
    component(data, "r9dfy6g2hb3n")["status"] = "operational"
    data["scheduled_maintenances"][0]["status"] = maintenance_status
    result = run(data)
    assert result.status is status
    assert ("Reporting database upgrade" in names(result)) is listed
    assert all(i.is_maintenance for i in result.incidents)


def test_maintenance_never_hides_something_worse() -> None:
    data = payload("maintenance_in_progress")
    component(data, PAYMENTS)["status"] = "major_outage"
    assert run(data).status is Status.MAJOR_OUTAGE
    assert run(data, components=["Reporting", "Payments"]).status is Status.MAJOR_OUTAGE


def test_maintenance_elsewhere_does_not_touch_selection() -> None:
    result = run(raw("maintenance_in_progress"), components=["Payments"])
    assert result.status is Status.UP
    assert result.incidents == ()


# --- what we could not read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status_code": None, "error": "connection refused"}, "(connection refused)"),
        ({"status_code": None, "error": "timed out after 10s"}, "(timed out after 10s)"),
        ({"status_code": 503}, "(HTTP 503)"),
        ({"status_code": 404}, "(HTTP 404)"),
        ({"truncated": True}, "(response larger than 2000000 bytes)"),
        ({"status_code": None}, "(no response)"),
    ],
)
def test_unreadable_page_is_unknown_never_an_outage(fields: dict[str, Any], reason: str) -> None:
    result = statuspage.evaluate(spec(), observe(raw("partial_outage_group"), **fields), "svc:0")
    assert result.status is Status.UNKNOWN
    assert result.summary == f"status.meridianmis.example: could not read status page {reason}"
    assert result.incidents == ()


_OK_STATUS = b'"status": {"indicator": "none", "description": "fine"}'


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "not JSON"),
        (b"\xff\xfe\x00garbage\x00", "not JSON"),
        (raw("all_operational")[:1000], "not JSON"),  # cut short by the server
        (b"[" * 100_000, "not JSON"),  # nested beyond the parser's stack
        (b'{"x": ' + b"9" * 5000 + b"}", "not JSON"),  # over-long integer
        (b"null", "unexpected shape: document"),
        (b"[]", "unexpected shape: document"),
        (b'"All Systems Operational"', "unexpected shape"),
        (b"42", "unexpected shape"),
        (b"{}", "unexpected shape: status: Field required"),
        (b'{"status": "none"}', "unexpected shape: status"),
        (b'{"status": {"indicator": 3}}', "unexpected shape: status.indicator"),
        (b'{"status": {"indicator": null}}', "unexpected shape: status.indicator"),
        (b"{" + _OK_STATUS + b', "components": {"a": 1}}', "unexpected shape: components"),
        (b"{" + _OK_STATUS + b', "components": [1, 2]}', "unexpected shape: components.0"),
        (
            b"{" + _OK_STATUS + b', "components": [{"id": 7, "name": "A", "status": "x"}]}',
            "unexpected shape: components.0.id",
        ),
        (b"{" + _OK_STATUS + b', "incidents": "none"}', "unexpected shape: incidents"),
        (
            b"{" + _OK_STATUS + b', "incidents": [{"name": "A", "status": "identified", '
            b'"incident_updates": [{"created_at": "yesterday"}]}]}',
            "unexpected shape: incidents.0.incident_updates.0.created_at",
        ),
        (
            b"{" + _OK_STATUS + b', "scheduled_maintenances": [{"name": ["x"], "status": 1}]}',
            "unexpected shape: scheduled_maintenances.0.name",
        ),
    ],
)
def test_hostile_or_malformed_payload_is_unknown(body: bytes, reason: str) -> None:
    result = run(body)
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith("status.meridianmis.example: could not read status page (")
    assert reason in result.summary
    assert len(result.summary) <= 300


def test_huge_and_hostile_provider_text_is_capped_and_cleaned() -> None:
    data = payload("partial_outage_group")
    data["page"]["name"] = "Meridian " * 100_000
    incident = data["incidents"][0]
    incident["name"] = "\x1b[31mRED\x1b[0m " + "x" * 1_000_000
    incident["status"] = "identified" * 1000
    incident["incident_updates"][0]["body"] = "line one\n\n\tline\u202etwo " * 50_000
    component(data, PAYMENTS)["name"] = "P" * 100_000
    result = run(data)
    assert result.status is Status.PARTIAL_OUTAGE
    assert len(result.summary) <= 300
    first = result.incidents[0]
    assert first.name.startswith("[31mRED[0m x")  # the escape character is gone
    assert len(first.name) <= 300 and first.name.endswith("…")
    assert len(first.status) <= 40
    assert first.latest_update.startswith("line one linetwo line one")  # bidi override gone
    assert "\u202e" not in first.latest_update and len(first.latest_update) <= 300


def test_a_bug_becomes_unknown_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(body: bytes) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(statuspage, "_parse_summary", explode)
    result = run(raw("all_operational"))
    assert result.status is Status.UNKNOWN
    assert result.summary == "status page status.meridianmis.example: could not evaluate (KeyError)"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    page_status=_JSON,
    components=_JSON,
    incidents=_JSON,
    selected=st.lists(st.text(max_size=20).filter(str.strip), max_size=3),
)
def test_evaluate_never_raises_on_arbitrary_shapes(
    page_status: Any, components: Any, incidents: Any, selected: list[str]
) -> None:
    body = {
        "status": page_status,
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": incidents,
    }
    result = statuspage.evaluate(spec(components=selected), observe(body), "svc:0")
    assert isinstance(result.status, Status)
    assert len(result.summary) <= 300


# --- result plumbing, spec and probe ----------------------------------------------------------


def test_result_carries_observation_time_latency_and_check_id() -> None:
    result = statuspage.evaluate(spec(), observe(raw("all_operational"), elapsed=0.42), "mis:3")
    assert (result.check_id, result.observed_at, result.latency) == ("mis:3", NOW, 0.42)


def test_check_name_leads_the_summary() -> None:
    result = run(raw("all_operational"), name="Arbor MIS")
    assert result.summary.startswith("Arbor MIS: up")


@pytest.mark.parametrize(
    "url",
    ["ftp://status.example.com/summary.json", "status.example.com", "https://", "", "http://a b"],
)
def test_spec_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        statuspage.Spec(type="statuspage", url=url)


@pytest.mark.parametrize("components", [[""], ["  "], ["Attendance", ""]])
def test_spec_rejects_blank_component_names(components: list[str]) -> None:
    with pytest.raises(ValidationError):
        spec(components=components)


def test_spec_rejects_unknown_keys_and_is_frozen() -> None:
    with pytest.raises(ValidationError, match="component"):
        statuspage.Spec.model_validate({"type": "statuspage", "url": URL, "component": ["A"]})
    made = spec()
    with pytest.raises(ValidationError):
        made.url = "https://other.example/"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({}, "status page status.meridianmis.example"),
        (
            {"components": ["Attendance", "Payments"]},
            "status page status.meridianmis.example (Attendance, Payments)",
        ),
        ({"name": "Meridian"}, "Meridian"),
    ],
)
def test_describe(fields: dict[str, Any], label: str) -> None:
    assert spec(**fields).describe() == label


def test_probe_is_a_shared_conditional_get() -> None:
    made = statuspage.probe(spec(components=["Attendance"]))
    assert (made.url, made.method, made.conditional, made.verify_tls) == (URL, "GET", True, True)
    # Two checks on the same page, different components: one fetch.
    assert made == statuspage.probe(spec(components=["Payments"], name="other"))
