"""Which failures belong together (pure): dependencies and grouping.

``root_cause`` answers "is this service down only because something it needs is down?";
``grouped`` answers "did these two incidents start together at one site or provider?". The
engine uses the first to inhibit dependents' alerts and the second to send one message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Graph = Mapping[str, Sequence[str]]  # service id -> the services it depends on


def ancestors(graph: Graph, service_id: str) -> Iterator[str]:
    """Everything ``service_id`` depends on, directly or not, nearest first, each once."""
    seen: set[str] = set()
    frontier = list(graph.get(service_id, ()))
    while frontier:
        dep = frontier.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        yield dep
        frontier += graph.get(dep, ())


def root_cause(
    graph: Graph,
    service_id: str,
    open_incidents: Sequence[str] | set[str],
    impacted_by: Mapping[str, str],
) -> str | None:
    """The nearest service ``service_id`` depends on that has an open incident — following a
    service that is itself only impacted to its own root — or None."""
    for dep in ancestors(graph, service_id):
        if dep in open_incidents:
            return dep
        if dep in impacted_by:
            return impacted_by[dep]
    return None


def depends_on(graph: Graph, service_id: str, other: str) -> bool:
    return any(dep == other for dep in ancestors(graph, service_id))


@dataclass(frozen=True)
class Opened:
    """An incident as grouping sees it."""

    site: str | None
    provider: str | None
    opened_at: datetime


def grouped(a: Opened, b: Opened, window: timedelta) -> bool:
    """Same site or same provider, and opened within ``window`` of each other."""
    if abs(a.opened_at - b.opened_at) > window:
        return False
    same_site = a.site is not None and a.site == b.site
    same_provider = a.provider is not None and a.provider == b.provider
    return same_site or same_provider
