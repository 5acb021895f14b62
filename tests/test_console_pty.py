"""`coach chat` in a real pseudo-terminal, the way a person at a keyboard uses it.

The test is the terminal: it sets the window size, types keys (arrows, Enter,
Ctrl-D), pastes through bracketed paste as a terminal does, and reads what the
program prints. Every wait reads until an expected marker appears, with a bound.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
import termios
import time

import pytest
from prompt_toolkit.utils import get_cwidth

from bot.console.wrap import NO_LINE_END, NO_LINE_START
from knowledge.pack import STEP_IDS
from tests.helpers import load_labelled

PROMPT_ON = b"\x1b[?2004h"  # the program is reading a line (bracketed paste switched on)
PROMPT_OFF = b"\x1b[?2004l"  # the line was entered
LEFT, UP, ENTER, CTRL_D, CTRL_C = b"\x1b[D", b"\x1b[A", b"\r", b"\x04", b"\x03"
_ESCAPE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
TIMEOUT = 60.0
LABELLED = load_labelled()


def columns(text: str) -> int:
    """Display width as a terminal counts it: wide characters 2, and an emoji variation selector widens."""
    width = 0
    previous = 0
    for ch in text:
        previous = 1 if ch == "\ufe0f" and previous == 1 else get_cwidth(ch)
        width += previous
    return width


class Terminal:
    """`coach chat` running in a pseudo-terminal of a given size."""

    def __init__(self, db, width: int, *args: str):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
        # A real terminal answers cursor-position requests; this one does not, so it says so.
        env |= {"TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "PYTHONIOENCODING": "utf-8"}
        cmd = [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), *args]
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.raw = b""

    def _pump(self, deadline: float, write: bytes = b"") -> bytes:
        """Read what is printed (and write `write`, a piece at a time) until done or the deadline."""
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([self.master], [self.master] if write else [], [], 0.2)
            if readable:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the program has exited and the terminal is closed
                    return write
                if not chunk:
                    return write
                self.raw += chunk
            if writable:
                write = write[os.write(self.master, write[:1024]) :]
            if not write and not readable:
                return write
        return write

    def send(self, keys: bytes) -> None:
        rest = self._pump(time.monotonic() + TIMEOUT, keys)
        assert not rest, "the program stopped reading its input"

    def wait_for(self, marker: bytes, count: int = 1) -> None:
        """Read until `marker` has been printed `count` times in all."""
        deadline = time.monotonic() + TIMEOUT
        while self.raw.count(marker) < count and time.monotonic() < deadline:
            self._pump(deadline)
            if self.proc.poll() is not None:
                self._pump(time.monotonic() + 1)
                break
        tail = self.raw[-2000:].decode("utf-8", "replace")
        assert self.raw.count(marker) >= count, f"waited for {marker!r} x{count}; screen ends:\n{tail}"

    def prompts(self) -> int:
        return self.raw.count(PROMPT_ON)

    def type_line(self, keys: bytes) -> None:
        """Type at the prompt, press Enter, and wait for the next prompt."""
        seen = self.prompts()
        self.send(keys + ENTER)
        self.wait_for(PROMPT_ON, seen + 1)

    def printed_lines(self) -> list[str]:
        """The lines printed outside the input line (the messages), escape sequences removed."""
        raw = self.raw.rsplit(PROMPT_ON, 1)[0] if self.raw.endswith(PROMPT_ON) else self.raw
        regions = [part.split(PROMPT_ON)[0] for part in raw.split(PROMPT_OFF)]
        text = b"".join(_ESCAPE.sub(b"", region) for region in regions).decode("utf-8")
        return text.replace("\r", "").split("\n")

    def close(self) -> int:
        if self.proc.poll() is None:
            self.send(CTRL_D)
            self.wait_for(b"\n", 1)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        finally:
            os.close(self.master)
        return code


@pytest.fixture
def terminals():
    opened: list[Terminal] = []

    def start(db, width=80, *args):
        opened.append(Terminal(db, width, *args))
        opened[-1].wait_for(PROMPT_ON)
        return opened[-1]

    yield start
    for term in opened:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait(timeout=10)


def typed_lines(db) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [text for (text,) in conn.execute("SELECT text FROM turns WHERE direction = 'in' ORDER BY id")]


def test_arrow_keys_edit_the_line_and_up_brings_back_the_last_one_next_time(tmp_path, terminals):
    db = tmp_path / "coach.db"
    term = terminals(db, 80, "--user", "keys", "--locale", "en")
    term.type_line(b"/tran" + LEFT + b"i")  # the missing letter typed after moving back over the "n"
    assert typed_lines(db) == ["/train"]
    assert "The five-step course" in "\n".join(term.printed_lines())
    assert term.close() == 0

    again = terminals(db, 80, "--user", "keys", "--locale", "en")
    again.type_line(UP)  # the history of the last run, kept beside the database
    assert typed_lines(db) == ["/train", "/train"]
    assert again.close() == 0


def test_a_20000_character_paste_arrives_whole_and_is_refused_like_on_telegram(tmp_path, terminals):
    db = tmp_path / "coach.db"
    term = terminals(db, 100, "--user", "paster", "--locale", "en")
    for keys in (b"/train", b"1", b"2"):  # the course, a product, "Let me practise": a free-text screen
        term.type_line(keys)
    paragraph = "We can put the router on the counter for a month and count the sales together. " * 6
    paste = "\n".join([paragraph.strip()] * 60)[:20_000]
    assert len(paste) == 20_000
    term.type_line(b"\x1b[200~" + paste.encode() + b"\x1b[201~")
    assert typed_lines(db)[-1] == paste  # one answer, not cut at the tty's line limit and not split at newlines
    screen = "\n".join(term.printed_lines())
    assert "20000 characters long, over the limit of 4096" in screen
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM scores").fetchone() == (0,)
    assert term.close() == 0


def piped_output(db, script: list[str], locale: str) -> str:
    cmd = [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "reader", "--locale", locale]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(cmd, input="\n".join(script).encode() + b"\n", capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode("utf-8")


@pytest.mark.parametrize("width", [60, 100])
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_messages_wrap_to_the_terminal_width_without_splitting_a_word(tmp_path, terminals, width, locale):
    script = ["/help", "/train", "1"]  # long lines: the command list, the course intro, a lesson
    plain = piped_output(tmp_path / "piped.db", script, locale)
    assert max(columns(line) for line in plain.splitlines()) > width  # there is something to wrap

    term = terminals(tmp_path / "coach.db", width, "--user", "reader", "--locale", locale)
    for line in script:
        term.type_line(line.encode())
    lines = term.printed_lines()
    too_wide = [line for line in lines if columns(line) > width]
    assert not too_wide
    if locale == "en":  # wrapping only turned spaces into line breaks: the same words, in the same order
        assert " ".join(lines).split() == plain.split()
    else:  # the same text, and no line starts with closing punctuation or ends with opening punctuation
        assert "".join("".join(lines).split()) == "".join(plain.split())
        assert not [line for line in lines if line.strip() and line.lstrip()[0] in NO_LINE_START]
        assert not [line for line in lines if line.strip() and line.rstrip()[-1] in NO_LINE_END]
    assert term.close() == 0


@pytest.mark.parametrize("key", [CTRL_D, CTRL_C, b"/quit" + ENTER])
def test_leaving_prints_a_goodbye_on_its_own_line(tmp_path, terminals, key):
    term = terminals(tmp_path / "coach.db", 80, "--user", "leaver", "--locale", "en")
    term.send(key)
    term.wait_for(b"Goodbye!")
    assert term.proc.wait(timeout=TIMEOUT) == 0
    lines = term.printed_lines()
    goodbye = next(line for line in lines if "Goodbye!" in line)
    assert goodbye.startswith("Goodbye!")
    os.close(term.master)
    term.master = None


def style_of(raw: bytes, text: str) -> set[str]:
    """The SGR codes in force where `text` is first printed (0 resets, 1 bold, 31 red, 32 green, ...)."""
    before = raw[: raw.index(text.encode())]
    codes = re.findall(rb"\x1b\[([0-9;]*)m", before)
    return set(codes[-1].decode().split(";")) if codes else set()


def test_headings_are_bold_and_passed_and_missed_checks_have_their_colours(tmp_path, terminals):
    answer = next(a["text"] for a in LABELLED if a["locale"] == "en" and a["step"] == STEP_IDS[0] and a["label"] == 2)
    term = terminals(tmp_path / "coach.db", 100, "--user", "colours", "--locale", "en")
    # the review leads with one thing to fix; "See every check" (its third option) lists them all
    for keys in (b"/train", b"1", b"2", answer.replace("\n", " ").encode(), b"See every check"):
        term.type_line(keys)
    screen = "\n".join(term.printed_lines())
    assert "✅" in screen and "❌" in screen  # this answer passes some checks and misses others
    assert "1" in style_of(term.raw, "Step 1 of 5")  # the heading (Telegram <b>) is bold
    assert "32" in style_of(term.raw, "✅")  # green
    assert "31" in style_of(term.raw, "❌")  # red
    assert term.close() == 0


def test_forget_me_deletes_the_typed_history_too(tmp_path, terminals):
    db = tmp_path / "coach.db"
    term = terminals(db, 80, "--user", "private", "--locale", "en")
    term.type_line("王老板，我是小李".encode())
    (history,) = (db.parent / "coach.db.history").iterdir()
    assert "王老板，我是小李" in history.read_text(encoding="utf-8")
    assert history.stat().st_mode & 0o077 == 0  # answers are private: readable by their owner only
    term.type_line(b"/forget_me")
    term.type_line(b"1")  # "Yes, delete all my data"
    assert "Everything stored about you has been deleted" in "\n".join(term.printed_lines())
    left = history.read_text(encoding="utf-8")
    assert "王老板" not in left and "/forget_me" not in left
    assert term.close() == 0
