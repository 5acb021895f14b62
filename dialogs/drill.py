"""The objection drill (flows/drill.yaml): one card at a time, spaced repetition with FSRS.

Each learner has a deck by role: reps drill dealer objections, partners drill
their customers' objections. A card never seen is new and due at once; after
an answer the score becomes an FSRS rating and the card is rescheduled, so a
good answer pushes the next review further out than a poor one. Cards added
by a role-play (objections handled poorly there) come first.

A card can be answered again at once ("try again" after the feedback): the retry is
scored and shown, but the schedule stays as the first answer set it, since spaced
repetition measures recall, and a second answer after reading the model is practice.

A card is shown as said by a persona who raises it (dealers.yaml `objections`), so its
names and facts fit; a card no persona raises (the customer deck) uses the first persona.

Session data: round (objection ids for this sitting), index, reviewed
([{id, score}]), last (the last scored answer, for the feedback screen), retrying
(the current card is being answered again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, Scheduler
from markupsafe import Markup

from dialogs.effects import ChangeSetting, RecordScore, SaveDrillCard
from dialogs.flow_session import DrillCard, FlowSession
from knowledge.pack import Dealer, Pack, template_context
from knowledge.schema import Ratings
from knowledge.templates import render

SCHEDULER = Scheduler(enable_fuzzing=False)  # fuzzing would make intervals random: keep them explainable


def rating_for(score: int, ratings: Ratings) -> Rating:
    """An answer's score as an FSRS rating, by the thresholds in drill.yaml."""
    if score < ratings.again_below:
        return Rating.Again
    if score < ratings.hard_below:
        return Rating.Hard
    if score < ratings.good_below:
        return Rating.Good
    return Rating.Easy


def new_card(objection_id: str, now: datetime, weak: bool = False) -> DrillCard:
    card = Card(due=now)
    return DrillCard(objection_id, card.to_dict(), now, weak)


def review(card: DrillCard, score: int, now: datetime, ratings: Ratings) -> DrillCard:
    """The card rescheduled after an answer with this score."""
    scheduled, _ = SCHEDULER.review_card(Card.from_dict(card.fsrs), rating_for(score, ratings), review_datetime=now)
    return DrillCard(card.objection_id, scheduled.to_dict(), scheduled.due, False, card.reviews + 1, score)


def mark_weak(card: DrillCard | None, objection_id: str, now: datetime) -> DrillCard:
    """A card to drill next: due now and first in line (after a role-play went badly on it)."""
    if card is None:
        return new_card(objection_id, now, weak=True)
    fsrs = {**card.fsrs, "due": now.isoformat()}
    return DrillCard(objection_id, fsrs, now, True, card.reviews, card.last_score)


def drill_cards(cards: tuple[DrillCard, ...], deck_name: str, pack: Pack, now: datetime) -> list[DrillCard]:
    """The learner's cards: every card of their deck (new ones due now) plus cards a role-play added."""
    stored = {c.objection_id: c for c in cards}
    deck = [stored.get(o.id) or new_card(o.id, now) for o in pack.deck(deck_name)]
    extra = [
        c
        for c in cards
        if c.weak and c.objection_id not in {d.objection_id for d in deck} and pack.has_objection(c.objection_id)
    ]
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


def card_persona(pack: Pack, objection_id: str) -> Dealer:
    """The persona a card is shown as said by: the first who raises it, else the first persona."""
    return next((d for d in pack.dealers if objection_id in d.objections), pack.dealers[0])


class DrillSession(FlowSession):
    # --- facts ------------------------------------------------------------------

    def _changed(self) -> dict[str, DrillCard]:
        return {e.card.objection_id: e.card for e in self.effects if isinstance(e, SaveDrillCard)}

    def _cards(self) -> list[DrillCard]:
        changed = self._changed()
        cards = drill_cards(self.ctx.drill_cards(), self.ctx.user.deck, self.ctx.pack, self.ctx.now)
        return [changed.get(c.objection_id, c) for c in cards]

    def _card(self, objection_id: str) -> DrillCard:
        """The card of this round, even if it is no longer in the learner's deck (they switched role)."""
        in_deck = next((c for c in self._cards() if c.objection_id == objection_id), None)
        stored = next((c for c in self.ctx.drill_cards() if c.objection_id == objection_id), None)
        return in_deck or self._changed().get(objection_id) or stored or new_card(objection_id, self.ctx.now)

    @property
    def current(self) -> str:
        return self.data["round"][self.data.get("index", 0)]

    # --- conditions and callbacks (named in flows/drill.yaml) ----------------------

    def has_due(self, **_) -> bool:
        return bool(due_cards(self._cards(), self.ctx.now))

    def more_in_round(self, **_) -> bool:
        return self.data.get("index", 0) + 1 < len(self.data.get("round", []))

    def reminder_on(self) -> bool:
        changed = [e.value for e in self.effects if isinstance(e, ChangeSetting) and e.name == "reminder"]
        return changed[-1] if changed else self.ctx.user.reminder

    def pick_round(self, **_):
        due = due_cards(self._cards(), self.ctx.now)
        self.data.update(round=[c.objection_id for c in due[: self.ctx.pack.drill.round_size]], index=0, reviewed=[])

    def pick_extra(self, **_):
        """Nothing is due: practise the cards whose review comes soonest."""
        soonest = sorted(self._cards(), key=lambda c: c.due)[: self.ctx.pack.drill.extra_round_size]
        self.data.update(round=[c.objection_id for c in soonest], index=0, reviewed=[])

    def score_card(self, text: str = "", **_):
        card = self._card(self.current)
        result = self.ctx.scorer.score_objection(card.objection_id, text, self.ctx.locale)
        self.effects.append(RecordScore(result))
        if self.data.pop("retrying", False):  # practice after the feedback: the schedule stays as it was
            due = self.data["last"]["due"]
            attempt = self.data["last"].get("attempt", 1) + 1
        else:
            updated = review(card, result.score, self.ctx.now, self.ctx.pack.drill.ratings)
            self.effects.append(SaveDrillCard(updated))
            self.data.setdefault("reviewed", []).append({"id": card.objection_id, "score": result.score})
            due, attempt = updated.due.isoformat(), 1
        self.data["last"] = {
            "id": card.objection_id,
            "score": result.score,
            "due": due,
            "attempt": attempt,
            "checks": [{"id": c.id, "passed": c.passed, "evidence": c.evidence} for c in result.checks],
        }

    def retry_card(self, **_):
        self.data["retrying"] = True

    def advance(self, **_):
        self.data["index"] = self.data.get("index", 0) + 1

    def toggle_reminder(self, **_):
        self.effects.append(ChangeSetting("reminder", not self.reminder_on()))

    # --- getters (named in flows/drill.yaml): template variables ------------------------

    def _objection_vars(self, objection_id: str) -> dict[str, Any]:
        pack, locale = self.ctx.pack, self.ctx.locale
        objection = pack.objection(objection_id)
        context = template_context(pack.products[0], card_persona(pack, objection_id), locale)
        return {
            "deck": objection.deck,
            "context": render(objection.context[locale], **context),
            "text": render(objection.text[locale], **context),
            "model_answer": render(objection.model_answer[locale], **context),
        }

    def menu_view(self) -> dict[str, Any]:
        cards = self._cards()
        due = due_cards(cards, self.ctx.now)
        soonest = min((c.due for c in cards), default=self.ctx.now)
        return {
            "due": len(due),
            "count": min(len(due), self.ctx.pack.drill.round_size),  # the start button's label
            "total": len(cards),
            "new": sum(1 for c in cards if c.reviews == 0),
            "deck": self.ctx.user.deck,
            "reminder": self.reminder_on(),
            "next_due": interval(self.ctx.now, soonest),
        }

    def card_view(self) -> dict[str, Any]:
        view = {
            **self._objection_vars(self.current),
            "number": self.data.get("index", 0) + 1,
            "count": len(self.data["round"]),
        }
        if self.data.get("retrying"):  # the same card again: say so, and that the schedule is unchanged
            view["context"] = Markup(self.ctx.ui("drill.retry_note")) + " " + view["context"]
        return view

    def feedback_view(self) -> dict[str, Any]:
        last = self.data["last"]
        pass_mark = self.ctx.scorer.PASS_MARK
        return {
            **self._objection_vars(last["id"]),
            "score": last["score"],
            "passed": last["score"] >= pass_mark,
            "pass_mark": pass_mark,
            "checks": self.explain_checks("objection", last["id"], last["checks"]),
            "next_review": interval(self.ctx.now, datetime.fromisoformat(last["due"])),
            "attempt": last.get("attempt", 1),
        }

    def done_view(self) -> dict[str, Any]:
        reviewed = self.data.get("reviewed", [])
        return {
            "reviewed": len(reviewed),
            "average": round(sum(r["score"] for r in reviewed) / len(reviewed)) if reviewed else 0,
            "due_left": len(due_cards(self._cards(), self.ctx.now)),
        }
