"""Microsoft Teams channel: an Adaptive Card posted to a Teams "Workflows" webhook.

YAML::

    channels:
      it-team:
        type: teams
        url: ${TEAMS_WEBHOOK_URL}        # or url_file: /run/secrets/teams_url
        timeout: 10s

The URL comes from the Teams channel's "Workflows" app, template "Post to a channel when a
webhook request is received" (Power Automate trigger "When a Teams webhook request is
received"); it carries a ``sig=`` token, so it is a secret. Office 365 connector webhooks are
retired; Workflows accept Adaptive Cards only, not the old MessageCard format.

What this relies on (sources):

- Body: ``{"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard>}]}``
  - the flow posts ``attachments[0].content``. Microsoft Learn, "Create and send messages"
  (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using)
  and "Create Incoming Webhooks" (…/how-to/add-incoming-webhook: 28 KB message limit, HTTP 429
  when posting faster than about 4 a second); the Workflows trigger answers **202 Accepted**.
- Card: AdaptiveCard 1.4 (TextBlock ``color`` good/warning/attention/accent, ``wrap``,
  ``weight``; FactSet; ``Action.OpenUrl``), ``msteams.width: Full``. adaptivecards.io schema.
- Markdown: "Text formatting in cards" (learn.microsoft.com/microsoftteams/platform/
  task-modules-and-cards/cards/cards-format): TextBlock text, Fact.Title and Fact.Value render
  a Markdown subset - ``**bold**``, ``_italic_``, ``- `` / ``1. `` lists and ``[title](url)``
  links; HTML is not rendered; a line break needs ``\\n\\n`` outside lists. Some clients also
  italicise ``*x*`` (MicrosoftDocs/msteams-docs#5793). TextBlock also expands
  ``{{DATE(...)}}``/``{{TIME(...)}}`` ("Text features", learn.microsoft.com/adaptive-cards).
- Backslash escapes are not honoured consistently (mobile shows the backslash:
  msteams-docs#5793, microsoft/AdaptiveCards#5758, #7474), so provider text is neutralised by
  *breaking the syntax* instead: ``*`` becomes ``∗`` (U+2217), an ``_`` that could delimit
  emphasis becomes ``ˍ`` (U+02CD; ``snake_case`` is left alone: it cannot delimit), a word joiner
  (U+2060) goes between ``]`` and ``(``/``[``/``:`` (no ``[x](javascript:…)`` link can form) and
  between ``{{`` (no date function). List markers are left: they can only make a list.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx

from monitor.model import Message, Status
from notifiers.base import (
    WebhookConfig,
    body_sections,
    fit,
    fits_in,
    http_links,
    multi_line,
    one_line,
    post_to_webhook,
    replace_lone_underscores,
    scaled,
    shrink_to_fit,
)

LABEL = "Teams"

MAX_BYTES = 26 * 1024
"""Payload budget: Teams refuses messages over 28 KB; the rest is headroom for the envelope."""

MAX_FACTS = 15
MAX_SECTIONS = 10

COLOURS = {
    Status.MAJOR_OUTAGE: "attention",
    Status.PARTIAL_OUTAGE: "attention",
    Status.DEGRADED: "warning",
    Status.UNKNOWN: "warning",
    Status.MAINTENANCE: "accent",
    Status.UP: "good",
}
"""Header colour by severity (Adaptive Card TextBlock ``color``)."""


class Config(WebhookConfig):
    type: Literal["teams"]


def build_payload(message: Message) -> dict[str, Any]:
    """The Workflows webhook body for ``message``: one Adaptive Card, at most ``MAX_BYTES``.

    The card: a coloured header (``Lifeline · <severity>``), the subject, a FactSet of
    ``message.facts``, each section as a bold heading and a wrapped body, and an
    ``Action.OpenUrl`` button per http(s) link. Long text is clipped (``…``), harder as needed
    to keep the whole payload under the size limit.
    """
    return shrink_to_fit(lambda scale: _payload(message, scale), fits_in(MAX_BYTES))


def _payload(message: Message, scale: float) -> dict[str, Any]:
    def text(value: str, limit: int) -> str:
        return fit(one_line(value, 4 * limit), scaled(limit, scale), markdown_safe)

    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"Lifeline · {message.severity.label}",
            "weight": "Bolder",
            "color": COLOURS[message.severity],
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": text(message.subject, 300),
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
        },
    ]
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": text(label, 80), "value": text(value, 500)}
                    for label, value in message.facts[:MAX_FACTS]
                ],
            }
        )
    for heading, section in body_sections(message)[:MAX_SECTIONS]:
        if heading.strip():
            body.append(
                {
                    "type": "TextBlock",
                    "text": text(heading, 150),
                    "weight": "Bolder",
                    "wrap": True,
                    "spacing": "Medium",
                }
            )
        paragraph = fit(multi_line(section, 12_000), scaled(3000, scale), _paragraphs)
        if paragraph:
            body.append({"type": "TextBlock", "text": paragraph, "wrap": True, "spacing": "Small"})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    links = http_links(message.links)
    if links:
        card["actions"] = [
            # An action title is a plain button label, not Markdown.
            {"type": "Action.OpenUrl", "title": label, "url": url}
            for label, url in links
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


_LINK_SYNTAX = re.compile(r"\]([(\[:])")
_DOUBLE_BRACE = re.compile(r"\{(?=\{)")


def markdown_safe(text: str) -> str:
    """``text`` that Teams' Markdown subset shows as written: no emphasis, links or date
    functions can form (see the module doc for why characters are replaced, not escaped)."""
    text = text.replace("*", "\u2217")
    text = replace_lone_underscores(text, "\u02cd")
    text = _LINK_SYNTAX.sub("]\u2060\\1", text)
    return _DOUBLE_BRACE.sub("{\u2060", text)


def _paragraphs(text: str) -> str:
    """Each line of a (multi-line, already clean) body as its own paragraph: Adaptive Card
    Markdown needs a blank line for a line break outside lists."""
    return "\n\n".join(markdown_safe(line) for line in text.split("\n") if line)


async def send(
    message: Message, cfg: Config, http: httpx.AsyncClient, recipient: str | None = None
) -> None:
    """Post ``message`` to the Teams channel behind ``cfg``'s webhook; ``recipient`` is unused
    (the workflow decides the channel). Returns on a 2xx (Workflows answer 202); raises
    NotifierError otherwise (``base.post`` says which failures are permanent)."""
    await post_to_webhook(cfg, http, LABEL, json=build_payload(message))
