"""Slack channel: a Block Kit message posted to an incoming webhook.

YAML::

    channels:
      it-slack:
        type: slack
        url: ${SLACK_WEBHOOK_URL}        # https://hooks.slack.com/services/T…/B…/…; or url_file:
        timeout: 10s

The webhook URL is created with a Slack app ("Incoming Webhooks") for one channel; its path is
the token, so it is a secret.

What this relies on (sources):

- Body: ``text`` plus ``blocks``; with blocks present, ``text`` is the fallback shown in
  notifications (docs.slack.dev, "Sending messages using incoming webhooks"). Success is
  HTTP 200 with the body ``ok``.
- Errors (api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks): 400
  ``invalid_payload``/``user_not_found``, 403 ``action_prohibited``, 404 ``channel_not_found``
  (also ``no_service`` for a revoked or disabled webhook), 410 ``channel_is_archived``, 500
  ``rollup_error``; all but 500 are permanent. Rate limit about one message a second per
  channel, answered with 429 and ``Retry-After`` (docs.slack.dev/apis/web-api/rate-limits).
- Limits (Block Kit reference): header ``plain_text`` ≤ 150 characters; section ``text`` ≤ 3000;
  ``fields`` ≤ 10, each ≤ 2000; button text ≤ 75, button ``url`` ≤ 3000; ≤ 25 elements in an
  ``actions`` block; ≤ 50 blocks in a message. Characters are counted as UTF-16 code units.
- Escaping (docs.slack.dev "Formatting message text", "Escaping text"): ``&``, ``<`` and ``>``
  are control characters and must be sent as ``&amp;``, ``&lt;``, ``&gt;`` - this is what stops
  ``<!channel>``, ``<@U…>`` and ``<https://evil|click>``. ``verbatim: true`` on a mrkdwn text
  object stops Slack auto-linking URLs and channel names and parsing mentions (text object
  reference). ``plain_text`` is shown as written (Slack escapes it itself), so it is not escaped.
- mrkdwn has no escape for ``*_~``` ``. Following jsx-slack ("About escape and exact mode",
  yhatt/jsx-slack docs/about-escape-and-exact-mode.md), those characters (and the full-width
  forms Slack also accepts) become look-alikes - ``∗ ˍ ∼ ˋ`` - and a ``>`` starting a line gets a
  soft hyphen (U+00AD) before it so it cannot open a quote. ``_`` inside a word is kept: Slack
  never formats it. ``@channel``/``@here``/``@everyone`` get a word joiner after the ``@``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx

from monitor.model import Message
from notifiers.base import (
    WebhookConfig,
    body_sections,
    fit,
    http_links,
    mark_replacer,
    multi_line,
    one_line,
    post_to_webhook,
    replace_lone_underscores,
    scaled,
    shrink_to_fit,
    utf16_len,
)

LABEL = "Slack"

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
BUTTON_TEXT_MAX = 75
BUTTON_URL_MAX = 3000
MAX_BLOCKS = 50
FALLBACK_MAX = 3000
BLOCKS_TEXT_MAX = 11_000
"""Budget for all text in the blocks: Slack answers ``msg_blocks_too_long`` somewhere past
12,000 characters in total, a limit it does not document (slackapi/bolt-js#2509, #2867)."""

MAX_FACTS = 2 * FIELDS_PER_SECTION
# header + fact sections + sections + actions stay within MAX_BLOCKS.
MAX_SECTIONS = MAX_BLOCKS - 2 - MAX_FACTS // FIELDS_PER_SECTION


class Config(WebhookConfig):
    type: Literal["slack"]


def build_payload(message: Message) -> dict[str, Any]:
    """The incoming-webhook body for ``message``: ``text`` (the subject, for notifications and
    old clients) and ``blocks`` - a header, the facts as two-column fields, one section per
    message section (bold heading, body), and a button per http(s) link. Every Block Kit limit
    is respected by clipping (``…``), harder as needed to keep all block text within
    ``BLOCKS_TEXT_MAX``; never by failing."""
    return shrink_to_fit(lambda scale: _payload(message, scale), _fits)


def _payload(message: Message, scale: float) -> dict[str, Any]:
    subject = one_line(message.subject, 4 * FALLBACK_MAX) or "Lifeline alert"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": fit(subject, HEADER_MAX, str, utf16_len)},
        }
    ]
    facts = [(k, v) for k, v in message.facts if k.strip() or v.strip()][:MAX_FACTS]
    for start in range(0, len(facts), FIELDS_PER_SECTION):
        fields = facts[start : start + FIELDS_PER_SECTION]
        blocks.append(
            {
                "type": "section",
                "fields": [_field(label, value, scale) for label, value in fields],
            }
        )
    for heading, body in body_sections(message)[:MAX_SECTIONS]:
        title = _bold(heading, scaled(150, scale))
        room = min(SECTION_TEXT_MAX - utf16_len(title) - 1, scaled(SECTION_TEXT_MAX, scale))
        text = fit(multi_line(body, 4 * SECTION_TEXT_MAX), room, mrkdwn_safe, utf16_len)
        joined = "\n".join(part for part in (title, text) if part)
        if joined:
            blocks.append({"type": "section", "text": _mrkdwn(joined)})
    buttons = [
        {
            "type": "button",
            "action_id": f"link-{index}",
            "text": {"type": "plain_text", "text": fit(label, BUTTON_TEXT_MAX, str, utf16_len)},
            "url": url,
        }
        for index, (label, url) in enumerate(http_links(message.links))
        if utf16_len(url) <= BUTTON_URL_MAX
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": fit(subject, FALLBACK_MAX, mrkdwn_safe, utf16_len), "blocks": blocks}


def _fits(payload: dict[str, Any]) -> bool:
    return blocks_text_length(payload["blocks"]) <= BLOCKS_TEXT_MAX


def blocks_text_length(node: Any) -> int:
    """UTF-16 length of every ``text`` string in ``node`` (blocks, or anything inside them)."""
    if isinstance(node, list):
        return sum(blocks_text_length(item) for item in node)
    if isinstance(node, dict):
        return sum(
            utf16_len(value)
            if key == "text" and isinstance(value, str)
            else blocks_text_length(value)
            for key, value in node.items()
        )
    return 0


def _field(label: str, value: str, scale: float) -> dict[str, Any]:
    title = _bold(label, scaled(100, scale))
    room = min(FIELD_MAX - utf16_len(title) - 1, scaled(FIELD_MAX, scale))
    text = fit(one_line(value, 4 * FIELD_MAX), room, mrkdwn_safe, utf16_len)
    return _mrkdwn("\n".join(part for part in (title, text) if part))


def _bold(text: str, limit: int) -> str:
    inner = fit(one_line(text, 4 * limit), limit, mrkdwn_safe, utf16_len)
    return f"*{inner}*" if inner else ""


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


_MARKS = mark_replacer(
    {
        "*": "\u2217",  # asterisk operator
        "\uff0a": "\ufe61",  # full-width asterisk -> small asterisk
        "\uff3f": "\u2e0f",  # full-width low line -> paragraphos
        "`": "\u02cb",  # modifier letter grave accent
        "\uff40": "\u02cb",
        "~": "\u223c",  # tilde operator
        "\uff5e": "\u223c",
    }
)
_QUOTE_START = re.compile(r"^(&gt;|\uff1e)", re.MULTILINE)
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def mrkdwn_safe(text: str) -> str:
    """``text`` that Slack's mrkdwn shows as written: control characters escaped, formatting
    characters replaced by look-alikes, quotes and broadcast mentions defused (module doc)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = replace_lone_underscores(_MARKS(text), "\u02cd")
    text = _QUOTE_START.sub("\u00ad\\1", text)
    return _BROADCAST.sub("@\u2060", text)


async def send(
    message: Message, cfg: Config, http: httpx.AsyncClient, recipient: str | None = None
) -> None:
    """Post ``message`` to the Slack channel of ``cfg``'s webhook; ``recipient`` is unused.
    Returns on a 2xx (Slack answers 200 ``ok``); raises NotifierError otherwise."""
    await post_to_webhook(cfg, http, LABEL, json=build_payload(message))
