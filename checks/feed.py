"""The ``feed`` check: open incidents in a provider's RSS or Atom incident feed.

Built for Statuspage-style ``history.rss``/``history.atom`` (each entry's description is a
trail of updates, newest first, each ``<strong>Label</strong> - text``) and usable with any
RSS/Atom feed. Like a status page, a feed only *reports* on a service: when we cannot read it
the result is ``unknown``, never an outage.

Rules (``evaluate``; "now" is the observation time):

- Entries dated (``updated``, else ``published``) before ``now - lookback`` are ignored, even
  if never resolved: a stale entry is not a current incident. Undated entries are ignored; if
  every entry is undated the result is ``unknown``.
- An entry's **state** is its newest label: the first ``<strong>`` (or ``<b>``) of its
  content that is a known Statuspage label (Investigating, Identified, Monitoring, Update,
  Resolved, Postmortem, Scheduled, In progress, Verifying, Completed) or is followed by a
  dash, as in ``<strong>Degraded</strong> - …``.
- A **maintenance** entry (label Scheduled/In progress/Verifying/Completed, a description
  starting "THIS IS A SCHEDULED EVENT", or a ``<maintenanceEndDate>``) counts as
  ``maintenance`` while in progress; scheduled-not-started and completed ones are ignored.
  Without a label, its window decides: published (the scheduled start) ≤ now < end date.
- Any other labelled entry is an **open incident** (reported as ``open_status``) until its
  newest label is one of ``resolved_labels``.
- An entry with **no label** counts as an open incident while newer than ``recency``, unless
  its title starts with a resolved label ("[Resolved] …", "Resolved: …").
- The result is the worst over open entries; ``up`` when none is open.

Provider text is untrusted: tags are stripped, entities decoded, whitespace collapsed and
length capped before it reaches a result.

YAML::

    - type: feed
      url: https://status.example.com/history.rss
      open_status: partial_outage
"""

from __future__ import annotations

import calendar
import enum
import html
import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import islice
from typing import Any, Literal

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe
from pydantic import Field, field_validator

from checks.base import CheckSpec
from checks.http import WebUrl, clip, host_of, judged, safe_link, unreadable_reason
from monitor.durations import Duration, format_duration
from monitor.http import HttpObservation, HttpProbe
from monitor.model import CheckResult, ProviderIncident, Status, worst

INCIDENT_LABELS = frozenset(
    {"investigating", "identified", "monitoring", "update", "resolved", "postmortem"}
)
MAINTENANCE_LABELS = frozenset({"scheduled", "in progress", "verifying", "completed"})
_ACTIVE_MAINTENANCE = frozenset({"in progress", "verifying"})
_SCHEDULED_EVENT = "THIS IS A SCHEDULED EVENT"

# Only the start of an entry matters (the newest update comes first): bounding the text and
# the number of <strong> candidates keeps hostile, huge descriptions cheap.
_HTML_SCAN_LIMIT = 64_000
_MAX_LABEL_CANDIDATES = 8
_MAX_LABEL_LENGTH = 40
_STRONG = re.compile(r"<(strong|b)\b[^>]{0,200}>(.{0,400}?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_DASH = re.compile(r"\s*(?:-|–|—|:)\s*")
_UPDATE_END = re.compile(r"</p\s*>|<p\b|<small\b|<strong\b", re.IGNORECASE)
# Block-level tags separate words; inline ones (<var>, <a>, <em>) must not split "12</var>,".
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:p|br|div|li|ul|ol|tr|td|th|h[1-6]|blockquote|table)\b[^>]{0,2000}>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]{0,2000}>")
_MAX_SUMMARY_ENTRIES = 1  # named in the summary; the rest are "+N more"


class Spec(CheckSpec):
    """An RSS or Atom incident feed and how to read it."""

    type: Literal["feed"]
    url: WebUrl
    lookback: Duration = Field(default=timedelta(days=7))
    """Entries older than this are ignored."""
    resolved_labels: list[str] = ["resolved", "completed", "postmortem"]
    """Labels (case-insensitive) that close an incident."""
    open_status: Status = Status.DEGRADED
    """What an open incident means for the service."""
    recency: Duration = Field(default=timedelta(hours=6))
    """For entries without labels: newer than this counts as an open incident."""

    @field_validator("resolved_labels")
    @classmethod
    def _normalise_labels(cls, labels: list[str]) -> list[str]:
        cleaned = [" ".join(label.split()).lower() for label in labels if label.strip()]
        if not cleaned:
            raise ValueError("needs at least one label, e.g. resolved")
        return cleaned

    @field_validator("open_status")
    @classmethod
    def _reportable(cls, status: Status) -> Status:
        if status in (Status.UP, Status.UNKNOWN):
            raise ValueError("must be maintenance, degraded, partial_outage or major_outage")
        return status

    @field_validator("lookback")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    def describe(self) -> str:
        return self.name or f"feed {host_of(self.url)}"


def probe(spec: Spec) -> HttpProbe:
    """A conditional GET, shared by every check on the same feed."""
    accept = "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"
    return HttpProbe(url=spec.url, conditional=True, headers=(("accept", accept),))


def evaluate(spec: Spec, observation: HttpObservation, check_id: str) -> CheckResult:
    """Turn a fetched feed into a result (rules in the module docstring).

    Never raises: an unreadable document is ``unknown`` with the reason in the summary.
    """
    return judged(check_id, observation, spec.describe(), lambda: _judge(spec, observation))


# --- reading the feed -------------------------------------------------------------------------


class _Unreadable(Exception):
    """The document is not a feed we can read; ``str(exc)`` is the reason."""


def _parse(body: bytes, headers: Mapping[str, str]) -> list[Any]:
    """feedparser's entries for ``body``. Raises ``_Unreadable`` when it is not a feed."""
    if not body.strip():
        raise _Unreadable("empty response")
    content_type = headers.get("content-type", "")
    # A stream, never bytes: given bytes that look like a path ("/dev/zero"), feedparser
    # opens that local file.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": content_type} if content_type else {},
    )
    entries: list[Any] = list(parsed.get("entries") or [])
    if not parsed.get("version") and not entries:
        raise _Unreadable("not an RSS or Atom feed")
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not entries and not isinstance(problem, ThingsNobodyCaresAboutButMe):
        # A broken document with nothing in it tells us nothing, whatever its title says.
        raise _Unreadable(f"not well-formed: {clip(str(problem), 80)}")
    return entries


class _State(enum.Enum):
    OPEN = "open"
    MAINTENANCE = "maintenance"
    CLOSED = "closed"


@dataclass(frozen=True)
class _Entry:
    """What we take from one feed entry; every text field is already plain and capped."""

    title: str
    link: str
    when: datetime | None
    label: str | None  # as the provider wrote it, e.g. "In progress"
    update: str  # text of the newest update, after its label
    is_maintenance: bool
    maintenance_end: datetime | None


def _read_entry(raw: Mapping[str, Any]) -> _Entry:
    markup = _entry_html(raw)[:_HTML_SCAN_LIMIT]
    label, update, scheduled_header = _newest_label(markup)
    end = _parse_rfc822(_raw(raw, "maintenanceenddate"))
    is_maintenance = (
        scheduled_header
        or end is not None
        or (label is not None and label.lower() in MAINTENANCE_LABELS)
        or _html_to_text(markup, 200).upper().startswith(_SCHEDULED_EVENT)
    )
    return _Entry(
        title=_entry_title(raw),
        link=safe_link(_raw(raw, "link")),
        # ``updated`` tracks the newest update; for a maintenance RSS item ``published`` is
        # the scheduled start.
        when=_struct_to_utc(_raw(raw, "updated_parsed"))
        or _struct_to_utc(_raw(raw, "published_parsed")),
        label=label,
        # Without a label trail the whole description is the news.
        update=update if label is not None else _html_to_text(markup),
        is_maintenance=is_maintenance,
        maintenance_end=end,
    )


def _raw(entry: object, key: str) -> Any:
    # ``dict.get`` bypasses FeedParserDict's aliasing, which warns (DeprecationWarning) when
    # asked for ``updated_parsed`` of an entry that only has ``published_parsed``.
    return dict.get(entry, key) if isinstance(entry, dict) else None


def _entry_html(entry: Mapping[str, Any]) -> str:
    """The entry's HTML (feedparser has sanitized it): Atom content, else RSS description."""
    content = _raw(entry, "content")
    if isinstance(content, list):
        for part in content:
            value = _raw(part, "value")
            if isinstance(value, str) and value.strip():
                return value
    summary = _raw(entry, "summary")
    return summary if isinstance(summary, str) else ""


def _entry_title(entry: Mapping[str, Any]) -> str:
    title = _raw(entry, "title")
    if not isinstance(title, str):
        return "(untitled)"
    kind = _raw(_raw(entry, "title_detail"), "type")
    text = _html_to_text(title) if isinstance(kind, str) and "html" in kind else clip(title)
    return text or "(untitled)"


def _newest_label(markup: str) -> tuple[str | None, str, bool]:
    """``(label, update text, has "THIS IS A SCHEDULED EVENT" header)`` from an entry's HTML.

    The label is the first ``<strong>`` that is a known label, or any short one followed by
    a dash; the update text runs from after the dash to the end of that update.
    """
    scheduled_header = False
    for match in islice(_STRONG.finditer(markup), _MAX_LABEL_CANDIDATES):
        text = _html_to_text(match.group(2), 200)
        if text.upper().startswith(_SCHEDULED_EVENT):
            scheduled_header = True
            continue
        after = markup[match.end() : match.end() + 4000]
        dash = _DASH.match(after)
        known = text.lower() in INCIDENT_LABELS or text.lower() in MAINTENANCE_LABELS
        if not text or len(text) > _MAX_LABEL_LENGTH or not (known or dash is not None):
            continue
        if dash:
            after = after[dash.end() :]
        end = _UPDATE_END.search(after)
        return text, _html_to_text(after[: end.start()] if end else after), scheduled_header
    return None, "", scheduled_header


def _html_to_text(markup: str, limit: int = 300) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    spaced = _BLOCK_TAG.sub(" ", markup[: limit * 8 + 64])
    return clip(html.unescape(_TAG.sub("", spaced)), limit)


def _struct_to_utc(value: Any) -> datetime | None:
    # feedparser's *_parsed values are UTC struct_times.
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_rfc822(value: Any) -> datetime | None:
    """``<maintenanceEndDate>``: RFC 822 as in pubDate (ISO 8601 accepted too); None if bad."""
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- judging ----------------------------------------------------------------------------------


def _state(entry: _Entry, spec: Spec, now: datetime) -> _State | None:
    """What ``entry`` means now, or ``None`` when it is out of scope (undated or stale)."""
    if entry.when is None:
        return None
    # A long maintenance stays in scope until its end, even if it started before lookback.
    latest = max(entry.when, entry.maintenance_end or entry.when)
    if latest < now - spec.lookback:
        return None
    label = entry.label.lower() if entry.label else None
    if label in spec.resolved_labels:
        return _State.CLOSED
    if entry.is_maintenance:
        return _maintenance_state(label, entry, now)
    if label is not None:
        return _State.OPEN
    if _title_says_resolved(entry.title, spec.resolved_labels):
        return _State.CLOSED
    return _State.OPEN if entry.when >= now - spec.recency else _State.CLOSED


def _maintenance_state(label: str | None, entry: _Entry, now: datetime) -> _State:
    if label in ("scheduled", "completed"):
        return _State.CLOSED  # not started yet, or over
    if label is not None:
        return _State.MAINTENANCE  # in progress, verifying, or an update while it runs
    # No trail yet: the window decides (published is the scheduled start).
    assert entry.when is not None  # _state checked it
    end = entry.maintenance_end
    started = entry.when <= now
    return _State.MAINTENANCE if started and (end is None or now < end) else _State.CLOSED


def _title_says_resolved(title: str, resolved_labels: Iterable[str]) -> bool:
    head = title.lower().lstrip("[( ")
    return any(head.startswith(label) for label in resolved_labels)


def _judge(
    spec: Spec, observation: HttpObservation
) -> tuple[Status, str, tuple[ProviderIncident, ...]]:
    who = spec.name or host_of(spec.url)
    reason = unreadable_reason(observation)
    if reason is not None:
        return Status.UNKNOWN, f"{who}: could not read feed ({reason})", ()
    try:
        raw_entries = _parse(observation.body, observation.headers)
    except _Unreadable as exc:
        return Status.UNKNOWN, f"{who}: could not read feed ({exc})", ()

    now = _utc(observation.observed_at)
    entries = [_read_entry(raw) for raw in raw_entries if isinstance(raw, dict)]
    if entries and all(e.when is None for e in entries):
        return Status.UNKNOWN, f"{who}: could not read feed (entries carry no dates)", ()

    judged = [(e, _state(e, spec, now)) for e in entries]
    active = [(e, s) for e, s in judged if s in (_State.OPEN, _State.MAINTENANCE)]
    # Newest first, so the summary names the latest news.
    active.sort(key=lambda pair: pair[0].when or now, reverse=True)
    statuses = [spec.open_status if s is _State.OPEN else Status.MAINTENANCE for _, s in active]
    status = worst(statuses) if statuses else Status.UP
    incidents = tuple(_provider_incident(e, s) for e, s in active)
    return status, _summary(who, status, spec, active), incidents


def _summary(who: str, status: Status, spec: Spec, active: Sequence[tuple[_Entry, _State]]) -> str:
    if not active:
        return f"{who}: no open incidents in the last {format_duration(spec.lookback)}"
    wanted = _State.MAINTENANCE if status is Status.MAINTENANCE else _State.OPEN
    lead = next((e for e, s in active if s is wanted), active[0][0])
    detail = f"'{clip(lead.title, 120)}'"
    if lead.label:
        detail += f" - {clip(lead.label, _MAX_LABEL_LENGTH)}"
    more = len(active) - _MAX_SUMMARY_ENTRIES
    if more > 0:
        detail += f"; +{more} more"
    return f"{who}: {status.label.lower()} ({detail})"


def _provider_incident(entry: _Entry, state: _State) -> ProviderIncident:
    return ProviderIncident(
        name=entry.title,
        # No label: the provider gave no word, so say how we judged it.
        status=entry.label.lower() if entry.label else "recent",
        impact="maintenance" if state is _State.MAINTENANCE else "",
        url=entry.link,
        latest_update=entry.update,
        updated_at=entry.when,
        is_maintenance=state is _State.MAINTENANCE,
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
