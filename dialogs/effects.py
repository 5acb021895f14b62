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
class CreateInvite:
    """A manager's one-time invite code for their team (the team is created on the first one)."""

    code: str
    role: str  # rep or partner
    expires_at: str  # ISO time (UTC)


@dataclass(frozen=True)
class JoinTeam:
    """Use an invite code: the user joins its team with its role. If the code was used or expired since the
    flow read it, the turn is read and stepped again (and then refused)."""

    code: str


@dataclass(frozen=True)
class OverrideScore:
    """A manager's score for one scored answer and the checks they disagree with; the scorer's stays as it is."""

    score_id: int
    score: int
    disagreed_checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetDigest:
    """A manager opts in to (or out of) the weekly digest."""

    on: bool


@dataclass(frozen=True)
class RecordQuizAnswer:
    """A lesson's quiz question answered (/learn): which option was chosen and whether it was right."""

    lesson: str
    question: int  # index in the lesson's quiz
    chosen: int  # index of the option chosen
    correct: bool


@dataclass(frozen=True)
class DeleteResultCard:
    """The user confirmed deleting one of their result cards (/my); another user's card id deletes nothing."""

    card_id: int


Effect = (
    RecordScore | SaveDrillCard | ChangeSetting | SetLocale | ForgetUser | SaveResultCard | DeleteResultCard
    | CreateInvite | JoinTeam | OverrideScore | SetDigest | RecordQuizAnswer
)  # fmt: skip
SETTINGS = ("learner", "reminder")  # the names ChangeSetting may carry
