"""Chat, SMS and webhook channels, without a network: the exact documented payload shapes,
escaping of hostile provider text per format, service limits, SMS segment maths, webhook
signatures, the shared transport's pure parts, config validation and the registry."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import TypeAdapter, ValidationError

from monitor.errors import NotifierError
from monitor.model import Message, Status
from notifiers import base, google_chat, slack, sms, teams, webhook
from notifiers.channels import CHANNELS, AnyChannel, module_for

SUBJECT = "[Lifeline] DOWN: MIS (Arbor) at Oakfield Primary School — Major outage"
ACK = "https://lifeline.oakfield.sch.uk/ack/7f3c9a"
INCIDENT = "https://status.arbor-education.com/incidents/x1y2z3"
FALLBACK = (
    "Take paper registers in every class.\n"
    "Phone absences through to the office on 01632 960 123.\n"
    "Log safeguarding concerns on the paper forms in the DSL's office."
)
REPORT = "Investigating — We are aware of issues affecting login for some schools."

MESSAGE = Message(
    subject=SUBJECT,
    text="MIS (Arbor) at Oakfield Primary School is DOWN: Major outage\n\nTake paper registers.\n",
    html="<p>MIS (Arbor) is <b>DOWN</b></p>",
    severity=Status.MAJOR_OUTAGE,
    links=(("Acknowledge", ACK), ("Arbor incident", INCIDENT)),
    facts=(
        ("Status", "Major outage"),
        ("Since", "09:12 (18 minutes ago)"),
        ("Affects", "Attendance, safeguarding logs, parent messages"),
        ("Tolerable outage", "2h"),
        ("Who has been told", "Head teacher, Business manager"),
    ),
    sections=(("What to do now", FALLBACK), ("Reported by Arbor", REPORT)),
    short=(
        "DOWN: MIS (Arbor) at Oakfield Primary School — Major outage since 09:12. "
        f"Take paper registers. Ack: {ACK}"
    ),
)

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
SID = "AC" + "0123456789abcdef" * 2
SMS_CFG = sms.Config.model_validate(
    {"type": "sms", "account_sid": SID, "auth_token": "t0k3n", "from": "+447700900123"}
)

# --- exact payloads for a realistic message --------------------------------------------------


def test_teams_payload_is_a_workflows_adaptive_card() -> None:
    assert teams.build_payload(MESSAGE) == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "Lifeline · Major outage",
                            "weight": "Bolder",
                            "color": "attention",
                            "wrap": True,
                        },
                        {
                            "type": "TextBlock",
                            "text": SUBJECT,
                            "size": "Medium",
                            "weight": "Bolder",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Status", "value": "Major outage"},
                                {"title": "Since", "value": "09:12 (18 minutes ago)"},
                                {
                                    "title": "Affects",
                                    "value": "Attendance, safeguarding logs, parent messages",
                                },
                                {"title": "Tolerable outage", "value": "2h"},
                                {
                                    "title": "Who has been told",
                                    "value": "Head teacher, Business manager",
                                },
                            ],
                        },
                        {
                            "type": "TextBlock",
                            "text": "What to do now",
                            "weight": "Bolder",
                            "wrap": True,
                            "spacing": "Medium",
                        },
                        {
                            # Adaptive Card Markdown needs a blank line for a line break.
                            "type": "TextBlock",
                            "text": FALLBACK.replace("\n", "\n\n"),
                            "wrap": True,
                            "spacing": "Small",
                        },
                        {
                            "type": "TextBlock",
                            "text": "Reported by Arbor",
                            "weight": "Bolder",
                            "wrap": True,
                            "spacing": "Medium",
                        },
                        {"type": "TextBlock", "text": REPORT, "wrap": True, "spacing": "Small"},
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": ACK},
                        {"type": "Action.OpenUrl", "title": "Arbor incident", "url": INCIDENT},
                    ],
                },
            }
        ],
    }


@pytest.mark.parametrize(
    ("severity", "colour"),
    [
        (Status.MAJOR_OUTAGE, "attention"),
        (Status.PARTIAL_OUTAGE, "attention"),
        (Status.DEGRADED, "warning"),
        (Status.UNKNOWN, "warning"),
        (Status.MAINTENANCE, "accent"),
        (Status.UP, "good"),
    ],
)
def test_teams_header_colour_follows_severity(severity: Status, colour: str) -> None:
    message = Message(subject="s", text="t", html="", severity=severity)
    header = _card(teams.build_payload(message))["body"][0]
    assert header["color"] == colour
    assert header["text"] == f"Lifeline · {severity.label}"


def test_slack_payload_is_block_kit_with_text_fallback() -> None:
    def field(text: str) -> dict[str, Any]:
        return {"type": "mrkdwn", "text": text, "verbatim": True}

    assert slack.build_payload(MESSAGE) == {
        "text": SUBJECT,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": SUBJECT}},
            {
                "type": "section",
                "fields": [
                    field("*Status*\nMajor outage"),
                    field("*Since*\n09:12 (18 minutes ago)"),
                    field("*Affects*\nAttendance, safeguarding logs, parent messages"),
                    field("*Tolerable outage*\n2h"),
                    field("*Who has been told*\nHead teacher, Business manager"),
                ],
            },
            {"type": "section", "text": field(f"*What to do now*\n{FALLBACK}")},
            {"type": "section", "text": field(f"*Reported by Arbor*\n{REPORT}")},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "link-0",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "url": ACK,
                    },
                    {
                        "type": "button",
                        "action_id": "link-1",
                        "text": {"type": "plain_text", "text": "Arbor incident"},
                        "url": INCIDENT,
                    },
                ],
            },
        ],
    }


def test_google_chat_payload_is_text_plus_cards_v2() -> None:
    def fact(label: str, value: str) -> dict[str, Any]:
        return {"decoratedText": {"topLabel": label, "text": value, "wrapText": True}}

    def button(label: str, url: str) -> dict[str, Any]:
        return {"text": label, "onClick": {"openLink": {"url": url}}}

    assert google_chat.build_payload(MESSAGE) == {
        "text": SUBJECT,
        "cardsV2": [
            {
                "cardId": "lifeline-alert",
                "card": {
                    "header": {"title": "Major outage", "subtitle": "Lifeline"},
                    "sections": [
                        {
                            "widgets": [
                                fact("Status", "Major outage"),
                                fact("Since", "09:12 (18 minutes ago)"),
                                fact("Affects", "Attendance, safeguarding logs, parent messages"),
                                fact("Tolerable outage", "2h"),
                                fact("Who has been told", "Head teacher, Business manager"),
                            ]
                        },
                        {
                            "widgets": [
                                {
                                    "textParagraph": {
                                        "text": "<b>What to do now</b><br>"
                                        + FALLBACK.replace("\n", "<br>")
                                    }
                                }
                            ]
                        },
                        {
                            "widgets": [
                                {"textParagraph": {"text": f"<b>Reported by Arbor</b><br>{REPORT}"}}
                            ]
                        },
                        {
                            "widgets": [
                                {
                                    "buttonList": {
                                        "buttons": [
                                            button("Acknowledge", ACK),
                                            button("Arbor incident", INCIDENT),
                                        ]
                                    }
                                }
                            ]
                        },
                    ],
                },
            }
        ],
    }


def test_webhook_payload_is_the_documented_document() -> None:
    assert webhook.build_payload(MESSAGE, now=NOW) == {
        "event": "lifeline.alert",
        "subject": SUBJECT,
        "severity": "major_outage",
        "severity_label": "Major outage",
        "text": MESSAGE.text,
        "facts": [
            {"label": "Status", "value": "Major outage"},
            {"label": "Since", "value": "09:12 (18 minutes ago)"},
            {"label": "Affects", "value": "Attendance, safeguarding logs, parent messages"},
            {"label": "Tolerable outage", "value": "2h"},
            {"label": "Who has been told", "value": "Head teacher, Business manager"},
        ],
        "sections": [
            {"heading": "What to do now", "body": FALLBACK},
            {"heading": "Reported by Arbor", "body": REPORT},
        ],
        "links": [
            {"label": "Acknowledge", "url": ACK},
            {"label": "Arbor incident", "url": INCIDENT},
        ],
        "sent_at": "2026-12-03T09:30:00Z",
    }


def test_sms_form_uses_short_text_fitted_to_gsm() -> None:
    form = sms.build_form(MESSAGE, "+44 (0)7700 900-456".replace("(0)", ""), SMS_CFG)
    assert form == {
        "To": "+447700900456",
        # The em dash becomes "-" (as Twilio's Smart Encoding would) so the text stays GSM-7.
        "Body": (
            "DOWN: MIS (Arbor) at Oakfield Primary School - Major outage since 09:12. "
            f"Take paper registers. Ack: {ACK}"
        ),
        "From": "+447700900123",
    }
    assert sms.is_gsm(form["Body"]) and sms.segments(form["Body"]) == 1


def test_sms_form_with_messaging_service_and_subject_fallback() -> None:
    cfg = sms.Config.model_validate(
        {
            "type": "sms",
            "account_sid": SID,
            "auth_token": "t",
            "messaging_service_sid": "MG" + "a" * 32,
        }
    )
    message = Message(subject="Subject only", text="", html="", severity=Status.UP)
    assert sms.build_form(message, "+15005550006", cfg) == {
        "To": "+15005550006",
        "Body": "Subject only",
        "MessagingServiceSid": "MG" + "a" * 32,
    }


@pytest.mark.parametrize("module", [teams, slack, google_chat])
def test_chat_payloads_are_strict_json(module: Any) -> None:
    payload = module.build_payload(MESSAGE)
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert (
        base.encode_json(payload)
        == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_message_without_facts_or_sections_posts_its_text() -> None:
    message = Message(
        subject="Recovered", text="MIS is up again.\nAll good.", html="", severity=Status.UP
    )
    assert (
        _card(teams.build_payload(message))["body"][-1]["text"] == "MIS is up again.\n\nAll good."
    )
    assert (
        slack.build_payload(message)["blocks"][-1]["text"]["text"] == "MIS is up again.\nAll good."
    )
    sections = google_chat.build_payload(message)["cardsV2"][0]["card"]["sections"]
    assert sections == [{"widgets": [{"textParagraph": {"text": "MIS is up again.<br>All good."}}]}]


# --- hostile provider text ------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<https://evil.example|click here>",
    "[x](javascript:alert(1))",
    "[reset your password][1]\n[1]: https://evil.example",
    "*bold* **strong** _italic_ ~strike~ `code`",
    "＊wide＊ ＿wide＿ ｀wide｀",
    "@channel @here @everyone <!channel> <!here> <@U024BE7LH> <users/all>",
    "{{DATE(2017-02-14T06:00:00Z, SHORT)}} {{{TIME(2017-02-14T06:00:00Z)}}}",
    "line one\r\n> quoted\r\n&gt; quoted too\rthird\u2028fourth",
    "\x1b[31mred\x1b[0m \u202eevil\u202c \x00nul",
    "fish & chips < 5 > 3 &amp; &lt;",
]


def _hostile_message(text: str) -> Message:
    return Message(
        subject=text,
        text=text,
        html="",
        severity=Status.DEGRADED,
        facts=((text, text),),
        sections=((text, text),),
        links=((text, "https://ok.example/path"),),
        short=text,
    )


def _card(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["attachments"][0]["content"]  # type: ignore[no-any-return]


def _teams_markdown(payload: dict[str, Any]) -> list[str]:
    """Every string Teams renders as Markdown: TextBlock text, Fact title and value."""
    card = _card(payload)
    texts = [block["text"] for block in card["body"] if block["type"] == "TextBlock"]
    for block in card["body"]:
        if block["type"] == "FactSet":
            texts += [part for fact in block["facts"] for part in (fact["title"], fact["value"])]
    return texts


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


@pytest.mark.parametrize("text", HOSTILE)
def test_teams_markdown_cannot_link_format_or_expand(text: str) -> None:
    for shown in _teams_markdown(teams.build_payload(_hostile_message(text))):
        assert "*" not in shown
        assert not re.search(r"(?<![^\W_])_|_(?![^\W_])", shown)  # no _ that could delimit
        assert not re.search(r"\][(\[:]", shown)  # no [text](url), [text][ref], [ref]: url
        assert "{{" not in shown
        assert not CONTROL.search(shown) and "\r" not in shown


@pytest.mark.parametrize("text", HOSTILE)
def test_slack_mrkdwn_cannot_link_mention_or_format(text: str) -> None:
    payload = slack.build_payload(_hostile_message(text))
    mrkdwn = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            for obj in block.get("fields", []) + ([block["text"]] if "text" in block else []):
                assert obj == {"type": "mrkdwn", "text": obj["text"], "verbatim": True}
                mrkdwn.append(obj["text"])
    for shown in mrkdwn:
        assert "<" not in shown and ">" not in shown
        assert not re.search(r"&(?!amp;|lt;|gt;)", shown)  # every & starts an escape
        assert not re.search(r"[~`＊＿｀]", shown)
        # The only asterisks are the ones bolding a label or heading at the start of a text.
        assert re.sub(r"^\*[^*\n]+\*(\n|$)", "", shown).count("*") == 0
        assert not re.search(r"(?m)^&gt;", shown)  # no quote
        assert not re.search(r"@(channel|here|everyone)", shown, re.IGNORECASE)
        assert not CONTROL.search(shown) and "\r" not in shown


@pytest.mark.parametrize("text", HOSTILE)
def test_google_chat_text_and_card_html_are_inert(text: str) -> None:
    payload = google_chat.build_payload(_hostile_message(text))
    assert not re.search(r"[<>*~`]", payload["text"])
    card = payload["cardsV2"][0]["card"]
    html_texts = [
        w["decoratedText"]["text"]
        for s in card["sections"]
        for w in s["widgets"]
        if "decoratedText" in w
    ] + [
        w["textParagraph"]["text"]
        for s in card["sections"]
        for w in s["widgets"]
        if "textParagraph" in w
    ]
    for shown in html_texts:
        assert re.sub(r"</?b>|<br>", "", shown).count("<") == 0  # only our own tags
        assert not re.search(r"&(?!amp;|lt;|gt;)", shown)
    plain = [card["header"]["title"], card["header"]["subtitle"]]
    plain += [
        w["decoratedText"]["topLabel"]
        for s in card["sections"]
        for w in s["widgets"]
        if "decoratedText" in w
    ]
    plain += [
        b["text"]
        for s in card["sections"]
        for w in s["widgets"]
        for b in w.get("buttonList", {}).get("buttons", [])
    ]
    for shown in plain + html_texts + [payload["text"]]:
        assert not re.search(
            r"[<>]", shown.replace("<b>", "").replace("</b>", "").replace("<br>", "")
        )
        assert not CONTROL.search(shown) and "\r" not in shown


def test_escaping_keeps_what_people_need_to_read() -> None:
    text = "Email it_support@oakfield.sch.uk & call 01632 960123 <ext 4> [Arbor] (MIS)"
    assert teams.markdown_safe(text) == text
    assert slack.mrkdwn_safe(text) == (
        "Email it_support@oakfield.sch.uk &amp; call 01632 960123 &lt;ext 4&gt; [Arbor] (MIS)"
    )
    assert google_chat.card_safe(text) == slack.mrkdwn_safe(text)
    assert google_chat.text_safe(text) == text.replace("<", "‹").replace(">", "›")


def test_slack_plain_text_is_sent_as_written() -> None:
    # plain_text is never parsed (Slack escapes it itself): escaping it would show "&amp;".
    message = Message(subject="Fish & chips <menu>", text="", html="", severity=Status.UP)
    assert slack.build_payload(message)["blocks"][0]["text"]["text"] == "Fish & chips <menu>"


def test_ten_thousand_characters_everywhere_stay_within_every_limit() -> None:
    huge = '€<&"𝒳 *_' * 1250  # 10,000 characters, multi-byte, escapes that expand
    message = Message(
        subject=huge,
        text=huge,
        html="",
        severity=Status.UNKNOWN,
        facts=tuple((f"label {i} {huge}", huge) for i in range(30)),
        sections=tuple((f"heading {i} {huge}", (huge + "\n") * 3) for i in range(60)),
        links=tuple((huge, f"https://ok.example/{i}/" + "a" * 1970) for i in range(10)),
        short=huge,
    )
    assert base.json_size(teams.build_payload(message)) <= teams.MAX_BYTES
    assert base.json_size(google_chat.build_payload(message)) <= google_chat.MAX_BYTES
    _assert_slack_limits(slack.build_payload(message))
    assert sms.segments(sms.build_form(message, "+447700900123", SMS_CFG)["Body"]) <= 2


def _assert_slack_limits(payload: dict[str, Any]) -> None:
    n = base.utf16_len
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert slack.blocks_text_length(blocks) <= slack.BLOCKS_TEXT_MAX
    assert 1 <= n(payload["text"]) <= 3000
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and 1 <= n(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert len(block.get("fields", [])) <= 10
            assert all(1 <= n(f["text"]) <= 2000 for f in block.get("fields", []))
            assert "text" not in block or 1 <= n(block["text"]["text"]) <= 3000
        else:
            assert block["type"] == "actions" and len(block["elements"]) <= 25
            for button in block["elements"]:
                assert 1 <= n(button["text"]["text"]) <= 75 and n(button["url"]) <= 3000


def test_slack_limits_for_many_facts_and_sections() -> None:
    message = Message(
        subject="s",
        text="",
        html="",
        severity=Status.DEGRADED,
        facts=tuple((f"fact {i}", "v") for i in range(25)),
        sections=tuple((f"h{i}", "b") for i in range(80)),
    )
    payload = slack.build_payload(message)
    _assert_slack_limits(payload)
    fields = [block for block in payload["blocks"] if "fields" in block]
    assert [len(block["fields"]) for block in fields] == [10, 10]


def test_clipping_never_cuts_an_escape_in_half() -> None:
    text = "&" * 100
    clipped = base.fit(text, 23, slack.mrkdwn_safe)
    assert clipped == "&amp;" * 4 + "…" and len(clipped) <= 23
    assert base.fit("short", 10, str) == "short"
    assert base.fit("x" * 50, 1, str) == "…"


# --- links ------------------------------------------------------------------------------------

BAD_LINKS = [
    ("js", "javascript:alert(1)"),
    ("JS", "JaVaScRiPt:alert(1)"),
    ("data", "data:text/html,<script>alert(1)</script>"),
    ("vb", "vbscript:msgbox"),
    ("ftp", "ftp://files.example/x"),
    ("relative", "/ack/123"),
    ("no host", "https:///path"),
    ("spaces", "https://evil.example/a b"),
    ("newline", "https://evil.example/\r\nX-Injected: 1"),
    ("too long", "https://ok.example/" + "a" * 2000),
]


def _link_urls(module: Any, message: Message) -> list[str]:
    payload = module.build_payload(message)
    if module is teams:
        return [a["url"] for a in _card(payload).get("actions", [])]
    if module is slack:
        return [
            e["url"] for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]
        ]
    card = payload["cardsV2"][0]["card"]
    return [
        button["onClick"]["openLink"]["url"]
        for section in card["sections"]
        for widget in section["widgets"]
        for button in widget.get("buttonList", {}).get("buttons", [])
    ]


@pytest.mark.parametrize("module", [teams, slack, google_chat])
def test_only_http_links_become_buttons(module: Any) -> None:
    good = [("ok", "https://ok.example/1"), ("plain", "http://intranet.example/2")]
    message = Message(
        subject="s", text="t", html="", severity=Status.DEGRADED, links=(*BAD_LINKS, *good)
    )
    assert _link_urls(module, message) == [url for _, url in good]


def test_webhook_drops_non_http_links_too() -> None:
    message = Message(
        subject="s", text="t", html="", severity=Status.UP, links=(*BAD_LINKS, ("ok", ACK))
    )
    assert webhook.build_payload(message, now=NOW)["links"] == [{"label": "ok", "url": ACK}]


def test_at_most_five_links() -> None:
    links = tuple((f"link {i}", f"https://ok.example/{i}") for i in range(8))
    message = Message(subject="s", text="t", html="", severity=Status.UP, links=links)
    for module in (teams, slack, google_chat):
        assert len(_link_urls(module, message)) == base.MAX_LINKS == 5


# --- SMS segment maths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gsm", "count"),
    [
        ("", True, 0),
        ("a", True, 1),
        ("a" * 160, True, 1),
        ("a" * 161, True, 2),
        ("a" * 306, True, 2),
        ("a" * 307, True, 3),
        ("€" * 80, True, 1),  # extension characters count two septets: 160
        ("€" * 81, True, 2),
        ("a" * 159 + "€", True, 2),  # 161 septets
        ("a" * 152 + "€" + "a" * 152, True, 3),  # 306 septets, but ESC+€ is never split
        ("£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà@", True, 1),
        ("^{}\\[~]|", True, 1),
        ("é" * 160, True, 1),  # é is GSM-7
        ("á" * 70, False, 1),  # á is not: UCS-2
        ("á" * 71, False, 2),
        ("á" * 134, False, 2),
        ("á" * 135, False, 3),
        ("😀" * 35, False, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, False, 2),
        ("a" * 66 + "😀" + "a" * 66, False, 3),  # 134 units, but a surrogate pair is never split
        ("…", False, 1),  # the ellipsis is not GSM-7
        ("`", False, 1),  # nor is the backquote
    ],
)
def test_segments(text: str, gsm: bool, count: int) -> None:
    assert sms.is_gsm(text) is gsm
    assert sms.segments(text) == count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Short", "Short"),
        ("a" * 306, "a" * 306),
        ("a" * 307, "a" * 303 + "..."),
        ("word " * 80, ("word " * 60).rstrip() + "..."),  # cut at a space when one is close
        ("€" * 200, "€" * 151 + "..."),  # 302 + 3 septets; ESC pairs never straddle segments
        ("á" * 200, "á" * 133 + "…"),
        ("“Quoted” — it’s… fine", '"Quoted" - it\'s... fine'),  # smart encoding keeps GSM-7
        ("Line one\r\nLine two\x07", "Line one\nLine two"),
    ],
)
def test_fit_sms(text: str, expected: str) -> None:
    fitted = sms.fit_sms(text)
    assert fitted == expected
    assert sms.segments(fitted) <= 2


def test_fit_sms_uses_gsm_dots_unless_the_kept_text_is_ucs2() -> None:
    mixed = "a" * 400 + "á"  # the non-GSM character is cut off, so the rest is GSM-7
    assert sms.fit_sms(mixed).endswith("a...")
    assert sms.is_gsm(sms.fit_sms(mixed))


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+447700900123", "+447700900123"),
        ("+44 7700 900 123", "+447700900123"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+33.6.12.34.56.78", "+33612345678"),
        ("07700 900123", None),  # national: which country?
        ("447700900123", None),
        ("+0447700900123", None),
        ("+44", None),
        ("+4477009001231234", None),  # more than 15 digits
        ("+44 7700 900123 ext 4", None),
        ("+447700900123\n+15005550006", None),
        ("", None),
    ],
)
def test_e164(phone: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="E.164"):
            sms.e164(phone)
    else:
        assert sms.e164(phone) == expected


# --- webhook signatures -----------------------------------------------------------------------

SECRET = "whsec-0123456789"
BODY = b'{"event":"lifeline.alert","subject":"x"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1796290200." + BODY, hashlib.sha256).hexdigest()
    assert webhook.signature(SECRET, "1796290200", BODY) == f"sha256={expected}"


def test_signed_headers() -> None:
    headers = webhook.signed_headers(SECRET, BODY, NOW)
    assert headers["X-Lifeline-Timestamp"] == str(int(NOW.timestamp()))
    assert headers["X-Lifeline-Signature"] == webhook.signature(
        SECRET, str(int(NOW.timestamp())), BODY
    )
    assert headers["Content-Type"] == "application/json"


def _verify(**changes: Any) -> bool:
    timestamp = str(int(NOW.timestamp()))
    args: dict[str, Any] = {
        "secret": SECRET,
        "timestamp": timestamp,
        "body": BODY,
        "header": webhook.signature(SECRET, timestamp, BODY),
        "now": NOW,
    }
    return webhook.verify_signature(**(args | changes))


@pytest.mark.parametrize(
    ("changes", "valid"),
    [
        ({}, True),
        ({"now": NOW + timedelta(seconds=300)}, True),  # at the edge of the tolerance
        ({"now": NOW + timedelta(seconds=301)}, False),  # expired: a replay
        ({"now": NOW - timedelta(seconds=301)}, False),  # from the future
        ({"now": NOW + timedelta(seconds=90), "tolerance": 60}, False),
        ({"secret": "another secret"}, False),
        ({"body": BODY + b" "}, False),  # re-serialised or tampered
        ({"timestamp": str(int(NOW.timestamp()) + 1)}, False),  # the timestamp is signed too
        ({"header": "sha256=" + "0" * 64}, False),
        ({"header": ""}, False),
        ({"header": "sha256=é"}, False),  # non-ASCII: False, not an exception
        ({"timestamp": "not-a-number"}, False),
        ({"timestamp": "-5"}, False),
    ],
)
def test_verify_signature(changes: dict[str, Any], valid: bool) -> None:
    assert _verify(**changes) is valid


def test_verify_accepts_bytes_secret_and_padded_header() -> None:
    timestamp = str(int(NOW.timestamp()))
    header = " " + webhook.signature(SECRET, timestamp, BODY) + " "
    assert webhook.verify_signature(SECRET.encode(), timestamp, BODY, header, NOW)


# --- the shared transport's pure parts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (301, True),
        (308, True),
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (410, True),
        (413, True),
        (408, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
        (599, False),
    ],
)
def test_status_permanence(status: int, permanent: bool) -> None:
    reason, is_permanent = base.describe_status(status, None, b"", "text/plain", NOW)
    assert is_permanent is permanent
    assert reason.startswith(f"HTTP {status}")


def test_retry_after_is_in_the_reason_of_temporary_failures() -> None:
    reason, permanent = base.describe_status(429, "30", b"rate_limited", "text/plain", NOW)
    assert (reason, permanent) == (
        "HTTP 429 Too Many Requests (retry after 30s): rate_limited",
        False,
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120),
        (" 0 ", 0),
        ("Thu, 03 Dec 2026 09:31:05 GMT", 65),
        ("Thu, 03 Dec 2026 09:00:00 GMT", 0),  # in the past
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: int | None) -> None:
    assert base.retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"invalid_payload", "text/plain", "invalid_payload"),
        (
            b'{"code": 21211, "message": "The \'To\' number 123 is not a valid phone number.",'
            b' "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}',
            "application/json",
            "21211 The 'To' number 123 is not a valid phone number.",
        ),
        (
            b'{"error": {"code": 400, "message": "Invalid JSON payload", "status": "INVALID_ARGUMENT"}}',
            "application/json",
            "INVALID_ARGUMENT Invalid JSON payload",
        ),
        (
            b'{"error": {"code": "WorkflowTriggerIsNotEnabled", "message": "The workflow is disabled."}}',
            "application/json",
            "WorkflowTriggerIsNotEnabled The workflow is disabled.",
        ),
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx &amp; co</body></html>",
            "text/html",
            "502 Bad Gateway nginx & co",
        ),
        (b"line\r\nbreak\x1b[31m \xff", "text/plain", "line break[31m \ufffd"),
        (b"[" * 100_000, "application/json", "[" * 199 + "…"),
    ],
)
def test_response_detail(body: bytes, content_type: str, detail: str) -> None:
    assert base.response_detail(body, content_type) == detail


def test_secrets_are_redacted_before_the_snippet_is_clipped() -> None:
    token = "T0KEN" + "x" * 300  # longer than the snippet: a clipped copy must not leak a part
    reason, _ = base.describe_status(
        404, None, f"no route {token}".encode(), "text/plain", NOW, [token]
    )
    assert reason == "HTTP 404 Not Found: no route ***"


def test_url_secrets_cover_path_tokens_and_query_values() -> None:
    url = (
        "https://chat.googleapis.com/v1/spaces/AAAAb1c2d3e/messages"
        "?key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=tok%2Fen"
    )
    secrets = base.url_secrets(url)
    for part in (
        url,
        "AAAAb1c2d3e",
        "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
        "tok/en",
        "tok%2Fen",
    ):
        assert part in secrets
    assert "chat.googleapis.com" not in secrets
    assert base.redact(f"echo {url}", secrets) == "echo ***"


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://hooks.slack.com/services/T0/B0/x", "hooks.slack.com"),
        ("http://127.0.0.1:8080/a?b=c", "127.0.0.1:8080"),
        ("https://[::1]:9/x", "[::1]:9"),
    ],
)
def test_endpoint_label_is_host_and_port_only(url: str, label: str) -> None:
    assert base.endpoint_label(url) == label


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/x",
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "  https://example.org/padded  ",
    ],
)
def test_endpoint_urls_accepted(url: str) -> None:
    assert base.check_endpoint_url(url) == url.strip()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.org/s3cr3t-t0ken", "must be https://"),
        ("ftp://example.org/s3cr3t-t0ken", "must be an https:// URL"),
        ("hooks.example.org/s3cr3t-t0ken", "must be an https:// URL"),
        ("https://user:s3cr3t-t0ken@example.org/", "user name or password"),
        ("https://example.org/s3cr3t-t0ken\nX: y", "single URL"),
        ("https://example.org:port/s3cr3t-t0ken", "not a valid URL"),
        ("", "single URL"),
    ],
)
def test_endpoint_urls_rejected_without_repeating_them(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)) as info:
        base.check_endpoint_url(url)
    assert "s3cr3t" not in str(info.value)


def test_text_helpers() -> None:
    assert base.one_line(" a \r\n b\tc\u2028d ", 100) == "a b c d"
    assert base.one_line("abcdef", 4) == "abc…"
    assert base.multi_line("a\r\n\r\n\r\n b  c \rd\x1b", 100) == "a\n\nb c\nd"
    assert base.clip("abc", 3) == "abc"


# --- config ---------------------------------------------------------------------------------------

CHANNEL_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyChannel)

MINIMAL: dict[str, dict[str, Any]] = {
    "teams": {"type": "teams", "url": "https://prod-00.westeurope.logic.azure.com/workflows/x"},
    "slack": {"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"},
    "google_chat": {
        "type": "google_chat",
        "url": "https://chat.googleapis.com/v1/spaces/A/messages",
    },
    "webhook": {"type": "webhook", "url": "https://helpdesk.example.org/hook", "secret": "s"},
    "sms": {"type": "sms", "account_sid": SID, "auth_token": "t", "from": "Lifeline"},
}


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_union_parses_each_type_to_its_config(kind: str) -> None:
    parsed = CHANNEL_ADAPTER.validate_python(MINIMAL[kind])
    assert type(parsed) is CHANNELS[kind].Config
    assert module_for(parsed) is CHANNELS[kind]
    assert parsed.timeout == timedelta(seconds=10) and parsed.rate_limit is None


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_union_rejects_unknown_keys(kind: str) -> None:
    with pytest.raises(ValidationError, match="extra"):
        CHANNEL_ADAPTER.validate_python(MINIMAL[kind] | {"chanel": "#it"})


def test_union_rejects_unknown_type() -> None:
    with pytest.raises(ValidationError):
        CHANNEL_ADAPTER.validate_python({"type": "pager", "url": "https://x.example/"})


@pytest.mark.parametrize("kind", ["teams", "slack", "google_chat", "webhook"])
def test_webhook_url_needs_exactly_one_of_url_and_url_file(kind: str, tmp_path: Path) -> None:
    without = {k: v for k, v in MINIMAL[kind].items() if k != "url"}
    with pytest.raises(ValidationError, match="give url or url_file"):
        CHANNEL_ADAPTER.validate_python(without)
    with pytest.raises(ValidationError, match="give url or url_file"):
        CHANNEL_ADAPTER.validate_python(MINIMAL[kind] | {"url_file": str(tmp_path / "u")})
    secret_file = tmp_path / "url"
    secret_file.write_text("https://hooks.example.org/from-file\n")
    parsed = CHANNEL_ADAPTER.validate_python(without | {"url_file": str(secret_file)})
    assert parsed.webhook_url() == "https://hooks.example.org/from-file"


def test_webhook_url_is_secret_in_reprs_and_errors() -> None:
    url = "https://hooks.slack.com/services/T0/B0/s3cr3tT0ken"
    cfg = CHANNEL_ADAPTER.validate_python({"type": "slack", "url": url})
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(cfg.model_dump())
    with pytest.raises(ValidationError) as info:
        CHANNEL_ADAPTER.validate_python({"type": "slack", "url": url.replace("https", "http")})
    assert "must be https://" in str(info.value)
    messages = [e["msg"] for e in info.value.errors()]
    assert not any("s3cr3t" in m for m in messages)


def test_unreadable_or_invalid_url_file(tmp_path: Path) -> None:
    cfg = teams.Config.model_validate({"type": "teams", "url_file": str(tmp_path / "missing")})
    with pytest.raises(ValueError, match="cannot read secret file .*missing"):
        cfg.webhook_url()
    bad = tmp_path / "bad"
    bad.write_text("http://remote.example/s3cr3t\n")
    cfg = teams.Config.model_validate({"type": "teams", "url_file": str(bad)})
    with pytest.raises(ValueError, match="must be https://") as info:
        cfg.webhook_url()
    assert "s3cr3t" not in str(info.value)


def test_webhook_needs_exactly_one_signing_secret(tmp_path: Path) -> None:
    url = {"type": "webhook", "url": "https://x.example/hook"}
    with pytest.raises(ValidationError, match="give secret or secret_file"):
        webhook.Config.model_validate(url)
    with pytest.raises(ValidationError, match="must not be empty"):
        webhook.Config.model_validate(url | {"secret": ""})
    key = tmp_path / "key"
    key.write_text("from-file\n")
    assert (
        webhook.Config.model_validate(url | {"secret_file": str(key)}).signing_secret()
        == "from-file"
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"auth_token": None}, "give auth_token or auth_token_file"),
        ({"auth_token_file": "/run/secrets/t"}, "give auth_token or auth_token_file"),
        ({"from": None}, "give from or messaging_service_sid"),
        ({"messaging_service_sid": "MG" + "0" * 32}, "give from or messaging_service_sid"),
        ({"from": "07700 900123"}, "E.164"),
        ({"from": "Lifeline Alerts"}, "alphanumeric sender ID"),  # 15 characters: too long
        ({"messaging_service_sid": "XX1", "from": None}, "String should match pattern"),
        ({"account_sid": "AC/../../x"}, "String should match pattern"),
        ({"api_base": "http://api.twilio.com"}, "must be https://"),
        ({"api_base": "https://api.example.org/?x=1"}, "without ?query"),
        ({"timeout": "0s"}, "must be more than 0s"),
        ({"rate_limit": {"count": 0, "per": "1d"}}, "greater than or equal to 1"),
        ({"rate_limit": {"count": 5, "per": "0s"}}, "must be more than 0s"),
    ],
)
def test_sms_config_problems(changes: dict[str, Any], problem: str) -> None:
    data = {k: v for k, v in (MINIMAL["sms"] | changes).items() if v is not None}
    with pytest.raises(ValidationError, match=re.escape(problem)):
        sms.Config.model_validate(data)


def test_sms_config_accepts_every_sender_form() -> None:
    for sender, kept in [
        ("+44 7700 900123", "+447700900123"),
        ("60606", "60606"),
        ("Oakfield", "Oakfield"),
    ]:
        assert sms.Config.model_validate(MINIMAL["sms"] | {"from": sender}).from_ == kept
    cfg = sms.Config.model_validate(
        MINIMAL["sms"]
        | {"api_base": "https://api.example.org/laml/", "rate_limit": {"count": 50, "per": "1d"}}
    )
    assert (
        cfg.messages_url()
        == f"https://api.example.org/laml/2010-04-01/Accounts/{SID}/Messages.json"
    )
    assert cfg.rate_limit is not None and (cfg.rate_limit.count, cfg.rate_limit.per) == (
        50,
        timedelta(days=1),
    )


# --- the registry -----------------------------------------------------------------------------


def test_registry_lists_exactly_the_union_members() -> None:
    members = get_args(get_args(AnyChannel)[0])
    assert {module.Config for module in CHANNELS.values()} == set(members)
    assert CHANNELS == {
        "teams": teams,
        "slack": slack,
        "google_chat": google_chat,
        "webhook": webhook,
        "sms": sms,
    }


BUILDERS = {
    "teams": ["build_payload"],
    "slack": ["build_payload"],
    "google_chat": ["build_payload"],
    "webhook": ["build_payload", "signed_headers", "verify_signature"],
    "sms": ["build_form", "segments", "fit_sms"],
}


@pytest.mark.parametrize("kind", sorted(CHANNELS))
def test_every_module_satisfies_the_interface(kind: str) -> None:
    module: Any = CHANNELS[kind]
    config = module.Config
    assert issubclass(config, base.ChannelConfig)
    annotation = config.model_fields["type"].annotation
    assert get_origin(annotation) is Literal and get_args(annotation) == (kind,)
    assert config.model_config.get("extra") == "forbid"
    assert config.model_config.get("frozen") is True
    assert isinstance(module.LABEL, str) and module.LABEL
    for name in BUILDERS[kind]:
        assert callable(getattr(module, name)), name
    assert inspect.iscoroutinefunction(module.send)
    parameters = list(inspect.signature(module.send).parameters)
    assert parameters[:4] == ["message", "cfg", "http", "recipient"]
    assert inspect.signature(module.send).parameters["recipient"].default is None


def test_module_for_unregistered_type_is_a_permanent_error() -> None:
    class Stray(base.ChannelConfig):
        pass

    with pytest.raises(NotifierError, match="'stray'") as info:
        module_for(Stray(type="stray"))
    assert info.value.permanent
