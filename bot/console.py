"""`coach chat`: the same dialogs in a terminal, no token and no network.

Buttons are shown as numbered options; type the number (or the label) to press
one. Lines can be piped in, so a whole course can be played from a script.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from dataclasses import replace
from typing import TextIO

from bot.service import CoachService, Identity
from dialogs.engine import Event, Reply

QUIT_COMMANDS = {"/quit", "/exit"}
_TAG = re.compile(r"<[^>]+>")


def html_to_text(text: str) -> str:
    """Telegram HTML as plain terminal text: tags dropped, entities decoded, control characters removed."""
    plain = html.unescape(_TAG.sub("", text))
    return "".join(ch for ch in plain if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def format_reply(reply: Reply) -> str:
    lines = [html_to_text(reply.text)]
    lines += [f"  [{number}] {html_to_text(button.label)}" for number, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)


class ConsoleChat:
    def __init__(self, service: CoachService, identity: Identity, out: TextIO = sys.stdout):
        self.service = service
        self.identity = identity
        self.out = out
        self.buttons = ()

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            print(format_reply(reply), end="\n\n", file=self.out, flush=True)
            self.buttons = reply.buttons if reply.buttons else self.buttons

    def event_for(self, line: str) -> Event:
        """A typed line as an engine event: a button number presses that button."""
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            return replace(Event.press(self.buttons[int(choice) - 1]), text=line)
        return Event.from_text(line)

    def run(self, lines: TextIO, interactive: bool = False) -> None:
        self.show(self.service.handle(self.identity, Event("resume")))
        banner = html_to_text(self.service.ui_text(self.identity, "console.banner"))
        print(banner, end="\n\n", file=self.out, flush=True)
        while True:
            if interactive:
                print("> ", end="", file=self.out, flush=True)
            line = lines.readline()
            if not line or line.strip() in QUIT_COMMANDS:
                return
            self.show(self.service.handle(self.identity, self.event_for(line.rstrip("\r\n"))))
