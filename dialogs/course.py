"""The five-step course (flows/course.yaml): callbacks, conditions and the getters its windows name.

A course is one story: one product and one dealer persona from the first step to the last
(the dealer is drawn when the course starts and can be changed before the first answer), and
every model script and practice prompt shown is the one written for that persona, if it has
its own (knowledge/schema.py `for_persona`).

Starting (`open_course`, run by /train): a course cancelled part-way is offered back, at the
step where it stopped; `/train weak` (the summary's "practise my weak steps") reruns only the
steps of the last finished course that scored below the pass mark, with the same story.

Session data (saved as JSON):
    product, dealer          the story: product id and dealer persona id
    plan                     the step ids this run goes through (all five, or the weak ones)
    step_index               position in `plan`
    model_index              which model script is shown
    scenario_offset          which practice prompt each step starts at
    best, attempts           per step id: best score so far, number of scored answers
    last                     the last scored answer: {step, score, checks: [{id, passed, evidence}]}
    resume                   on the resume offer: the stopped course's data, restored by `resume`
"""

from __future__ import annotations

from typing import Any

from dialogs.effects import RecordScore
from dialogs.flow_session import Choice, FlowSession
from knowledge.pack import STEP_IDS, template_context
from knowledge.templates import render

# What a course carries over when it is resumed or its weak steps are rerun.
STORY_KEYS = ("product", "dealer", "plan", "step_index", "scenario_offset", "best", "attempts")
RESUMABLE_STATES = {"explain", "pick_dealer", "model", "practice", "feedback"}


class CourseSession(FlowSession):
    # --- the current step and what it is rendered with ----------------------

    @property
    def plan(self) -> list[str]:
        return self.data.get("plan") or list(STEP_IDS)

    @property
    def step(self):
        return self.ctx.pack.step(self.plan[self.data.get("step_index", 0)])

    @property
    def product(self):
        pack = self.ctx.pack
        wanted = self.data.get("product")
        return next((p for p in pack.products if p.id == wanted), pack.products[0])

    @property
    def dealer(self):
        dealers = self.ctx.pack.dealers
        wanted = self.data.get("dealer")
        found = next((d for d in dealers if d.id == wanted), None)
        return found or dealers[self.data.get("dealer_offset", 0) % len(dealers)]  # sessions saved before stories

    def _template_vars(self) -> dict[str, Any]:
        return template_context(self.product, self.dealer, self.ctx.locale)

    def _pass_mark(self) -> int:
        return self.ctx.scorer.PASS_MARK

    # --- starting: a fresh course, a resumed one, or the weak steps again ------

    def open_course(self, arg: str = "", **_) -> str | None:
        """Run by /train: the trigger to fire at once (rerun the weak steps, offer to resume), or None."""
        last = self.ctx.last_closed_session("course")
        if last is None:
            return None
        if arg.strip() == "weak" and last.status == "finished" and self._weak_steps(last.data):
            self.data.update({key: last.data[key] for key in STORY_KEYS if key in last.data})
            self.data.update(plan=self._weak_steps(last.data), step_index=0, model_index=0)
            return "rerun_weak"
        stopped = self._stopped_course(last)
        if stopped:
            self.data["resume"] = stopped
            return "offer_resume"
        return None

    def _weak_steps(self, data: dict) -> list[str]:
        best = data.get("best", {})
        return [step_id for step_id in STEP_IDS if best.get(step_id, 0) < self._pass_mark()]

    @staticmethod
    def _stopped_course(last) -> dict | None:
        """The story of a course cancelled part-way (or cancelled again while it was being offered)."""
        if last.status != "cancelled":
            return None
        if last.data.get("resume"):
            return last.data["resume"]
        if last.state in RESUMABLE_STATES and last.data.get("product"):
            return {key: last.data[key] for key in STORY_KEYS if key in last.data}
        return None

    # --- callbacks (named in flows/course.yaml) ------------------------------

    def choose_product(self, arg: str = "", **_):
        product_ids = [p.id for p in self.ctx.pack.products]
        dealers = self.ctx.pack.dealers
        self.data.update(
            product=arg if arg in product_ids else product_ids[0],
            dealer=dealers[self.ctx.rng.randrange(len(dealers))].id,
            plan=list(STEP_IDS),
            scenario_offset=self.ctx.rng.randrange(1000),
            step_index=0,
            model_index=0,
            best={},
            attempts={},
        )
        self.data.pop("resume", None)

    def resume(self, **_):
        self.data.update(self.data.pop("resume", {}), model_index=0)

    def forget_offer(self, **_):
        self.data.pop("resume", None)

    def can_change_dealer(self, **_) -> bool:
        """The dealer may be changed until the first answer of a full course (later it would break the story)."""
        return not self.data.get("attempts") and self.plan == list(STEP_IDS)

    def set_dealer(self, arg: str = "", **_):
        if any(d.id == arg for d in self.ctx.pack.dealers):
            self.data.update(dealer=arg, model_index=0)

    def next_model_script(self, **_):
        self.data["model_index"] = self.data.get("model_index", 0) + 1

    def score_answer(self, text: str = "", **_):
        result = self.ctx.scorer.score(self.step.id, text, self.ctx.locale)
        self.effects.append(RecordScore(result))
        step_id = self.step.id
        self.data.setdefault("attempts", {})[step_id] = self.data.get("attempts", {}).get(step_id, 0) + 1
        best = self.data.setdefault("best", {})
        best[step_id] = max(best.get(step_id, 0), result.score)
        self.data["last"] = {
            "step": step_id,
            "score": result.score,
            "checks": [{"id": c.id, "passed": c.passed, "evidence": c.evidence} for c in result.checks],
        }

    def has_next_step(self, **_) -> bool:
        return self.data.get("step_index", 0) + 1 < len(self.plan)

    def advance_step(self, **_):
        self.data["step_index"] = self.data.get("step_index", 0) + 1
        self.data["model_index"] = 0

    def has_weak_steps(self, **_) -> bool:
        return bool(self._weak_steps(self.data))

    # --- getters (named in flows/course.yaml): template variables and choices ------------

    def product_choices(self) -> list[Choice]:
        return [Choice(p.id, vars={"product": self.local(p.name)}) for p in self.ctx.pack.products]

    def dealer_choices(self) -> list[Choice]:
        return [
            Choice(d.id, vars={"name": self.local(d.name), "shop": self.local(d.shop)}) for d in self.ctx.pack.dealers
        ]

    def intro_view(self) -> dict[str, Any]:
        return {"steps": [self.local(s.title) for s in self.ctx.pack.steps], "pass_mark": self._pass_mark()}

    def progress(self) -> dict[str, Any]:
        return {
            "number": STEP_IDS.index(self.step.id) + 1,
            "total": len(STEP_IDS),
            "step": self.local(self.step),
        }

    def resume_view(self) -> dict[str, Any]:
        stopped = self.data.get("resume", {})
        plan = stopped.get("plan") or list(STEP_IDS)
        step_id = plan[min(stopped.get("step_index", 0), len(plan) - 1)]
        pack = self.ctx.pack
        product = next((p for p in pack.products if p.id == stopped.get("product")), pack.products[0])
        dealer = next((d for d in pack.dealers if d.id == stopped.get("dealer")), pack.dealers[0])
        return {
            "number": STEP_IDS.index(step_id) + 1,
            "total": len(STEP_IDS),
            "step": self.local(pack.step(step_id).title),
            "product": self.local(product.name),
            "dealer": self.local(dealer.name),
            "shop": self.local(dealer.shop),
        }

    def dealers_view(self) -> dict[str, Any]:
        return {"dealers": [self.local(d) for d in self.ctx.pack.dealers], "current": self.local(self.dealer.name)}

    def model_view(self) -> dict[str, Any]:
        scripts = self.step.scripts_for(self.dealer.id)
        script = scripts[self.data.get("model_index", 0) % len(scripts)]
        return {
            **self.progress(),
            "script_title": self.local(script.title),
            "script": render(script.template[self.ctx.locale], **self._template_vars()),
            "dealer": self.local(self.dealer),
            "product": self.local(self.product),
        }

    def model_turn_view(self) -> dict[str, Any]:
        """The model screen with the step's task under it, so the rep can answer right there."""
        view = self.model_view()
        return {**view, "model_screen": self.ctx.ui("course.model", **view), "prompt": self._prompt()}

    def practice_view(self) -> dict[str, Any]:
        attempt = self.data.get("attempts", {}).get(self.step.id, 0) + 1
        return {**self.progress(), "prompt": self._prompt(), "attempt": attempt}

    def _prompt(self):
        """The task the rep answers at this step (the same at every attempt): a scenario written for the dealer."""
        scenarios = self.step.scenarios_for(self.dealer.id)
        position = self.data.get("scenario_offset", 0) + STEP_IDS.index(self.step.id)
        return render(scenarios[position % len(scenarios)][self.ctx.locale], **self._template_vars())

    def feedback_view(self) -> dict[str, Any]:
        last = self.data["last"]
        pass_mark = self._pass_mark()
        return {
            **self.progress(),
            "score": last["score"],
            "passed": last["score"] >= pass_mark,
            "pass_mark": pass_mark,
            "checks": self.explain_checks("step", self.step.id, last["checks"]),
            "best": self.data.get("best", {}).get(self.step.id, last["score"]),
        }

    def summary_view(self) -> dict[str, Any]:
        best = self.data.get("best", {})
        rows = [
            {"title": self.local(s.title), "score": best.get(s.id, 0), "passed": best.get(s.id, 0) >= self._pass_mark()}
            for s in self.ctx.pack.steps
        ]
        average = round(sum(r["score"] for r in rows) / len(rows))
        all_passed = all(r["passed"] for r in rows)
        return {"rows": rows, "average": average, "all_passed": all_passed, "pass_mark": self._pass_mark()}
