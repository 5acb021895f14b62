"""Phone-sized screens: long messages cut into pages.

Lines are measured by knowledge/phone_screen.py (40 columns, a Chinese character
taking two, words never split, closing punctuation never starting a line).

`pages(text)` cuts Telegram HTML into pages of at most `PAGE_LINES` lines: at a
blank line where it can, else at a line's end, else (one line longer than a page)
after a sentence or a word. A tag open at a cut is closed at the end of the page
and opened again on the next, so every page is valid HTML on its own. A page is
named by the offset in the text where it starts, so a front end can ask for "the
page from here on" of a screen rendered again (see dialogs/engine.py).
"""

from __future__ import annotations

import re

from knowledge.phone_screen import (  # the measure (the engine and the tours import it from here)
    COLUMNS,
    NO_LINE_START,
    PAGE_LINES,
    char_width,
    plain,
    screen_lines,
    wrapped_lines,
)

MORE_TRIGGER = "more"  # the button that shows the next page of a screen
FOLD_TRIGGER = "fold"  # a button that opens a folded part of a screen (its arg names the part)
FILL_ROWS = 4  # rows left on a page worth filling with the first sentences of a long paragraph
_TAG = re.compile(r"<(/?)([a-zA-Z]+)[^>]*>")
_SENTENCE_END = re.compile(r"[。！？；!?;]|[.:](?=\s)")


# --- pages -------------------------------------------------------------------------------


def _open_tags(text: str) -> list[tuple[str, str]]:
    """(name, opening tag) of the tags still open at the end of `text`."""
    stack: list[tuple[str, str]] = []
    for match in _TAG.finditer(text):
        name = match.group(2).lower()
        if not match.group(1):
            stack.append((name, match.group(0)))
        elif any(n == name for n, _ in stack):
            while stack and stack.pop()[0] != name:
                pass
    return stack


def _inside_markup(text: str, position: int) -> bool:
    """Whether `position` is inside a tag or an entity."""
    for opener, closer in (("<", ">"), ("&", ";")):
        start = text.rfind(opener, 0, position)
        if start != -1 and text.find(closer, start, position) == -1:
            return True
    return False


def _cut_inside(line: str, budget: int, columns: int, sentences_only: bool = False) -> int:
    """Where to cut one line longer than `budget` rows: after the last sentence (else word) that fits.

    0 when nothing fits (or, with `sentences_only`, no sentence ends in the rows there are).
    """
    best_sentence = best_word = best_char = 0
    for position in range(1, len(line)):
        if _inside_markup(line, position):
            continue
        if wrapped_lines(plain(line[:position]), columns) > budget:
            break
        best_char = position
        before, after = line[position - 1], line[position]
        if _SENTENCE_END.match(line, position - 1) and after not in NO_LINE_START:
            best_sentence = position
        if before == " " or (char_width(before) == 2 and after not in NO_LINE_START):
            best_word = position
    if sentences_only:
        return best_sentence
    return best_sentence or best_word or best_char


def _page_end(text: str, start: int, budget: int, columns: int) -> int:
    """Where the page that starts at `start` ends (the whole rest fits: len(text)).

    A page ends at a paragraph's end when that leaves it at least half full, else at a line's end; a
    line too long for the rows left is cut after a sentence when that fills the page better.
    """
    used = 0
    position = start
    last_blank = None  # the end of the last paragraph that fits
    while position < len(text):
        end = text.find("\n", position)
        end = len(text) if end == -1 else end
        line = text[position:end]
        rows = wrapped_lines(plain(line), columns)
        if used + rows > budget:
            if used == 0:  # one line longer than a page: cut inside it
                return position + (_cut_inside(line, budget, columns) or len(line))
            room = budget - used
            if room >= FILL_ROWS and (cut := _cut_inside(line, room, columns, sentences_only=True)):
                return position + cut
            if last_blank is not None and used - last_blank[1] <= budget // 2:
                return last_blank[0]
            return position
        if not plain(line).strip() and used:
            last_blank = (position, used)
        used += rows
        position = end + 1
    return len(text)


def page_from(text: str, start: int = 0, budget: int = PAGE_LINES, columns: int = COLUMNS) -> tuple[str, int | None]:
    """The page of `text` that starts at offset `start`, as valid HTML, and where the next one starts (None: last)."""
    text = str(text)  # as Markup, the closing tags added below would be escaped into visible text
    if not 0 <= start < len(text.rstrip()) or _inside_markup(text, start):
        start = 0  # an offset into another rendering of the screen (its text changed since): from the top
    end = _page_end(text, start, budget, columns)
    reopen = "".join(tag for _, tag in _open_tags(text[:start]))
    still_open = _open_tags(text[:end])
    close = "".join(f"</{name}>" for name, _ in reversed(still_open))
    page = (reopen + text[start:end]).strip("\n") + close
    following = end
    while following < len(text) and text[following] in "\n ":
        following += 1
    return page, (following if following < len(text) else None)


def page_starts(text: str, budget: int = PAGE_LINES, columns: int = COLUMNS) -> list[int]:
    """The offset each page of `text` starts at (one page: [0])."""
    starts = [0]
    while (following := page_from(text, starts[-1], budget, columns)[1]) is not None:
        starts.append(following)
    return starts


# --- folds: the parts of a screen shown only on request -----------------------------------

_FOLD = re.compile(r"^\[\[fold (\w+)\]\]$", re.MULTILINE)


def folds(text: str) -> dict[str, str]:
    """A rendered screen's parts: "" the part shown first, then each `[[fold name]]` part by name, in order.

    A window's template marks where a part starts that is offered behind a button
    (`button.fold_<name>`) instead of shown: a review leads with the one thing to fix,
    and its other checks or a model answer are there when asked for.
    """
    parts: dict[str, str] = {}
    name, start = "", 0
    for match in _FOLD.finditer(text):
        parts[name] = text[start : match.start()].strip("\n")
        name, start = match.group(1), match.end()
    parts[name] = text[start:].strip("\n")
    return {key: value for key, value in parts.items() if key == "" or value.strip()}


def page_budget(prefix: str, page_lines: int = PAGE_LINES) -> int:
    """Lines left for a page shown after `prefix` (a hint, an apology) and the blank line under it."""
    return max(page_lines - screen_lines(prefix) - 1, page_lines // 2) if prefix else page_lines


def pages_after(text: str, start: int | None) -> int:
    """How many pages of `text` there are from offset `start` on (0 when None)."""
    count = 0
    while start is not None:
        count += 1
        start = page_from(text, start)[1]
    return count
