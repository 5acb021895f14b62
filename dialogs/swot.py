"""/swot (flows/swot.yaml): a guided SWOT of a market or a dealer, then a summary card.

The rep says what the SWOT is about (a market or a dealer, then its name), then writes the
strengths, weaknesses, opportunities and threats one part at a time: one item per message (or
several lines in one), "Done" (pressed or typed) to move on. The summary card lists them with
the SO/ST/WO/WT strategy prompts of toolkit.yaml, and is saved under the subject's name.

Session data: kind (market or dealer), subject, part (index of the part being written),
items ({part id: [item, ...]}), notice.
"""

from __future__ import annotations

from typing import Any

from dialogs.cards import phrase, render_card
from dialogs.effects import SaveResultCard
from dialogs.flow_session import Choice
from dialogs.toolkit_session import ToolkitSession
from knowledge.templates import render


class SwotSession(ToolkitSession):
    @property
    def tool(self):
        return self.ctx.pack.toolkit.swot

    @property
    def part(self):
        return self.tool.quadrants[self.data.get("part", 0)]

    def _items(self) -> list[str]:
        return self.data.setdefault("items", {}).setdefault(self.part.id, [])

    def _card_data(self) -> dict[str, Any]:
        return {"kind": self.data.get("kind", "market"), "items": self.data.get("items", {})}

    # --- callbacks and conditions (named in flows/swot.yaml) -------------------------------------

    def set_kind(self, arg: str = "", **_):
        self.data["kind"] = arg if arg in self.tool.subject_kinds else "market"

    def subject_fits(self, text: str = "", **_) -> bool:
        return self.fits(text, "title")

    def refuse_subject(self, text: str = "", **_):
        self.refuse_long(text, "title")

    def keep_subject(self, text: str = "", **_):
        self.data.update(subject=" ".join(text.split()), part=0, items={})

    def says_done(self, text: str = "", **_) -> bool:
        words = {w.casefold() for locale in ("zh", "en") for w in self.tool.done_words[locale]}
        return phrase(text).casefold() in words

    def has_items(self, **_) -> bool:
        return bool(self._items())

    def last_part(self, **_) -> bool:
        return self.data.get("part", 0) + 1 >= len(self.tool.quadrants)

    def next_part(self, **_):
        self.data["part"] = self.data.get("part", 0) + 1

    def refuse_empty(self, **_):
        self.notify("swot.need_one")

    def add_items(self, text: str = "", **_):
        """One item per line; a line too long is refused (the others are kept), and a part holds max_items."""
        items = self._items()
        lines = [phrase(line) for line in text.splitlines() if phrase(line)]
        for line in lines:
            if len(items) >= self.tool.max_items:
                self.notify("swot.full", limit=self.tool.max_items)
                return
            if not self.fits(line, "item"):
                self.refuse_long(line, "item")
                return
            if line not in items:
                items.append(line)

    def save_card(self, **_):
        self.effects.append(SaveResultCard("swot", self.data["subject"], self._card_data()))

    # --- getters ---------------------------------------------------------------------------------

    def kind_choices(self) -> list[Choice]:
        return [Choice(kind, self.local(name)) for kind, name in self.tool.subject_kinds.items()]

    def subject_view(self) -> dict[str, Any]:
        kind = self.data.get("kind", "market")
        return self.view(kind=kind, kind_name=self.local(self.tool.subject_kinds[kind]))

    def part_view(self) -> dict[str, Any]:
        variables = {"subject": self.data["subject"], "kind": self.data.get("kind", "market")}
        return self.view(
            number=self.data.get("part", 0) + 1,
            total=len(self.tool.quadrants),
            title=self.local(self.part.title),
            prompt=render(self.part.prompt[self.ctx.locale], **variables),
            hint=self.local(self.part.hint),
            items=list(self._items()),
            full=len(self._items()) >= self.tool.max_items,
            last=self.last_part(),
        )

    def summary_view(self) -> dict[str, Any]:
        card = render_card(self.ctx.pack, "swot", self.data["subject"], self._card_data(), self.ctx.locale)
        return self.view(card=card)
