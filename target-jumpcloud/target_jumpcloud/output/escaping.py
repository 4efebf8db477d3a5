"""Values made safe for the review pages: HTML with no live URL, Markdown as literal text.

The review page and the Markdown summary show people's names and HR data, which may hold
markup, table borders, @mentions or URLs: every value goes through one of these first.
"""

from __future__ import annotations

import re
from typing import Final

from markupsafe import Markup, escape

MARKDOWN_CELL: Final = 300  # a longer value is cut in a Markdown table cell

_SCHEME_SEPARATOR: Final = "://"
_DEFANGED: Final = Markup(":&#47;&#47;")  # "://" as the browser shows it, never as a URL


def html_value(value: object) -> object:
    """Every `{{ value }}` of the page: no literal "scheme://" left (autoescape does the rest).

    Escaping never makes a "://", so only text that has one needs the extra step: for a page
    of 100,000 records, that is most of the saving over escaping every value twice.
    """
    if isinstance(value, str) and _SCHEME_SEPARATOR in value and not isinstance(value, Markup):
        return escape(value).replace(_SCHEME_SEPARATOR, _DEFANGED)
    return value


def markdown_value(value: object) -> str:
    """Every `{{ value }}` of the Markdown template: text escaped (`markdown_text`)."""
    if value is None:
        return ""
    if isinstance(value, MarkdownSafe):
        return str(value)
    if isinstance(value, str):
        return markdown_text(value)
    return str(value)


class MarkdownSafe(str):
    """Text already fit for the Markdown template (not escaped again)."""

    __slots__ = ()


_MD_BACKSLASHED = re.compile(r"([\\`*_\[\]|~])")
_MD_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ENTITY = re.compile(r"[&<>]")
_LAYOUT = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MENTION = re.compile(r"(?<![\w@])@(?=\w)")
_WORD_JOINER: Final = "\u2060"


def markdown_text(text: str, limit: int = MARKDOWN_CELL) -> str:
    """`text` as literal Markdown, safe in a table cell.

    Line breaks and control characters become a space (a cell is one line); `&`, `<`, `>`
    become entities (no HTML); the characters that make emphasis, code, links, strikethrough
    or a cell border are backslash-escaped; an @mention gets an invisible word joiner, so a
    worker named "@team" pings no one. Text longer than `limit` is cut with "…".
    """
    text = _LAYOUT.sub(" ", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _MD_ENTITY.sub(lambda match: _MD_ENTITIES[match.group()], text)
    text = _MD_BACKSLASHED.sub(r"\\\1", text)
    return _MENTION.sub("@" + _WORD_JOINER, text)
