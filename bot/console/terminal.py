"""The terminal's two ends: screens that print replies, readers that get typed lines.

On a terminal, replies are wrapped to its width and styled (prompt_toolkit), and
lines are read with editing, history and whole pastes (prompt_toolkit reads in raw
mode, so a paste is not cut at the tty's line limit). Through a pipe, text is plain
and unwrapped and lines are read as they come, exactly as a script expects.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.styles import Style

from bot.console.markup import Line, html_to_text, styled_lines
from bot.console.wrap import wrap
from dialogs.engine import Reply

STYLE = Style.from_dict(
    {
        "passed": "ansigreen",
        "warning": "ansiyellow",
        "missed": "ansired",
        "score": "bold ansicyan",
        "code": "ansimagenta",
        "number": "bold ansicyan",
        "prompt": "bold",
    }
)
PROMPT = FormattedText([("class:prompt", "> ")])


def format_reply(reply: Reply) -> str:
    """A reply as plain text: the message, then its buttons as numbered options."""
    lines = [html_to_text(reply.text)]
    lines += [f"  [{number}] {html_to_text(button.label)}" for number, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)


class PlainScreen:
    """Plain text, no wrapping and no colour: for pipes and files."""

    def __init__(self, out: TextIO):
        self.out = out

    def show(self, reply: Reply) -> None:
        print(format_reply(reply), end="\n\n", file=self.out, flush=True)

    def say(self, text: str) -> None:
        print(html_to_text(text), end="\n\n", file=self.out, flush=True)

    def leave(self, text: str) -> None:
        """Off the current line, then `text` if there is one."""
        print(file=self.out, flush=True)
        if text:
            print(html_to_text(text), file=self.out, flush=True)


class StyledScreen:
    """Wrapped to the terminal's width (measured at every message, so a resize is followed), with weight and colour."""

    def show(self, reply: Reply) -> None:
        lines = styled_lines(reply.text)
        for number, button in enumerate(reply.buttons, start=1):
            lines.append([("", "  "), ("class:number", f"[{number}]"), ("", " " + html_to_text(button.label))])
        self._print(lines)

    def say(self, text: str) -> None:
        self._print(styled_lines(text))

    def leave(self, text: str) -> None:
        """A clean last line: off the prompt's line, then the goodbye."""
        print_formatted_text("")
        self._print(styled_lines(text), blank_after=False)

    def _print(self, lines: list[Line], blank_after: bool = True) -> None:
        width = shutil.get_terminal_size().columns
        fragments: list[tuple[str, str]] = []
        for row in wrap(lines, width):
            fragments += [*row, ("", "\n")]
        if blank_after:
            fragments.append(("", "\n"))
        print_formatted_text(FormattedText(fragments), style=STYLE, end="")


class PipedLines:
    """Lines from a pipe (or a terminal that is not ours to drive), a `> ` prompt only when told."""

    def __init__(self, lines: TextIO, out: TextIO, prompt: bool = False):
        self.lines, self.out, self.prompt = lines, out, prompt

    def read(self) -> str | None:
        """The next line without its newline, or None at the end of input."""
        if self.prompt:
            print("> ", end="", file=self.out, flush=True)
        line = self.lines.readline()
        return line.rstrip("\r\n") if line else None

    def forget(self) -> None:
        """Nothing kept, nothing to forget."""


class EditedLines:
    """Lines typed at a terminal: arrow keys edit, ↑/↓ walk the history, a paste arrives whole."""

    def __init__(self, history_file: Path | None):
        self.history_file = history_file
        self.session = PromptSession(history=self._history())

    def _history(self) -> History:
        if self.history_file is None:
            return InMemoryHistory()
        try:
            self.history_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.history_file.touch(mode=0o600, exist_ok=True)
        except OSError:  # a read-only folder: history for this run only
            return InMemoryHistory()
        return FileHistory(str(self.history_file))

    def read(self) -> str | None:
        """The next line (a paste may hold several), or None on Ctrl-D; Ctrl-C raises KeyboardInterrupt."""
        try:
            return self.session.prompt(PROMPT, style=STYLE)
        except EOFError:
            return None

    def forget(self) -> None:
        """The learner's records were deleted: their typed history goes too."""
        if self.history_file is not None:
            self.history_file.unlink(missing_ok=True)
        self.session = PromptSession(history=self._history())


def history_file(db_path: Path | str, user: str) -> Path | None:
    """Where a console user's typed lines are kept: a folder beside the database, one file per user."""
    if str(db_path) == ":memory:":
        return None
    db = Path(db_path)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", user)[:40] or "user"
    digest = hashlib.sha256(user.encode("utf-8")).hexdigest()[:8]  # keeps "a b" and "a_b" apart
    return db.with_name(db.name + ".history") / f"{slug}-{digest}.txt"


def is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()
