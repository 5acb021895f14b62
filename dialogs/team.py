"""The managers' flows: /team, /rep (transcripts and re-scoring), /export, /invite; and joining a team.

flows/team.yaml    the team at a glance: a line per member and a chart of the team's average per step
flows/rep.yaml     one member: their recent sessions, then a session's answers one page each (score,
                   checks, the quoted evidence, any manager's score); "re-score" asks a number and which
                   checks the manager disagrees with, and stores an override (never touching the machine's)
flows/export.yaml  the team's log as a CSV or XLSX document
flows/invite.yaml  a one-time link that enrols a rep or a partner into the manager's team

Only managers and admins start these (`audience: managers` in the flow files). What is shown is read
through `ctx.reader` (bot/teams.py), which checks on every read that this user may see that learner:
a press or a typed name that points outside the manager's team finds nothing, and the flow says so
politely. Nothing here writes: invites, joining and overrides are effects (dialogs/effects.py).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from functools import cached_property

from dialogs.effects import CreateInvite, JoinTeam, OverrideScore, SetDigest
from dialogs.flow_session import Choice, FlowSession
from dialogs.turn import Attachment, Outcome
from knowledge.pack import STEP_IDS

INVITE_ROLES = ("rep", "partner")
INVITE_DAYS = 7  # an invite link works for a week
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Telegram's deep-link payload
EXPORT_FORMATS = ("csv", "xlsx")
DOCUMENT_LIMIT = 50 * 1024 * 1024  # Telegram's limit for a document a bot sends
SCORE_CHOICES = tuple(range(0, 101, 10))
NUMBER = re.compile(r"[0-9]{1,3}")  # ASCII digits only: "²".isdigit() is true, int("²") fails
ID = re.compile(r"[0-9]{1,18}")  # a user or session id
SESSIONS_SHOWN = 8


def _not_allowed(exc: Exception) -> bool:
    """A refusal of the reader (bot/teams.py NotAllowed), without importing the bot layer."""
    return type(exc).__name__ == "NotAllowed"


class ManagerSession(FlowSession):
    """What the manager flows share: step names, the pass mark, the reader."""

    @property
    def records(self):
        return self.ctx.reader

    def step_name(self, step: str) -> str:
        if step in STEP_IDS:
            return self.local(self.ctx.pack.step(step).title)
        if self.ctx.pack.has_objection(step):  # a drill card's score is per objection
            return self.local(self.ctx.pack.objection(step).text)[:40]
        return step

    def step_names(self) -> dict[str, str]:
        return {step: self.step_name(step) for step in STEP_IDS}

    @property
    def pass_mark(self) -> int:
        return self.ctx.pack.scoring.pass_mark


# --- /team -------------------------------------------------------------------------------------


class TeamSession(ManagerSession):
    @cached_property
    def members(self) -> list:
        return self.records.team() if self.records is not None else []

    def digest_from_arg(self, arg: str = "", **_):
        """`/team digest on` / `/team digest off` (the overview's button) opts in or out of the weekly digest."""
        wanted = {"digest on": True, "digest off": False}.get(" ".join(arg.lower().split()))
        if wanted is not None:
            self.effects.append(SetDigest(wanted))
            self.data["digest"] = wanted

    def digest_is_on(self) -> bool:
        return self.data["digest"] if "digest" in self.data else self.records.digest_on()

    def digest_on_choice(self) -> list[Choice]:
        return [Choice("digest on")]

    def digest_off_choice(self) -> list[Choice]:
        return [Choice("digest off")]

    def overview(self) -> dict:
        rows = [
            {
                "name": m.name,
                "team": m.team,
                "sessions": m.sessions,
                "last": (m.last_activity or "")[:10],
                "averages": [f"{self.step_name(step)} {avg:.0f}" for step, avg in m.step_averages.items()],
                "weakest": self.step_name(m.weakest_step) if m.weakest_step else "",
            }
            for m in self.members
        ]
        return {"members": rows, "admin": self.ctx.user.role == "admin", "digest_changed": "digest" in self.data,
                "digest": self.digest_is_on()}  # fmt: skip

    def member_buttons(self) -> list[Choice]:
        return [Choice(str(m.user_id), m.name[:40] or str(m.user_id)) for m in self.members[:20]]

    def chart(self) -> list[Attachment]:
        if not any(m.step_averages for m in self.members):
            return []
        ui = self.ctx.ui
        png = self.records.team_chart(
            self.members, self.step_names(), str(ui("team.chart_title")), str(ui("team.chart_score")), self.pass_mark
        )
        return [Attachment("photo", "team.png", png, str(ui("team.chart_caption")))]


# --- /rep ----------------------------------------------------------------------------------------


class RepSession(ManagerSession):
    def find_member(self, arg: str = "", **_):
        """`/rep <name or id>`: straight to that member's sessions, if they are in this manager's team."""
        if arg.strip():
            self.pick(arg)
            self.state = "sessions" if self.data.get("member") else "choose"

    def pick(self, text: str = "", **_):
        member = self.records.find_member(text[:100])
        self.data.update(member=member.user_id if member else None, asked=text[:60])

    def found(self, text: str = "", **_) -> bool:
        self.pick(text)
        return self.data.get("member") is not None

    def choose_view(self) -> dict:
        return {"asked": self.data.get("asked", ""), "not_found": bool(self.data.get("asked"))}

    def members(self) -> list[Choice]:
        team = self.records.team() if self.records is not None else []
        return [Choice(str(m.user_id), m.name[:40] or str(m.user_id)) for m in team[:20]]

    def member_pressed(self, arg: str = "", **_) -> bool:
        member = self.records.member(int(arg)) if ID.fullmatch(arg) else None
        self.data.update(member=member.user_id if member else None, asked="")
        return member is not None

    @cached_property
    def member(self):
        if self.records is None:
            return None
        return self.records.member(self.data.get("member") or -1)

    @cached_property
    def sessions(self) -> list:
        if self.member is None:
            return []
        return self.records.sessions_of(self.member.user_id, SESSIONS_SHOWN)

    def sessions_view(self) -> dict:
        return {
            "name": self.member.name if self.member else "",
            "sessions": [
                {"flow": s.flow, "started": s.started[:16].replace("T", " "), "status": s.status,
                 "answers": s.answers, "average": "" if s.average is None else f"{s.average:.0f}"}
                for s in self.sessions
            ],
        }  # fmt: skip

    def session_buttons(self) -> list[Choice]:
        return [
            Choice(str(s.session_id), vars={"flow": s.flow, "started": s.started[5:16].replace("T", " ")})
            for s in self.sessions
            if s.answers
        ]

    def may_open(self, arg: str = "", **_) -> bool:
        """A session of a learner this manager may see, that has scored answers (a forged id finds nothing)."""
        if not ID.fullmatch(arg):
            return False
        try:
            answers = self.records.transcript(int(arg))
        except Exception as exc:
            if _not_allowed(exc):
                return False
            raise
        if not answers:
            return False
        self.data.update(session=int(arg), page=0, pages=len(answers))
        return True

    @cached_property
    def answers(self) -> list:
        """The open session's answers; none outside a session (a getter may be called in any state)."""
        if self.records is None or self.data.get("session") is None:
            return []
        try:
            return self.records.transcript(self.data["session"])
        except Exception as exc:
            if _not_allowed(exc):
                return []
            raise

    def next_page(self, **_):
        self.data["page"] = min(self.data.get("page", 0) + 1, max(len(self.answers) - 1, 0))

    def previous_page(self, **_):
        self.data["page"] = max(self.data.get("page", 0) - 1, 0)

    def has_next(self) -> bool:
        return self.data.get("page", 0) + 1 < len(self.answers)

    def has_previous(self) -> bool:
        return self.data.get("page", 0) > 0

    def _current(self):
        answers = self.answers
        return answers[min(self.data.get("page", 0), len(answers) - 1)] if answers else None

    def _answer_view(self, answer) -> dict:
        described = self._described(answer)
        checks = [
            {"passed": c["passed"], "label": described.get(c["id"], {}).get("label", c["id"]),
             "evidence": c.get("evidence") or "", "tip": described.get(c["id"], {}).get("tip", "")}
            for c in self._shown_checks(answer)
        ]  # fmt: skip
        overrides = [
            {"score": o.score, "manager": o.manager, "at": o.at[:16].replace("T", " "),
             "disagreed": [described.get(i, {}).get("label", i) for i in o.disagreed_checks]}
            for o in answer.overrides
        ]  # fmt: skip
        return {"step": self.step_name(answer.step), "text": answer.text, "score": answer.score, "checks": checks,
                "overrides": overrides, "pass_mark": self.pass_mark}  # fmt: skip

    def _shown_checks(self, answer) -> list[dict]:
        """The rubric's checks, and a harm or guard only where it fired (as the learner's feedback shows them)."""
        described = self._described(answer)
        return [
            c for c in answer.checks if c["id"] in described and not (described[c["id"]]["negative"] and c["passed"])
        ]

    def _described(self, answer) -> dict[str, dict]:
        """The answer's checks with their labels: a drill card and a role-play's objection step by the card's."""
        if answer.flow == "drill":
            kind, key = "objection", answer.step
        elif answer.objection:
            kind, key = "objection", answer.objection
        else:
            kind, key = "step", answer.step
        return {c["id"]: c for c in self.explain_checks(kind, key, answer.checks)}

    def transcript_view(self) -> dict:
        answer = self._current()
        view = self._answer_view(answer) if answer else {}
        return {"name": self.member.name if self.member else "", "page": self.data.get("page", 0) + 1,
                "pages": len(self.answers), "answer": view}  # fmt: skip

    def start_rescore(self, **_):
        answer = self._current()
        self.data.update(score_id=answer.score_id if answer else None, new_score=None, disagreed=[])

    def has_answer(self, **_) -> bool:
        return self._current() is not None

    def score_choices(self) -> list[Choice]:
        return [Choice(str(n), str(n)) for n in SCORE_CHOICES]

    def valid_score(self, arg: str = "", text: str = "", **_) -> bool:
        raw = (arg or text).strip()
        return bool(NUMBER.fullmatch(raw)) and 0 <= int(raw) <= 100

    def keep_score(self, arg: str = "", text: str = "", **_):
        self.data["new_score"] = int((arg or text).strip())

    def rescore_view(self) -> dict:
        answer = self._current()
        return {"score": answer.score if answer else "", "step": self.step_name(answer.step) if answer else ""}

    def _rescored_checks(self) -> list[dict]:
        answer = self._current()
        if answer is None:
            return []
        described = self._described(answer)
        return [{"id": c["id"], "label": described[c["id"]]["label"], "passed": c["passed"]}
                for c in self._shown_checks(answer)]  # fmt: skip

    def check_choices(self) -> list[Choice]:
        disagreed = set(self.data.get("disagreed", []))
        return [
            Choice(str(i), f"{'✗' if c['id'] in disagreed else '·'} {c['label']}"[:60])
            for i, c in enumerate(self._rescored_checks())
        ]

    def toggle_check(self, arg: str = "", **_):
        checks = self._rescored_checks()
        if not NUMBER.fullmatch(arg) or int(arg) >= len(checks):
            return
        check_id = checks[int(arg)]["id"]
        disagreed = self.data.setdefault("disagreed", [])
        if check_id in disagreed:
            disagreed.remove(check_id)
        else:
            disagreed.append(check_id)

    def checks_view(self) -> dict:
        disagreed = set(self.data.get("disagreed", []))
        return {"score": self.data.get("new_score"), "machine": self.rescore_view()["score"],
                "disagreed": [c["label"] for c in self._rescored_checks() if c["id"] in disagreed]}  # fmt: skip

    def may_rescore(self, **_) -> bool:
        """The answer is still one this manager may see (read again, not trusted from the session data)."""
        score_id = self.data.get("score_id")
        try:
            return score_id is not None and self.records.answer(score_id) is not None
        except Exception as exc:
            if _not_allowed(exc):
                return False
            raise

    def save_override(self, **_):
        disagreed = tuple(self.data.get("disagreed", []))
        self.effects.append(OverrideScore(self.data["score_id"], self.data["new_score"], disagreed))
        self.__dict__.pop("answers", None)


# --- /export -------------------------------------------------------------------------------------


class ExportSession(ManagerSession):
    def format_from_arg(self, arg: str = "", **_):
        if arg.strip().lower() in EXPORT_FORMATS:
            self.data["format"] = arg.strip().lower()
            self.state = "sent"

    def formats(self) -> list[Choice]:
        return [Choice(fmt, fmt.upper()) for fmt in EXPORT_FORMATS]

    def valid_format(self, arg: str = "", **_) -> bool:
        return arg in EXPORT_FORMATS

    def keep_format(self, arg: str = "", **_):
        self.data["format"] = arg

    @cached_property
    def file(self) -> tuple[bytes, int]:
        return self.records.team_log(self.data["format"])

    def sent_view(self) -> dict:
        data, rows = self.file
        return {"rows": rows, "format": self.data["format"].upper(), "too_big": len(data) > DOCUMENT_LIMIT}

    def document(self) -> list[Attachment]:
        data, rows = self.file
        if len(data) > DOCUMENT_LIMIT:
            return []
        day = self.ctx.now.date().isoformat()
        caption = str(self.ctx.ui("export.caption", rows=rows))
        return [Attachment("document", f"team-log-{day}.{self.data['format']}", data, caption)]


# --- /invite, and joining with /start <code> ---------------------------------------------------------


class InviteSession(ManagerSession):
    def role_from_arg(self, arg: str = "", **_):
        if arg.strip().lower() in INVITE_ROLES:
            self.make_invite(arg.strip().lower())
            self.state = "made"

    def roles(self) -> list[Choice]:
        return [Choice(role, vars={"role": role}) for role in INVITE_ROLES]

    def valid_role(self, arg: str = "", **_) -> bool:
        return arg in INVITE_ROLES

    def make_invite(self, arg: str = "", **_):
        code = secrets.token_urlsafe(16)  # 22 characters of A-Za-z0-9_-: within Telegram's 64
        expires = (self.ctx.now + timedelta(days=INVITE_DAYS)).isoformat(timespec="milliseconds")
        self.data.update(code=code, role=arg, expires=expires[:10])
        self.effects.append(CreateInvite(code, arg, expires))

    def made_view(self) -> dict:
        code = self.data["code"]
        return {"code": code, "link": self.records.invite_link(code) or "", "role": self.data["role"],
                "expires": self.data["expires"], "days": INVITE_DAYS}  # fmt: skip


def join_team(shell, code: str) -> Outcome:
    """`/start <code>` from an invite link: join that manager's team with the invite's role, once."""
    menu = shell.menu()
    reader = shell.reader
    if not CODE.fullmatch(code) or reader is None or not hasattr(reader, "invite"):
        return shell.outcome(shell.reply(shell.ui("invite.unknown"), menu))
    if shell.user.is_manager:
        return shell.outcome(shell.reply(shell.ui("invite.manager_cannot_join"), menu))
    now = shell.engine.clock().isoformat(timespec="milliseconds")
    invite = reader.invite(code, now)
    if invite.state != "open":
        return shell.outcome(shell.reply(shell.ui(f"invite.{invite.state}"), menu))
    text = shell.ui("invite.joined", team=invite.team, role=invite.role)
    return shell.outcome(shell.reply(text, menu), effects=[JoinTeam(code)])
