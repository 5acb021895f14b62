"""The coaching engine: (user, session, event) in, replies, the new session and effects out.

Pure: it reads no database and imports nothing from Telegram, so the console,
the Telegram bot and the tests all drive exactly this code. `bot/service.py`
loads the session before calling it and applies the outcome's effects after.

The engine knows no flow by name (apart from the drill's due count, which the daily
reminder asks for): it discovers the flow files (dialogs/machines.py), checks every
name they use (dialogs/flow_check.py) and answers the app shell's commands from
dialogs/commands.yaml. A window is rendered from its one declaration, and shown a
phone screen at a time (dialogs/paging.py): a long one pages behind a "more" button,
a review's folded parts behind a button each; both press the same screen again.
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
from dialogs.paging import (
    FOLD_TRIGGER,
    MORE_TRIGGER,
    PAGE_LINES,
    folds,
    page_budget,
    page_from,
    pages_after,
    screen_lines,
)
from dialogs.review_lead import thing_to_fix
from dialogs.scoring import Scorer
from dialogs.turn import Event, Outcome, Quiz, Reply, SessionRecord
from knowledge.pack import Pack
from knowledge.templates import render

MAX_TEXT_LENGTH = 4096  # Telegram's own limit for one message
UNPAGED = 10**9  # the page of a front end whose screens are not paged (`page_lines=None`)
MIN_PAGE_TEXT = 4  # lines of text a page keeps however many options it has
SPEAKING = {"says", "reaction"}  # a window whose view has one of these has someone (a dealer) speak in it
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
        option_lines: bool = False,
        page_lines: int | None = PAGE_LINES,
    ):
        """Build the engine; raises FlowError (every problem with file and field) if a flow is unusable.

        `option_lines`: the front end prints each button as a line of the message (the console), so a
        page leaves room for them. `page_lines`: the lines of a page (None: screens are not paged)."""
        self.pack = pack
        self.option_lines = option_lines
        self.page_lines = page_lines
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

    def _window_reply(
        self, flow: Flow, model: FlowSession, version: int, prefix: str = "", part: str = "", start: int = 0
    ) -> Reply:
        """The window of the model's state: its page from `start` of its part `part` ("" the first part)."""
        window = flow.windows[model.state]
        context = getattr(model, window.getter)() if window.getter else {}
        text = model.ctx.ui(window.text, **context)
        scores = [e.result.score for e in model.effects if isinstance(e, RecordScore)]
        buttons = self._buttons(window, model, context)
        shown, shown_buttons = self._page(model.ctx.ui, text, buttons, prefix, part, start, _window_more)
        reply = Reply(shown, shown_buttons, scores[-1] if scores else None, typing=bool(SPEAKING & context.keys()))
        if not flow.log_replies:  # it shows other people's data: the log keeps where, not what
            reply = replace(reply, log_text=f"[/{flow.command} {model.state}]")
        if not any(b.trigger == MORE_TRIGGER for b in shown_buttons):  # files and a quiz come with the last page
            if window.attachment:  # a chart or an export, made by the flow's getter (in the caller's worker thread)
                reply = replace(reply, attachments=tuple(getattr(model, window.attachment)() or ()))
            if window.quiz:
                reply = replace(reply, quiz=getattr(model, window.quiz)())
        return replace(reply, state=model.state, version=version)

    def _page(self, ui, text: str, buttons: tuple[Button, ...], prefix: str, part: str, start: int, more_arg):
        """One phone screen of `text`: the page, and its buttons (only "more" until the last page, where
        `buttons` are offered, then the folded parts not shown). Where buttons print as lines, they fit too."""
        parts = folds(text)
        body = parts.get(part, parts[""])
        unfolded = [name for name in parts if name not in ("", part)]
        final = buttons + tuple(Button(FOLD_TRIGGER, ui(f"button.fold_{name}"), name) for name in unfolded)
        budget = page_budget(prefix if start == 0 else "", self.page_lines or UNPAGED)
        more = Button(MORE_TRIGGER, ui("button.more", left=9))
        page, following = page_from(body, start, self._room(budget, final))
        if following is not None and self.option_lines:
            with_more = page_from(body, start, self._room(budget, (more,)))
            page, following = with_more if with_more[1] is not None else (page, following)
        shown = f"{prefix}\n\n{page}" if prefix else page
        if following is None:
            return shown, final
        return shown, (
            Button(MORE_TRIGGER, ui("button.more", left=pages_after(body, following)), more_arg(part, following)),
        )

    def _room(self, budget: int, options: tuple[Button, ...]) -> int:
        """Lines left for the text of a page, where its options print as lines (`  [n] label`, the console)."""
        if not self.option_lines:
            return budget
        taken = sum(screen_lines(f"  [{n}] {b.label}") for n, b in enumerate(options, start=1))
        return max(budget - taken, MIN_PAGE_TEXT)

    def _typed_buttons(self, flow: Flow, model: FlowSession, version: int) -> tuple[Button, ...]:
        """Every button a label typed at this window may press: its own, its folds', and its "more"."""
        window = flow.windows[model.state]
        context = getattr(model, window.getter)() if window.getter else {}
        ui = model.ctx.ui
        names = [name for name in folds(ui(window.text, **context)) if name]
        shown = self._window_reply(flow, model, version).buttons
        own = self._buttons(window, model, context)
        return (*shown, *(Button(FOLD_TRIGGER, ui(f"button.fold_{n}"), n) for n in names), *own)

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
        return self._addressed(self._answer(user, session, event, paused, reader), event, user)

    def _addressed(self, outcome: Outcome, event: Event, user: User) -> Outcome:
        """The replies told where they go: a press's first reply replaces the pressed message (unless the
        button had expired: then the answer comes as a new message), and a score answers the typed message,
        quoting the clause the one thing to fix is about."""
        replies = list(outcome.replies)
        if not replies or not event.reference:
            return outcome
        expired = self.ui(user.locale)("common.button_expired")
        if event.pressed and not replies[0].text.startswith(expired):
            replies[0] = replace(replies[0], replaces=event.reference)
        elif event.kind == "text":
            quote = _quoted_clause(outcome, event.text)
            replies = [replace(r, answers=event.reference, quote=quote) if r.score is not None else r for r in replies]
        return replace(outcome, replies=replies)

    def _answer(
        self,
        user: User,
        session: SessionRecord | None,
        event: Event,
        paused: tuple[SessionRecord, ...],
        reader: Reader | None,
    ) -> Outcome:
        if event.kind == "button" and event.name == MORE_TRIGGER and event.arg.startswith("/"):
            return self._more_of_command(user, session, event, paused, reader)
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
        if event.kind == "text" and (shell_button := self._shell_button(user, session, event.text, paused, reader)):
            return self._answer(user, session, Event.press(shell_button), paused, reader)
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
        same_screen = event.name in (MORE_TRIGGER, FOLD_TRIGGER)
        offered = same_screen or (event.name in window.button_triggers and event.name in flow.triggers(session.state))
        if event.session_id not in (None, session.id) or old_keyboard or not offered:
            expired = model.ctx.ui("common.button_expired")
            return Outcome([self._window_reply(flow, model, session.version, expired)], session)
        if same_screen:  # the same screen, another page or part of it (saved, so the pressed keyboard retires)
            part, start = _view_of(event)
            return Outcome([self._window_reply(flow, model, session.version, part=part, start=start)], session)
        return self._fire(flow, model, session, event.name, arg=event.arg)

    def _text(
        self, user: User, flow: Flow, model: FlowSession, session: SessionRecord, event: Event, reader: Reader | None
    ) -> Outcome:
        ui = model.ctx.ui
        text = clean_text(event.text)
        for button in self._typed_buttons(flow, model, session.version):  # typing a button's label presses it
            if text and _same_label(text, button.label):
                pressed = Event.press(button, session.id, version=session.version)
                return self._answer(user, session, pressed, (), reader)
        text_trigger = flow.windows[session.state].free_text
        takes_number = flow.windows[session.state].takes == "number"
        if text_trigger is None:
            window = flow.windows[session.state]
            own = self._buttons(window, model, getattr(model, window.getter)() if window.getter else {})
            message = ui("common.use_buttons", buttons=[b.label for b in own])
        elif not has_words(text) and not (takes_number and _NUMBER.fullmatch(text)):
            message = ui("common.empty_text")
        elif len(event.text) > MAX_TEXT_LENGTH:
            message = ui("common.too_long", length=len(event.text), limit=MAX_TEXT_LENGTH)
        else:
            return self._fire(flow, model, session, text_trigger, text=text)
        return Outcome([self._window_reply(flow, model, session.version, message)], session)

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
            outcome = self._app_command(user, session, name, event.arg, paused, reader)
            replies = [self._command_page(user, reply, f"/{name}:{i}:{{start}}:{event.arg}", 0)
                       for i, reply in enumerate(outcome.replies)]  # fmt: skip
            return replace(outcome, replies=replies)
        return Outcome([Reply(ui("common.unknown_command", command=name[:64]))])

    def _shell_button(self, user: User, session, text: str, paused, reader: Reader | None = None) -> Button | None:
        """The command button of the app shell's screens (menu, /lang, /settings, ...) whose label was typed.

        Those screens belong to no session, so what they offered is not remembered: typing a label of
        any of them presses it, unless the current window has a button of that label itself.
        """
        typed = clean_text(text)
        if not typed or len(typed) > 60:  # labels are short; an answer is not looked up
            return None
        if session is not None:
            model = self._model(session, user, reader)  # the window's getters read stored facts through it
            if any(_same_label(typed, b.label) for b in self._typed_buttons(self.flows[session.flow], model, 0)):
                return None
        for name in self.app_commands:
            for reply in self._app_command(user, session, name, "", paused, reader).replies:
                for button in reply.buttons:
                    if button.trigger.startswith("/") and _same_label(typed, button.label):
                        return button
        return None

    def _app_command(self, user, session, name: str, arg: str, paused, reader=None) -> Outcome:
        return self.app_commands[name](app_commands.Shell(self, user, session, paused, reader), arg)

    def _command_page(self, user: User, reply: Reply, more_arg: str, start: int) -> Reply:
        """A command's reply a phone screen at a time (a window it shows, as /help does, pages itself)."""
        if reply.state is not None:
            return reply
        text, buttons = self._page(self.ui(user.locale), reply.text, reply.buttons, "", "", start,
                                   lambda part, following: more_arg.format(start=following))  # fmt: skip
        return replace(reply, text=text, buttons=buttons)

    def _more_of_command(self, user, session, event: Event, paused, reader) -> Outcome:
        """The next page of a command's reply: the command answered again, nothing of it applied."""
        name, index, start, arg = [*event.arg[1:].split(":", 3), "", "", ""][:4]
        if name not in self.app_commands or not index.isdigit() or not start.isdigit():
            return self._no_session(user, "common.button_expired")
        replies = self._app_command(user, session, name, arg, paused, reader).replies
        if int(index) >= len(replies):
            return self._no_session(user, "common.button_expired")
        return Outcome([self._command_page(user, replies[int(index)], f"/{name}:{index}:{{start}}:{arg}", int(start))])

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


def _window_more(part: str, start: int) -> str:
    return f"{part}:{start}"


def _view_of(event: Event) -> tuple[str, int]:
    """The part and page offset a "more" or fold button asks for (a forged one: the first page)."""
    if event.name == FOLD_TRIGGER:
        return event.arg, 0
    part, _, start = event.arg.rpartition(":")
    return part, int(start) if start.isdigit() else 0


def _same_label(text: str, label: str) -> bool:
    """Whether typed text is a button's label: case, spacing and a trailing bracket ("English（英文）") aside."""
    typed = " ".join(text.split()).casefold()
    full = " ".join(label.split()).casefold()
    short = re.split(r"\s*[（(]", full, maxsplit=1)[0]
    return typed in (full, short)


def _quoted_clause(outcome: Outcome, text: str) -> str | None:
    """The learner's clause the one thing to fix is about, when it is their words exactly."""
    scores = [e.result for e in outcome.effects if isinstance(e, RecordScore)]
    first = thing_to_fix(scores[-1].checks) if scores else None
    clause = first.evidence if first is not None else None
    return clause if clause and clause in text else None
