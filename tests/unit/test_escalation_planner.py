"""Time-travel tests of the escalation planner: steps, acknowledgement, reminders, recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.escalation import (
    DEFAULT_POLICY,
    IncidentClock,
    ResolvedStep,
    Step,
    Target,
    key,
    plan,
    resolve,
    told_targets,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)

POLICY = [
    Step(after=timedelta(0), notify=["@service"], via=["email", "teams-it"]),
    Step(after=30 * M, notify=["leadership"], via=["email", "sms"]),
    Step(after=120 * M, notify=["trust-it"], via=["email", "sms"]),
]
GROUPS = {"leadership": ["head", "bursar"]}
REACH = {"email": {"jo", "head", "bursar", "trust-it"}, "sms": {"head", "trust-it"}}
STEPS = resolve(POLICY, ["jo"], GROUPS, {"email", "sms"}, REACH)


def run(
    minutes: list[int],
    *,
    acked: int | None = None,
    resolved: int | None = None,
    remind: timedelta | None = None,
) -> list[list[str]]:
    """Plan at each minute, 'sending' what is due; return the keys created at each minute."""
    clock = IncidentClock(
        "inc",
        T0,
        T0 + acked * M if acked is not None else None,
        T0 + resolved * M if resolved is not None else None,
    )
    sent: set[str] = set()
    out = []
    for minute in minutes:
        now = T0 + minute * M
        visible = IncidentClock(
            clock.id,
            clock.start,
            clock.acknowledged_at
            if clock.acknowledged_at and clock.acknowledged_at <= now
            else None,
            clock.resolved_at if clock.resolved_at and clock.resolved_at <= now else None,
        )
        due = plan(visible, STEPS, sent, now, remind)
        sent |= {d.key for d in due}
        out.append(sorted(d.key.split("/", 1)[1] for d in due))
    return out


def test_resolve_expands_service_contacts_groups_and_channels() -> None:
    assert STEPS[0] == ResolvedStep(timedelta(0), (Target("email", "jo"), Target("teams-it")))
    # bursar has no phone: no SMS for them
    assert STEPS[1].targets == (
        Target("email", "head"),
        Target("email", "bursar"),
        Target("sms", "head"),
    )
    assert resolve(DEFAULT_POLICY, ["jo", "sam"], {}, {"email"}, {"email": {"jo"}})[0].targets == (
        Target("email", "jo"),
    )


def test_full_escalation_to_the_trust() -> None:
    steps = run([0, 1, 29, 30, 31, 119, 120, 121])
    assert steps == [
        ["down/0/email/jo", "down/0/teams-it/-"],
        [],
        [],
        ["down/1/email/bursar", "down/1/email/head", "down/1/sms/head"],
        [],
        [],
        ["down/2/email/trust-it", "down/2/sms/trust-it"],
        [],
    ]


def test_acknowledgement_stops_later_steps_and_tells_everyone_told() -> None:
    steps = run([0, 30, 45, 46, 120], acked=45)
    assert steps[2] == sorted(
        f"acknowledged/0/{t}"
        for t in ["email/jo", "teams-it/-", "email/head", "email/bursar", "sms/head"]
    )
    assert steps[3] == [] and steps[4] == []  # no trust step after the acknowledgement


def test_resolution_notice_goes_to_everyone_told_once() -> None:
    steps = run([0, 10, 11], resolved=10)
    assert steps[1] == ["recovered/0/email/jo", "recovered/0/teams-it/-"]
    assert steps[2] == []


def test_restart_in_the_middle_neither_skips_nor_repeats() -> None:
    sent = {key("inc", "down", 0, Target("email", "jo")), key("inc", "down", 0, Target("teams-it"))}
    # the process was down from minute 5 to minute 40: step 1 is due once, step 0 not again
    due = plan(IncidentClock("inc", T0), STEPS, sent, T0 + 40 * M)
    assert sorted(d.key for d in due) == sorted(
        key("inc", "down", 1, t)
        for t in [Target("email", "head"), Target("email", "bursar"), Target("sms", "head")]
    )


@pytest.mark.parametrize(
    ("minute", "expected"),
    [
        (29, []),
        (
            30,
            ["down/1/email/bursar", "down/1/email/head", "down/1/sms/head"],
        ),  # a step, not a reminder
        (59, []),
        (
            60,
            [
                "reminder/2001/email/bursar",
                "reminder/2001/email/head",
                "reminder/2001/email/jo",
                "reminder/2001/sms/head",
                "reminder/2001/teams-it/-",
            ],
        ),
    ],
)
def test_reminders_follow_the_latest_step(minute: int, expected: list[str]) -> None:
    sent = {key("inc", "down", 0, t) for t in STEPS[0].targets}
    if minute > 30:
        sent |= {key("inc", "down", 1, t) for t in STEPS[1].targets}
    due = plan(IncidentClock("inc", T0), STEPS, sent, T0 + minute * M, remind_every=30 * M)
    assert sorted(d.key.split("/", 1)[1] for d in due) == expected


def test_no_reminders_once_acknowledged() -> None:
    sent = {key("inc", "down", 0, t) for t in STEPS[0].targets}
    clock = IncidentClock("inc", T0, acknowledged_at=T0 + 5 * M)
    due = plan(
        clock,
        STEPS,
        sent | {key("inc", "acknowledged", 0, t) for t in STEPS[0].targets},
        T0 + 90 * M,
        30 * M,
    )
    assert due == []


def test_told_targets_reads_the_keys() -> None:
    keys = [
        key("inc", "down", 0, Target("email", "jo")),
        key("inc", "down", 1, Target("teams-it")),
        key("inc", "recovered", 0, Target("email", "jo")),
        key("other", "down", 0, Target("email", "x")),
    ]
    assert list(told_targets("inc", keys)) == [Target("email", "jo"), Target("teams-it")]


def test_quiet_hours_hold_the_clock_until_school_opens() -> None:
    from zoneinfo import ZoneInfo

    from monitor.escalation import clock_start
    from monitor.schoolcal import Calendar

    london = ZoneInfo("Europe/London")
    calendar = Calendar.model_validate(
        {
            "school_hours": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "08:00",
                "end": "16:30",
            }
        }
    )
    sunday_night = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    window = timedelta(seconds=60)
    assert clock_start(sunday_night, window, calendar, london) == datetime(
        2026, 12, 7, 8, 0, tzinfo=UTC
    )
    assert clock_start(sunday_night, window, None, london) == sunday_night + window  # never waits
    thursday_morning = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert clock_start(thursday_morning, window, calendar, london) == thursday_morning + window
    july_evening = datetime(2026, 7, 3, 17, 0, tzinfo=UTC)  # Friday 18:00 BST
    assert clock_start(july_evening, window, calendar, london) == datetime(
        2026, 7, 6, 7, 0, tzinfo=UTC
    )  # Monday 08:00 BST


def test_a_resolved_incident_only_announces_its_recovery() -> None:
    sent = {key("inc", "down", 0, t) for t in STEPS[0].targets}
    # resolved after the second step fell due but before it was planned (a flapping
    # incident settling, or a tick that had not run yet): nobody new is alarmed
    clock = IncidentClock("inc", T0, resolved_at=T0 + 40 * M)
    due = plan(clock, STEPS, sent, T0 + 40 * M, remind_every=30 * M)
    assert sorted(d.key.split("/", 1)[1] for d in due) == [
        "recovered/0/email/jo",
        "recovered/0/teams-it/-",
    ]
