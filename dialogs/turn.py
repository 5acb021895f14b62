"""The values one turn is made of: the event in, the session as stored, the replies and outcome out.

They are re-exported by dialogs/engine.py, where front ends import them from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.effects import Effect, ForgetUser, RecordScore
from dialogs.flow_session import Button
from dialogs.scoring import ScoreResult


@dataclass(frozen=True)
class Event:
    """Something the user did.

    `kind` is command, button, text, unsupported (a photo, sticker, voice note, ...: `name` says
    which), edited (an edited message), or resume (a front end reconnecting).
    """

    kind: str
    name: str = ""  # command name without the slash, or the button's trigger
    arg: str = ""  # command argument or button argument
    text: str = ""  # what the user typed
    session_id: int | None = None  # for buttons: the session that offered them, when known
    state: str | None = None  # for buttons: the state that offered them, when known
    version: int | None = None  # for buttons: the session version that offered them, when known
    reference: str = ""  # the front end's id of the message typed, or of the message whose button was pressed

    @property
    def pressed(self) -> bool:
        """A button press (a pressed command button included), not something typed."""
        return self.kind == "button" or (self.kind == "command" and not self.text)

    @classmethod
    def from_text(cls, raw: str) -> Event:
        """A typed line: `/name arg` is a command, anything else is text."""
        stripped = raw.strip()
        if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
            name, _, arg = stripped[1:].partition(" ")
            return cls("command", name.split("@")[0].lower(), arg.strip(), raw)
        return cls("text", text=raw)

    @classmethod
    def press(
        cls, button: Button, session_id: int | None = None, state: str | None = None, version: int | None = None
    ) -> Event:
        """Pressing a button; buttons whose trigger starts with `/` run that command."""
        if button.trigger.startswith("/"):
            return cls("command", button.trigger[1:], button.arg)
        return cls("button", button.trigger, button.arg, session_id=session_id, state=state, version=version)

    def describe(self) -> str:
        """A short label for the log's `event` column."""
        return ":".join(part for part in (self.kind, self.name, self.arg) if part)


@dataclass(frozen=True)
class SessionRecord:
    """A flow session as stored; `id` is None until it is first saved."""

    id: int | None
    flow: str
    state: str
    data: dict[str, Any]
    status: str = "active"  # active, finished or cancelled
    version: int = 0  # bumped on every step, so a button from an older keyboard acts at most once


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply, after its text: a `photo` (a PNG chart) or a `document` (an export)."""

    kind: str  # "photo" or "document"
    filename: str
    data: bytes = field(repr=False)
    caption: str = ""  # plain text, at most 1024 characters (Telegram's caption limit)


@dataclass(frozen=True)
class Quiz:
    """A multiple-choice question a reply asks: a quiz poll on Telegram, where choosing option i presses the
    reply's i-th button; the console shows the reply's text and those buttons, numbered, instead."""

    key: str  # what it asks, for the flow: e.g. "<lesson id>:<question index>"
    question: str  # plain text, at most 300 characters (Telegram's limit)
    options: tuple[str, ...]  # 2-10, each at most 100 characters
    correct: int  # index into options
    explanation: str = ""  # shown once answered, at most 200 characters


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram-style HTML
    buttons: tuple[Button, ...] = ()
    score: int | None = None
    session_id: int | None = None  # where the buttons were offered: set by the service once saved
    state: str | None = None
    version: int | None = None  # the session version the buttons belong to
    attachments: tuple[Attachment, ...] = ()  # files sent after the text (front ends without files save them)
    log_text: str | None = None  # what the session log keeps instead of the text (views of other people's data)
    quiz: Quiz | None = None  # a question to ask as a poll where the front end can (Telegram)
    # how a front end may place it (dialogs/engine.py `_addressed`): the message it replaces (the one whose
    # button was pressed), the learner's message it answers and the clause of it quoted, whether someone
    # (a dealer) speaks in it, so the front end may show them typing first
    replaces: str | None = None
    answers: str | None = None
    quote: str | None = None
    typing: bool = False


@dataclass
class Outcome:
    """The answer to one event: replies, the session it touched (in its new state), and effects to apply."""

    replies: list[Reply]
    session: SessionRecord | None = None
    effects: list[Effect] = field(default_factory=list)

    @property
    def scores(self) -> list[ScoreResult]:
        return [e.result for e in self.effects if isinstance(e, RecordScore)]

    @property
    def forget(self) -> bool:
        """The user confirmed /forget_me: delete everything stored about them."""
        return any(isinstance(e, ForgetUser) for e in self.effects)
