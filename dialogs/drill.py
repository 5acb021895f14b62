"""The objection drill (flows/drill.yaml): one card at a time, spaced repetition with FSRS.

Each learner has a deck by role: reps drill dealer objections, partners drill
their customers' objections. A card never seen is new and due at once; after
an answer the score becomes an FSRS rating and the card is rescheduled, so a
good answer pushes the next review further out than a poor one. Cards added
by a role-play (objections handled poorly there) come first.

Session data: round (objection ids for this sitting), index, reviewed
([{id, score}]), last (the last scored answer, for the feedback screen).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler

from dialogs.flow_session import Button, DrillCard, FlowSession, Screen, User
from knowledge.pack import Pack, template_context
from knowledge.templates import render

ROUND_SIZE = 5
SCHEDULER = Scheduler(enable_fuzzing=False)  # fuzzing would make intervals random: keep them explainable


def rating_for(score: int) -> Rating:
    """An answer's score as an FSRS rating."""
    if score < 40:
        return Rating.Again
    if score < 60:
        return Rating.Hard
    if score < 85:
        return Rating.Good
    return Rating.Easy


def new_card(objection_id: str, now: datetime, weak: bool = False) -> DrillCard:
    card = Card(due=now)
    return DrillCard(objection_id, card.to_dict(), now, weak)


def review(card: DrillCard, score: int, now: datetime) -> DrillCard:
    """The card rescheduled after an answer with this score."""
    scheduled, _ = SCHEDULER.review_card(Card.from_dict(card.fsrs), rating_for(score), review_datetime=now)
    return DrillCard(card.objection_id, scheduled.to_dict(), scheduled.due, False, card.reviews + 1, score)


def mark_weak(card: DrillCard | None, objection_id: str, now: datetime) -> DrillCard:
    """A card to drill next: due now and first in line (after a role-play went badly on it)."""
    if card is None:
        return new_card(objection_id, now, weak=True)
    fsrs = {**card.fsrs, "due": now.isoformat()}
    return DrillCard(objection_id, fsrs, now, True, card.reviews, card.last_score)


def drill_cards(user: User, pack: Pack, now: datetime) -> list[DrillCard]:
    """The learner's cards: every card of their deck (new ones due now) plus cards a role-play added."""
    stored = {c.objection_id: c for c in user.cards}
    deck = [stored.get(o.id) or new_card(o.id, now) for o in pack.deck(user.deck)]
    extra = [c for c in user.cards if c.weak and c.objection_id not in {d.objection_id for d in deck}]
    return extra + deck


def due_cards(cards: list[DrillCard], now: datetime) -> list[DrillCard]:
    """Cards due now, role-play weak spots first, then the most overdue."""
    order = {c.objection_id: i for i, c in enumerate(cards)}
    due = [c for c in cards if c.due <= now]
    return sorted(due, key=lambda c: (not c.weak, c.due, order[c.objection_id]))


def interval(now: datetime, due: datetime) -> dict[str, Any]:
    """How long until `due`, in the largest whole unit: for "next review in 3 days"."""
    seconds = max(0.0, (due - now).total_seconds())
    if seconds >= timedelta(days=1).total_seconds():
        return {"value": round(seconds / 86400), "unit": "days"}
    if seconds >= 3600:
        return {"value": round(seconds / 3600), "unit": "hours"}
    return {"value": max(1, round(seconds / 60)), "unit": "minutes"}


class DrillSession(FlowSession):
    # --- facts ------------------------------------------------------------------

    def _cards(self) -> list[DrillCard]:
        changed = {c.objection_id: c for c in self.card_changes}
        return [changed.get(c.objection_id, c) for c in drill_cards(self.ctx.user, self.ctx.pack, self.ctx.now)]

    def _card(self, objection_id: str) -> DrillCard:
        return next(c for c in self._cards() if c.objection_id == objection_id)

    @property
    def current(self) -> str:
        return self.data["round"][self.data.get("index", 0)]

    # --- conditions and callbacks (named in flows/drill.yaml) ----------------------

    def has_due(self, **_) -> bool:
        return bool(due_cards(self._cards(), self.ctx.now))

    def more_in_round(self, **_) -> bool:
        return self.data.get("index", 0) + 1 < len(self.data.get("round", []))

    def pick_round(self, **_):
        due = due_cards(self._cards(), self.ctx.now)
        self.data.update(round=[c.objection_id for c in due[:ROUND_SIZE]], index=0, reviewed=[])

    def pick_extra(self, **_):
        """Nothing is due: practise the cards whose review comes soonest."""
        soonest = sorted(self._cards(), key=lambda c: c.due)[:3]
        self.data.update(round=[c.objection_id for c in soonest], index=0, reviewed=[])

    def score_card(self, text: str = "", **_):
        card = self._card(self.current)
        result = self.ctx.scorer.score_objection(card.objection_id, text, self.ctx.locale)
        self.scores.append(result)
        updated = review(card, result.score, self.ctx.now)
        self.card_changes.append(updated)
        self.data.setdefault("reviewed", []).append({"id": card.objection_id, "score": result.score})
        self.data["last"] = {
            "id": card.objection_id,
            "score": result.score,
            "due": updated.due.isoformat(),
            "checks": [{"id": c.id, "passed": c.passed, "evidence": c.evidence} for c in result.checks],
        }

    def advance(self, **_):
        self.data["index"] = self.data.get("index", 0) + 1

    def toggle_reminder(self, **_):
        self.settings_changes["reminder"] = not self.ctx.user.reminder

    # --- screens -----------------------------------------------------------------

    def _objection_vars(self, objection_id: str) -> dict[str, Any]:
        pack, locale = self.ctx.pack, self.ctx.locale
        objection = pack.objection(objection_id)
        context = template_context(pack.products[0], pack.dealers[0], locale)
        return {
            "deck": objection.deck,
            "context": render(objection.context[locale], **context),
            "text": render(objection.text[locale], **context),
            "model_answer": render(objection.model_answer[locale], **context),
        }

    def screen_menu(self) -> Screen:
        cards = self._cards()
        due = due_cards(cards, self.ctx.now)
        reminder = self.settings_changes.get("reminder", self.ctx.user.reminder)
        ui = self.ctx.ui
        first = (
            Button("start", ui("button.drill_start", count=min(len(due), ROUND_SIZE)))
            if due
            else Button("extra", ui("button.drill_extra"))
        )
        toggle = Button("toggle_reminder", ui("button.reminder_off" if reminder else "button.reminder_on"))
        soonest = min((c.due for c in cards), default=self.ctx.now)
        context = {
            "due": len(due),
            "total": len(cards),
            "new": sum(1 for c in cards if c.reviews == 0),
            "deck": self.ctx.user.deck,
            "reminder": reminder,
            "next_due": interval(self.ctx.now, soonest),
        }
        return Screen("drill.menu", context, (first, toggle))

    def screen_card(self) -> Screen:
        context = {
            **self._objection_vars(self.current),
            "number": self.data.get("index", 0) + 1,
            "count": len(self.data["round"]),
        }
        return Screen("drill.card", context)

    def screen_feedback(self) -> Screen:
        last = self.data["last"]
        objection = self.ctx.pack.objection(last["id"])
        checks = self.explain_checks("objection", objection.id, last["checks"])
        context = {
            **self._objection_vars(last["id"]),
            "score": last["score"],
            "passed": last["score"] >= self.ctx.scorer.PASS_MARK,
            "pass_mark": self.ctx.scorer.PASS_MARK,
            "checks": checks,
            "next_review": interval(self.ctx.now, datetime.fromisoformat(last["due"])),
        }
        ui = self.ctx.ui
        label = "button.drill_next" if self.more_in_round() else "button.drill_finish"
        return Screen("drill.feedback", context, (Button("next_card", ui(label)),))

    def screen_done(self) -> Screen:
        reviewed = self.data.get("reviewed", [])
        cards = self._cards()
        context = {
            "reviewed": len(reviewed),
            "average": round(sum(r["score"] for r in reviewed) / len(reviewed)) if reviewed else 0,
            "due_left": len(due_cards(cards, self.ctx.now)),
        }
        return Screen("drill.done", context, (Button("/drill", self.ctx.ui("button.drill_again")),))
