"""The one place effects are applied: a flow's results written to storage in the turn's transaction.

`apply_turn` is what `CoachService` calls inside its transaction: it saves the
session, logs the turn in and the replies out, then applies each effect the engine
returned (dialogs/effects.py) through the existing `bot/storage.py` methods.
`StorageReader` is the narrow, lazy view of stored facts a flow may read.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from bot.storage import Storage
from bot.team_effects import TEAM_HANDLERS
from dialogs.effects import (
    ChangeSetting,
    DeleteResultCard,
    Effect,
    ForgetUser,
    RecordQuizAnswer,
    RecordScore,
    SaveDrillCard,
    SaveResultCard,
    SetLocale,
)
from dialogs.flow_session import DrillCard, User
from dialogs.result_cards import CARD_KINDS, ResultCard
from dialogs.turn import Event, Outcome, SessionRecord


@dataclass(frozen=True)
class StorageReader:
    """Stored facts of one user, read only when a flow asks for them (under `lock`, when given: the
    service's lock on the shared connection)."""

    storage: Storage
    user_id: int
    lock: AbstractContextManager | None = None

    def drill_cards(self) -> tuple[DrillCard, ...]:
        with self.lock or nullcontext():
            return tuple(self.storage.drill_cards(self.user_id))

    def quiz_results(self) -> dict[str, dict[int, bool]]:
        with self.lock or nullcontext():
            return self.storage.quiz_results(self.user_id)

    def result_cards(self) -> tuple[ResultCard, ...]:
        with self.lock or nullcontext():
            return tuple(self.storage.result_cards(self.user_id))

    def last_closed_session(self, flow: str) -> SessionRecord | None:
        with self.lock or nullcontext():
            return self.storage.last_closed_session(self.user_id, flow)


@dataclass(frozen=True)
class Turn:
    """Where an effect lands: the user, and the session it was produced in."""

    user: User
    session: SessionRecord | None
    session_id: int | None


def _record_score(store: Storage, turn: Turn, effect: RecordScore) -> None:
    result = effect.result
    store.add_score(
        user_id=turn.user.id,
        session_id=turn.session_id,
        flow=turn.session.flow if turn.session else "",
        step=result.step,
        score=result.score,
        checks=[{**c.as_json(), "evidence": c.evidence} for c in result.checks],
    )


def _save_drill_card(store: Storage, turn: Turn, effect: SaveDrillCard) -> None:
    store.save_drill_card(turn.user.id, effect.card)


def _change_setting(store: Storage, turn: Turn, effect: ChangeSetting) -> None:
    if effect.name not in ("learner", "reminder"):
        raise ValueError(f"unknown setting {effect.name!r}")
    store.update_settings(turn.user.id, **{effect.name: effect.value})


def _set_locale(store: Storage, turn: Turn, effect: SetLocale) -> None:
    store.set_locale(turn.user.id, effect.locale)


def _record_quiz_answer(store: Storage, turn: Turn, effect: RecordQuizAnswer) -> None:
    store.add_quiz_answer(
        user_id=turn.user.id, session_id=turn.session_id, lesson=effect.lesson, question=effect.question,
        chosen=effect.chosen, correct=effect.correct,
    )  # fmt: skip


def _save_result_card(store: Storage, turn: Turn, effect: SaveResultCard) -> None:
    if effect.kind not in CARD_KINDS:
        raise ValueError(f"unknown result card kind {effect.kind!r} (known: {', '.join(CARD_KINDS)})")
    store.save_result_card(turn.user.id, turn.session_id, effect.kind, effect.title, effect.data)


def _delete_result_card(store: Storage, turn: Turn, effect: DeleteResultCard) -> None:
    store.delete_result_card(turn.user.id, effect.card_id)


HANDLERS: dict[type, Callable[[Storage, Turn, Effect], None]] = {
    RecordScore: _record_score,
    SaveDrillCard: _save_drill_card,
    ChangeSetting: _change_setting,
    SetLocale: _set_locale,
    **TEAM_HANDLERS,  # invites, joining a team, score overrides, the digest (bot/teams.py)
    RecordQuizAnswer: _record_quiz_answer,
    SaveResultCard: _save_result_card,
    DeleteResultCard: _delete_result_card,
    # ForgetUser is handled by apply_turn itself: nothing else of the turn is kept.
}


def apply_turn(store: Storage, user: User, before: SessionRecord | None, event: Event, outcome: Outcome,
               update_id: int | None, describe_press: Callable[[Event], str]) -> int | None:  # fmt: skip
    """Save one turn (session, turn in, replies out) and apply its effects; returns the session id."""
    if any(isinstance(e, ForgetUser) for e in outcome.effects):
        store.forget_user(user.id)
        return None
    unknown = [e for e in outcome.effects if type(e) not in HANDLERS]
    if unknown:
        names = ", ".join(sorted({type(e).__name__ for e in unknown}))
        raise TypeError(f"no handler for effect {names}")
    after = outcome.session
    session_id = store.save_session(user.id, after) if after else (before.id if before else None)
    if event.kind != "resume":
        store.add_turn(
            user_id=user.id,
            session_id=session_id,
            direction="in",
            text=event.text if event.text or event.kind == "text" else describe_press(event),
            state=before.state if before else None,
            event=event.describe(),
            update_id=update_id,
        )
    for reply in outcome.replies:
        store.add_turn(
            user_id=user.id,
            session_id=session_id,
            direction="out",
            text=reply.text if reply.log_text is None else reply.log_text,
            state=after.state if after else None,
            score=reply.score,
        )
    turn = Turn(user, after or before, session_id)
    for effect in outcome.effects:
        HANDLERS[type(effect)](store, turn, effect)
    return session_id
