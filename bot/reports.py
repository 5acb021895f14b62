"""Read-only queries over the session log, for managers: summaries, score history, the log to export.

Everything here opens the database with `mode=ro` and only reads: the bot may be
writing at the same moment (WAL lets readers and the one writer work side by side),
and `bot/storage.py` stays the only module that writes SQL. Functions return plain
data (dataclasses, dicts, tuples) so the terminal report, the exports, the charts and
later the Telegram commands all format the same facts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.pack import STEP_IDS

# The scores that measure a communication step: the course and the role-play (drill scores are per objection card).
STEP_FLOWS = ("course", "roleplay")


class ReportError(Exception):
    """The database cannot be read; the message says what to do."""


@contextmanager
def read_only(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A connection that can only read the log at `path`, closed on exit."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"no database at {str(path)!r}: start the bot or `coach chat` first, or pass --db FILE")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("SELECT 1 FROM users LIMIT 1")
    except sqlite3.Error as exc:
        raise ReportError(f"cannot read {str(path)!r} as a Channel Coach log: {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()


@dataclass(frozen=True)
class LearnerSummary:
    """One learner's practice at a glance."""

    user_id: int
    name: str
    sessions: int
    last_activity: str | None  # ISO time of their latest turn
    step_averages: dict[str, float] = field(default_factory=dict)  # step id -> mean score, steps practised only

    @property
    def weakest_step(self) -> str | None:
        """The practised step with the lowest average (the earlier step on a tie)."""
        if not self.step_averages:
            return None
        return min(self.step_averages, key=lambda step: (self.step_averages[step], STEP_IDS.index(step)))


def learner_summaries(conn: sqlite3.Connection) -> list[LearnerSummary]:
    """Every learner, most recently active first."""
    users = conn.execute(
        "SELECT u.id, COALESCE(NULLIF(u.name, ''), u.external_id),"
        " (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id),"
        " (SELECT MAX(t.created_at) FROM turns t WHERE t.user_id = u.id)"
        " FROM users u"
    ).fetchall()
    averages: dict[int, dict[str, float]] = {}
    for user_id, step, average in _step_averages(conn, by_user=True):
        averages.setdefault(user_id, {})[step] = average
    summaries = [
        LearnerSummary(user_id, name, sessions, last, _in_step_order(averages.get(user_id, {})))
        for user_id, name, sessions, last in users
    ]
    return sorted(summaries, key=lambda s: (s.last_activity or "", -s.user_id), reverse=True)


def team_step_averages(conn: sqlite3.Connection) -> dict[str, float]:
    """The mean score per step over every learner's course and role-play answers."""
    return _in_step_order({step: average for _, step, average in _step_averages(conn, by_user=False)})


def step_history(conn: sqlite3.Connection, user_id: int) -> list[tuple[str, str, int]]:
    """A learner's step scores in time order: (ISO time, step id, score)."""
    marks = ", ".join("?" * len(STEP_FLOWS))
    return [
        tuple(row)
        for row in conn.execute(
            f"SELECT created_at, step, score FROM scores WHERE user_id = ? AND flow IN ({marks}) ORDER BY id",
            [user_id, *STEP_FLOWS],
        )
    ]


def find_learner(conn: sqlite3.Connection, who: str) -> int | None:
    """The id of the learner named `who`, or whose id or external id it is."""
    row = conn.execute(
        "SELECT id FROM users WHERE CAST(id AS TEXT) = ? OR external_id = ? OR name = ? ORDER BY id LIMIT 1",
        [who, who, who],
    ).fetchone()
    return row[0] if row else None


# --- the log, for exports ----------------------------------------------------------------

LOG_COLUMNS = ("turn_id", "time", "user_id", "name", "flow", "session_id", "direction", "state", "text", "score")


def count_log(conn: sqlite3.Connection, since: str | None = None) -> int:
    """How many turns `log_rows` would yield."""
    where, args = _since(since)
    return conn.execute(f"SELECT COUNT(*) FROM turns t {where}", args).fetchone()[0]


def log_rows(conn: sqlite3.Connection, since: str | None = None) -> Iterator[tuple]:
    """Every turn (oldest first) with who and which flow, as LOG_COLUMNS; streamed, not loaded at once."""
    where, args = _since(since)
    cursor = conn.execute(
        "SELECT t.id, t.created_at, t.user_id, COALESCE(NULLIF(u.name, ''), u.external_id), s.flow, t.session_id,"
        " t.direction, t.state, t.text, t.score"
        " FROM turns t JOIN users u ON u.id = t.user_id LEFT JOIN sessions s ON s.id = t.session_id"
        f" {where} ORDER BY t.id",
        args,
    )
    while batch := cursor.fetchmany(500):
        yield from batch


def _since(since: str | None) -> tuple[str, list]:
    # created_at is an ISO-8601 UTC string, so comparing strings compares times.
    return ("WHERE t.created_at >= ?", [since]) if since else ("", [])


def _step_averages(conn: sqlite3.Connection, by_user: bool) -> list[tuple]:
    flows = ", ".join("?" * len(STEP_FLOWS))
    steps = ", ".join("?" * len(STEP_IDS))
    group = "user_id, step" if by_user else "step"
    rows = conn.execute(
        f"SELECT {'user_id' if by_user else 'NULL'}, step, ROUND(AVG(score), 1) FROM scores"
        f" WHERE flow IN ({flows}) AND step IN ({steps}) GROUP BY {group}",
        [*STEP_FLOWS, *STEP_IDS],
    ).fetchall()
    return rows


def _in_step_order(averages: dict[str, float]) -> dict[str, float]:
    return {step: averages[step] for step in STEP_IDS if step in averages}
