"""卖点≠特点: is a "selling point" the value to this customer, or only the feature said again?

Judged by meaning with the scorer's model (dialogs/scoring/embedding.py): the selling point and
each of its clauses are compared, after the scorer's centring, with the feature itself, with
lines that only say what a product is or has, and with lines that say what it is worth to one
customer (toolkit.yaml `pitch.feature_exemplars` / `value_exemplars`). A clause shows value when
it is close enough to the value lines and not clearly closer to the feature; one such clause is
enough, so "gigabit fibre, so your child's class never drops" passes and "gigabit fibre, up to
1000 Mbps" does not.

With `COACH_SCORER=keywords` (no model, chosen explicitly) the judge falls back to words: a
selling point that repeats most of the feature's words and has no benefit phrase
(scoring.yaml `structure.benefit_words`) is a restated feature.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from dialogs.scoring import Scorer, normalize
from dialogs.scoring.clauses import split_clauses
from dialogs.scoring.embedding import Embedder
from dialogs.scoring.exemplars import ExemplarBank
from knowledge.pack import LOCALES, Pack

VALUE, FEATURE, VAGUE = "value", "feature", "vague"


@dataclass(frozen=True)
class Verdict:
    kind: str  # value (accepted), feature (only restates the feature) or vague (no value for this customer)
    feature_closeness: float = 0.0
    value_closeness: float = 0.0


class ValueJudge:
    """Built once per pack and scorer mode; `judge` is cheap (a few clause vectors)."""

    def __init__(self, pack: Pack, mode: str):
        tool = pack.toolkit.pitch
        self._settings = tool.judge
        self._benefit = [w.casefold() for locale in LOCALES for w in pack.scoring.structure.benefit_words[locale]]
        self._embedder: Embedder | None = None
        if mode == "semantic":
            self._bank = ExemplarBank()
            self._feature = self._bank.add("pitch:feature", [t for lo in LOCALES for t in tool.feature_exemplars[lo]])
            self._value = self._bank.add("pitch:value", [t for lo in LOCALES for t in tool.value_exemplars[lo]])
            self._embedder = Embedder.shared()
            background = pack.scoring.semantic.background
            self._bank.build(self._embedder, [t for lo in LOCALES for t in background[lo]])

    def judge(self, selling_point: str, feature: str) -> Verdict:
        if self._embedder is None:
            return self._judge_words(selling_point, feature)
        units = list(dict.fromkeys([selling_point.strip(), *(c.text for c in split_clauses(selling_point))]))
        vectors = self._embedder.embed_clauses([*units, feature.strip() or selling_point])
        sims = self._bank.similarities(vectors[:-1])
        centred = self._bank.centre(vectors)
        to_feature_text = centred[:-1] @ centred[-1]
        feature_close = np.maximum(sims[:, self._feature], to_feature_text)
        value_close = sims[:, self._value]
        settings = self._settings
        shows_value = (value_close >= settings.value_floor) & (value_close >= feature_close - settings.margin)
        best_feature, best_value = float(feature_close.max()), float(value_close.max())
        kind = VALUE if shows_value.any() else (FEATURE if best_feature > best_value else VAGUE)
        return Verdict(kind, round(best_feature, 3), round(best_value, 3))

    def _judge_words(self, selling_point: str, feature: str) -> Verdict:
        said, given = normalize(selling_point), normalize(feature)
        if any(word in said for word in self._benefit):
            return Verdict(VALUE)
        units = _units(given)
        repeated = sum(1 for u in units if u in said) / len(units) if units else 0.0
        return Verdict(FEATURE if repeated >= self._settings.keyword_overlap else VAGUE, round(repeated, 3))


def _units(text: str) -> list[str]:
    """Words of a normalised text: Latin words, and pairs of Chinese characters."""
    units = []
    for word in text.split():
        if word.isascii():
            units.append(word)
        else:
            units += [word[i : i + 2] for i in range(max(1, len(word) - 1))]
    return units


_JUDGES: dict[tuple[int, str], tuple[Pack, ValueJudge]] = {}
_LOCK = threading.Lock()


def judge_for(pack: Pack, scorer: Scorer) -> ValueJudge:
    """The process's judge for this pack, in the scorer's mode (built on first use)."""
    key = (id(pack), scorer.mode)
    with _LOCK:
        built = _JUDGES.get(key)
        if built is None or built[0] is not pack:
            built = _JUDGES[key] = (pack, ValueJudge(pack, scorer.mode))
        return built[1]
