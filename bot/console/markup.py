"""Telegram HTML as terminal lines: styled fragments, or plain text for pipes.

A reply is Telegram-style HTML (`<b>`, `<i>`, `<u>`, `<code>`, entities). Here it
becomes lines of `(style, text)` fragments in prompt_toolkit's format: tags become
weight and slant, and a check line (✅ passed, ⚠️ points off, ❌ missed) and a score
(`85 分`, `85 points`) get a colour. Control characters never reach the terminal.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

Fragment = tuple[str, str]  # (prompt_toolkit style, text)
Line = list[Fragment]

_TAG = re.compile(r"<[^>]+>")
_TAG_STYLES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "code": "class:code",
    "pre": "class:code",
}
# The mark a check line starts with, and the style of the mark and the check's label.
CHECK_MARKS = {"✅": "class:passed", "⚠️": "class:warning", "⚠": "class:warning", "❌": "class:missed"}
_SCORE = re.compile(r"\d+(?:\.\d+)?\s?(?:分|points?\b)")
_LABEL_END = re.compile(r"[：:（(]")


def printable(text: str) -> str:
    """Text without control characters (newlines and tabs kept)."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def html_to_text(text: str) -> str:
    """Telegram HTML as plain terminal text: tags dropped, entities decoded, control characters removed."""
    return printable(html.unescape(_TAG.sub("", text)))


class _Fragments(HTMLParser):
    """Collects (style, text) fragments, one style per stack of open tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.fragments: list[Fragment] = []

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data):
        style = " ".join(dict.fromkeys(_TAG_STYLES[t] for t in self.open if t in _TAG_STYLES))
        self.fragments.append((style, printable(data)))


def styled_lines(text: str) -> list[Line]:
    """Telegram HTML as styled lines, check marks and scores coloured."""
    parser = _Fragments()
    parser.feed(text)
    parser.close()
    lines: list[Line] = [[]]
    for style, chunk in parser.fragments:
        for i, part in enumerate(chunk.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append((style, part))
    return [_coloured(line) for line in lines]


def _coloured(line: Line) -> Line:
    """A check line's mark and label in the check's colour; every score in the score colour."""
    plain = "".join(text for _, text in line)
    stripped = plain.lstrip()
    mark = next((m for m in CHECK_MARKS if stripped.startswith(m)), None)
    spans: list[tuple[int, int, str]] = []
    if mark:
        start = len(plain) - len(stripped)
        end = _LABEL_END.search(plain, start + len(mark))
        spans.append((start, end.start() if end else len(plain), CHECK_MARKS[mark]))
    spans += [(m.start(), m.end(), "class:score") for m in _SCORE.finditer(plain)]
    if not spans:
        return line
    extra = [""] * len(plain)
    for start, end, style in spans:
        for i in range(start, end):
            extra[i] = style  # a score inside a check label takes the score colour
    out: Line = []
    position = 0
    for style, text in line:
        for offset, ch in enumerate(text):
            combined = f"{style} {extra[position + offset]}".strip()
            if out and out[-1][0] == combined:
                out[-1] = (combined, out[-1][1] + ch)
            else:
                out.append((combined, ch))
        position += len(text)
    return out
