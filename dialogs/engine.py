"""The coaching engine: (user, session, event) in, replies and the new session out.

Pure: it reads no database and imports nothing from Telegram, so the console,
the Telegram bot and the tests all drive exactly this code. `bot/service.py`
loads the session before calling it and saves the outcome after.
"""

from __future__ import annotations

import copy
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from dialogs.course import CourseSession
from dialogs.drill import DrillSession, drill_cards, due_cards
from dialogs.flow_session import Button, DrillCard, FlowContext, FlowSession, Screen, User
from dialogs.machines import Flow, load_flows
from dialogs.roleplay import RoleplaySession
from dialogs.scoring import Scorer, ScoreResult
from knowledge.pack import LOCALES, Pack
from knowledge.templates import render

MAX_TEXT_LENGTH = 4096  # Telegram's own limit for one message
SESSION_MODELS: dict[str, type[FlowSession]] = {
    "course": CourseSession,
    "roleplay": RoleplaySession,
    "drill": DrillSession,
}
LEARNER_ROLES = ("rep", "partner")
__all__ = ["Button", "DrillCard", "Engine", "Event", "Outcome", "Reply", "SessionRecord", "User"]


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

    @classmethod
    def from_text(cls, raw: str) -> Event:
        """A typed line: `/name arg` is a command, anything else is text."""
        stripped = raw.strip()
        if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
            name, _, arg = stripped[1:].partition(" ")
            return cls("command", name.split("@")[0].lower(), arg.strip(), raw)
        return cls("text", text=raw)

    @classmethod
    def press(cls, button: Button, session_id: int | None = None, state: str | None = None) -> Event:
        """Pressing a button; buttons whose trigger starts with `/` run that command."""
        if button.trigger.startswith("/"):
            return cls("command", button.trigger[1:], button.arg)
        return cls("button", button.trigger, button.arg, session_id=session_id, state=state)

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
    version: int = 0  # changes on every step; a button from an older version has expired


@dataclass(frozen=True)
class Reply:
    text: str  # Telegram-style HTML
    buttons: tuple[Button, ...] = ()
    score: int | None = None
    session_id: int | None = None  # where the buttons were offered: set by the service once saved
    state: str | None = None
    version: int | None = None  # the session's version when the buttons were offered: set by the service


@dataclass
class Outcome:
    replies: list[Reply]
    session: SessionRecord | None = None  # the session this event touched, in its new state
    scores: list[ScoreResult] = field(default_factory=list)
    locale: str | None = None  # set when the user switched language
    forget: bool = False  # the user confirmed /forget_me: delete everything stored about them
    cards: list[DrillCard] = field(default_factory=list)  # drill cards added or rescheduled
    settings: dict[str, Any] = field(default_factory=dict)  # user settings changed (learner, reminder)


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def clean_text(raw: str) -> str:
    """Text without terminal escapes or control characters (newlines and tabs kept), trimmed."""
    text = _ANSI_ESCAPE.sub("", raw)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def _prefixed(reply: Reply, message: str) -> Reply:
    """The reply with a message (a hint, an apology) in front of it."""
    return replace(reply, text=f"{message}\n\n{reply.text}") if message else reply


def has_words(text: str) -> bool:
    """Whether text has any letters or ideographs (not just emoji, digits or punctuation)."""
    return any(ch.isalpha() for ch in text)


class Engine:
    def __init__(
        self,
        pack: Pack,
        flows: dict[str, Flow] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.pack = pack
        self.flows = flows or load_flows()
        self.scorer = Scorer(pack)
        self.rng = rng or random.Random()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.flow_by_command = {flow.command: flow for flow in self.flows.values()}

    # --- helpers --------------------------------------------------------------

    def ui(self, locale: str):
        """A function rendering interface string `key` in `locale`."""

        def text(key: str, **variables) -> str:
            return render(self.pack.ui[key][locale], **variables)

        return text

    def _model(self, session: SessionRecord, user: User) -> FlowSession:
        ctx = FlowContext(self.pack, self.scorer, user.locale, self.rng, self.ui(user.locale), user, self.clock())
        return SESSION_MODELS[session.flow](session.state, copy.deepcopy(session.data), ctx)

    def _screen_reply(self, flow: Flow, model: FlowSession, prefix: str = "") -> Reply:
        screen: Screen = model.screen()
        ui = model.ctx.ui
        buttons = screen.buttons
        if buttons is None:
            buttons = tuple(Button(t, ui(f"button.{t}")) for t in flow.views[model.state].buttons)
        text = ui(screen.template, **screen.context)
        score = model.scores[-1].score if model.scores else None
        return _prefixed(Reply(text, buttons, score), prefix)

    def current_screen(self, user: User, session: SessionRecord, prefix: str = "") -> Reply:
        """What the session's current state shows (used after errors and on resume)."""
        return self._screen_reply(self.flows[session.flow], self._model(session, user), prefix)

    # --- the entry point ----------------------------------------------------------

    def handle(
        self, user: User, session: SessionRecord | None, event: Event, paused: tuple[SessionRecord, ...] = ()
    ) -> Outcome:
        """Answer one event. `session` is the user's current session, if any; `paused` their other
        unfinished ones (one per flow at most), which the flow's command continues."""
        if event.kind == "command":
            return self._command(user, session, event, paused)
        ui = self.ui(user.locale)
        if event.kind == "resume":
            if session is None:
                return Outcome([Reply(ui("common.welcome", name=user.name), self._menu(user.locale))])
            return Outcome([self.current_screen(user, session, ui("common.resumed"))], session)
        if event.kind in ("unsupported", "edited"):
            key = "common.edited" if event.kind == "edited" else "common.not_text"
            if session is None:
                return self._no_session(user, key)
            return Outcome([self.current_screen(user, session, ui(key))], session)
        if session is None:
            return self._no_session(user, "common.button_expired" if event.kind == "button" else "common.no_session")

        flow = self.flows[session.flow]
        model = self._model(session, user)
        if event.kind == "button":
            stale = (event.session_id not in (None, session.id)) or (event.state not in (None, session.state))
            if stale or event.name not in flow.triggers(session.state):
                return Outcome([self._screen_reply(flow, model, ui("common.button_expired"))], session)
            return self._fire(flow, model, session, event.name, arg=event.arg)
        return self._text(user, flow, model, session, event)

    def _text(self, user: User, flow: Flow, model: FlowSession, session: SessionRecord, event: Event) -> Outcome:
        ui = model.ctx.ui
        text = clean_text(event.text)
        current = self._screen_reply(flow, model)
        for button in current.buttons:  # typing a button's label (or its number, in the console) presses it
            if text.casefold() in (button.label.casefold(), button.trigger):
                return self.handle(user, session, Event.press(button, session.id))
        text_trigger = flow.views[session.state].text
        if text_trigger is None:
            message = ui("common.use_buttons", buttons=[b.label for b in current.buttons])
        elif not has_words(text):
            message = ui("common.empty_text")
        elif len(event.text) > MAX_TEXT_LENGTH:
            message = ui("common.too_long", length=len(event.text), limit=MAX_TEXT_LENGTH)
        else:
            return self._fire(flow, model, session, text_trigger, text=text)
        return Outcome([_prefixed(current, message)], session)

    def _fire(self, flow: Flow, model: FlowSession, session: SessionRecord, trigger: str, **kwargs) -> Outcome:
        fired = flow.machine.events[trigger].trigger(model, **kwargs)
        ui = model.ctx.ui
        prefix = "" if fired else ui("common.button_expired")
        reply = self._screen_reply(flow, model, prefix)
        status = "finished" if flow.views[model.state].final else "active"
        new_session = SessionRecord(session.id, session.flow, model.state, model.data, status)
        return Outcome(
            [reply], new_session, scores=list(model.scores), cards=list(model.card_changes),
            settings=dict(model.settings_changes),
        )  # fmt: skip

    # --- commands -------------------------------------------------------------------

    def due_count(self, user: User) -> int:
        """How many drill cards are due for this learner now."""
        now = self.clock()
        return len(due_cards(drill_cards(user, self.pack, now), now))

    def commands(self) -> list[str]:
        """Every command the engine answers, in menu order (descriptions: ui `command.<name>`)."""
        return [*self.flow_by_command, "settings", "lang", "help", "cancel", "start", "forget_me"]

    def _menu(self, locale: str) -> tuple[Button, ...]:
        ui = self.ui(locale)
        return tuple(Button(f"/{command}", ui(f"button.menu_{command}")) for command in self.flow_by_command)

    def _command(
        self, user: User, session: SessionRecord | None, event: Event, paused: tuple[SessionRecord, ...] = ()
    ) -> Outcome:
        ui = self.ui(user.locale)
        name = event.name
        if name in self.flow_by_command:
            flow = self.flow_by_command[name]
            same_flow = [s for s in (session, *paused) if s is not None and s.flow == flow.name]
            if same_flow:  # continue it; saving it makes it the current one again
                return Outcome([self.current_screen(user, same_flow[0], ui("common.resumed"))], same_flow[0])
            replies = []
            if session is not None:  # the practice in progress is paused, not lost
                replies.append(Reply(ui("common.paused_flow", command=self.flows[session.flow].command)))
            new = SessionRecord(None, flow.name, flow.machine.initial, {})
            replies.append(self.current_screen(user, new))
            return Outcome(replies, new)
        if name == "start":
            text = ui("common.welcome", name=user.name)
            if user.learner is None:  # first contact: which deck they drill depends on who they are
                return Outcome([Reply(f"{text}\n\n{ui('common.ask_role')}", self._role_buttons(user.locale))])
            if session is not None:
                text += "\n\n" + ui("common.has_session")
            return Outcome([Reply(text, self._menu(user.locale))])
        if name == "settings":
            return self._settings(user, event.arg.strip())
        if name == "help":
            replies = [Reply(ui("common.help"))]
            if session is not None:
                replies.append(self.current_screen(user, session))
            return Outcome(replies)
        if name == "cancel":
            if session is None:
                return Outcome([Reply(ui("common.nothing_to_cancel"), self._menu(user.locale))])
            return Outcome(
                [Reply(ui("common.cancelled"), self._menu(user.locale))], replace(session, status="cancelled")
            )
        if name == "lang":
            return self._lang(user, event.arg.strip().lower())
        if name == "forget_me":
            if event.arg == "confirm":
                return Outcome([Reply(ui("common.forgotten"))], forget=True)
            buttons = (
                Button("/forget_me", ui("button.forget_confirm"), "confirm"),
                Button("/start", ui("button.keep")),
            )
            return Outcome([Reply(ui("common.forget_ask"), buttons)])
        return Outcome([Reply(ui("common.unknown_command", command=name[:64]))])

    def _no_session(self, user: User, key: str) -> Outcome:
        """A message, how to start practising, and the menu."""
        ui = self.ui(user.locale)
        return Outcome([_prefixed(Reply(ui("common.no_session_hint"), self._menu(user.locale)), ui(key))])

    def _role_buttons(self, locale: str) -> tuple[Button, ...]:
        ui = self.ui(locale)
        return tuple(Button("/settings", ui(f"button.role_{role}"), f"role:{role}") for role in LEARNER_ROLES)

    def _settings(self, user: User, arg: str) -> Outcome:
        """/settings shows who you are and your language; `role:rep`, `lang:en`, ... change them."""
        setting, _, value = arg.partition(":")
        if setting == "lang":
            return self._lang(user, value)
        ui = self.ui(user.locale)
        if setting == "role" and value in LEARNER_ROLES:
            text = ui("common.role_set", role=value)
            return Outcome([Reply(text, self._menu(user.locale))], settings={"learner": value})
        buttons = self._role_buttons(user.locale) + tuple(
            Button("/settings", ui(f"button.lang_{locale}"), f"lang:{locale}") for locale in LOCALES
        )
        text = ui("common.settings", role=user.learner or "", locale=user.locale, reminder=user.reminder)
        return Outcome([Reply(text, buttons)])

    def _lang(self, user: User, wanted: str) -> Outcome:
        if wanted in LOCALES:
            return Outcome([Reply(self.ui(wanted)("common.lang_switched"), self._menu(wanted))], locale=wanted)
        ui = self.ui(user.locale)
        buttons = tuple(Button("/lang", ui(f"button.lang_{locale}"), locale) for locale in LOCALES)
        return Outcome([Reply(ui("common.lang_choose"), buttons)])
