"""/progress (flows/progress.yaml): the learner's own scores per step over time, as text and a chart.

Also their streak (days in a row with practice, up to today or yesterday), the drill cards
due now, and certification: every step passed at or above the pass mark in a role-play. Where
a manager re-scored an answer, the manager's score is the one shown and counted, the machine's
beside it. Only the learner's own data is read (`ctx.reader.own_answers`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property

from dialogs.drill import drill_cards, due_cards
from dialogs.team import ManagerSession
from dialogs.turn import Attachment
from knowledge.pack import STEP_IDS

STEP_FLOWS = ("course", "roleplay")


def streak(days: list[str], today: date) -> int:
    """Consecutive practice days ending today (or yesterday: today's practice may still come)."""
    practised = {date.fromisoformat(d) for d in days}
    day = today if today in practised else today - timedelta(days=1)
    count = 0
    while day in practised:
        count += 1
        day -= timedelta(days=1)
    return count


class ProgressSession(ManagerSession):
    @cached_property
    def answers(self) -> list:
        reader = self.records
        if reader is None or not hasattr(reader, "own_answers"):  # an engine without storage (tests of flows)
            return []
        return [a for a in reader.own_answers() if a.flow in STEP_FLOWS and a.step in STEP_IDS]

    def _score(self, answer) -> int:
        return answer.manager_score if answer.manager_score is not None else answer.score

    def progress_view(self) -> dict:
        pass_mark = self.pass_mark
        rows = []
        for step in STEP_IDS:
            mine = [a for a in self.answers if a.step == step]
            if not mine:
                rows.append({"step": self.step_name(step), "practised": False})
                continue
            last = mine[-1]
            roleplay_best = max((self._score(a) for a in mine if a.flow == "roleplay"), default=None)
            rows.append({
                "step": self.step_name(step), "practised": True, "attempts": len(mine), "last": self._score(last),
                "machine": last.score, "manager": last.manager_score, "best": max(self._score(a) for a in mine),
                "certified": roleplay_best is not None and roleplay_best >= pass_mark,
            })  # fmt: skip
        reader = self.records
        days = reader.own_practice_days() if reader is not None and hasattr(reader, "own_practice_days") else []
        now = self.ctx.now
        due = len(due_cards(drill_cards(self.ctx.drill_cards(), self.ctx.user.deck, self.ctx.pack, now), now))
        return {
            "rows": rows,
            "streak": streak(days, now.date()),
            "due": due,
            "certified": all(r.get("certified") for r in rows),
            "to_certify": [r["step"] for r in rows if not r.get("certified")],
            "pass_mark": pass_mark,
            "any": bool(self.answers),
        }

    def has_due(self) -> bool:
        now = self.ctx.now
        return bool(due_cards(drill_cards(self.ctx.drill_cards(), self.ctx.user.deck, self.ctx.pack, now), now))

    def chart(self) -> list[Attachment]:
        if not self.answers:
            return []
        ui = self.ctx.ui
        points = [(datetime.fromisoformat(a.at), a.step, self._score(a)) for a in self.answers]
        png = self.records.progress_chart(
            points, self.step_names(), str(ui("progress.chart_title")), str(ui("progress.chart_score")),
            str(ui("progress.chart_time")), self.pass_mark,
        )  # fmt: skip
        return [Attachment("photo", "progress.png", png, str(ui("progress.chart_caption")))]
