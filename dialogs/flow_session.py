"""The base of every flow's session model: the object a shared machine steps.

A session model holds one user's `state` and `data` (both saved in SQLite),
plus the context it needs for one event (pack, scorer, locale). Subclasses
(course.py, ...) add the flow's callbacks and one getter per state that says
what the state shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
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


@dataclass
class FlowContext:
    """Per-event services a session model may use."""

    pack: Pack
    scorer: Scorer
    locale: str
    rng: random.Random
    ui: Any  # callable (key, **vars) -> str, for button labels


class FlowSession:
    """One user's place in a flow. `state` is read and written by the machine."""

    def __init__(self, state: str, data: dict[str, Any], ctx: FlowContext):
        self.state = state
        self.data = data
        self.ctx = ctx
        self.scores: list[ScoreResult] = []  # results produced by this event, for the log

    def local(self, value: Any) -> Any:
        """A pack object as plain text in the user's language, for a template."""
        return localize(value, self.ctx.locale)

    def screen(self) -> Screen:
        """What the current state shows; flows define `screen_<state>` methods."""
        return getattr(self, f"screen_{self.state}")()
