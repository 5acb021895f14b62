"""Effects: what a step asks the service to do, as small typed values.

A flow never writes to storage. Its callbacks append effects to the session model
(`FlowSession.effects`), the engine returns them in `Outcome.effects`, and one
dispatcher (bot/effects.py) applies them in the turn's transaction. A new kind of
result is one more dataclass here and one more handler there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.flow_session import DrillCard
from dialogs.scoring import ScoreResult


@dataclass(frozen=True)
class RecordScore:
    """A scored answer, logged under the session's flow."""

    result: ScoreResult


@dataclass(frozen=True)
class SaveDrillCard:
    """A drill card added to the learner's deck or rescheduled."""

    card: DrillCard


@dataclass(frozen=True)
class ChangeSetting:
    """A user setting changed: `learner` ("rep" or "partner") or `reminder` (bool)."""

    name: str
    value: Any


@dataclass(frozen=True)
class SetLocale:
    """The user switched language."""

    locale: str


@dataclass(frozen=True)
class ForgetUser:
    """The user confirmed /forget_me: delete everything stored about them; nothing of this turn is kept."""


@dataclass(frozen=True)
class SaveResultCard:
    """A finished piece of work worth keeping (a SWOT, a pitch, a MAN assessment): `kind`, a title, its data."""

    kind: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteResultCard:
    """The user confirmed deleting one of their result cards (/my); another user's card id deletes nothing."""

    card_id: int


Effect = RecordScore | SaveDrillCard | ChangeSetting | SetLocale | ForgetUser | SaveResultCard | DeleteResultCard
SETTINGS = ("learner", "reminder")  # the names ChangeSetting may carry
