"""The effects of the manager flows, applied in the turn's transaction (see bot/effects.py).

Each handler checks again, on the writing connection, what the flow checked when it read:
only a manager or an admin makes invites; a code is used once and before it expires; a
score is overridden only by someone allowed to see that learner. What no longer holds
(a code used by someone else a moment ago) raises `StaleSession`, so the service reads and
steps the turn again and the user gets the answer that is true now.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.reports import can_view
from bot.storage import StaleSession, Storage, now
from dialogs.effects import CreateInvite, JoinTeam, OverrideScore, SetDigest

MANAGER_ROLES = ("manager", "admin")
INVITE_ROLES = ("rep", "partner")


def _role(store: Storage, user_id: int) -> str | None:
    row = store.db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row else None


def _create_invite(store: Storage, turn, effect: CreateInvite) -> None:
    if _role(store, turn.user.id) not in MANAGER_ROLES or effect.role not in INVITE_ROLES:
        raise PermissionError("only a manager or an admin invites, and only reps and partners")
    team_id = store.ensure_team(turn.user.id, turn.user.name)
    store.create_invite(
        code=effect.code, team_id=team_id, role=effect.role, created_by=turn.user.id, expires_at=effect.expires_at
    )


def _join_team(store: Storage, turn, effect: JoinTeam) -> None:
    if _role(store, turn.user.id) in MANAGER_ROLES:
        raise StaleSession  # promoted meanwhile: the flow refuses a manager's join when it reads again
    if store.redeem_invite(effect.code, turn.user.id, now()) is None:
        raise StaleSession  # used or expired since the flow read it


def _override_score(store: Storage, turn, effect: OverrideScore) -> None:
    row = store.db.execute("SELECT user_id FROM scores WHERE id = ?", [effect.score_id]).fetchone()
    if (
        row is None
        or _role(store, turn.user.id) not in MANAGER_ROLES
        or not can_view(store.db.conn, turn.user.id, row[0])
    ):
        raise PermissionError("a score may be overridden only by a manager of that learner or an admin")
    if not 0 <= effect.score <= 100:
        raise ValueError(f"an override is a score from 0 to 100, not {effect.score}")
    store.add_override(
        score_id=effect.score_id, manager_id=turn.user.id, score=effect.score,
        disagreed_checks=list(effect.disagreed_checks),
    )  # fmt: skip


def _set_digest(store: Storage, turn, effect: SetDigest) -> None:
    store.set_digest(turn.user.id, effect.on)


TEAM_HANDLERS: dict[type, Callable] = {
    CreateInvite: _create_invite,
    JoinTeam: _join_team,
    OverrideScore: _override_score,
    SetDigest: _set_digest,
}
