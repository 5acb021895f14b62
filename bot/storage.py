"""The session log in SQLite, and the inbox beside it: the only module that writes SQL.

Tables (see MIGRATIONS): users, sessions, turns, scores, drill_cards, result_cards, quiz_answers, quiz_polls,
teams, invites, score_overrides, outbox, handled_updates
(replies committed with their turn, deleted once Telegram accepted them) and
handled_updates ((channel, update id) of every update already answered). WAL
mode and `secure_delete`, so deleted rows are overwritten, not left in free
pages; the schema version lives in `PRAGMA user_version` and every change to it
is a new migration appended to MIGRATIONS, never an edit of an old one.

`Inbox` is a second, small SQLite file (`<db>-inbox`): every incoming update is
stored there before Telegram may consider it delivered. It is a separate file
so that another process holding the main database's write lock (an export, a
backup) never stops the bot from receiving updates and acknowledging presses.
The two files commit separately; that is safe because handling is idempotent:
an update is marked in the inbox only after its turn committed, and a turn is
never committed twice (handled_updates, and the unique index on incoming turns).

sqlite-utils creates and reads the tables. Writes that must land together (a
turn, the session state it produced, its scores and its outgoing replies) go
through `transaction()`, which uses plain statements because sqlite-utils' own
write helpers commit on their own. Every connection waits up to BUSY_TIMEOUT_MS
for a lock held by another process; callers run it in worker threads, never on
an event loop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from dialogs.engine import DrillCard, SessionRecord
from dialogs.result_cards import ResultCard, title_key


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _create_table(db: sqlite_utils.Database, name: str, columns: dict, **options) -> None:
    # create_table_sql, not create(): create() commits by itself, and a migration must be one transaction.
    db.execute(db.create_table_sql(name, columns, pk="id", **options))


def _migration_1(db: sqlite_utils.Database) -> None:
    _create_table(
        db,
        "users",
        {
            "id": int,
            "channel": str,
            "external_id": str,
            "name": str,
            "language_code": str,
            "locale": str,
            "role": str,
            "created_at": str,
            "updated_at": str,
        },
        not_null={"channel", "external_id", "locale", "role", "created_at"},
        defaults={"role": "rep"},
    )
    _create_table(
        db,
        "sessions",
        {
            "id": int,
            "user_id": int,
            "flow": str,
            "state": str,
            "data": str,
            "status": str,
            "created_at": str,
            "updated_at": str,
        },
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "flow", "state", "status", "created_at"},
    )
    _create_table(
        db,
        "turns",
        {
            "id": int,
            "session_id": int,
            "user_id": int,
            "update_id": int,
            "direction": str,
            "event": str,
            "state": str,
            "text": str,
            "score": int,
            "created_at": str,
        },
        foreign_keys=[("session_id", "sessions", "id"), ("user_id", "users", "id")],
        not_null={"user_id", "direction", "text", "created_at"},
    )
    _create_table(
        db,
        "scores",
        {
            "id": int,
            "session_id": int,
            "user_id": int,
            "flow": str,
            "step": str,
            "score": int,
            "checks": str,
            "created_at": str,
        },
        foreign_keys=[("session_id", "sessions", "id"), ("user_id", "users", "id")],
        not_null={"user_id", "step", "score", "created_at"},
    )
    for statement in (
        "CREATE UNIQUE INDEX idx_users_channel_external ON users(channel, external_id)",
        "CREATE INDEX idx_sessions_user_status ON sessions(user_id, status)",
        "CREATE INDEX idx_turns_session ON turns(session_id)",
        "CREATE INDEX idx_turns_user_created ON turns(user_id, created_at)",
        # A redelivered Telegram update must not be processed twice.
        "CREATE UNIQUE INDEX idx_turns_update_in ON turns(update_id) WHERE direction = 'in' AND update_id IS NOT NULL",
        "CREATE INDEX idx_scores_user_step ON scores(user_id, step)",
    ):
        db.execute(statement)


def _migration_2(db: sqlite_utils.Database) -> None:
    """Learner role and drill reminder on users; the FSRS drill deck."""
    db.execute("ALTER TABLE users ADD COLUMN learner TEXT")  # 'rep' or 'partner', NULL until chosen
    db.execute("ALTER TABLE users ADD COLUMN reminder INTEGER NOT NULL DEFAULT 0")
    _create_table(
        db,
        "drill_cards",
        {
            "id": int,
            "user_id": int,
            "objection_id": str,
            "fsrs": str,
            "due": str,
            "weak": int,
            "reviews": int,
            "last_score": int,
            "created_at": str,
            "updated_at": str,
        },
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "objection_id", "fsrs", "due", "weak", "reviews", "created_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_drill_cards_user_objection ON drill_cards(user_id, objection_id)")
    db.execute("CREATE INDEX idx_drill_cards_due ON drill_cards(due)")


def _migration_3(db: sqlite_utils.Database) -> None:
    """Session versions (stale-button check), the outbox and the handled updates (nothing lost, nothing twice)."""
    db.execute("ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    # AUTOINCREMENT: a sent reply's row is deleted, and its id must never be given to a later reply
    db.execute(
        "CREATE TABLE [outbox] ("
        " [id] INTEGER PRIMARY KEY AUTOINCREMENT,"
        " [channel] TEXT NOT NULL,"
        " [chat] TEXT NOT NULL,"
        " [user_id] INTEGER,"  # NULL for a reply to a user who was just forgotten
        " [update_id] INTEGER,"
        " [reply] TEXT NOT NULL,"  # the engine's reply as JSON: text, buttons, session id, state, version
        " [parts_sent] INTEGER NOT NULL DEFAULT 0,"  # a long reply goes out in parts: how many Telegram accepted
        " [created_at] TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_outbox_chat ON outbox(channel, chat, id)")
    db.execute("CREATE INDEX idx_outbox_user ON outbox(user_id)")
    db.execute(
        db.create_table_sql(
            "handled_updates", {"channel": str, "update_id": int, "created_at": str}, pk=("channel", "update_id"),
            not_null={"channel", "update_id", "created_at"},
        )
    )  # fmt: skip


def _migration_4(db: sqlite_utils.Database) -> None:
    """Sessions ordered by a strictly increasing counter, not a millisecond timestamp: two sessions saved
    in the same millisecond (a practice paused by another one) must still come out in the order used."""
    db.execute("ALTER TABLE sessions ADD COLUMN touched INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE sessions SET touched = (SELECT COUNT(*) FROM sessions AS earlier"
        " WHERE earlier.updated_at < sessions.updated_at"
        " OR (earlier.updated_at = sessions.updated_at AND earlier.id <= sessions.id))"
    )
    db.execute("CREATE INDEX idx_sessions_user_touched ON sessions(user_id, status, touched)")


def _migration_5(db: sqlite_utils.Database) -> None:
    """Teams, invites and managers' score overrides; a user's team, and the weekly digest opt-in.

    `users.role` (admin, manager, rep, partner) is the one source of truth for what a user may see.
    A manager leads one team (`teams.manager_id`); a member belongs to at most one (`users.team_id`).
    An invite code enrols one person, once, before it expires. A manager's override of a score is a row
    of its own beside the scorer's (`score_overrides`): the machine's score is never changed.
    """
    _create_table(
        db, "teams", {"id": int, "manager_id": int, "name": str, "created_at": str},
        foreign_keys=[("manager_id", "users", "id")], not_null={"manager_id", "created_at"},
    )  # fmt: skip
    db.execute("CREATE UNIQUE INDEX idx_teams_manager ON teams(manager_id)")
    db.execute("ALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id)")
    db.execute("ALTER TABLE users ADD COLUMN digest INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX idx_users_team ON users(team_id)")
    _create_table(
        db,
        "invites",
        {"id": int, "code": str, "team_id": int, "role": str, "created_by": int, "created_at": str,
         "expires_at": str, "used_by": int, "used_at": str},
        foreign_keys=[("team_id", "teams", "id"), ("created_by", "users", "id"), ("used_by", "users", "id")],
        not_null={"code", "team_id", "role", "created_by", "created_at", "expires_at"},
    )  # fmt: skip
    db.execute("CREATE UNIQUE INDEX idx_invites_code ON invites(code)")
    _create_table(
        db,
        "score_overrides",
        {"id": int, "score_id": int, "user_id": int, "manager_id": int, "score": int, "disagreed_checks": str,
         "created_at": str},
        foreign_keys=[("score_id", "scores", "id"), ("user_id", "users", "id"), ("manager_id", "users", "id")],
        not_null={"score_id", "user_id", "manager_id", "score", "disagreed_checks", "created_at"},
    )  # fmt: skip
    db.execute("CREATE INDEX idx_score_overrides_score ON score_overrides(score_id, id)")
    db.execute("CREATE INDEX idx_score_overrides_user ON score_overrides(user_id)")
    db.execute("CREATE INDEX idx_turns_created ON turns(created_at)")  # COACH_RETENTION_DAYS prunes by age


def _migration_6(db: sqlite_utils.Database) -> None:
    """Result cards (/man /swot /pitch, read back with /my): one per user, kind and title."""
    _create_table(
        db,
        "result_cards",
        {
            "id": int,
            "user_id": int,
            "session_id": int,
            "kind": str,  # man, swot or pitch
            "title": str,  # as the rep typed it (a dealer's name, a market)
            "title_key": str,  # the title compared without case or spacing: saving it again updates the card
            "data": str,  # JSON
            "created_at": str,
            "updated_at": str,
        },
        foreign_keys=[("user_id", "users", "id"), ("session_id", "sessions", "id")],
        not_null={"user_id", "kind", "title", "title_key", "data", "created_at", "updated_at"},
    )
    db.execute("CREATE UNIQUE INDEX idx_result_cards_user_kind_title ON result_cards(user_id, kind, title_key)")


def _migration_7(db: sqlite_utils.Database) -> None:
    """Lesson quizzes (/learn): every answer, and the Telegram quiz polls they can come from.

    A poll answer carries the poll id and the user but no chat, so each poll Telegram accepted is kept
    with the user, session (and its version), the question it asks (`quiz_key`, "<lesson>:<question>") and
    what choosing each option presses (`presses`, JSON [[trigger, arg], ...]).
    """
    _create_table(
        db,
        "quiz_answers",
        {
            "id": int,
            "user_id": int,
            "session_id": int,
            "lesson": str,
            "question": int,
            "chosen": int,
            "correct": int,
            "channel": str,
            "answered_at": str,
        },
        foreign_keys=[("user_id", "users", "id"), ("session_id", "sessions", "id")],
        not_null={"user_id", "lesson", "question", "chosen", "correct", "channel", "answered_at"},
    )
    db.execute("CREATE INDEX idx_quiz_answers_user_lesson ON quiz_answers(user_id, lesson, question)")
    db.execute(
        db.create_table_sql(
            "quiz_polls",
            {"poll_id": str, "user_id": int, "session_id": int, "version": int, "quiz_key": str, "chat": str,
             "presses": str, "created_at": str},
            pk="poll_id", foreign_keys=[("user_id", "users", "id"), ("session_id", "sessions", "id")],
            not_null={"poll_id", "user_id", "session_id", "quiz_key", "chat", "presses", "created_at"},
        )
    )  # fmt: skip
    db.execute("CREATE INDEX idx_quiz_polls_user ON quiz_polls(user_id)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1, _migration_2, _migration_3, _migration_4, _migration_5, _migration_6, _migration_7,
]  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)
_NEXT_TOUCH = "(SELECT COALESCE(MAX(touched), 0) + 1 FROM sessions)"  # the order sessions were last saved in


BUSY_TIMEOUT_MS = 45_000  # a lock held by another process for up to 30 s delays a write, never fails it


class StorageError(Exception):
    """The database cannot be opened or is newer than this code."""


class StaleSession(Exception):
    """The user's sessions changed between reading them and saving the turn: read and step again."""


def _connect(path: str, synchronous: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path!r}: {exc}") from exc
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten (see /forget_me)
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database file and truncate it, so no old frame keeps deleted text."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


@dataclass(frozen=True)
class UserRow:
    id: int
    channel: str
    external_id: str
    name: str
    locale: str
    role: str
    learner: str | None = None
    reminder: bool = False


class Storage:
    def __init__(self, path: str | Path):
        self.path = str(path)
        conn = _connect(self.path, "NORMAL")
        self.db = sqlite_utils.Database(conn)
        try:
            self._migrate()
            conn.execute("BEGIN IMMEDIATE")  # fails now, not at the first message, if we cannot write
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(f"cannot write to database {self.path!r}: {exc}") from exc

    def close(self) -> None:
        self.db.conn.close()

    # --- schema -------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StorageError(f"database {self.path!r} has schema {version}, newer than this code ({SCHEMA_VERSION})")
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        with _transaction(self.db.conn):
            yield

    def checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it (after /forget_me)."""
        _checkpoint(self.db.conn)

    # --- users ------------------------------------------------------------------------

    def ensure_user(self, channel: str, external_id: str, name: str, language_code: str, locale: str) -> UserRow:
        """The user, created on first contact; the display name is kept current."""
        row = self.db.execute(
            "SELECT id, name, locale, role, learner, reminder FROM users WHERE channel = ? AND external_id = ?",
            [channel, external_id],
        ).fetchone()
        stamp = now()
        if row is None:
            cursor = self.db.execute(
                "INSERT INTO users (channel, external_id, name, language_code, locale, role, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'rep', ?, ?)",
                [channel, external_id, name, language_code, locale, stamp, stamp],
            )
            return UserRow(cursor.lastrowid, channel, external_id, name, locale, "rep")
        user_id, old_name, saved_locale, role, learner, reminder = row
        if name and name != old_name:
            self.db.execute("UPDATE users SET name = ?, updated_at = ? WHERE id = ?", [name, stamp, user_id])
        return UserRow(
            user_id, channel, external_id, name or old_name or "", saved_locale, role, learner, bool(reminder)
        )

    def update_settings(self, user_id: int, *, learner: str | None = None, reminder: bool | None = None) -> None:
        if learner is not None:
            self.db.execute("UPDATE users SET learner = ?, updated_at = ? WHERE id = ?", [learner, now(), user_id])
        if reminder is not None:
            self.db.execute(
                "UPDATE users SET reminder = ?, updated_at = ? WHERE id = ?", [int(reminder), now(), user_id]
            )

    # --- the drill deck ------------------------------------------------------------------

    def drill_cards(self, user_id: int) -> list[DrillCard]:
        rows = self.db.execute(
            "SELECT objection_id, fsrs, due, weak, reviews, last_score FROM drill_cards WHERE user_id = ? ORDER BY id",
            [user_id],
        ).fetchall()
        return [
            DrillCard(oid, json.loads(fsrs), datetime.fromisoformat(due), bool(weak), reviews, last_score)
            for oid, fsrs, due, weak, reviews, last_score in rows
        ]

    def save_drill_card(self, user_id: int, card: DrillCard) -> None:
        stamp = now()
        self.db.execute(
            "INSERT INTO drill_cards"
            " (user_id, objection_id, fsrs, due, weak, reviews, last_score, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(user_id, objection_id) DO UPDATE SET fsrs = excluded.fsrs, due = excluded.due,"
            " weak = excluded.weak, reviews = excluded.reviews, last_score = excluded.last_score,"
            " updated_at = excluded.updated_at",
            [user_id, card.objection_id, json.dumps(card.fsrs), card.due.isoformat(), int(card.weak), card.reviews,
             card.last_score, stamp, stamp],
        )  # fmt: skip

    def reminder_users(self) -> list[UserRow]:
        """Users who opted in to the daily drill reminder."""
        rows = self.db.execute(
            "SELECT id, channel, external_id, name, locale, role, learner, reminder FROM users WHERE reminder = 1"
            " ORDER BY id"
        ).fetchall()
        return [UserRow(*row[:7], bool(row[7])) for row in rows]

    def forget_user(self, user_id: int) -> None:
        """Delete everything stored about a user (team ties, quiz answers, scores, result cards, turns, sessions,
        drill cards, queued replies, the user)."""
        self._forget_team_ties(user_id)
        tables = ("quiz_polls", "quiz_answers", "scores", "result_cards", "turns", "sessions", "drill_cards", "outbox")
        for table in tables:
            self.db.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])
        self.db.execute("DELETE FROM users WHERE id = ?", [user_id])

    def _forget_team_ties(self, user_id: int) -> None:
        """A forgotten user's overrides (given and received), invites, and the team they lead."""
        self.db.execute("DELETE FROM score_overrides WHERE user_id = ? OR manager_id = ?", [user_id, user_id])
        self.db.execute("DELETE FROM invites WHERE created_by = ? OR used_by = ?", [user_id, user_id])
        led = [row[0] for row in self.db.execute("SELECT id FROM teams WHERE manager_id = ?", [user_id])]
        for team_id in led:  # the members stay, without a team; the team's open invites go with it
            self.db.execute("UPDATE users SET team_id = NULL, updated_at = ? WHERE team_id = ?", [now(), team_id])
            self.db.execute("DELETE FROM invites WHERE team_id = ?", [team_id])
            self.db.execute("DELETE FROM teams WHERE id = ?", [team_id])

    # --- roles, teams, invites, overrides -----------------------------------------------------

    def set_role(self, user_id: int, role: str) -> None:
        self.db.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?", [role, now(), user_id])

    def sync_staff(self, channel: str, roles: dict[str, str]) -> list[UserRow]:
        """Give the configured staff (external id -> admin/manager) their role and take it from anyone no longer
        configured (they become reps); returns the users whose role changed."""
        rows = self.db.execute(
            "SELECT id, channel, external_id, name, locale, role, learner, reminder FROM users"
            " WHERE channel = ? AND (role IN ('admin', 'manager') OR external_id IN (SELECT value FROM json_each(?)))",
            [channel, json.dumps(list(roles))],
        ).fetchall()
        changed = []
        for row in rows:
            user = UserRow(*row[:7], bool(row[7]))
            wanted = roles.get(user.external_id, "rep")
            if wanted != user.role:
                self.set_role(user.id, wanted)
                changed.append(UserRow(*row[:5], wanted, row[6], bool(row[7])))
        return changed

    def staff_users(self) -> list[UserRow]:
        """Every manager and admin."""
        rows = self.db.execute(
            "SELECT id, channel, external_id, name, locale, role, learner, reminder FROM users"
            " WHERE role IN ('manager', 'admin') ORDER BY id"
        ).fetchall()
        return [UserRow(*row[:7], bool(row[7])) for row in rows]

    def ensure_team(self, manager_id: int, name: str) -> int:
        """The id of the team this manager leads, created on first use."""
        row = self.db.execute("SELECT id FROM teams WHERE manager_id = ?", [manager_id]).fetchone()
        if row:
            return row[0]
        cursor = self.db.execute(
            "INSERT INTO teams (manager_id, name, created_at) VALUES (?, ?, ?)", [manager_id, name, now()]
        )
        return cursor.lastrowid

    def create_invite(self, *, code: str, team_id: int, role: str, created_by: int, expires_at: str) -> None:
        self.db.execute(
            "INSERT INTO invites (code, team_id, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            [code, team_id, role, created_by, now(), expires_at],
        )

    def redeem_invite(self, code: str, user_id: int, at: str) -> tuple[int, str] | None:
        """Use an open, unexpired invite for `user_id`: they join its team with its role. Returns (team id, role),
        or None if the code is unknown, used or expired (checked in the same statement that marks it used)."""
        cursor = self.db.execute(
            "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL AND expires_at > ?",
            [user_id, at, code, at],
        )
        if not cursor.rowcount:
            return None
        team_id, role = self.db.execute("SELECT team_id, role FROM invites WHERE code = ?", [code]).fetchone()
        self.db.execute(
            "UPDATE users SET team_id = ?, role = ?, learner = ?, updated_at = ? WHERE id = ?",
            [team_id, role, role, now(), user_id],
        )
        return team_id, role

    def add_override(self, *, score_id: int, manager_id: int, score: int, disagreed_checks: list[str]) -> None:
        """A manager's score for an answer, beside the scorer's (which is never changed)."""
        self.db.execute(
            "INSERT INTO score_overrides (score_id, user_id, manager_id, score, disagreed_checks, created_at)"
            " SELECT id, user_id, ?, ?, ?, ? FROM scores WHERE id = ?",
            [manager_id, score, json.dumps(disagreed_checks), now(), score_id],
        )

    def set_digest(self, user_id: int, on: bool) -> None:
        self.db.execute("UPDATE users SET digest = ?, updated_at = ? WHERE id = ?", [int(on), now(), user_id])

    def digest_managers(self) -> list[UserRow]:
        """Managers and admins who opted in to the weekly digest."""
        rows = self.db.execute(
            "SELECT id, channel, external_id, name, locale, role, learner, reminder FROM users"
            " WHERE digest = 1 AND role IN ('manager', 'admin') ORDER BY id"
        ).fetchall()
        return [UserRow(*row[:7], bool(row[7])) for row in rows]

    def prune_turns(self, before: str) -> int:
        """Delete every turn logged before `before` (ISO time; COACH_RETENTION_DAYS); returns how many."""
        return self.db.execute("DELETE FROM turns WHERE created_at < ?", [before]).rowcount

    def set_locale(self, user_id: int, locale: str) -> None:
        self.db.execute("UPDATE users SET locale = ?, updated_at = ? WHERE id = ?", [locale, now(), user_id])

    # --- result cards (/man /swot /pitch, /my) --------------------------------------------

    def save_result_card(self, user_id: int, session_id: int | None, kind: str, title: str, data: dict) -> int:
        """Insert the card, or update the user's card of this kind with the same title; returns its id."""
        stamp = now()
        self.db.execute(
            "INSERT INTO result_cards (user_id, session_id, kind, title, title_key, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(user_id, kind, title_key) DO UPDATE SET session_id = excluded.session_id,"
            " title = excluded.title, data = excluded.data, updated_at = excluded.updated_at",
            [user_id, session_id, kind, title, title_key(title), json.dumps(data, ensure_ascii=False), stamp, stamp],
        )
        return self.db.execute(
            "SELECT id FROM result_cards WHERE user_id = ? AND kind = ? AND title_key = ?",
            [user_id, kind, title_key(title)],
        ).fetchone()[0]

    def result_cards(self, user_id: int) -> list[ResultCard]:
        """A user's cards, the one updated last first."""
        rows = self.db.execute(
            "SELECT id, kind, title, data, created_at, updated_at, session_id FROM result_cards WHERE user_id = ?"
            " ORDER BY updated_at DESC, id DESC",
            [user_id],
        ).fetchall()
        return [ResultCard(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in rows]

    def delete_result_card(self, user_id: int, card_id: int) -> bool:
        """Delete one of the user's cards (another user's card id deletes nothing); whether it was there."""
        cursor = self.db.execute("DELETE FROM result_cards WHERE id = ? AND user_id = ?", [card_id, user_id])
        return cursor.rowcount > 0

    # --- sessions -----------------------------------------------------------------------

    def active_sessions(self, user_id: int) -> list[SessionRecord]:
        """A user's unfinished sessions, the one used most recently first (the others are paused)."""
        rows = self.db.execute(
            "SELECT id, flow, state, data, status, version FROM sessions WHERE user_id = ? AND status = 'active'"
            " ORDER BY touched DESC",
            [user_id],
        ).fetchall()
        return [SessionRecord(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4], r[5]) for r in rows]

    def last_closed_session(self, user_id: int, flow: str) -> SessionRecord | None:
        """The user's most recently used session of `flow` that is finished or cancelled."""
        row = self.db.execute(
            "SELECT id, flow, state, data, status, version FROM sessions"
            " WHERE user_id = ? AND flow = ? AND status != 'active' ORDER BY touched DESC LIMIT 1",
            [user_id, flow],
        ).fetchone()
        return SessionRecord(row[0], row[1], row[2], json.loads(row[3] or "{}"), row[4], row[5]) if row else None

    def finished_session(self, user_id: int, session_id: int) -> SessionRecord | None:
        """One of the user's finished sessions (its last screen may still be paged through), or None."""
        r = self.db.execute(
            "SELECT id, flow, state, data, status, version FROM sessions WHERE id = ? AND user_id = ?"
            " AND status = 'finished'",
            [session_id, user_id],
        ).fetchone()
        return SessionRecord(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4], r[5]) if r else None

    def session_versions(self, user_id: int) -> list[tuple[int, int]]:
        """(id, version) of a user's active sessions: what a turn checks before it saves."""
        return self.db.execute(
            "SELECT id, version FROM sessions WHERE user_id = ? AND status = 'active' ORDER BY id", [user_id]
        ).fetchall()

    def active_session(self, user_id: int) -> SessionRecord | None:
        """The session the user is in now, if any."""
        sessions = self.active_sessions(user_id)
        return sessions[0] if sessions else None

    def save_session(self, user_id: int, session: SessionRecord) -> int:
        """Insert or update the session; returns its id."""
        data = json.dumps(session.data, ensure_ascii=False)
        stamp = now()
        if session.id is None:
            cursor = self.db.execute(
                "INSERT INTO sessions (user_id, flow, state, data, status, version, created_at, updated_at, touched)"
                f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {_NEXT_TOUCH})",
                [user_id, session.flow, session.state, data, session.status, session.version, stamp, stamp],
            )
            return cursor.lastrowid
        self.db.execute(
            f"UPDATE sessions SET state = ?, data = ?, status = ?, version = ?, updated_at = ?, touched = {_NEXT_TOUCH}"
            " WHERE id = ? AND user_id = ?",
            [session.state, data, session.status, session.version, stamp, session.id, user_id],
        )
        return session.id

    # --- turns and scores -----------------------------------------------------------------

    def update_seen(self, update_id: int, channel: str = "telegram") -> bool:
        """Whether an incoming update with this id was already processed."""
        row = self.db.execute(
            "SELECT 1 FROM handled_updates WHERE channel = ? AND update_id = ?"
            " UNION ALL SELECT 1 FROM turns WHERE update_id = ? AND direction = 'in' LIMIT 1",
            [channel, update_id, update_id],
        ).fetchone()
        return row is not None

    def mark_update_handled(self, update_id: int, channel: str = "telegram") -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO handled_updates (channel, update_id, created_at) VALUES (?, ?, ?)",
            [channel, update_id, now()],
        )

    # --- the outbox -------------------------------------------------------------------------

    def queue_reply(self, *, channel: str, chat: str, user_id: int | None, update_id: int | None, reply: str) -> int:
        """Store a reply to send (in the turn's transaction); it stays until `reply_sent`."""
        cursor = self.db.execute(
            "INSERT INTO outbox (channel, chat, user_id, update_id, reply, parts_sent, created_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?)",
            [channel, chat, user_id, update_id, reply, now()],
        )
        return cursor.lastrowid

    def queued_replies(self, channel: str, chat: str) -> list[tuple[int, str, int]]:
        """(outbox id, reply JSON, parts already sent) of a chat's unsent replies, oldest first."""
        return self.db.execute(
            "SELECT id, reply, parts_sent FROM outbox WHERE channel = ? AND chat = ? ORDER BY id", [channel, chat]
        ).fetchall()

    def chats_with_queued_replies(self, channel: str) -> list[str]:
        rows = self.db.execute("SELECT DISTINCT chat FROM outbox WHERE channel = ? ORDER BY chat", [channel])
        return [row[0] for row in rows.fetchall()]

    def reply_parts_sent(self, outbox_id: int, parts: int) -> None:
        self.db.execute("UPDATE outbox SET parts_sent = ? WHERE id = ?", [parts, outbox_id])

    def reply_sent(self, outbox_id: int) -> None:
        self.db.execute("DELETE FROM outbox WHERE id = ?", [outbox_id])

    def add_turn(
        self,
        *,
        user_id: int,
        session_id: int | None,
        direction: str,
        text: str,
        state: str | None = None,
        event: str | None = None,
        update_id: int | None = None,
        score: int | None = None,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO turns (session_id, user_id, update_id, direction, event, state, text, score, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session_id, user_id, update_id, direction, event, state, text, score, now()],
        )
        return cursor.lastrowid

    def add_score(self, *, user_id: int, session_id: int, flow: str, step: str, score: int, checks: list) -> None:
        self.db.execute(
            "INSERT INTO scores (session_id, user_id, flow, step, score, checks, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [session_id, user_id, flow, step, score, json.dumps(checks, ensure_ascii=False), now()],
        )

    # --- lesson quizzes (/learn) ------------------------------------------------------------

    def add_quiz_answer(
        self, *, user_id: int, session_id: int | None, lesson: str, question: int, chosen: int, correct: bool
    ) -> None:
        """One answer to a lesson's question; the channel is the user's own (console, telegram)."""
        self.db.execute(
            "INSERT INTO quiz_answers (user_id, session_id, lesson, question, chosen, correct, channel, answered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, (SELECT channel FROM users WHERE id = ?), ?)",
            [user_id, session_id, lesson, question, chosen, int(correct), user_id, now()],
        )

    def quiz_answers(self, user_id: int) -> list[dict[str, Any]]:
        """Every quiz answer of a user, oldest first."""
        return list(self.db["quiz_answers"].rows_where("user_id = ?", [user_id], order_by="id"))

    def quiz_results(self, user_id: int) -> dict[str, dict[int, bool]]:
        """Per lesson, per question: whether the user's latest answer to it was right."""
        results: dict[str, dict[int, bool]] = {}
        rows = self.db.execute(
            "SELECT lesson, question, correct FROM quiz_answers WHERE user_id = ? ORDER BY id", [user_id]
        ).fetchall()
        for lesson, question, correct in rows:  # later answers overwrite earlier ones
            results.setdefault(lesson, {})[question] = bool(correct)
        return results

    def save_quiz_poll(self, *, poll_id: str, user_id: int, session_id: int, version: int | None, quiz_key: str,
                       chat: str, presses: list[tuple[str, str]]) -> None:  # fmt: skip
        """A quiz poll Telegram accepted: what it asks, for whom, in which session (and version), and the
        (trigger, arg) each option stands for."""
        self.db.execute(
            "INSERT OR REPLACE INTO quiz_polls"
            " (poll_id, user_id, session_id, version, quiz_key, chat, presses, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [poll_id, user_id, session_id, version, quiz_key, chat, json.dumps(presses), now()],
        )

    def quiz_poll(self, poll_id: str) -> dict[str, Any] | None:
        """The poll sent with this id (`presses` decoded), or None for a poll we never sent (or whose user
        was forgotten)."""
        rows = list(self.db["quiz_polls"].rows_where("poll_id = ?", [poll_id]))
        return {**rows[0], "presses": json.loads(rows[0]["presses"])} if rows else None

    # --- reading ---------------------------------------------------------------------------

    def turns(self, user_id: int | None = None) -> list[dict[str, Any]]:
        where = "user_id = ?" if user_id is not None else None
        args = [user_id] if user_id is not None else None
        return list(self.db["turns"].rows_where(where, args, order_by="id"))

    def scores(self, user_id: int | None = None) -> list[dict[str, Any]]:
        where = "user_id = ?" if user_id is not None else None
        args = [user_id] if user_id is not None else None
        return list(self.db["scores"].rows_where(where, args, order_by="id"))

    def find_user(self, channel: str, external_id: str) -> UserRow | None:
        row = self.db.execute(
            "SELECT id, channel, external_id, name, locale, role, learner, reminder FROM users"
            " WHERE channel = ? AND external_id = ?",
            [channel, external_id],
        ).fetchone()
        return UserRow(*row[:7], bool(row[7])) if row else None


class Inbox:
    """Incoming updates, stored before they are acknowledged and marked once their turn committed.

    A handled update keeps its row, without its payload, for a while: Telegram may deliver it
    again, and the row tells that it was seen. /forget_me deletes a user's rows.
    """

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS inbox (channel TEXT NOT NULL, update_id INTEGER NOT NULL,"
        " sender TEXT, payload TEXT, received_at TEXT NOT NULL, handled_at TEXT,"
        " PRIMARY KEY (channel, update_id))",
        "CREATE INDEX IF NOT EXISTS idx_inbox_sender ON inbox(channel, sender)",
    )

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.conn = _connect(self.path, "FULL")  # an update stored here has been acknowledged: it must survive
        self._lock = threading.Lock()
        try:
            with self._lock, _transaction(self.conn):
                for statement in self.SCHEMA:
                    self.conn.execute(statement)
        except sqlite3.Error as exc:
            self.conn.close()
            raise StorageError(f"cannot write to the inbox {self.path!r}: {exc}") from exc

    @classmethod
    def beside(cls, storage: Storage) -> Inbox:
        """The inbox file next to the main database (`coach.db` -> `coach.db-inbox`)."""
        return cls(f"{storage.path}-inbox")

    def close(self) -> None:
        self.conn.close()

    def store(self, channel: str, updates: list[tuple[int, str | None, str]]) -> list[int]:
        """Store (update id, sender, payload JSON) in one commit; returns the ids not seen before."""
        new = []
        with self._lock, _transaction(self.conn):
            stamp = now()
            for update_id, sender, payload in updates:
                cursor = self.conn.execute(
                    "INSERT OR IGNORE INTO inbox (channel, update_id, sender, payload, received_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [channel, update_id, sender, payload, stamp],
                )
                if cursor.rowcount:
                    new.append(update_id)
        return new

    def pending(self, channel: str) -> list[tuple[int, str]]:
        """(update id, payload JSON) of every stored update not yet handled, in order."""
        with self._lock:
            return self.conn.execute(
                "SELECT update_id, payload FROM inbox WHERE channel = ? AND handled_at IS NULL ORDER BY update_id",
                [channel],
            ).fetchall()

    def mark_handled(self, channel: str, update_id: int) -> None:
        """Idempotent; the payload (the user's text) is dropped, the id kept to recognise a redelivery."""
        with self._lock:
            self.conn.execute(
                "UPDATE inbox SET payload = NULL, handled_at = ? WHERE channel = ? AND update_id = ?",
                [now(), channel, update_id],
            )

    def forget(self, channel: str, sender: str, up_to: int | None = None) -> None:
        """Blank every row of a user up to update `up_to` (all when None) and truncate the WAL (/forget_me).

        What is left of a row is (channel, update id): no text, no sender, enough to recognise a
        redelivery of an update already handled. Updates the user sent after `up_to` stay: they come
        from the user starting afresh.
        """
        with self._lock:
            self.conn.execute(
                "UPDATE inbox SET sender = NULL, payload = NULL, handled_at = coalesce(handled_at, ?)"
                " WHERE channel = ? AND sender = ? AND update_id <= ?",
                [now(), channel, sender, up_to if up_to is not None else 2**62],
            )
            _checkpoint(self.conn)

    def prune(self, before: str) -> int:
        """Delete handled rows received before `before` (ISO time); Telegram redelivers for a day at most."""
        with self._lock:
            cursor = self.conn.execute("DELETE FROM inbox WHERE handled_at IS NOT NULL AND received_at < ?", [before])
            return cursor.rowcount
