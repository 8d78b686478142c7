"""A realistic store for the documents' tests: the example trust (config/trust.yaml) with a
month of incidents, written through the real Store API the daemon uses.

The configuration is config/trust.yaml plus what the documents need that the example does
not have yet: a school calendar, escalation policies with a group, an endpoint (http) check
on Hillcrest's MIS, and a status page for MyConcern. The documents' own sections
(``DOCUMENTS_YAML``) are parsed on their own until ``Config`` carries them.

Every time below is UTC. November 2026 is all GMT in Europe/London (the clocks went back on
25 October), so local time equals UTC: a DST-free month of 30 days = 43,200 minutes.
School hours: Mon–Fri 08:00–16:00 in the Autumn term, closed Fri 20 November (INSET):
20 school days × 8 h = 160 h = 9,600 minutes.

What happened (see ``EXPECTED`` for the figures this gives):

- every service is up from 1 October 00:00;
- Oct 14 09:00–09:20    oak-mis major outage (outside November)
- Nov 6 08:00–09:00     oak-internet degraded (weight 0: no downtime)
- Nov 10 09:00–10:30    Arbor outage: oak-mis and river-mis major, hill-mis partial; Arbor
                        posted "MIS unavailable for some schools", started 08:50
- Nov 12 13:00–15:00    river-internet major; river-mis major *impacted by* it (left out)
- Nov 15 01:00–05:00    hill-internet maintenance
- Nov 18 10:00–10:40    hill-safeguarding major (HTTP 503); notified 10:01:05, acknowledged
                        10:12, note 10:20, MyConcern posted at 10:25 (seen 10:27),
                        recovered 10:40, note the next morning
- Nov 23 14:00–17:00    trust-finance major, never acknowledged by PS Financials
- Nov 25 02:00–04:00    hill-mis unknown (status page unreachable)
- Nov 30 23:00–Dec 1 01:00  oak-mis major (a span crossing the month end)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.config import Config, load_config
from monitor.documents_config import DocumentsConfig
from monitor.incidents import Change, apply, merge_provider
from monitor.model import (
    EventKind,
    Incident,
    IncidentEvent,
    Message,
    ProviderIncident,
    Status,
    Transition,
)
from monitor.store import Notification, Store

ROOT = Path(__file__).resolve().parents[1]
TRUST_YAML = ROOT / "config" / "trust.yaml"

UP, MAJOR, PARTIAL, DEGRADED = (
    Status.UP,
    Status.MAJOR_OUTAGE,
    Status.PARTIAL_OUTAGE,
    Status.DEGRADED,
)
MAINT, UNKNOWN = Status.MAINTENANCE, Status.UNKNOWN

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
START = datetime(2026, 10, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


# The parts config/trust.yaml does not have (yet), merged into a copy of it.
EXTRA_CONFIG: dict[str, Any] = {
    "calendar": {
        "school_hours": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "08:00",
            "end": "16:00",
        },
        "terms": [
            {"name": "Autumn 2026", "start": "2026-09-03", "end": "2026-12-18"},
            {"name": "Spring 2027", "start": "2027-01-05", "end": "2027-03-26"},
        ],
        "closures": [
            {"date": "2026-11-20", "reason": "INSET day"},
            {"start": "2026-10-26", "end": "2026-10-30", "reason": "Half term"},
        ],
    },
    "groups": {"trust-leadership": ["trust-it-director", "trust-coo"]},
    "escalation": {
        "critical": [
            {"after": "0m", "notify": ["@service"], "via": ["email"]},
            {"after": "30m", "notify": ["trust-it-director"], "via": ["email"]},
            {"after": "2h", "notify": ["trust-leadership"], "via": ["email"]},
        ]
    },
}

DOCUMENTS_YAML = """\
reports:
  recipients: [trust-coo, governors@oakfieldtrust.org.uk, c.lane@oakfieldtrust.org.uk]
  send_at: "07:00"
  format: html
  site: null
communication:
  staff: The headteacher briefs staff at once; a post in the "All staff" Teams channel.
  parents: Text message from the parent app (the SMS account if the app is down) and a website banner.
  governors: The headteacher phones the chair of governors within two hours.
  status_page_url: https://status.oakfieldtrust.example/
  update_every: 1h
exports:
  - {name: Offline contact list, location: Encrypted USB in the Hillcrest office safe,
     owner: hill-bm, max_age: 7d, site: hillcrest-academy, service: hill-mis}
  - {name: Medical needs list, location: Red folder at Oakfield reception,
     owner: oak-it, max_age: 1d, site: oakfield-primary, service: oak-mis}
  - {name: Safeguarding concern forms, location: DSL office at Hillcrest,
     owner: hill-it, max_age: 30d, site: hillcrest-academy, service: hill-safeguarding}
plan:
  version: "1.3"
  reviewed: 2026-09-01
  owner: trust-it-director
"""


def trust_config(tmp: Path) -> Config:
    """config/trust.yaml with ``EXTRA_CONFIG`` and the two check additions, loaded for real."""
    data = yaml.safe_load(TRUST_YAML.read_text(encoding="utf-8"))
    data.update(EXTRA_CONFIG)
    services = {s["id"]: s for s in data["services"]}
    hill_mis = dict(services["hill-mis"])
    hill_mis["checks"] = [
        *hill_mis["checks"],
        {"type": "http", "url": "https://login.arbor.example/login", "contains": "Sign in"},
    ]
    safeguarding = dict(services["hill-safeguarding"])
    safeguarding["provider"] = {
        "name": "MyConcern (One Team Logic)",
        "status_page": "https://status.myconcern.example/",
        "support": {"email": "support@myconcern.example", "phone": "0300 000 0003"},
    }
    safeguarding["checks"] = [
        *safeguarding["checks"],
        {"type": "statuspage", "url": "https://status.myconcern.example/api/v2/summary.json"},
    ]
    data["services"] = [
        hill_mis if s["id"] == "hill-mis" else safeguarding if s["id"] == "hill-safeguarding" else s
        for s in data["services"]
    ]
    secrets = tmp / "credentials"
    secrets.mkdir(exist_ok=True)
    (secrets / "smtp_password").write_text("x\n", encoding="utf-8")
    path = tmp / "trust.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load_config(path, env={"SMTP_PASSWORD": "x", "CREDENTIALS_DIRECTORY": str(secrets)})


def documents_config() -> DocumentsConfig:
    return DocumentsConfig.model_validate(yaml.safe_load(DOCUMENTS_YAML))


ARBOR_POST = ProviderIncident(
    name="MIS unavailable for some schools",
    status="investigating",
    impact="major",
    url="https://status.arbor.example/incidents/abc123",
    latest_update="We are investigating reports that schools cannot sign in.",
    updated_at=at(11, 10, 9, 20),
    started_at=at(11, 10, 8, 50),
)
ARBOR_FIXED = replace(
    ARBOR_POST,
    status="resolved",
    latest_update="A fix has been deployed and sign-in works again.",
    updated_at=at(11, 10, 10, 25),
)
# Provider text is untrusted: this one tries markup in every document.
MYCONCERN_POST = ProviderIncident(
    name="Service disruption <b>urgent</b>",
    status="investigating",
    impact="major",
    url="javascript:alert(1)",
    latest_update="<script>alert('x')</script> We are **investigating** [click](http://evil.example)",
    updated_at=at(11, 18, 10, 25),
    started_at=at(11, 18, 10, 25),
)

SAFEGUARDING_INCIDENT = "hill-safeguarding-20261118-1000"
RIVER_INTERNET_INCIDENT = "river-internet-20261112-1300"


@dataclass
class Recorder:
    """Writes transitions the way the engine does: spans, incidents, impacted services."""

    store: Store
    config: Config

    def __post_init__(self) -> None:
        self.status: dict[str, Status] = {s.id: UNKNOWN for s in self.config.services}
        self.open: dict[str, Incident] = {}
        self.impacted_by: dict[str, str] = {}

    async def set(
        self,
        service_id: str,
        new: Status,
        when: datetime,
        cause: str = "",
        *,
        provider: tuple[ProviderIncident, ...] = (),
        impacted_by: str | None = None,
    ) -> None:
        old = self.status[service_id]
        self.status[service_id] = new
        t = Transition(
            service_id, old, new, when, cause or f"check says {new.label.lower()}", provider
        )
        name = self.config.service(service_id).name
        if impacted_by is not None:
            root = self.open[impacted_by]
            event = IncidentEvent(when, EventKind.IMPACTED, f"{name} impacted: {new.label}", new)
            root = replace(
                root, impacted=(*root.impacted, service_id), events=root.events + (event,)
            )
            await self.store.commit_transition(
                t, [Change(root, new_events=(event,))], impacted_by=impacted_by
            )
            self.open[impacted_by] = root
            self.impacted_by[service_id] = impacted_by
            return
        if service_id in self.impacted_by and not new.is_problem:
            root = self.open[self.impacted_by.pop(service_id)]
            event = IncidentEvent(
                when, EventKind.IMPACTED, f"{name} is {new.label.lower()} again", new
            )
            root = replace(root, events=root.events + (event,))
            await self.store.commit_transition(t, [Change(root, new_events=(event,))])
            self.open[root.service_id] = root
            return
        change = apply(self.open.get(service_id), t, f"{service_id}-{when:%Y%m%d-%H%M}")
        await self.store.commit_transition(t, [change])
        if change.incident is not None and change.incident.is_open:
            self.open[service_id] = change.incident
        else:
            self.open.pop(service_id, None)

    async def provider_news(self, service_id: str, news: ProviderIncident, when: datetime) -> None:
        change = merge_provider(self.open[service_id], (news,), when)
        assert change is not None and change.incident is not None
        await self.store.save_changes([change])
        self.open[service_id] = change.incident

    async def notify(
        self,
        incident_id: str,
        contact_id: str,
        kind: str,
        step: int,
        created: datetime,
        sent: datetime,
    ) -> None:
        """Queue then deliver one email, and log it on the timeline as the outbox does."""
        contact = self.config.contact(contact_id)
        assert contact.email is not None
        key = f"{incident_id}/{kind}/{step}/email/{contact_id}"
        message = Message(f"[Lifeline] {kind.upper()}", "text", "<p>html</p>", MAJOR)
        await self.store.enqueue(
            [
                Notification(
                    key, "email", contact.email, kind, message, created, incident_id, contact_id
                )
            ]
        )
        stored = next(n for n in await self.store.notifications(incident_id) if n.key == key)
        assert stored.id is not None
        await self.store.mark_sent(stored.id, sent)
        text = f"{kind.upper()} sent by email to {contact.name} <{contact.email}>"
        await self.store.add_event(incident_id, IncidentEvent(sent, EventKind.NOTIFIED, text))


# A plain version of the MyConcern post, for the README samples.
MYCONCERN_PLAIN = replace(
    MYCONCERN_POST,
    name="Service disruption",
    url="https://status.myconcern.example/incidents/xyz789",
    latest_update="We are investigating reports of errors when signing in.",
)


async def build_store(url: str, config: Config, *, hostile: bool = True) -> Store:
    """Open the store at ``url`` and write the history described in the module docstring.

    ``hostile`` (the default) makes MyConcern's post try markup in every document; the README
    samples use a plain one.
    """
    store = await Store.open(url)
    r = Recorder(store, config)
    for service in config.services:
        await r.set(service.id, UP, START, "first check")

    await r.set("oak-mis", MAJOR, at(10, 14, 9), "MIS: major outage (status page)")
    await r.set("oak-mis", UP, at(10, 14, 9, 20))

    await r.set("oak-internet", DEGRADED, at(11, 6, 8), "slow: 4.2s > 3s (oakfield-gw)")
    await r.set("oak-internet", UP, at(11, 6, 9))

    for sid, status in (("oak-mis", MAJOR), ("river-mis", MAJOR), ("hill-mis", PARTIAL)):
        await r.set(
            sid, status, at(11, 10, 9), "MIS: outage on the status page", provider=(ARBOR_POST,)
        )
    await r.notify(
        "oak-mis-20261110-0900", "oak-it", "down", 0, at(11, 10, 9, 1), at(11, 10, 9, 1, 4)
    )
    for sid in ("oak-mis", "river-mis", "hill-mis"):
        await r.set(sid, UP, at(11, 10, 10, 30), "MIS: operational", provider=(ARBOR_FIXED,))

    await r.set("river-internet", MAJOR, at(11, 12, 13), "connection timed out (riverside-gw)")
    await r.set(
        "river-mis",
        MAJOR,
        at(11, 12, 13),
        "cannot reach the status page",
        impacted_by="river-internet",
    )
    await r.notify(
        RIVER_INTERNET_INCIDENT, "river-it", "down", 0, at(11, 12, 13, 1), at(11, 12, 13, 1, 3)
    )
    await r.set("river-mis", UP, at(11, 12, 15))
    await r.set("river-internet", UP, at(11, 12, 15), "HTTP 200 (riverside-gw)")

    await r.set("hill-internet", MAINT, at(11, 15, 1), "maintenance window 'Broadband upgrade'")
    await r.set("hill-internet", UP, at(11, 15, 5))

    sg = SAFEGUARDING_INCIDENT
    await r.set(
        "hill-safeguarding", MAJOR, at(11, 18, 10), "HTTP 503 from hillcrest.myconcern.example"
    )
    await r.notify(sg, "hill-it", "down", 0, at(11, 18, 10, 1), at(11, 18, 10, 1, 5))
    await store.acknowledge(sg, "Kit Lowe", at(11, 18, 10, 12), "Paper forms out in the DSL office")
    await r.notify(sg, "hill-it", "acknowledged", 0, at(11, 18, 10, 12, 2), at(11, 18, 10, 12, 6))
    await store.add_event(
        sg,
        IncidentEvent(
            at(11, 18, 10, 20), EventKind.NOTE, "DSL told staff at break; paper forms in use"
        ),
    )
    post = MYCONCERN_POST if hostile else MYCONCERN_PLAIN
    await r.provider_news("hill-safeguarding", post, at(11, 18, 10, 27))
    await r.set("hill-safeguarding", UP, at(11, 18, 10, 40), "HTTP 200, 'Sign in' found")
    await r.notify(sg, "hill-it", "recovered", 0, at(11, 18, 10, 40, 3), at(11, 18, 10, 40, 10))
    await store.add_event(
        sg, IncidentEvent(at(11, 19, 9), EventKind.NOTE, "Review meeting booked for Friday")
    )

    await r.set(
        "trust-finance", MAJOR, at(11, 23, 14), "HTTP 502 from finance.oakfieldtrust.example"
    )
    await r.set("trust-finance", UP, at(11, 23, 17))

    await r.set("hill-mis", UNKNOWN, at(11, 25, 2), "status page unreachable")
    await r.set("hill-mis", UP, at(11, 25, 4))

    await r.set("oak-mis", MAJOR, at(11, 30, 23), "MIS: major outage (status page)")
    await r.set("oak-mis", UP, at(12, 1, 1))
    return store


# Figures worked out by hand from the history above (minutes of November unless noted).
MONTH = 30 * 24 * 60  # 43,200
SCHOOL = 20 * 8 * 60  # 9,600
EXPECTED = {
    # service: (observed minutes, downtime minutes, school observed, school downtime, incidents)
    "trust-finance": (MONTH, 180, SCHOOL, 120, 1),
    "oak-internet": (MONTH, 0, SCHOOL, 0, 1),
    "oak-mis": (MONTH, 90 + 60, SCHOOL, 90, 2),
    "river-internet": (MONTH, 120, SCHOOL, 120, 1),
    "river-mis": (MONTH - 120, 90, SCHOOL - 120, 90, 1),
    "hill-internet": (MONTH - 240, 0, SCHOOL, 0, 0),
    "hill-mis": (MONTH - 120, 27, SCHOOL, 27, 1),  # partial outage: 90 min × 0.3
    "hill-safeguarding": (MONTH, 40, SCHOOL, 40, 1),
}
