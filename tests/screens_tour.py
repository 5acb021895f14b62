"""A learner's tour of every screen: the shell commands, a full course, a role-play and a drill.

`tour(front, locale)` plays the tour through a front end (`send(text)` and
`press(button, reply)`, each returning the replies seen: `ServiceFront` for the
engine as the console drives it, `ConsoleFront` for `coach chat` itself,
tests/telegram_tour.py for Telegram) and
returns every reply seen, in order. Long
screens are read to the end with their "more" button before the tour goes on,
so every page is seen. Used by tests/test_screens.py and scripts/screen_lines.py.

A `straight` tour (scripts/count_telegram_calls.py `--straight`) is a rep who goes straight
through: no second model, no retry, no review opened further, the role-play's model
conversation skipped; pages are still read (a screen's own buttons wait for its last page).
"""

from __future__ import annotations

from typing import Protocol

from bot.console.chat import ConsoleChat
from bot.console.terminal import format_reply
from bot.service import CoachService, Identity
from dialogs.engine import Button, Event, Reply
from dialogs.paging import FOLD_TRIGGER, MORE_TRIGGER
from knowledge.pack import STEP_IDS
from tests.helpers import load_labelled, plain

LABELLED = load_labelled()


class Front(Protocol):
    def send(self, text: str) -> list[Reply]: ...

    def press(self, button: Button, reply: Reply) -> list[Reply]: ...


class ServiceFront:
    """The service driven as the console drives it."""

    def __init__(self, service: CoachService, who: Identity):
        self.service, self.who = service, who

    def send(self, text: str) -> list[Reply]:
        return self.service.handle(self.who, Event.from_text(text))

    def press(self, button: Button, reply: Reply) -> list[Reply]:
        return self.service.handle(self.who, Event.press(button, reply.session_id, reply.state, reply.version))


def answer(step: str, locale: str, label: int) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == label)


class ConsoleRecorder:
    """A console screen that keeps each message as printed, and the reply it printed."""

    def __init__(self):
        self.printed: list[str] = []
        self.shown: list[Reply] = []

    def show(self, reply: Reply) -> None:
        self.printed.append(format_reply(reply))
        self.shown.append(reply)

    def say(self, text: str) -> None:
        self.printed.append(plain(text))

    def leave(self, text: str) -> None:
        """Nothing to leave."""


class ConsoleFront:
    """The tour typed into `coach chat`: text as typed, a button by its number."""

    def __init__(self, chat: ConsoleChat, recorder: ConsoleRecorder):
        self.chat, self.recorder = chat, recorder

    def _type(self, line: str) -> list[Reply]:
        seen = len(self.recorder.shown)
        self.chat.show(self.chat.service.handle(self.chat.identity, self.chat.event_for(line)))
        return self.recorder.shown[seen:]

    def send(self, text: str) -> list[Reply]:
        return self._type(text)

    def press(self, button: Button, reply: Reply) -> list[Reply]:
        assert reply is self.chat.last, "the console presses the options of the last message only"
        return self._type(str(list(reply.buttons).index(button) + 1))


class Tour:
    def __init__(self, front: Front, straight: bool = False):
        self.front = front
        self.straight = straight
        self.seen: list[Reply] = []
        self.last: Reply | None = None

    def _take(self, replies: list[Reply]) -> Tour:
        self.seen += replies
        self.last = replies[-1] if replies else self.last
        while self.last is not None and any(b.trigger == MORE_TRIGGER for b in self.last.buttons):
            more = next(b for b in self.last.buttons if b.trigger == MORE_TRIGGER)
            replies = self.front.press(more, self.last)
            assert replies, "the more button showed nothing"
            self.seen += replies
            self.last = replies[-1]
        return self

    def send(self, text: str) -> Tour:
        return self._take(self.front.send(text))

    def press(self, trigger: str, nth: int = 0) -> Tour:
        buttons = [b for b in self.last.buttons if b.trigger == trigger]
        assert buttons, f"no {trigger!r} button in {[b.trigger for b in self.last.buttons]}"
        return self._take(self.front.press(buttons[nth], self.last))

    def has(self, trigger: str) -> bool:
        return any(b.trigger == trigger for b in self.last.buttons)


def shell(t: Tour) -> None:
    t.send("/start")
    if t.has("/settings"):
        t.press("/settings")  # who they are: a rep
    t.send("/help").send("/settings").send("/lang").send("/frobnicate").send("hello")


def course(t: Tour, locale: str) -> None:
    """Each step: the lesson, a model or two, the answer typed where the model screen sets the task (at the
    first step on the practice screen, as a rep who wants the task on its own screen does), the review."""
    t.send("/train").press("begin")
    for number, step in enumerate(STEP_IDS):
        t.press("show_model")
        if t.has("another_model") and not t.straight:
            t.press("another_model")
        if number == 0 and not t.straight:
            t.press("practise")
        t.send(answer(step, locale, 0 if number % 2 else 3))
        if number == 0 and not t.straight:
            t.press("retry").send(answer(step, locale, 1))
        _more_of_the_review(t)
        t.press("next_step")


def roleplay(t: Tour, locale: str, quality: int) -> None:
    t.send("/roleplay").press("choose_product").press("choose_dealer").press("choose_goal")
    t.press("to_explain").press("to_show")
    if t.straight:
        t.press("skip_show")
    while t.last.state == "show":
        t.press("next_page")
    for step in STEP_IDS:
        t.send(answer(step, locale, quality))
    _more_of_the_review(t)


def drill(t: Tour, locale: str) -> None:
    t.send("/drill")
    t.press("start" if t.has("start") else "extra")
    for _ in range(3):  # a card takes the answer; its review offers the next card
        t.send(answer("objection_handling", locale, 2))
        _more_of_the_review(t)
        if not t.has("next_card"):
            break
        t.press("next_card")


def _more_of_the_review(t: Tour) -> None:
    """Every "show me the rest" button of a review, pressed once each (each opens one fold of it)."""
    if t.straight:
        return
    opened: set[str] = set()
    while folds := [b for b in t.last.buttons if b.trigger == FOLD_TRIGGER and b.arg not in opened]:
        opened.add(folds[0].arg)
        t._take(t.front.press(folds[0], t.last))


def tour(front: Front, locale: str) -> list[Reply]:
    """Every reply of the whole tour, in order."""
    t = Tour(front)
    shell(t)
    course(t, locale)
    roleplay(t, locale, quality=0)
    roleplay(t, locale, quality=3)
    drill(t, locale)
    return t.seen
