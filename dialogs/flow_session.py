"""The base of every flow's session model: the object a shared machine steps.

A session model holds one user's `state` and `data` (both saved in SQLite),
plus the context it needs for one event (pack, scorer, locale). Subclasses
(course.py, ...) add the flow's callbacks and one getter per state that says
what the state shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialogs.scoring import Scorer, ScoreResult
from knowledge.pack import Pack, localize


@dataclass(frozen=True)
class Button:
    """A choice offered to the user: pressing it fires `trigger` with `arg`."""

    trigger: str
    label: str
    arg: str = ""


@dataclass(frozen=True)
class Screen:
    """What a state shows: a ui.yaml template key, its variables, and optionally its own buttons."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[Button, ...] | None = None  # None: the flow file's buttons with default labels


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
    cards: tuple[DrillCard, ...] = ()

    @property
    def deck(self) -> str:
        """Reps drill dealer objections; partners drill their customers' objections."""
        return "customer" if self.learner == "partner" else "dealer"


@dataclass
class FlowContext:
    """Per-event services and facts a session model may use."""

    pack: Pack
    scorer: Scorer
    locale: str
    rng: random.Random
    ui: Any  # callable (key, **vars) -> str, for button labels
    user: User
    now: datetime


class FlowSession:
    """One user's place in a flow. `state` is read and written by the machine."""

    def __init__(self, state: str, data: dict[str, Any], ctx: FlowContext):
        self.state = state
        self.data = data
        self.ctx = ctx
        self.scores: list[ScoreResult] = []  # results produced by this event, for the log
        self.card_changes: list[DrillCard] = []  # drill cards added or rescheduled by this event
        self.settings_changes: dict[str, Any] = {}  # user settings changed by this event (e.g. reminder)

    def local(self, value: Any) -> Any:
        """A pack object as plain text in the user's language, for a template."""
        return localize(value, self.ctx.locale)

    def explain_checks(self, kind: str, key: str, checks: list[dict]) -> list[dict]:
        """Stored check results ({id, passed, evidence}) with their label, tip and kind, in the user's language."""
        described = self.ctx.scorer.describe(kind, key, self.ctx.locale)
        return [
            {
                **c,
                "label": described[c["id"]].label,
                "tip": described[c["id"]].tip,
                "negative": described[c["id"]].negative,
            }
            for c in checks
            if c["id"] in described
        ]

    def screen(self) -> Screen:
        """What the current state shows; flows define `screen_<state>` methods."""
        return getattr(self, f"screen_{self.state}")()
