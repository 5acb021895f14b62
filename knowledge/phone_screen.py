"""How many lines a message takes on a phone: the one measure of a "phone-sized screen".

A phone shows about 12 short lines of a chat message. A line is counted as 40
columns, a Chinese (or other full-width) character or a wide emoji taking two,
and wrapped the way a reader expects: an English word is never split (unless it
is wider than a line), and closing punctuation never starts a line. Tags do not
count; entities count as the character they stand for.

The engine's pages (dialogs/paging.py) and the content checks (knowledge/checks.py)
both measure with it, so a lesson page that passes `coach kb check` is one page on screen.
"""

from __future__ import annotations

import html
import re
import unicodedata

PAGE_LINES = 12
COLUMNS = 40
NO_LINE_START = set("，。、；：！？）］｝」』》〉】〗〕’”％‰…‥・·〜～,.;:!?)]}%")
_MARKUP = re.compile(r"<[^>]*>")
_VARIATION_SELECTOR = "\ufe0f"


def char_width(ch: str) -> int:
    """Columns a character takes: 2 for full-width and wide characters, 0 for combining marks."""
    if unicodedata.combining(ch) or ch in "\u200b\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _tokens(line: str) -> list[tuple[int, int]]:
    """A plain line as (width, spaces after) runs that may not be broken."""
    tokens: list[tuple[int, int]] = []
    previous_wide = False
    for ch in line:
        if ch == " ":
            if tokens:
                tokens[-1] = (tokens[-1][0], tokens[-1][1] + 1)
            else:
                tokens.append((0, 1))
            continue
        width = 2 if ch == _VARIATION_SELECTOR else char_width(ch)
        if ch == _VARIATION_SELECTOR and tokens:  # the emoji form is two columns wide
            tokens[-1] = (tokens[-1][0] + 1, tokens[-1][1])
            continue
        wide = width == 2
        glued = ch in NO_LINE_START or not (wide or previous_wide)
        if tokens and tokens[-1][1] == 0 and glued:
            tokens[-1] = (tokens[-1][0] + width, 0)
        else:
            tokens.append((width, 0))
        previous_wide = wide
    return tokens


def wrapped_lines(line: str, columns: int = COLUMNS) -> int:
    """Rows one plain line takes when wrapped at `columns` (an empty line takes one)."""
    rows, used = 1, 0
    for width, spaces in _tokens(line):
        if used and used + width > columns:
            rows, used = rows + 1, 0
        while width > columns:  # a run wider than a row is cut where it must be
            rows, width = rows + 1, width - columns
        used += width
        if used + spaces > columns:
            rows, used = rows + 1, 0
        else:
            used += spaces
    return rows


def plain(text: str) -> str:
    """Telegram HTML as the text a reader sees."""
    return html.unescape(_MARKUP.sub("", text))


def screen_lines(text: str, columns: int = COLUMNS) -> int:
    """Lines a message (Telegram HTML, or plain text) takes on a phone."""
    return sum(wrapped_lines(line, columns) for line in plain(text).split("\n"))
