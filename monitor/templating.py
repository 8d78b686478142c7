"""The one Jinja environment for every template Lifeline renders (alerts, documents, web
pages): templates ship in ``monitor/templates``; ``.html`` is autoescaped, everything else is
not; an undefined value is an error, never an empty string. ``md`` escapes for Markdown.
"""

from __future__ import annotations

import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    return env


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_BLOCK_MARK = re.compile(r"^(\s*)(#{1,6}|[-+=])(?=\s|$)")
_MD_ORDERED = re.compile(r"^(\s*\d{1,9})([.)])(?=\s|$)")
_MD_RULE = re.compile(r"^(\s*)([-=])(?=[-=\s]*$)")


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text (CommonMark/GFM).

    Inline syntax (emphasis, code, links, raw HTML, entities, table pipes, strikethrough) is
    backslash-escaped everywhere; block syntax (headings, list markers, rules and setext
    underlines) only where it would take effect, at the start of a line; trailing spaces (hard
    breaks) are dropped. Ordinary punctuation is left alone so the text stays readable.
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for line in text.split("\n"):
        line = _MD_INLINE.sub(r"\\\1", line.rstrip())
        line = _MD_BLOCK_MARK.sub(r"\1\\\2", line)
        line = _MD_RULE.sub(r"\1\\\2", line)
        out.append(_MD_ORDERED.sub(r"\1\\\2", line))
    return "\n".join(out)
