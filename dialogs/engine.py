"""The coaching engine: (user, session, event) in, replies, the new session and effects out.

Pure: it reads no database and imports nothing from Telegram, so the console,
the Telegram bot and the tests all drive exactly this code. `bot/service.py`
loads the session before calling it and applies the outcome's effects after.

The engine knows no flow by name (apart from the drill's due count, which the daily
reminder asks for): it discovers the flow files (dialogs/machines.py), checks every
name they use (dialogs/flow_check.py) and answers the app shell's commands from
dialogs/commands.yaml. A window is rendered from its one declaration.
"""

from __future__ import annotations

import copy
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from dialogs import commands as app_commands
from dialogs.drill import drill_cards, due_cards
from dialogs.effects import RecordScore
from dialogs.flow_check import check_flows
from dialogs.flow_session import Button, DrillCard, FlowContext, FlowSession, Reader, User
from dialogs.machines import Flow, FlowError, Window, load_flows
from dialogs.scoring import Scorer
from dialogs.turn import Event, Outcome, Quiz, Reply, SessionRecord
from knowledge.pack import Pack
from knowledge.templates import render

MAX_TEXT_LENGTH = 4096  # Telegram's own limit for one message
__all__ = ["Button", "DrillCard", "Engine", "Event", "FlowError", "Outcome", "Quiz", "Reply", "SessionRecord", "User"]

_NUMBER = re.compile(r"[0-9]{1,6}")  # ASCII digits: str.isdigit() also accepts "²", which int() refuses
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
        flow_dirs: tuple[Path | str, ...] = (),
    ):
        """Build the engine; raises FlowError (every problem with file and field) if a flow is unusable."""
        self.pack = pack
        problems = []
        if flows is None:
            flows, problems = load_flows(*flow_dirs)
        self.flows = flows
        self.app_commands, command_problems = app_commands.load_commands()
        problems += command_problems
        problems += check_flows(self.flows.values(), self.app_commands, pack.ui)
        if problems:
            raise FlowError(problems)
        self.texts = {key: text for flow in self.flows.values() for key, text in flow.texts.items()} | pack.ui
        self.scorer = Scorer(pack)
        self.rng = rng or random.Random()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.flow_by_command = {flow.command: flow for flow in self.flows.values()}
        self._prepare_flows()

    def _prepare_flows(self) -> None:
        """Let each flow build what it reads from the pack once, now, not in a user's turn (search: its index)."""
        for flow in self.flows.values():
            if prepare := getattr(flow.session_class, "prepare", None):
                prepare(self.pack, self.texts)

    # --- views ------------------------------------------------------------------------

    def ui(self, locale: str):
        """A function rendering interface string `key` in `locale`."""

        def text(key: str, **variables) -> str:
            return render(self.texts[key][locale], **variables)

        return text

    def menu(self, locale: str, managers: bool = False) -> tuple[Button, ...]:
        """The start menu: one button per flow listed in it (a manager's flows only for `managers`)."""
        ui = self.ui(locale)
        flows = [f for f in self.flows.values() if f.in_menu and (managers or f.audience != "managers")]
        return tuple(Button(f"/{f.command}", ui(f"button.menu_{f.command}")) for f in flows)

    def commands(self, managers: bool = True) -> list[str]:
        """Every command the engine answers, in menu order (descriptions: ui `command.<name>`); without
        `managers`, those of flows for managers are left out (a rep's menu and /help)."""
        flows = [f for f in self.flows.values() if managers or f.audience != "managers"]
        listed = [f.command for f in flows if f.in_menu]
        unlisted = [f.command for f in flows if not f.in_menu]
        return [*listed, *self.app_commands, *unlisted]

    def manager_commands(self) -> list[str]:
        """The commands of the flows for managers only (their own command menu)."""
        return [f.command for f in self.flows.values() if f.audience == "managers"]

    def due_count(self, user: User) -> int:
        """How many drill cards are due for this learner now."""
        now = self.clock()
        return len(due_cards(drill_cards(user.cards, user.deck, self.pack, now), now))

    def _model(self, session: SessionRecord, user: User, reader: Reader | None = None) -> FlowSession:
        ctx = FlowContext(
            self.pack, self.scorer, user.locale, self.rng, self.ui(user.locale), user, self.clock(), reader
        )
        return self.flows[session.flow].session_class(session.state, copy.deepcopy(session.data), ctx)

    def _buttons(self, window: Window, model: FlowSession, context: dict) -> tuple[Button, ...]:
        ui = model.ctx.ui
        buttons = []
        for spec in window.buttons:
            if spec.when and not getattr(model, spec.when)():
                continue
            if spec.unless and getattr(model, spec.unless)():
                continue
            if spec.choices:
                for choice in getattr(model, spec.choices)():
                    label = ui(spec.label, **{**context, **choice.vars}) if spec.label else choice.label
                    buttons.append(Button(spec.pressed, label, choice.arg))
            else:
                buttons.append(Button(spec.pressed, ui(spec.label, **context), spec.arg))
        return tuple(buttons)

    def _window_reply(self, flow: Flow, model: FlowSession, version: int, prefix: str = "") -> Reply:
        window = flow.windows[model.state]
        context = getattr(model, window.getter)() if window.getter else {}
        text = model.ctx.ui(window.text, **context)
        scores = [e.result.score for e in model.effects if isinstance(e, RecordScore)]
        reply = Reply(text, self._buttons(window, model, context), scores[-1] if scores else None)
        if window.attachment:  # a chart or an export, made by the flow's getter (in the caller's worker thread)
            reply = replace(reply, attachments=tuple(getattr(model, window.attachment)() or ()))
        if not flow.log_replies:  # it shows other people's data: the log keeps where, not what
            reply = replace(reply, log_text=f"[/{flow.command} {model.state}]")
        quiz = getattr(model, window.quiz)() if window.quiz else None
        return _prefixed(replace(reply, state=model.state, version=version, quiz=quiz), prefix)

    def current_screen(
        self, user: User, session: SessionRecord, prefix: str = "", reader: Reader | None = None
    ) -> Reply:
        """What the session's current state shows (used after errors and on resume)."""
        model = self._model(session, user, reader)
        return self._window_reply(self.flows[session.flow], model, session.version, prefix)

    # --- the entry point ----------------------------------------------------------

    def handle(
        self,
        user: User,
        session: SessionRecord | None,
        event: Event,
        paused: tuple[SessionRecord, ...] = (),
        reader: Reader | None = None,
    ) -> Outcome:
        """Answer one event. `session` is the user's current session, if any; `paused` their other
        unfinished ones (one per flow at most), which the flow's command continues. `reader` gives
        stored facts (drill cards) on demand; without one, those the `user` carries are used."""
        if session is not None and session.flow not in self.flows:  # its flow was removed since it was saved
            return replace(self._no_session(user, "common.no_session"), session=replace(session, status="cancelled"))
        if event.kind == "command":
            return self._command(user, session, event, paused, reader)
        ui = self.ui(user.locale)
        if event.kind == "resume":
            if session is None:
                return Outcome([Reply(ui("common.welcome", name=user.name), self.menu(user.locale, user.is_manager))])
            return Outcome([self.current_screen(user, session, ui("common.resumed"), reader)], session)
        if event.kind in ("unsupported", "edited"):
            key = "common.edited" if event.kind == "edited" else "common.not_text"
            if session is None:
                return self._no_session(user, key)
            return Outcome([self.current_screen(user, session, ui(key), reader)], session)
        if session is None:
            return self._no_session(user, "common.button_expired" if event.kind == "button" else "common.no_session")

        flow = self.flows[session.flow]
        model = self._model(session, user, reader)
        if event.kind == "button":
            return self._press(flow, model, session, event)
        return self._text(user, flow, model, session, event, reader)

    def _press(self, flow: Flow, model: FlowSession, session: SessionRecord, event: Event) -> Outcome:
        """A button: only one the current window offers, from the keyboard of this session's current version."""
        window = flow.windows[session.state]
        if event.version is not None:
            old_keyboard = event.version != session.version
        else:  # a front end that does not carry versions: the state that offered the button
            old_keyboard = event.state not in (None, session.state)
        offered = event.name in window.button_triggers and event.name in flow.triggers(session.state)
        if event.session_id not in (None, session.id) or old_keyboard or not offered:
            expired = model.ctx.ui("common.button_expired")
            return Outcome([self._window_reply(flow, model, session.version, expired)], session)
        return self._fire(flow, model, session, event.name, arg=event.arg)

    def _text(
        self, user: User, flow: Flow, model: FlowSession, session: SessionRecord, event: Event, reader: Reader | None
    ) -> Outcome:
        ui = model.ctx.ui
        text = clean_text(event.text)
        current = self._window_reply(flow, model, session.version)
        for button in current.buttons:  # typing a button's label (or its number, in the console) presses it
            if text and text.casefold() == button.label.casefold():
                pressed = Event.press(button, session.id, version=session.version)
                return self.handle(user, session, pressed, reader=reader)
        text_trigger = flow.windows[session.state].free_text
        takes_number = flow.windows[session.state].takes == "number"
        if text_trigger is None:
            message = ui("common.use_buttons", buttons=[b.label for b in current.buttons])
        elif not has_words(text) and not (takes_number and _NUMBER.fullmatch(text)):
            message = ui("common.empty_text")
        elif len(event.text) > MAX_TEXT_LENGTH:
            message = ui("common.too_long", length=len(event.text), limit=MAX_TEXT_LENGTH)
        else:
            return self._fire(flow, model, session, text_trigger, text=text)
        return Outcome([_prefixed(current, message)], session)

    def _fire(self, flow: Flow, model: FlowSession, session: SessionRecord, trigger: str, **kwargs) -> Outcome:
        fired = flow.machine.events[trigger].trigger(model, **kwargs)
        version = session.version + 1 if fired else session.version
        prefix = "" if fired else model.ctx.ui("common.button_expired")
        reply = self._window_reply(flow, model, version, prefix)
        status = "finished" if flow.windows[model.state].final else "active"
        new_session = SessionRecord(session.id, session.flow, model.state, model.data, status, version)
        return Outcome([reply], new_session, list(model.effects))

    # --- commands -------------------------------------------------------------------

    def _command(
        self,
        user: User,
        session: SessionRecord | None,
        event: Event,
        paused: tuple[SessionRecord, ...],
        reader: Reader | None,
    ) -> Outcome:
        ui = self.ui(user.locale)
        name = event.name
        if name in self.flow_by_command:
            flow = self.flow_by_command[name]
            if flow.argument:
                return self._start_with_argument(user, session, flow, paused, reader, event.arg)
            return self._start_flow(user, session, flow, paused, reader, event.arg)
        if name in self.app_commands:
            return self.app_commands[name](app_commands.Shell(self, user, session, paused, reader), event.arg)
        return Outcome([Reply(ui("common.unknown_command", command=name[:64]))])

    def _start_flow(
        self,
        user: User,
        session: SessionRecord | None,
        flow: Flow,
        paused: tuple[SessionRecord, ...],
        reader: Reader | None,
        arg: str = "",
    ) -> Outcome:
        """Continue the user's session of this flow if they have one, else start one (pausing theirs).

        The command's argument (`/roleplay wang_ideal`, `/rep 王小明`, a command button's) goes to the
        flow's `on_start`. A `fresh` flow always starts again (in its old session's row);
        a flow for managers refuses anyone else before anything is read."""
        ui = self.ui(user.locale)
        if flow.audience == "managers" and not user.is_manager:
            return Outcome([Reply(ui(flow.refusal), self.menu(user.locale, user.is_manager))])
        same_flow = [s for s in (session, *paused) if s is not None and s.flow == flow.name]
        if same_flow and not flow.fresh:  # continue it; saving it makes it the current one again
            return Outcome([self.current_screen(user, same_flow[0], ui("common.resumed"), reader)], same_flow[0])
        replies = []
        if session is not None and session.flow != flow.name:  # the practice in progress is paused, not lost
            replies.append(Reply(ui("common.paused_flow", command=self.flows[session.flow].command)))
        model = self._model(SessionRecord(None, flow.name, flow.machine.initial, {}), user, reader)
        # on_start is given the command's argument; it may move the session on (self.state), or name a
        # trigger to fire at once
        if flow.on_start and (trigger := getattr(model, flow.on_start)(arg=arg)):
            flow.machine.events[trigger].trigger(model)
        previous = same_flow[0] if same_flow else None
        version = previous.version + 1 if previous else 0
        replies.append(self._window_reply(flow, model, version))
        status = "finished" if flow.windows[model.state].final else "active"
        started = SessionRecord(previous.id if previous else None, flow.name, model.state, model.data, status, version)
        return Outcome(replies, started, list(model.effects))

    def _start_with_argument(
        self,
        user: User,
        session: SessionRecord | None,
        flow: Flow,
        paused: tuple[SessionRecord, ...],
        reader: Reader | None,
        arg: str,
    ) -> Outcome:
        """A flow that takes words is a new question each time: `/search` starts it over at its first
        window, and `/search words` also fires its `argument` trigger with the words as text. The user's
        session of that flow, if they have one, is the one started over (so there is never a second)."""
        same_flow = [s for s in (session, *paused) if s is not None and s.flow == flow.name]
        if same_flow:
            model = self._model(replace(same_flow[0], state=flow.machine.initial, data={}), user, reader)
            if flow.on_start:
                getattr(model, flow.on_start)()
            replies = []
            if session is not None and session.flow != flow.name:  # the practice in progress is paused, not lost
                replies.append(
                    Reply(self.ui(user.locale)("common.paused_flow", command=self.flows[session.flow].command))
                )
            replies.append(self._window_reply(flow, model, same_flow[0].version + 1))
            record = replace(same_flow[0], state=model.state, data=model.data, version=same_flow[0].version + 1)
            started = Outcome(replies, record, list(model.effects))
        else:
            started = self._start_flow(user, session, flow, paused, reader)
        record = started.session
        if not has_words(arg) or flow.argument not in flow.triggers(record.state):
            return started
        model = self._model(record, user, reader)
        fired = self._fire(flow, model, record, flow.argument, text=clean_text(arg)[:MAX_TEXT_LENGTH])
        paused_note = started.replies[:-1]  # "your practice is paused", when one was
        return Outcome([*paused_note, *fired.replies], fired.session, [*started.effects, *fired.effects])

    def _no_session(self, user: User, key: str) -> Outcome:
        """A message, how to start practising, and the menu."""
        ui = self.ui(user.locale)
        return Outcome(
            [_prefixed(Reply(ui("common.no_session_hint"), self.menu(user.locale, user.is_manager)), ui(key))]
        )
