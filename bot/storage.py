"""The session log in SQLite: the only module that writes SQL.

Tables (see MIGRATIONS): users, sessions, turns, scores. WAL mode; the schema
version lives in `PRAGMA user_version` and every change to it is a new
migration appended to MIGRATIONS, never an edit of an old one.

sqlite-utils creates and reads the tables. Writes that must land together (a
turn, the session state it produced and its scores) go through `transaction()`,
which uses plain statements because sqlite-utils' own write helpers commit
on their own.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from dialogs.engine import DrillCard, SessionRecord


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2]
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(Exception):
    """The database cannot be opened or is newer than this code."""


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
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path!r}: {exc}") from exc
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA synchronous=NORMAL")
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
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

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
        """Delete everything stored about a user (their scores, turns, sessions, drill cards and the user row)."""
        for table in ("scores", "turns", "sessions", "drill_cards"):
            self.db.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])
        self.db.execute("DELETE FROM users WHERE id = ?", [user_id])

    def set_locale(self, user_id: int, locale: str) -> None:
        self.db.execute("UPDATE users SET locale = ?, updated_at = ? WHERE id = ?", [locale, now(), user_id])

    # --- sessions -----------------------------------------------------------------------

    def active_sessions(self, user_id: int) -> list[SessionRecord]:
        """A user's unfinished sessions, the one used most recently first (the others are paused)."""
        rows = self.db.execute(
            "SELECT id, flow, state, data, status FROM sessions WHERE user_id = ? AND status = 'active'"
            " ORDER BY updated_at DESC, id DESC",
            [user_id],
        ).fetchall()
        return [SessionRecord(r[0], r[1], r[2], json.loads(r[3] or "{}"), r[4]) for r in rows]

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
                "INSERT INTO sessions (user_id, flow, state, data, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [user_id, session.flow, session.state, data, session.status, stamp, stamp],
            )
            return cursor.lastrowid
        self.db.execute(
            "UPDATE sessions SET state = ?, data = ?, status = ?, updated_at = ? WHERE id = ? AND user_id = ?",
            [session.state, data, session.status, stamp, session.id, user_id],
        )
        return session.id

    # --- turns and scores -----------------------------------------------------------------

    def update_seen(self, update_id: int) -> bool:
        """Whether an incoming update with this id was already processed."""
        row = self.db.execute(
            "SELECT 1 FROM turns WHERE update_id = ? AND direction = 'in' LIMIT 1", [update_id]
        ).fetchone()
        return row is not None

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
