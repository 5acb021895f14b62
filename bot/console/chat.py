"""`coach chat`: the same dialogs in a terminal, no token and no network.

Buttons are shown as numbered options; type the number (or the label) to press
one; a screen longer than a phone's is printed page after page. Only the last
message's options can be pressed: where it has none, a number
is an answer like any other text. Lines can be piped in, so a whole course can be
played from a script; through a pipe the output is plain text, as before.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.console.files import files_dir, save_attachment
from bot.console.terminal import (
    EditedLines,
    PipedLines,
    PlainScreen,
    StyledScreen,
    history_file,
    is_terminal,
)
from bot.service import CoachService, Identity
from dialogs.engine import Event, Reply
from dialogs.paging import MORE_TRIGGER

QUIT_COMMANDS = {"/quit", "/exit"}


class ConsoleChat:
    def __init__(self, service: CoachService, identity: Identity, screen: PlainScreen | StyledScreen | None = None,
                 files: Path | None = None):  # fmt: skip
        self.service = service
        self.identity = identity
        self.screen = screen or PlainScreen(sys.stdout)
        self.files = files  # where a reply's attachments (charts, exports) are saved
        self.last: Reply | None = None  # the message whose options a typed number presses

    def show(self, replies: list[Reply]) -> None:
        """Print the replies; a long screen page after page (a terminal scrolls back, so nothing waits
        for a "more" press), each page a block of its own."""
        self.last = None
        for reply in replies:
            page = reply
            while more := [b for b in page.buttons if b.trigger == MORE_TRIGGER]:
                self.screen.show(replace(page, buttons=()))
                pressed = Event.press(more[0], page.session_id, page.state, page.version)
                page = self.service.look(self.identity, pressed)[-1]
            self.screen.show(page)
            self._save_attachments(page)
            self.last = page

    def _save_attachments(self, reply: Reply) -> None:
        """Each file of a reply saved beside the database, and where it went said."""
        for attachment in reply.attachments if self.files else ():
            path = save_attachment(self.files, attachment)
            self.screen.say(self.service.ui_text(self.identity, "console.file_saved", path=str(path),
                                                 caption=attachment.caption))  # fmt: skip

    def event_for(self, line: str) -> Event:
        """A typed line as an engine event: a number presses that option of the last message."""
        choice = line.strip()
        buttons = self.last.buttons if self.last else ()
        if choice.isdigit() and 1 <= int(choice) <= len(buttons):
            offered = self.last
            pressed = Event.press(buttons[int(choice) - 1], offered.session_id, offered.state)
            return replace(pressed, text=line)
        return Event.from_text(line)

    def run(self, reader: PipedLines | EditedLines) -> None:
        self.show(self.service.handle(self.identity, Event("resume")))
        self.screen.say(self.service.ui_text(self.identity, "console.banner"))
        while (line := reader.read()) is not None and line.strip() not in QUIT_COMMANDS:
            self.show(self.service.handle(self.identity, self.event_for(line)))
            if self.service.storage.find_user(self.identity.channel, self.identity.external_id) is None:
                reader.forget()  # /forget_me went through: what they typed is deleted too

    def goodbye(self) -> str:
        return self.service.ui_text(self.identity, "console.goodbye")


def run_chat(
    service: CoachService,
    identity: Identity,
    db_path: Path | str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Practise until /quit, Ctrl-D, Ctrl-C or the end of piped input."""
    typing, watching = is_terminal(stdin), is_terminal(stdout)
    if typing and watching:
        reader = EditedLines(history_file(db_path, identity.external_id))
    else:
        reader = PipedLines(stdin, stdout, prompt=typing)
    chat = ConsoleChat(service, identity, StyledScreen() if watching else PlainScreen(stdout), files_dir(db_path))
    try:
        chat.run(reader)
    except KeyboardInterrupt:
        if not typing:
            chat.screen.leave("")
            return
    if typing:
        chat.screen.leave(chat.goodbye())
