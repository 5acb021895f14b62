"""/man (flows/man.yaml): a MAN assessment of a real dealer, saved per dealer name.

The rep types the dealer's name; a dealer assessed before is shown with the offer to update it.
Then one question at a time on Money, Authority and Need (toolkit.yaml `man.questions`), each
answered on a scale by button; the result is the class (one of the eight in roleplay.yaml), its
contact strategy, what to find out next, and a role-play against a persona of that class.

Started from a MAN card in /my (`/man <card id>`), the dealer of that card is offered for reassessment.

Session data: offered (the dealer offered, when started from /my), dealer (the name as typed),
index (the question shown), answers ({question id: scale value}), notice.
"""

from __future__ import annotations

from typing import Any

from dialogs.cards import man_code, man_levels, render_card
from dialogs.effects import SaveResultCard
from dialogs.flow_session import Choice
from dialogs.result_cards import ResultCard, title_key
from dialogs.toolkit_session import ToolkitSession


class ManSession(ToolkitSession):
    @property
    def questions(self):
        return self.ctx.pack.toolkit.man.questions

    @property
    def index(self) -> int:
        return self.data.get("index", 0)

    def _saved(self) -> ResultCard | None:
        """The rep's stored MAN card for the dealer name typed, if any."""
        key = title_key(self.data.get("dealer", ""))
        return next((c for c in self.ctx.result_cards() if c.kind == "man" and title_key(c.title) == key), None)

    # --- callbacks and conditions (named in flows/man.yaml) --------------------------------------

    def offer_saved(self, arg: str = "", **_):
        """Started from a MAN card in /my (`/man <card id>`): that dealer is offered for reassessment."""
        card = next((c for c in self.ctx.result_cards() if c.kind == "man" and str(c.id) == arg), None)
        if card is not None:
            self.data["offered"] = card.title

    def has_offer(self, **_) -> bool:
        return bool(self.data.get("offered"))

    def take_offer(self, **_):
        self.data.update(dealer=self.data.pop("offered"), index=0, answers={})

    def name_fits(self, text: str = "", **_) -> bool:
        return self.fits(text, "title")

    def refuse_name(self, text: str = "", **_):
        self.refuse_long(text, "title")

    def keep_name(self, text: str = "", **_):
        self.data.update(dealer=" ".join(text.split()), index=0, answers={})

    def assessed_before(self, text: str = "", **_) -> bool:
        key = title_key(text)
        return any(c.kind == "man" and title_key(c.title) == key for c in self.ctx.result_cards())

    def restart_questions(self, **_):
        self.data.update(index=0, answers={})

    def load_saved(self, **_):
        saved = self._saved()
        self.data["answers"] = dict(saved.data.get("answers", {})) if saved else {}

    def valid_answer(self, arg: str = "", **_) -> bool:
        return arg in {str(o.value) for o in self.ctx.pack.toolkit.man.scale}  # forged data is no answer

    def more_questions(self, **_) -> bool:
        return self.index + 1 < len(self.questions)

    def keep_answer(self, arg: str = "", **_):
        self.data.setdefault("answers", {})[self.questions[self.index].id] = int(arg)
        self.data["index"] = self.index + 1

    def has_previous(self, **_) -> bool:
        return self.index > 0

    def step_back(self, **_):
        self.data["index"] = self.index - 1

    def save_card(self, **_):
        answers = self.data["answers"]
        code = man_code(man_levels(self.ctx.pack, answers))
        self.effects.append(SaveResultCard("man", self.data["dealer"], {"answers": answers, "code": code}))

    # --- getters ---------------------------------------------------------------------------------

    def ask_view(self) -> dict[str, Any]:
        return self.view(offered=self.data.get("offered", ""))

    def existing_view(self) -> dict[str, Any]:
        saved = self._saved()
        card = render_card(self.ctx.pack, "man", saved.title, saved.data, self.ctx.locale) if saved else ""
        return self.view(dealer=self.data.get("dealer", ""), card=card, updated=saved.updated_at[:10] if saved else "")

    def question_view(self) -> dict[str, Any]:
        question = self.questions[self.index]
        dimension = self.ctx.pack.toolkit.man.dimensions[question.dimension]
        return self.view(
            dealer=self.data.get("dealer", ""),
            number=self.index + 1,
            total=len(self.questions),
            dimension=self.local(dimension),
            question=self.local(question.text),
        )

    def scale_choices(self) -> list[Choice]:
        return [Choice(str(o.value), self.local(o.label)) for o in self.ctx.pack.toolkit.man.scale]

    def _code(self) -> str:
        return man_code(man_levels(self.ctx.pack, self.data.get("answers", {})))

    def _persona(self):
        """A role-play persona of the dealer's class, if the pack has one."""
        return next((d for d in self.ctx.pack.dealers if self.ctx.pack.man_class(d).code == self._code()), None)

    def persona_choices(self) -> list[Choice]:
        persona = self._persona()
        return [Choice(persona.id, vars={"name": self.local(persona.name)})] if persona else []

    def result_view(self) -> dict[str, Any]:
        card = render_card(self.ctx.pack, "man", self.data["dealer"], {"answers": self.data["answers"]},
                           self.ctx.locale)  # fmt: skip
        persona = self._persona()
        return self.view(card=card, persona=self.local(persona.name) if persona else "")
