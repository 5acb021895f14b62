"""What the manager flows and /progress may read, for one user, with the role checked on every read.

`CoachReader` is the reader the service hands to the engine (see `StorageReader`): a flow
asks it for facts (a team's summaries, a member's sessions, a transcript, the team's log as
a file, a chart) and never touches storage itself. Every method that returns another
user's data asks `bot.reports.can_view` or `visible_members` first, on a read-only
connection of its own (`bot.reports.read_only`), so a rep, a partner or the manager of
another team gets nothing, whatever they type or press; the flows turn that into a polite
refusal. It runs in the service's worker thread (the engine does), never on the event loop,
which is also where the charts are drawn.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot import reports
from bot.effects import StorageReader
from bot.export import export_log

INVITE_STATES = ("open", "used", "expired", "unknown")


class NotAllowed(Exception):
    """The user may not read this (another team's member, or not a manager at all)."""


@dataclass(frozen=True)
class Invite:
    """An invite code as a joining user sees it."""

    state: str  # one of INVITE_STATES
    role: str = ""
    team: str = ""  # its manager's name


@dataclass(frozen=True)
class Member:
    """One row of /team."""

    user_id: int
    name: str
    team: str
    sessions: int
    last_activity: str | None
    step_averages: dict[str, float] = field(default_factory=dict)
    weakest_step: str | None = None


@dataclass(frozen=True)
class CoachReader(StorageReader):
    """The stored facts one user may read (their own; and their team's, if they manage one)."""

    deep_link: Callable[[str], str] | None = None  # invite code -> the bot's t.me link (Telegram only)

    def _conn(self):
        return reports.read_only(self.storage.path)

    def _check(self, conn, subject_id: int | None) -> int:
        if subject_id is None or not reports.can_view(conn, self.user_id, subject_id):
            raise NotAllowed(f"user {self.user_id} may not read user {subject_id}")
        return subject_id

    def _require_manager(self, conn) -> reports.Viewer:
        who = reports.viewer(conn, self.user_id)
        if not who.is_manager:
            raise NotAllowed(f"user {self.user_id} is not a manager")
        return who

    # --- a manager's team ------------------------------------------------------------------------

    def team(self) -> list[Member]:
        """The members this manager may see (an admin: everyone else), most recently active first."""
        with self._conn() as conn:
            self._require_manager(conn)
            ids = reports.visible_members(conn, self.user_id)
            teams = reports.team_names(conn, ids)
            summaries = reports.learner_summaries(conn, ids)
        return [
            Member(s.user_id, s.name, teams.get(s.user_id, ""), s.sessions, s.last_activity, s.step_averages,
                   s.weakest_step)
            for s in summaries
        ]  # fmt: skip

    def find_member(self, who: str) -> Member | None:
        """A member of this manager's team by name (any case), user id or Telegram id; None for anyone else."""
        with self._conn() as conn:
            self._require_manager(conn)
            visible = set(reports.visible_members(conn, self.user_id))
            found = reports.find_learner(conn, who.strip())
        if found not in visible:  # not by exact name, id or Telegram id: a name in another case
            wanted = who.strip().casefold()
            found = next((m.user_id for m in self.team() if m.name.casefold() == wanted), None)
        return self.member(found) if found in visible else None

    def member(self, user_id: int) -> Member | None:
        return next((m for m in self.team() if m.user_id == user_id), None)

    def sessions_of(self, user_id: int, limit: int = 8) -> list[reports.SessionLine]:
        with self._conn() as conn:
            self._require_manager(conn)
            return reports.recent_sessions(conn, self._check(conn, user_id), limit)

    def transcript(self, session_id: int) -> list[reports.ScoredAnswer]:
        """The scored answers of one session, if its learner is visible to this user."""
        with self._conn() as conn:
            self._check(conn, reports.session_owner(conn, session_id))
            return reports.scored_answers(conn, session_id=session_id)

    def answer(self, score_id: int) -> reports.ScoredAnswer | None:
        """One scored answer (for re-scoring), if its learner is visible to this manager."""
        with self._conn() as conn:
            self._require_manager(conn)
            self._check(conn, reports.score_owner(conn, score_id))
            found = reports.scored_answers(conn, score_id=score_id)
        return found[0] if found else None

    def team_log(self, fmt: str) -> tuple[bytes, int]:
        """The team's turns as a CSV or XLSX file (bytes) and how many rows it has."""
        with self._conn() as conn:
            self._require_manager(conn)
            ids = reports.visible_members(conn, self.user_id)
        buffer = io.BytesIO()
        rows = export_log(self.storage.path, buffer, fmt, user_ids=ids)
        return buffer.getvalue(), rows

    def invite_link(self, code: str) -> str | None:
        """The t.me deep link for a code, where the front end has one (Telegram); None in the console."""
        return self.deep_link(code) if self.deep_link else None

    def invite(self, code: str, at: str) -> Invite:
        """What an invite code is now, for the person opening it (no other user's data)."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT i.role, i.used_by, i.expires_at, COALESCE(NULLIF(m.name, ''), m.external_id) FROM invites i"
                " JOIN teams t ON t.id = i.team_id JOIN users m ON m.id = t.manager_id WHERE i.code = ?",
                [code],
            ).fetchone()
        if row is None:
            return Invite("unknown")
        role, used_by, expires_at, team = row
        state = "used" if used_by is not None else "expired" if expires_at <= at else "open"
        return Invite(state, role, team)

    def digest_on(self) -> bool:
        with self._conn() as conn:
            row = conn.execute("SELECT digest FROM users WHERE id = ?", [self.user_id]).fetchone()
        return bool(row and row[0])

    def role(self) -> str:
        with self._conn() as conn:
            return reports.viewer(conn, self.user_id).role

    # --- one's own progress ----------------------------------------------------------------------

    def own_answers(self) -> list[reports.ScoredAnswer]:
        """The user's own scored answers (with any manager's override), oldest first."""
        with self._conn() as conn:
            return reports.scored_answers(conn, user_id=self.user_id)

    def own_practice_days(self) -> list[str]:
        with self._conn() as conn:
            return reports.practice_days(conn, self.user_id)

    # --- charts (drawn here, in the worker thread) ----------------------------------------------------

    def team_chart(self, members: list[Member], step_names: Mapping[str, str], title: str, score_axis: str,
                   pass_mark: int) -> bytes:  # fmt: skip
        """The team's average per step (over the members shown) as a PNG."""
        sums: dict[str, list[float]] = {}
        for member in members:
            for step, average in member.step_averages.items():
                sums.setdefault(step, []).append(average)
        averages = {step: sum(values) / len(values) for step, values in sums.items()}
        from bot import charts  # matplotlib is loaded by the first chart, not at start-up

        return charts.team_average_png(averages, step_names, charts.ChartText(title, score_axis), pass_mark)

    def progress_chart(self, points: list[tuple[datetime, str, int]], step_names: Mapping[str, str], title: str,
                       score_axis: str, time_axis: str, pass_mark: int) -> bytes:  # fmt: skip
        from bot import charts

        scores = [charts.StepScore(at, step, score) for at, step, score in points]
        text = charts.ChartText(title, score_axis, time_axis)
        return charts.learner_progress_png(scores, step_names, text, pass_mark)
