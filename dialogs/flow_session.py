"""The base of every flow's session model: the object a shared machine steps.

A session model holds one user's `state` and `data` (both saved in SQLite), plus
the context it needs for one event (pack, scorer, locale, a reader for stored
facts). Subclasses (course.py, ...) add the flow's callbacks, conditions and the
getters its flow file names; a getter returns a window's template variables, or
for a button with `choices`, the `Choice` items it offers. What a window shows and
which buttons it has is declared in the flow file only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from markupsafe import Markup

from dialogs.result_cards import ResultCard
from dialogs.review_lead import thing_to_fix
from dialogs.scoring import Scorer
from knowledge.pack import Pack, localize


@dataclass(frozen=True)
class Button:
    """A choice offered to the user: pressing it fires `trigger` with `arg` (`/name` runs a command).

    A label is plain text on every front end (Telegram shows it as written), so a label rendered
    from a template, where variables were HTML-escaped, is turned back into the text it stands for.
    """

    trigger: str
    label: str
    arg: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.label, Markup):
            object.__setattr__(self, "label", self.label.unescape())


@dataclass(frozen=True)
class Choice:
    """One item of a dynamic button list: its argument, and its label (plain text, or variables for a label key)."""

    arg: str
    label: str = ""
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DrillCard:
    """One objection card in a learner's drill deck, with its FSRS memory state."""

    objection_id: str
    fsrs: dict[str, Any]  # fsrs.Card.to_dict()
    due: datetime
    weak: bool = False  # added by a role-play where this objection was handled poorly: drilled first
    reviews: int = 0
    last_score: int | None = None


@dataclass(frozen=True)
class User:
    """The learner an event comes from, as the engine needs to know them."""

    id: int
    locale: str
    name: str = ""
    learner: str | None = None  # "rep" or "partner"; None until they have said which
    reminder: bool = False  # daily drill reminder opted in
    cards: tuple[DrillCard, ...] = ()  # used when no reader is given (tests, reminders)
    role: str = "rep"  # users.role: admin, manager, rep or partner

    @property
    def is_manager(self) -> bool:
        """Managers and admins may use the manager commands (what they may read is checked again where it is read)."""
        return self.role in ("manager", "admin")

    @property
    def deck(self) -> str:
        """Reps drill dealer objections; partners drill their customers' objections."""
        return "customer" if self.learner == "partner" else "dealer"


class Reader(Protocol):
    """Stored facts a flow may read, loaded only when asked (the service gives one over storage)."""

    def drill_cards(self) -> tuple[DrillCard, ...]: ...

    def quiz_results(self) -> dict[str, dict[int, bool]]: ...  # lesson -> question -> last answer right
    def result_cards(self) -> tuple[ResultCard, ...]: ...

    def last_closed_session(self, flow: str) -> Any | None: ...  # a SessionRecord: finished or cancelled


@dataclass(frozen=True)
class UserFacts:
    """A reader over what the `User` already carries (no result cards)."""

    user: User

    def drill_cards(self) -> tuple[DrillCard, ...]:
        return self.user.cards

    def quiz_results(self) -> dict[str, dict[int, bool]]:
        return {}

    def result_cards(self) -> tuple[ResultCard, ...]:
        return ()

    def last_closed_session(self, flow: str) -> Any | None:
        return None


@dataclass
class FlowContext:
    """Per-event services and facts a session model may use."""

    pack: Pack
    scorer: Scorer
    locale: str
    rng: random.Random
    ui: Callable[..., str]  # (key, **vars) -> str
    user: User
    now: datetime
    reader: Reader | None = None
    _cards: tuple[DrillCard, ...] | None = field(default=None, repr=False)
    _result_cards: tuple[ResultCard, ...] | None = field(default=None, repr=False)

    def drill_cards(self) -> tuple[DrillCard, ...]:
        """The learner's stored drill cards, read once per event and only if a flow asks."""
        if self._cards is None:
            self._cards = tuple((self.reader or UserFacts(self.user)).drill_cards())
        return self._cards

    def quiz_results(self) -> dict[str, dict[int, bool]]:
        """The learner's lesson quizzes: per lesson, per question, whether their latest answer was right."""
        return (self.reader or UserFacts(self.user)).quiz_results()

    def result_cards(self) -> tuple[ResultCard, ...]:
        """The learner's own stored result cards (/my), read once per event and only if a flow asks."""
        if self._result_cards is None:
            reader = self.reader if hasattr(self.reader, "result_cards") else UserFacts(self.user)
            self._result_cards = tuple(reader.result_cards())
        return self._result_cards

    def last_closed_session(self, flow: str):
        """The learner's most recent session of `flow` that is no longer active (finished or cancelled)."""
        read = getattr(self.reader or UserFacts(self.user), "last_closed_session", None)
        return read(flow) if read else None  # a reader that keeps no sessions: nothing to resume


class FlowSession:
    """One user's place in a flow. `state` is read and written by the machine."""

    def __init__(self, state: str, data: dict[str, Any], ctx: FlowContext):
        self.state = state
        self.data = data
        self.ctx = ctx
        self.effects: list = []  # dialogs.effects values produced by this event, applied by the service

    def local(self, value: Any) -> Any:
        """A pack object as plain text in the user's language, for a template."""
        return localize(value, self.ctx.locale)

    def explain_checks(self, kind: str, key: str, checks: list[dict]) -> list[dict]:
        """Stored check results ({id, passed, evidence}) with their label, tip and kind, in the user's language.

        The one to fix first (dialogs/review_lead.py) has `fix` set: a review leads with it.
        """
        described = self.ctx.scorer.describe(kind, key, self.ctx.locale)
        explained = [
            {
                **c,
                "label": described[c["id"]].label,
                "tip": described[c["id"]].tip,
                # harms and guards are shown only when they fired, even a guard that takes no points off
                "negative": described[c["id"]].negative or described[c["id"]].kind != "rubric",
                "kind": described[c["id"]].kind,
                "weight": described[c["id"]].weight,
                "penalty": described[c["id"]].penalty,
                "fix": False,
            }
            for c in checks
            if c["id"] in described
        ]
        first = thing_to_fix(explained)
        if first is not None:
            first["fix"] = True
        return explained
