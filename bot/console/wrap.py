"""Wrapping styled lines to the terminal's width, the way a reader expects.

An English word is never split (unless it is wider than the whole line); Chinese
breaks between characters, but a line never starts with closing punctuation
(，。！？…) nor ends with opening punctuation (（「“…) — the kinsoku rule. Widths
are display columns: a Chinese character or a wide emoji takes two. A bullet or
check line continues under its text, not under its mark.
"""

from __future__ import annotations

import re

from prompt_toolkit.utils import get_cwidth

from bot.console.markup import Line

NO_LINE_START = set("，。、；：！？）］｝」』》〉】〗〕’”％‰…‥・·〜～,.;:!?)]}%")
NO_LINE_END = set("（［｛「『《〈【〖〔‘“([{")
_VARIATION_SELECTOR = "\ufe0f"  # asks for the emoji form, which terminals draw two columns wide
_HANGING = re.compile(r"\s*(?:(?:[•·*-]|\d+[.)、]|\[\d+\]|✅|❌|⚠️?)\s+)?")

Cell = tuple[str, str]  # (style, one character)


def char_widths(text: str) -> list[int]:
    """The display width of each character; a variation selector widens a narrow emoji to two."""
    widths = []
    for ch in text:
        if ch == _VARIATION_SELECTOR and widths and widths[-1] == 1:
            widths.append(1)
        else:
            widths.append(get_cwidth(ch))
    return widths


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal."""
    return sum(char_widths(text))


def _breakable(before: str, after: str, before_width: int, after_width: int) -> bool:
    """Whether a line may break between two adjacent non-space characters."""
    if after in NO_LINE_START or before in NO_LINE_END or after == _VARIATION_SELECTOR:
        return False
    return before_width == 2 or after_width == 2  # Chinese text (and wide emoji) breaks anywhere else


def _pieces(cells: list[Cell], widths: list[int]) -> list[tuple[list[int], list[int]]]:
    """The line as unbreakable runs, each with the spaces after it (as cell indexes)."""
    pieces: list[tuple[list[int], list[int]]] = []
    for i, (_, ch) in enumerate(cells):
        if ch == " ":
            if not pieces:
                pieces.append(([], []))
            pieces[-1][1].append(i)
        elif pieces and not pieces[-1][1] and not _breakable(cells[i - 1][1], ch, widths[i - 1], widths[i]):
            pieces[-1][0].append(i)
        else:
            pieces.append(([i], []))
    return pieces


def _fragments(cells: list[Cell]) -> Line:
    line: Line = []
    for style, ch in cells:
        if line and line[-1][0] == style:
            line[-1] = (style, line[-1][1] + ch)
        else:
            line.append((style, ch))
    return line


def wrap_line(line: Line, width: int) -> list[Line]:
    """One styled line as rows of at most `width` columns."""
    cells = [(style, ch) for style, text in line for ch in text.replace("\t", "    ")]
    plain = "".join(ch for _, ch in cells)
    widths = char_widths(plain)
    if sum(widths) <= width:
        return [_fragments(cells)]
    hang = display_width(_HANGING.match(plain).group())
    hang = hang if hang < width // 2 else 0
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    used = 0
    spaces: list[int] = []  # spaces waiting between the row and the next piece

    def new_row():
        nonlocal row, used, spaces
        rows.append(row)
        row, used, spaces = [("", " ")] * hang, hang, []

    for word, after in _pieces(cells, widths):
        word_width = sum(widths[i] for i in word)
        gap = sum(widths[i] for i in spaces)
        if word and used > hang and used + gap + word_width > width:
            new_row()
            gap = 0
        row += [cells[i] for i in spaces]
        used += gap
        for i in word:  # a run wider than the row is cut where it must be
            if used + widths[i] > width and used > hang:
                new_row()
            row.append(cells[i])
            used += widths[i]
        spaces = after
    rows.append(row)
    return [_fragments(r) for r in rows]


def wrap(lines: list[Line], width: int) -> list[Line]:
    """Every line wrapped to `width` columns."""
    return [row for line in lines for row in wrap_line(line, max(width, 8))]
