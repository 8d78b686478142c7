from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.incidents import apply
from monitor.model import EventKind, ProviderIncident, Status, Transition

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
S = Status


def tr(old: Status, new: Status, minute: int, *incidents: ProviderIncident) -> Transition:
    return Transition("mis", old, new, T0 + timedelta(minutes=minute), f"cause {minute}", incidents)


def test_up_to_up_or_maintenance_opens_nothing() -> None:
    assert apply(None, tr(S.UNKNOWN, S.UP, 0), "i1").incident is None
    assert apply(None, tr(S.UP, S.MAINTENANCE, 0), "i1").incident is None
    assert apply(None, tr(S.UP, S.UNKNOWN, 0), "i1").incident is None


def test_lifecycle_open_worsen_unknown_resolve() -> None:
    opened = apply(None, tr(S.UP, S.DEGRADED, 0), "i1")
    assert opened.opened and opened.incident is not None
    inc = opened.incident
    assert (inc.id, inc.status, inc.worst, inc.opened_at) == ("i1", S.DEGRADED, S.DEGRADED, T0)
    assert [e.kind for e in inc.events] == [EventKind.OPENED]
    assert inc.events[0].text == "Degraded: cause 0"

    worse = apply(inc, tr(S.DEGRADED, S.MAJOR_OUTAGE, 5), "unused")
    assert worse.incident is not None and not worse.opened and not worse.resolved
    dark = apply(worse.incident, tr(S.MAJOR_OUTAGE, S.UNKNOWN, 10), "unused")
    assert dark.incident is not None and dark.incident.is_open
    assert dark.incident.worst is S.MAJOR_OUTAGE and dark.incident.status is S.UNKNOWN

    better = apply(dark.incident, tr(S.UNKNOWN, S.PARTIAL_OUTAGE, 12), "unused")
    assert better.incident is not None and better.incident.worst is S.MAJOR_OUTAGE

    done = apply(better.incident, tr(S.PARTIAL_OUTAGE, S.UP, 30), "unused")
    assert done.resolved and done.incident is not None
    assert done.incident.resolved_at == T0 + timedelta(minutes=30)
    assert [e.kind for e in done.incident.events] == [
        EventKind.OPENED,
        EventKind.STATUS,
        EventKind.STATUS,
        EventKind.STATUS,
        EventKind.RESOLVED,
    ]


def test_maintenance_resolves_an_incident() -> None:
    inc = apply(None, tr(S.UP, S.MAJOR_OUTAGE, 0), "i1").incident
    change = apply(inc, tr(S.MAJOR_OUTAGE, S.MAINTENANCE, 3), "x")
    assert change.resolved


def test_provider_updates_are_recorded_once() -> None:
    first = ProviderIncident(
        "Registers not saving", "investigating", url="u", latest_update="Looking"
    )
    inc = apply(None, tr(S.UP, S.PARTIAL_OUTAGE, 0, first), "i1").incident
    assert inc is not None
    assert [e.kind for e in inc.events] == [EventKind.OPENED, EventKind.PROVIDER]
    same = apply(inc, tr(S.PARTIAL_OUTAGE, S.MAJOR_OUTAGE, 1, first), "x")
    assert [e.kind for e in same.new_events] == [EventKind.STATUS]
    update = ProviderIncident(
        "Registers not saving", "identified", url="u", latest_update="Fix rolling out"
    )
    newer = apply(same.incident, tr(S.MAJOR_OUTAGE, S.PARTIAL_OUTAGE, 2, update), "x")
    assert [e.kind for e in newer.new_events] == [EventKind.STATUS, EventKind.PROVIDER]
    assert "Fix rolling out" in newer.new_events[1].text
    assert newer.incident is not None and newer.incident.provider_incidents == (update,)


def test_merge_provider_reports_only_new_posts() -> None:
    from monitor.incidents import merge_provider

    first = ProviderIncident(
        "Registers not saving", "investigating", url="u", latest_update="Looking"
    )
    inc = apply(None, tr(S.UP, S.PARTIAL_OUTAGE, 0, first), "i1").incident
    assert inc is not None
    assert merge_provider(inc, (first,), T0) is None
    later = ProviderIncident(
        "Registers not saving", "identified", url="u", latest_update="Fix coming"
    )
    other = ProviderIncident("Slow reports", "investigating", url="v")
    change = merge_provider(inc, (later, other), T0 + timedelta(minutes=3))
    assert change is not None and change.incident is not None
    assert change.updates == (later, other)
    assert change.incident.provider_incidents == (later, other)
    assert [e.kind for e in change.new_events] == [EventKind.PROVIDER, EventKind.PROVIDER]
    assert change.incident.status is S.PARTIAL_OUTAGE and change.incident.is_open
