"""The PESOS role-play (flows/roleplay.yaml): prepare, explain, show, observe, supervise.

The learner picks a product, a dealer persona and a goal (prepare), reads the
plan for this dealer (explain), pages through a model dialogue (show), then
plays the rep through the five steps while the bot plays the dealer (observe):
after each answer the dealer reacts to what the rep did (dialogs/dealer_reaction.py):
a harmful move first, else the strongest thing done after a good answer, or the most
important thing missed after a poor one; at the objection step the dealer raises one of
their own objections. Finally a scorecard per step (supervise), model answers for the
weak steps, and the objection added to the drill deck when it was handled poorly.

Session data: product, dealer, goal, objection (the card this dealer raises),
opening (which opening line), page (show), step_index (observe),
moves ({step: {score, checks: [...], good, reaction: [kind, check id]}}), added (objection ids put in the drill deck),
preset_dealer (the persona it was started for, when it was: the dealer is not asked for).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dialogs.dealer_reaction import choose_reaction, reaction_line
from dialogs.drill import mark_weak
from dialogs.effects import RecordScore, SaveDrillCard
from dialogs.flow_session import Choice, FlowSession
from knowledge.pack import STEP_IDS, template_context
from knowledge.templates import render


class RoleplaySession(FlowSession):
    # --- what the session is about ------------------------------------------------

    @property
    def product(self):
        return self.ctx.pack.product(self.data["product"])

    @property
    def dealer(self):
        return self.ctx.pack.dealer(self.data["dealer"])

    @property
    def goal(self):
        return next(g for g in self.ctx.pack.roleplay.goals if g.id == self.data["goal"])

    @property
    def step_index(self) -> int:
        return self.data.get("step_index", 0)

    def _render(self, source_by_locale) -> str:
        return render(source_by_locale[self.ctx.locale], **template_context(self.product, self.dealer, self.ctx.locale))

    # --- callbacks and conditions (named in flows/roleplay.yaml) ---------------------

    def set_product(self, arg: str = "", **_):
        ids = [p.id for p in self.ctx.pack.products]
        self.data["product"] = arg if arg in ids else ids[0]

    def preset_dealer(self, arg: str = "", **_):
        """Started for one persona (`/roleplay <dealer id>`, /man's offer): the dealer is not asked for."""
        if any(d.id == arg for d in self.ctx.pack.dealers):
            self.data["preset_dealer"] = arg

    def dealer_preset(self, **_) -> bool:
        return "preset_dealer" in self.data

    def set_preset_dealer(self, **_):
        self.set_dealer(self.data["preset_dealer"])

    def set_dealer(self, arg: str = "", **_):
        dealers = self.ctx.pack.dealers
        dealer = next((d for d in dealers if d.id == arg), dealers[0])
        self.data["dealer"] = dealer.id
        self.data["objection"] = self.ctx.rng.choice(dealer.objections)
        self.data["opening"] = self.ctx.rng.randrange(len(dealer.opening_lines))

    def set_goal(self, arg: str = "", **_):
        goals = [g.id for g in self.ctx.pack.roleplay.goals]
        self.data["goal"] = arg if arg in goals else goals[0]

    def more_pages(self, **_) -> bool:
        return self.data.get("page", 0) + 1 < len(STEP_IDS)

    def turn_page(self, **_):
        self.data["page"] = self.data.get("page", 0) + 1

    def reset_page(self, **_):
        self.data["page"] = 0

    def begin_observe(self, **_):
        self.data.update(step_index=0, moves={})

    def more_moves(self, **_) -> bool:
        return self.step_index + 1 < len(STEP_IDS)

    def play_move(self, text: str = "", **_):
        """Score the learner's move at the current step; the dealer's reaction follows from it."""
        step_id = STEP_IDS[self.step_index]
        scorer, locale = self.ctx.scorer, self.ctx.locale
        if step_id == "objection_handling":
            result = replace(scorer.score_objection(self.data["objection"], text, locale), step=step_id)
        else:
            result = scorer.score(step_id, text, locale)
        self.effects.append(RecordScore(result))
        good = result.score >= scorer.PASS_MARK
        self.data.setdefault("moves", {})[step_id] = {
            "score": result.score,
            "good": good,
            "checks": [{"id": c.id, "passed": c.passed, "evidence": c.evidence} for c in result.checks],
            "reaction": choose_reaction(result, good),
        }
        self.data["step_index"] = self.step_index + 1
        if step_id == STEP_IDS[-1]:
            self._assign_follow_up()

    def _assign_follow_up(self):
        """A poorly handled objection goes to the front of the learner's drill deck."""
        move = self.data["moves"].get("objection_handling")
        if move and not move["good"]:
            objection_id = self.data["objection"]
            stored = next((c for c in self.ctx.drill_cards() if c.objection_id == objection_id), None)
            self.effects.append(SaveDrillCard(mark_weak(stored, objection_id, self.ctx.now)))
            self.data["added"] = [objection_id]

    # --- getters (named in flows/roleplay.yaml): template variables, choices, conditions ----

    def product_choices(self) -> list[Choice]:
        return [Choice(p.id, self.local(p.name)) for p in self.ctx.pack.products]

    def products_view(self) -> dict[str, Any]:
        return {"products": [self.local(p) for p in self.ctx.pack.products]}

    def _dealers(self) -> list[dict[str, Any]]:
        pack = self.ctx.pack
        return [{**self.local(d), "class": self.local(pack.man_class(d))} for d in pack.dealers]

    def dealer_choices(self) -> list[Choice]:
        return [Choice(d["id"], vars={"name": d["name"], "code": d["class"]["code"]}) for d in self._dealers()]

    def dealers_view(self) -> dict[str, Any]:
        return {"dealers": self._dealers()}

    def goal_choices(self) -> list[Choice]:
        return [Choice(g.id, self.local(g.title)) for g in self.ctx.pack.roleplay.goals]

    def goals_view(self) -> dict[str, Any]:
        return {"goals": [self.local(g) for g in self.ctx.pack.roleplay.goals]}

    def briefing_view(self) -> dict[str, Any]:
        pack = self.ctx.pack
        return {
            "product": self.local(self.product),
            "dealer": self.local(self.dealer),
            "man": self.local(pack.man_class(self.dealer)),
            "goal": self.local(self.goal),
            "objections": [self._render(pack.objection(o).text) for o in self.dealer.objections],
        }

    def explain_view(self) -> dict[str, Any]:
        plan = [
            {"title": self.local(self.ctx.pack.step(s).title), "text": self._render(self.ctx.pack.roleplay.plan[s])}
            for s in STEP_IDS
        ]
        return {"dealer": self.local(self.dealer), "plan": plan}

    def show_view(self) -> dict[str, Any]:
        page = self.data.get("page", 0)
        step = self.ctx.pack.step(STEP_IDS[page])
        return {
            "number": page + 1,
            "total": len(STEP_IDS),
            "step": self.local(step),
            "script": self._render(step.scripts_for(self.dealer.id)[0].template),
        }

    def _dealer_says(self) -> str:
        """The dealer's line before the learner's move: opening line, or a reaction to the last move."""
        if self.step_index == 0:
            return self._render(self.dealer.opening_lines[self.data.get("opening", 0)])
        previous = STEP_IDS[self.step_index - 1]
        move = self.data["moves"][previous]
        chosen = tuple(move["reaction"]) if move.get("reaction") else None  # sessions saved before reactions: None
        lines = self.ctx.pack.reactions.get(self.dealer.id)
        return self._render(reaction_line(self.dealer, lines, previous, chosen, move["good"]))

    def observe_view(self) -> dict[str, Any]:
        step_id = STEP_IDS[self.step_index]
        objection = None
        if step_id == "objection_handling":
            objection = self._render(self.ctx.pack.objection(self.data["objection"]).text)
        return {
            "number": self.step_index + 1,
            "total": len(STEP_IDS),
            "step": self.local(self.ctx.pack.step(step_id)),
            "dealer": self.local(self.dealer),
            "says": self._dealer_says(),
            "objection": objection,
            "goal": self.local(self.goal),
        }

    def added_to_drill(self) -> bool:
        return bool(self.data.get("added"))

    def supervise_view(self) -> dict[str, Any]:
        pack = self.ctx.pack
        rows, models = [], []
        for step_id in STEP_IDS:
            move = self.data["moves"][step_id]
            kind, key = ("objection", self.data["objection"]) if step_id == "objection_handling" else ("step", step_id)
            checks = self.explain_checks(kind, key, move["checks"])
            title = self.local(pack.step(step_id).title)
            rows.append({"title": title, "score": move["score"], "passed": move["good"], "checks": checks})
            if not move["good"]:
                source = (
                    pack.objection(key).model_answer
                    if kind == "objection"
                    else pack.step(step_id).scripts_for(self.dealer.id)[0].template
                )
                models.append({"title": title, "text": self._render(source)})
        return {
            "rows": rows,
            "average": round(sum(r["score"] for r in rows) / len(rows)),
            "models": models,
            "added": [self._render(pack.objection(o).text) for o in self.data.get("added", [])],
            "dealer": self.local(self.dealer),
            "reaction": self._dealer_says(),
        }
