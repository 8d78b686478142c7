"""Google Chat channel: a card message posted to a space's incoming webhook.

YAML::

    channels:
      it-chat:
        type: google_chat
        url: ${GOOGLE_CHAT_WEBHOOK_URL}  # https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…
        timeout: 10s

The URL comes from the space's "Apps & integrations → Webhooks"; its ``key`` and ``token``
query parameters are the credential, so it is a secret.

What this relies on (sources):

- Body: ``text`` and/or ``cardsV2: [{"cardId", "card": {"header": {"title", "subtitle"},
  "sections": [{"widgets": [...]}]}}]`` with ``decoratedText`` (``topLabel``, ``text``,
  ``wrapText``), ``textParagraph`` and ``buttonList`` of buttons whose ``onClick.openLink.url``
  opens a link (developers.google.com/workspace/chat "Messages overview", "Card",
  "DecoratedText"; link buttons work from webhooks, only callback actions need a Chat app).
  At most 100 widgets per card; at most 32,000 bytes per message (Chat API
  ``spaces.messages.create``). Success is 200 with the created message; errors are Google JSON
  ``{"error": {"code", "message", "status"}}`` - 400 ``INVALID_ARGUMENT``, 403/404 for a
  disabled webhook or deleted space (permanent), 429 ``RESOURCE_EXHAUSTED`` when over quota
  (developers.google.com/workspace/chat/limits: back off and retry).
- ``text`` uses Chat's own markup ("Format messages"): ``*bold*``, ``_italic_``, ``~strike~``,
  backquotes, ``>`` quotes, ``<url|text>`` links and ``<users/…>`` mentions (``<users/all>``
  notifies everyone). No escape is documented, so in ``text`` ``<`` and ``>`` become ``‹ ›``
  (no link, mention or quote can form) and the formatting characters become look-alikes
  (``∗ ˍ ∼ ˋ``; ``_`` inside a word is kept).
- Card text (``decoratedText.text``, ``textParagraph.text``) is a small HTML subset (``<b>``,
  ``<i>``, ``<a href>``, ``<font color>``, ``<br>`` …), so it is HTML-escaped (``& < >``) and line
  breaks become ``<br>``. For the fields not documented to take formatting (header title and
  subtitle, ``topLabel``, button text) ``<``/``>`` become ``‹ ›`` as well: safe whether or not a
  field parses tags, and no stray ``&amp;`` is shown where it does not.
"""

from __future__ import annotations

import html
from typing import Any, Literal

import httpx

from monitor.model import Message
from notifiers.base import (
    WebhookConfig,
    body_sections,
    fit,
    fits_in,
    http_links,
    mark_replacer,
    multi_line,
    one_line,
    post_to_webhook,
    replace_lone_underscores,
    scaled,
    shrink_to_fit,
)

LABEL = "Google Chat"

MAX_BYTES = 30_000
"""Payload budget: Chat accepts messages up to 32,000 bytes."""

MAX_FACTS = 20
MAX_SECTIONS = 20
CARD_ID = "lifeline-alert"


class Config(WebhookConfig):
    type: Literal["google_chat"]


def build_payload(message: Message) -> dict[str, Any]:
    """The webhook body for ``message``: ``text`` (the subject) and one card - header (severity,
    "Lifeline"), the facts as labelled ``decoratedText`` rows, each section as a paragraph with
    a bold heading, and a button per http(s) link. Clipped to stay within ``MAX_BYTES``."""
    return shrink_to_fit(lambda scale: _payload(message, scale), fits_in(MAX_BYTES))


def _payload(message: Message, scale: float) -> dict[str, Any]:
    subject = one_line(message.subject, 2000) or "Lifeline alert"
    sections: list[dict[str, Any]] = []
    facts = [(k, v) for k, v in message.facts if k.strip() or v.strip()][:MAX_FACTS]
    if facts:
        sections.append(
            {
                "widgets": [
                    {
                        "decoratedText": {
                            "topLabel": fit(one_line(label, 400), scaled(80, scale), label_safe),
                            "text": fit(one_line(value, 2000), scaled(500, scale), card_safe),
                            "wrapText": True,
                        }
                    }
                    for label, value in facts
                ]
            }
        )
    for heading, body in body_sections(message)[:MAX_SECTIONS]:
        title = fit(one_line(heading, 600), scaled(150, scale), card_safe)
        text = fit(multi_line(body, 12_000), scaled(3000, scale), _card_lines)
        paragraph = "<br>".join(part for part in (f"<b>{title}</b>" if title else "", text) if part)
        if paragraph:
            sections.append({"widgets": [{"textParagraph": {"text": paragraph}}]})
    buttons = [
        {"text": label_safe(label), "onClick": {"openLink": {"url": url}}}
        for label, url in http_links(message.links)
    ]
    if buttons:
        sections.append({"widgets": [{"buttonList": {"buttons": buttons}}]})
    card: dict[str, Any] = {
        "header": {
            "title": label_safe(message.severity.label),
            "subtitle": "Lifeline",
        },
        "sections": sections,
    }
    return {
        "text": fit(subject, scaled(1000, scale, floor=100), text_safe),
        "cardsV2": [{"cardId": CARD_ID, "card": card}],
    }


_TEXT_MARKS = mark_replacer(
    {"<": "\u2039", ">": "\u203a", "*": "\u2217", "~": "\u223c", "`": "\u02cb"}
)


def text_safe(text: str) -> str:
    """``text`` that Chat's message markup shows as written (see the module doc)."""
    return replace_lone_underscores(_TEXT_MARKS(text), "\u02cd")


def card_safe(text: str) -> str:
    """``text`` for a card field that renders Chat's HTML subset: shown as written."""
    return html.escape(text, quote=False)


_ANGLES = mark_replacer({"<": "\u2039", ">": "\u203a"})


def label_safe(text: str) -> str:
    """``text`` for a card field with no documented formatting: no tag can form either way."""
    return _ANGLES(text)


def _card_lines(text: str) -> str:
    return "<br>".join(card_safe(line) for line in text.split("\n"))


async def send(
    message: Message, cfg: Config, http: httpx.AsyncClient, recipient: str | None = None
) -> None:
    """Post ``message`` to the space of ``cfg``'s webhook; ``recipient`` is unused. Returns on
    a 2xx (Chat answers 200 with the created message); raises NotifierError otherwise."""
    await post_to_webhook(cfg, http, LABEL, json=build_payload(message))
