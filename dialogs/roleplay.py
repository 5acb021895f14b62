"""The PESOS role-play (flows/roleplay.yaml): prepare, explain, show, observe, supervise.

The learner picks a product, a dealer persona and a goal (prepare), reads the
plan for this dealer (explain), pages through a model dialogue (show), then
plays the rep through the five steps while the bot plays the dealer (observe):
after each answer the dealer reacts, warmly after a good answer and with a
push-back after a poor one, and at the objection step raises one of their own
objections. Finally a scorecard per step (supervise), model answers for the
weak steps, and the objection added to the drill deck when it was handled poorly.

Session data: product, dealer, goal, objection (the card this dealer raises),
opening (which opening line), page (show), step_index (observe),
moves ({step: {score, checks: [...], good}}), added (objection ids put in the drill deck).
"""

from __future__ import annotations

from dataclasses import replace

from dialogs.drill import mark_weak
from dialogs.flow_session import Button, FlowSession, Screen
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
        self.scores.append(result)
        self.data.setdefault("moves", {})[step_id] = {
            "score": result.score,
            "good": result.score >= scorer.PASS_MARK,
            "checks": [{"id": c.id, "passed": c.passed, "evidence": c.evidence} for c in result.checks],
        }
        self.data["step_index"] = self.step_index + 1
        if step_id == STEP_IDS[-1]:
            self._assign_follow_up()

    def _assign_follow_up(self):
        """A poorly handled objection goes to the front of the learner's drill deck."""
        move = self.data["moves"].get("objection_handling")
        if move and not move["good"]:
            objection_id = self.data["objection"]
            stored = next((c for c in self.ctx.user.cards if c.objection_id == objection_id), None)
            self.card_changes.append(mark_weak(stored, objection_id, self.ctx.now))
            self.data["added"] = [objection_id]

    # --- screens ---------------------------------------------------------------------

    def screen_pick_product(self) -> Screen:
        buttons = tuple(Button("choose_product", self.local(p.name), p.id) for p in self.ctx.pack.products)
        return Screen("roleplay.pick_product", {"products": [self.local(p) for p in self.ctx.pack.products]}, buttons)

    def screen_pick_dealer(self) -> Screen:
        ui, pack = self.ctx.ui, self.ctx.pack
        dealers = [{**self.local(d), "class": self.local(pack.man_class(d))} for d in pack.dealers]
        buttons = tuple(
            Button("choose_dealer", ui("button.roleplay_dealer", name=d["name"], code=d["class"]["code"]), d["id"])
            for d in dealers
        )
        return Screen("roleplay.pick_dealer", {"dealers": dealers}, buttons)

    def screen_pick_goal(self) -> Screen:
        goals = self.ctx.pack.roleplay.goals
        buttons = tuple(Button("choose_goal", self.local(g.title), g.id) for g in goals)
        return Screen("roleplay.pick_goal", {"goals": [self.local(g) for g in goals]}, buttons)

    def screen_briefing(self) -> Screen:
        pack = self.ctx.pack
        objections = [self._render(pack.objection(o).text) for o in self.dealer.objections]
        context = {
            "product": self.local(self.product),
            "dealer": self.local(self.dealer),
            "man": self.local(pack.man_class(self.dealer)),
            "goal": self.local(self.goal),
            "objections": objections,
        }
        return Screen("roleplay.briefing", context)

    def screen_explain(self) -> Screen:
        plan = [
            {"title": self.local(self.ctx.pack.step(s).title), "text": self._render(self.ctx.pack.roleplay.plan[s])}
            for s in STEP_IDS
        ]
        return Screen("roleplay.explain", {"dealer": self.local(self.dealer), "plan": plan})

    def screen_show(self) -> Screen:
        page = self.data.get("page", 0)
        step = self.ctx.pack.step(STEP_IDS[page])
        context = {
            "number": page + 1,
            "total": len(STEP_IDS),
            "step": self.local(step),
            "script": self._render(step.model_scripts[0].template),
        }
        ui = self.ctx.ui
        label = "button.next_page" if self.more_pages() else "button.your_turn"
        return Screen(
            "roleplay.show", context, (Button("next_page", ui(label)), Button("skip_show", ui("button.skip_show")))
        )

    def _dealer_says(self) -> str:
        """The dealer's line before the learner's move: opening line, or a reaction to the last move."""
        if self.step_index == 0:
            return self._render(self.dealer.opening_lines[self.data.get("opening", 0)])
        previous = STEP_IDS[self.step_index - 1]
        reaction = self.dealer.reactions[previous]
        return self._render(reaction.good if self.data["moves"][previous]["good"] else reaction.poor)

    def screen_observe(self) -> Screen:
        step_id = STEP_IDS[self.step_index]
        objection = None
        if step_id == "objection_handling":
            objection = self._render(self.ctx.pack.objection(self.data["objection"]).text)
        context = {
            "number": self.step_index + 1,
            "total": len(STEP_IDS),
            "step": self.local(self.ctx.pack.step(step_id)),
            "dealer": self.local(self.dealer),
            "says": self._dealer_says(),
            "objection": objection,
            "goal": self.local(self.goal),
        }
        return Screen("roleplay.observe", context)

    def screen_supervise(self) -> Screen:
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
                    else pack.step(step_id).model_scripts[0].template
                )
                models.append({"title": title, "text": self._render(source)})
        added = [self._render(pack.objection(o).text) for o in self.data.get("added", [])]
        context = {
            "rows": rows,
            "average": round(sum(r["score"] for r in rows) / len(rows)),
            "models": models,
            "added": added,
            "dealer": self.local(self.dealer),
            "reaction": self._dealer_says(),
        }
        ui = self.ctx.ui
        buttons = (Button("/drill", ui("button.menu_drill")),) if added else ()
        return Screen("roleplay.supervise", context, (*buttons, Button("/roleplay", ui("button.roleplay_again"))))
