"""/pitch (flows/pitch.yaml): the four-stage pitch builder, features → scenario → selling point → script.

The rep picks a product of the pack (or describes one), a target group and a scenario (a pack
product offers its own scenarios), then walks the four stages: the feature to build on, what the
customer thinks in that scenario, the selling point, and the script card rendered from
toolkit.yaml. A "selling point" that only restates the feature (卖点≠特点) is judged by meaning
(dialogs/pitch_judge.py): the rep is told so and asked for the value to this customer.

Session data: product ({id} or {name}), suggestion (index of the pack scenario chosen, if any),
target, scenario, feature ({index} or {text}), thinking, selling_point, notice.
"""

from __future__ import annotations

import re
from typing import Any

from dialogs.cards import phrase, pitch_parts, render_card
from dialogs.effects import SaveResultCard
from dialogs.flow_session import Choice
from dialogs.pitch_judge import FEATURE, VALUE, judge_for
from dialogs.toolkit_session import ToolkitSession


def _index(arg: str, count: int) -> int:
    """A button's index argument; anything else (forged, out of range) is the first item."""
    return int(arg) if re.fullmatch(r"[0-9]{1,3}", arg) and int(arg) < count else 0


class PitchSession(ToolkitSession):
    _verdicts: dict[str, str] | None = None  # judged in this event: the conditions ask more than once

    @property
    def pack_product(self):
        product_id = self.data.get("product", {}).get("id")
        return self.ctx.pack.product(product_id) if product_id else None

    def _suggested(self):
        """The pack scenario the rep chose as target group, if any."""
        product, index = self.pack_product, self.data.get("suggestion")
        if product is None or not isinstance(index, int) or not 0 <= index < len(product.scenarios):
            return None
        return product.scenarios[index]

    def _feature_text(self) -> str:
        """The feature as the judge compares it: a pack feature's name and detail, or what the rep typed."""
        product, feature = self.pack_product, self.data.get("feature", {})
        if product is not None and isinstance(feature.get("index"), int):
            chosen = product.features[feature["index"]]
            return f"{self.local(chosen.name)}。{self.local(chosen.detail)}"
        return feature.get("text", "")

    def _title(self) -> str:
        return f"{pitch_parts(self.ctx.pack, self.data, self.ctx.locale)['product']} · {self.data['target']}"

    def _card_data(self) -> dict[str, Any]:
        keys = ("product", "feature", "target", "scenario", "thinking", "selling_point")
        return {key: self.data[key] for key in keys if key in self.data}

    # --- callbacks and conditions (named in flows/pitch.yaml) ------------------------------------

    def title_fits(self, text: str = "", **_) -> bool:
        return self.fits(text, "title")

    def item_fits(self, text: str = "", **_) -> bool:
        return self.fits(text, "item")

    def refuse_title(self, text: str = "", **_):
        self.refuse_long(text, "title")

    def refuse_item(self, text: str = "", **_):
        self.refuse_long(text, "item")

    def set_product(self, arg: str = "", **_):
        ids = [p.id for p in self.ctx.pack.products]
        self.data["product"] = {"id": arg if arg in ids else ids[0]}

    def describe_product(self, text: str = "", **_):
        self.data["product"] = {"name": phrase(text)}

    def pick_target(self, arg: str = "", **_):
        product = self.pack_product
        index = _index(arg, len(product.scenarios) if product is not None else 0)
        self.data["suggestion"] = index
        if product is not None:
            self.data["target"] = self.local(product.scenarios[index].people)

    def keep_target(self, text: str = "", **_):
        self.data.pop("suggestion", None)
        self.data["target"] = phrase(text)

    def use_scenario(self, **_):
        suggested = self._suggested()
        self.data["scenario"] = phrase(self.local(suggested.situation)) if suggested else ""

    def keep_scenario(self, text: str = "", **_):
        self.data["scenario"] = phrase(text)

    def pick_feature(self, arg: str = "", **_):
        product = self.pack_product
        self.data["feature"] = {"index": _index(arg, len(product.features) if product is not None else 0)}

    def keep_feature(self, text: str = "", **_):
        self.data["feature"] = {"text": phrase(text)}

    def use_thinking(self, **_):
        suggested = self._suggested()
        self.data["thinking"] = phrase(self.local(suggested.customer_thinking)) if suggested else ""

    def keep_thinking(self, text: str = "", **_):
        self.data["thinking"] = phrase(text)

    def _verdict(self, text: str) -> str:
        if self._verdicts is None:
            self._verdicts = {}
        if text not in self._verdicts:
            judge = judge_for(self.ctx.pack, self.ctx.scorer)
            self._verdicts[text] = judge.judge(text, self._feature_text()).kind
        return self._verdicts[text]

    def shows_value(self, text: str = "", **_) -> bool:
        return self._verdict(text) == VALUE

    def flag_point(self, text: str = "", **_):
        """Not a selling point yet: say why, and ask for the value to this customer."""
        key = "pitch.restates_feature" if self._verdict(text) == FEATURE else "pitch.no_value"
        self.data["tried"] = phrase(text)
        self.notify(key, target=self.data["target"], tried=phrase(text))

    def keep_point(self, text: str = "", **_):
        self.data["selling_point"] = phrase(text)
        self.data.pop("tried", None)

    def save_card(self, **_):
        self.effects.append(SaveResultCard("pitch", self._title(), self._card_data()))

    def has_pack_product(self, **_) -> bool:
        return self.pack_product is not None

    def has_suggestion(self, **_) -> bool:
        return self._suggested() is not None

    # --- getters ---------------------------------------------------------------------------------

    def product_choices(self) -> list[Choice]:
        return [Choice(p.id, self.local(p.name)) for p in self.ctx.pack.products]

    def target_choices(self) -> list[Choice]:
        product = self.pack_product
        return [Choice(str(i), self.local(s.people)) for i, s in enumerate(product.scenarios)] if product else []

    def feature_choices(self) -> list[Choice]:
        product = self.pack_product
        return [Choice(str(i), self.local(f.name)) for i, f in enumerate(product.features)] if product else []

    def _stage(self, stage: str) -> str:
        return self.local(self.ctx.pack.toolkit.pitch.stages[stage])

    def stage_view(self) -> dict[str, Any]:
        suggested = self._suggested()
        parts = pitch_parts(self.ctx.pack, self.data, self.ctx.locale) if "product" in self.data else {}
        return self.view(
            product=parts.get("product", ""),
            feature=parts.get("feature", ""),
            target=self.data.get("target", ""),
            scenario=self.data.get("scenario", ""),
            thinking=self.data.get("thinking", ""),
            suggested_situation=self.local(suggested.situation) if suggested else "",
            suggested_thinking=self.local(suggested.customer_thinking) if suggested else "",
            stages={stage: self._stage(stage) for stage in ("feature", "scenario", "selling_point", "script")},
            tried=self.data.get("tried", ""),
            from_pack=self.pack_product is not None,
        )

    def script_view(self) -> dict[str, Any]:
        card = render_card(self.ctx.pack, "pitch", self._title(), self._card_data(), self.ctx.locale)
        return self.view(card=card)
