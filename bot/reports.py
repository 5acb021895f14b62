"""Read-only queries over the session log, for managers: summaries, score history, the log to export.

Everything here opens the database with `mode=ro` and only reads: the bot may be
writing at the same moment (WAL lets readers and the one writer work side by side),
and `bot/storage.py` stays the only module that writes SQL. Functions return plain
data (dataclasses, dicts, tuples) so the terminal report, the exports, the charts and
later the Telegram commands all format the same facts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.pack import STEP_IDS

# The scores that measure a communication step: the course and the role-play (drill scores are per objection card).
STEP_FLOWS = ("course", "roleplay")
# Flows that show what is stored rather than practise (dialogs/flows/{team,rep,export,invite,progress}.yaml):
# their sessions are not counted as practice.
VIEWING_FLOWS = ("team", "rep", "export", "invite", "progress")
MANAGER_ROLES = ("manager", "admin")


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


def learner_summaries(conn: sqlite3.Connection, user_ids: Iterable[int] | None = None) -> list[LearnerSummary]:
    """Every learner (or those in `user_ids`), most recently active first."""
    where, args = ("", []) if user_ids is None else ("WHERE u.id IN (SELECT value FROM json_each(?))", [_ids(user_ids)])
    users = conn.execute(
        "SELECT u.id, COALESCE(NULLIF(u.name, ''), u.external_id),"
        f" (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.flow NOT IN {VIEWING_FLOWS}),"
        " (SELECT MAX(t.created_at) FROM turns t WHERE t.user_id = u.id)"
        f" FROM users u {where}",
        args,
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


def count_log(conn: sqlite3.Connection, since: str | None = None, user_ids: Iterable[int] | None = None) -> int:
    """How many turns `log_rows` would yield."""
    where, args = _since(since, user_ids)
    return conn.execute(f"SELECT COUNT(*) FROM turns t {where}", args).fetchone()[0]


def log_rows(conn: sqlite3.Connection, since: str | None = None, user_ids: Iterable[int] | None = None
             ) -> Iterator[tuple]:  # fmt: skip
    """Every turn (oldest first; only those of `user_ids` when given) with who and which flow, as LOG_COLUMNS;
    streamed, not loaded at once."""
    where, args = _since(since, user_ids)
    cursor = conn.execute(
        "SELECT t.id, t.created_at, t.user_id, COALESCE(NULLIF(u.name, ''), u.external_id), s.flow, t.session_id,"
        " t.direction, t.state, t.text, t.score"
        " FROM turns t JOIN users u ON u.id = t.user_id LEFT JOIN sessions s ON s.id = t.session_id"
        f" {where} ORDER BY t.id",
        args,
    )
    while batch := cursor.fetchmany(500):
        yield from batch


def _since(since: str | None, user_ids: Iterable[int] | None = None) -> tuple[str, list]:
    # created_at is an ISO-8601 UTC string, so comparing strings compares times.
    clauses, args = [], []
    if since:
        clauses, args = ["t.created_at >= ?"], [since]
    if user_ids is not None:
        clauses.append("t.user_id IN (SELECT value FROM json_each(?))")
        args.append(_ids(user_ids))
    return ("WHERE " + " AND ".join(clauses), args) if clauses else ("", [])


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


def _ids(user_ids: Iterable[int]) -> str:
    return json.dumps(sorted({int(i) for i in user_ids}))


# --- who may see whom (every read of another user's data goes through these) ---------------------


@dataclass(frozen=True)
class Viewer:
    """Who is asking: their role (users.role), and the team they lead if they are a manager."""

    user_id: int
    role: str
    team_id: int | None  # the team this user leads
    member_of: int | None = None  # the team this user belongs to

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES


def viewer(conn: sqlite3.Connection, user_id: int) -> Viewer:
    row = conn.execute(
        "SELECT role, (SELECT id FROM teams WHERE manager_id = users.id), team_id FROM users WHERE id = ?", [user_id]
    ).fetchone()
    return Viewer(user_id, *row) if row else Viewer(user_id, "rep", None)


def can_view(conn: sqlite3.Connection, viewer_id: int, subject_id: int) -> bool:
    """Whether `viewer_id` may read `subject_id`'s sessions, transcripts and scores: themselves, an admin
    anyone, a manager the members of the team they lead; nobody else."""
    if viewer_id == subject_id:
        return True
    row = conn.execute(
        "SELECT v.role, s.team_id, (SELECT id FROM teams WHERE manager_id = v.id)"
        " FROM users v, users s WHERE v.id = ? AND s.id = ?",
        [viewer_id, subject_id],
    ).fetchone()
    if row is None:
        return False
    role, subject_team, led_team = row
    return role == "admin" or (role == "manager" and led_team is not None and subject_team == led_team)


def visible_members(conn: sqlite3.Connection, viewer_id: int) -> list[int]:
    """The learners a manager's team commands show: their team's members; an admin sees every other user."""
    who = viewer(conn, viewer_id)
    if who.role == "admin":
        rows = conn.execute("SELECT id FROM users WHERE id != ? ORDER BY id", [viewer_id])
    elif who.role == "manager" and who.team_id is not None:
        rows = conn.execute("SELECT id FROM users WHERE team_id = ? AND id != ? ORDER BY id", [who.team_id, viewer_id])
    else:
        return []
    return [row[0] for row in rows]


def team_of(conn: sqlite3.Connection, team: str) -> int | None:
    """A team by its id, or by its manager's name, user id or Telegram id."""
    row = conn.execute(
        "SELECT t.id FROM teams t JOIN users m ON m.id = t.manager_id"
        " WHERE CAST(t.id AS TEXT) = ? OR t.name = ? OR m.name = ? OR m.external_id = ? ORDER BY t.id LIMIT 1",
        [team, team, team, team],
    ).fetchone()
    return row[0] if row else None


def team_members(conn: sqlite3.Connection, team_id: int) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM users WHERE team_id = ? ORDER BY id", [team_id])]


def team_names(conn: sqlite3.Connection, user_ids: Iterable[int]) -> dict[int, str]:
    """user id -> the name of their team (its manager's name), for those in a team."""
    rows = conn.execute(
        "SELECT u.id, COALESCE(NULLIF(t.name, ''), m.name, CAST(t.id AS TEXT)) FROM users u"
        " JOIN teams t ON t.id = u.team_id JOIN users m ON m.id = t.manager_id"
        " WHERE u.id IN (SELECT value FROM json_each(?))",
        [_ids(user_ids)],
    )
    return dict(rows.fetchall())


# --- one learner's sessions, transcripts and overrides ----------------------------------------------


@dataclass(frozen=True)
class SessionLine:
    """One session in a list: which flow, when, how many scored answers and their mean."""

    session_id: int
    flow: str
    status: str
    started: str
    answers: int
    average: float | None


def recent_sessions(conn: sqlite3.Connection, user_id: int, limit: int = 8) -> list[SessionLine]:
    """A learner's latest practice sessions (newest first), without the viewing ones."""
    rows = conn.execute(
        "SELECT s.id, s.flow, s.status, s.created_at, COUNT(sc.id), ROUND(AVG(sc.score), 1)"
        " FROM sessions s LEFT JOIN scores sc ON sc.session_id = s.id"
        f" WHERE s.user_id = ? AND s.flow NOT IN {VIEWING_FLOWS} GROUP BY s.id ORDER BY s.id DESC LIMIT ?",
        [user_id, limit],
    ).fetchall()
    return [SessionLine(*row) for row in rows]


@dataclass(frozen=True)
class Override:
    """A manager's score for an answer, beside the machine's."""

    score: int
    disagreed_checks: tuple[str, ...]
    manager: str
    at: str


@dataclass(frozen=True)
class ScoredAnswer:
    """One answer of a transcript: what the learner wrote, the machine's score and checks, managers' overrides."""

    score_id: int
    step: str
    flow: str
    text: str
    score: int
    checks: list[dict]  # {id, passed, tip?, evidence}
    at: str
    overrides: tuple[Override, ...] = ()
    objection: str | None = None  # the role-play's objection (its objection step is scored by that card's checks)

    @property
    def manager_score(self) -> int | None:
        """The latest override, if a manager re-scored it."""
        return self.overrides[-1].score if self.overrides else None


def session_owner(conn: sqlite3.Connection, session_id: int) -> int | None:
    row = conn.execute("SELECT user_id FROM sessions WHERE id = ?", [session_id]).fetchone()
    return row[0] if row else None


def score_owner(conn: sqlite3.Connection, score_id: int) -> int | None:
    row = conn.execute("SELECT user_id FROM scores WHERE id = ?", [score_id]).fetchone()
    return row[0] if row else None


def scored_answers(conn: sqlite3.Connection, *, session_id: int | None = None, score_id: int | None = None,
                   user_id: int | None = None) -> list[ScoredAnswer]:  # fmt: skip
    """The scored answers of a session (or one answer, or all of a learner's), oldest first, each with the
    learner's text (the incoming turn just before the score) and every override."""
    where, args = (
        ("sc.session_id = ?", [session_id]) if session_id is not None
        else ("sc.id = ?", [score_id]) if score_id is not None else ("sc.user_id = ?", [user_id])
    )  # fmt: skip
    rows = conn.execute(
        "SELECT sc.id, sc.step, sc.flow, sc.score, sc.checks, sc.created_at,"
        " (SELECT t.text FROM turns t WHERE t.user_id = sc.user_id AND t.session_id IS sc.session_id"
        "  AND t.direction = 'in' AND t.created_at <= sc.created_at ORDER BY t.id DESC LIMIT 1),"
        " (SELECT json_extract(se.data, '$.objection') FROM sessions se WHERE se.id = sc.session_id)"
        f" FROM scores sc WHERE {where} ORDER BY sc.id",
        args,
    ).fetchall()
    overrides = _overrides(conn, [row[0] for row in rows])
    return [
        ScoredAnswer(
            sid,
            step,
            flow,
            text or "",
            score,
            json.loads(checks or "[]"),
            at,
            overrides.get(sid, ()),
            objection if flow == "roleplay" and step == "objection_handling" else None,
        )
        for sid, step, flow, score, checks, at, text, objection in rows
    ]


def _overrides(conn: sqlite3.Connection, score_ids: list[int]) -> dict[int, tuple[Override, ...]]:
    found: dict[int, list[Override]] = {}
    for score_id, score, disagreed, manager, at in conn.execute(
        "SELECT o.score_id, o.score, o.disagreed_checks, COALESCE(NULLIF(m.name, ''), m.external_id), o.created_at"
        " FROM score_overrides o JOIN users m ON m.id = o.manager_id"
        " WHERE o.score_id IN (SELECT value FROM json_each(?)) ORDER BY o.id",
        [json.dumps(score_ids)],
    ):
        found.setdefault(score_id, []).append(Override(score, tuple(json.loads(disagreed)), manager, at))
    return {k: tuple(v) for k, v in found.items()}


# --- a learner's own progress ---------------------------------------------------------------------


def practice_days(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """The UTC dates (YYYY-MM-DD) on which the learner sent anything in a practice session, newest first."""
    rows = conn.execute(
        "SELECT DISTINCT substr(t.created_at, 1, 10) FROM turns t JOIN sessions s ON s.id = t.session_id"
        f" WHERE t.user_id = ? AND t.direction = 'in' AND s.flow NOT IN {VIEWING_FLOWS} ORDER BY 1 DESC",
        [user_id],
    )
    return [row[0] for row in rows]


# --- calibration: how often managers agree with the scorer -------------------------------------------


@dataclass(frozen=True)
class CheckAgreement:
    """Over every overridden answer that had this check: how many overrides left it undisputed."""

    check_id: str
    overrides: int
    agreed: int

    @property
    def rate(self) -> float:
        return self.agreed / self.overrides if self.overrides else 0.0


def calibration(conn: sqlite3.Connection) -> tuple[list[CheckAgreement], list[tuple[int, int]]]:
    """Per check, how often managers agreed with the scorer; and every (machine score, manager score) pair."""
    counts: dict[str, list[int]] = {}
    pairs = []
    for machine, checks, manager, disagreed in conn.execute(
        "SELECT sc.score, sc.checks, o.score, o.disagreed_checks FROM score_overrides o"
        " JOIN scores sc ON sc.id = o.score_id ORDER BY o.id"
    ):
        pairs.append((machine, manager))
        disputed = set(json.loads(disagreed))
        for check in json.loads(checks or "[]"):
            tally = counts.setdefault(check["id"], [0, 0])
            tally[0] += 1
            tally[1] += check["id"] not in disputed
    rows = [CheckAgreement(check, total, agreed) for check, (total, agreed) in counts.items()]
    return sorted(rows, key=lambda r: (r.rate, r.check_id)), pairs
