"""The five-step course (flows/course.yaml): callbacks, conditions and the getters its windows name.

Session data (saved as JSON):
    product, dealer_offset   which product and dealers the scripts are rendered with
    step_index               0..4, the current step in STEP_IDS order
    model_index              which model script is shown
    best, attempts           per step id: best score so far, number of scored answers
    last                     the last scored answer: {step, score, checks: [{id, passed, evidence}]}
"""

from __future__ import annotations

from typing import Any

from dialogs.effects import RecordScore
from dialogs.flow_session import Choice, FlowSession
from knowledge.pack import STEP_IDS, template_context
from knowledge.templates import render


class CourseSession(FlowSession):
    # --- the current step and what it is rendered with ----------------------

    @property
    def step(self):
        return self.ctx.pack.step(STEP_IDS[self.data.get("step_index", 0)])

    @property
    def product(self):
        pack = self.ctx.pack
        wanted = self.data.get("product")
        return next((p for p in pack.products if p.id == wanted), pack.products[0])

    @property
    def dealer(self):
        dealers = self.ctx.pack.dealers
        return dealers[(self.data.get("dealer_offset", 0) + self.data.get("step_index", 0)) % len(dealers)]

    def _template_vars(self) -> dict[str, Any]:
        return template_context(self.product, self.dealer, self.ctx.locale)

    # --- callbacks (named in flows/course.yaml) ------------------------------

    def choose_product(self, arg: str = "", **_):
        product_ids = [p.id for p in self.ctx.pack.products]
        self.data.update(
            product=arg if arg in product_ids else product_ids[0],
            dealer_offset=self.ctx.rng.randrange(len(self.ctx.pack.dealers)),
            scenario_offset=self.ctx.rng.randrange(1000),
            step_index=0,
            model_index=0,
            best={},
            attempts={},
        )

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
        return self.data.get("step_index", 0) + 1 < len(STEP_IDS)

    def advance_step(self, **_):
        self.data["step_index"] = self.data.get("step_index", 0) + 1
        self.data["model_index"] = 0

    # --- getters (named in flows/course.yaml): template variables and choices ------------

    def product_choices(self) -> list[Choice]:
        return [Choice(p.id, vars={"product": self.local(p.name)}) for p in self.ctx.pack.products]

    def intro_view(self) -> dict[str, Any]:
        return {"steps": [self.local(s.title) for s in self.ctx.pack.steps], "pass_mark": self.ctx.scorer.PASS_MARK}

    def progress(self) -> dict[str, Any]:
        return {"number": self.data.get("step_index", 0) + 1, "total": len(STEP_IDS), "step": self.local(self.step)}

    def model_view(self) -> dict[str, Any]:
        scripts = self.step.model_scripts
        script = scripts[self.data.get("model_index", 0) % len(scripts)]
        return {
            **self.progress(),
            "script_title": self.local(script.title),
            "script": render(script.template[self.ctx.locale], **self._template_vars()),
            "dealer": self.local(self.dealer),
            "product": self.local(self.product),
        }

    def practice_view(self) -> dict[str, Any]:
        scenarios = self.step.scenarios
        scenario = scenarios[(self.data.get("scenario_offset", 0) + self.data.get("step_index", 0)) % len(scenarios)]
        prompt = render(scenario[self.ctx.locale], **self._template_vars())
        attempt = self.data.get("attempts", {}).get(self.step.id, 0) + 1
        return {**self.progress(), "prompt": prompt, "attempt": attempt}

    def feedback_view(self) -> dict[str, Any]:
        last = self.data["last"]
        pass_mark = self.ctx.scorer.PASS_MARK
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
            {
                "title": self.local(s.title),
                "score": best.get(s.id, 0),
                "passed": best.get(s.id, 0) >= self.ctx.scorer.PASS_MARK,
            }
            for s in self.ctx.pack.steps
        ]
        average = round(sum(r["score"] for r in rows) / len(rows))
        all_passed = all(r["passed"] for r in rows)
        return {"rows": rows, "average": average, "all_passed": all_passed, "pass_mark": self.ctx.scorer.PASS_MARK}
