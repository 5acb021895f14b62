"""Scores a learner's answer for one step against that step's rubric.

Each rubric check passes when the answer contains one of the check's signal
phrases (exactly, after normalising case, width and punctuation, or closely
enough by fuzzy matching). The score is the weighted share of checks passed,
so every score can be explained by the list of checks behind it. Signals from
both locales are used, so an answer in either language is scored fairly; the
locale only chooses the language of the labels and tips.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.pack import LOCALES, Pack

# Fuzzy matching is for phrases long enough that a near-miss is still the same phrase.
FUZZY_MIN_LENGTH = 5
FUZZY_THRESHOLD = 90
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Lower-case, full-width folded, punctuation and spacing reduced to single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCTUATION.sub(" ", text).strip()


def _squeeze(text: str) -> str:
    """Normalised text without any spaces (Chinese has none to rely on)."""
    return normalize(text).replace(" ", "")


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    label: str
    tip: str
    weight: float
    evidence: str | None  # the phrase that was found, for the learner to see why

    def as_json(self) -> dict:
        return {"id": self.id, "passed": self.passed, "tip": self.tip}


@dataclass(frozen=True)
class ScoreResult:
    step: str
    score: int
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.passed)

    @property
    def missed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def as_json(self) -> dict:
        return {"step": self.step, "score": self.score, "checks": [c.as_json() for c in self.checks]}


@dataclass(frozen=True)
class _Signal:
    shown: str  # as written in the pack
    spaced: str  # normalised, spaces kept (matches English on word boundaries)
    squeezed: str  # normalised, spaces removed (matches Chinese)

    @property
    def latin(self) -> bool:
        return self.squeezed.isascii()


class Scorer:
    """Built once per pack; scoring then costs a few string searches per check."""

    PASS_MARK = 60

    def __init__(self, pack: Pack):
        self._pack = pack
        self._signals: dict[tuple[str, str], tuple[_Signal, ...]] = {}
        for step in pack.steps:
            for check in step.rubric:
                phrases = dict.fromkeys(p for locale in LOCALES for p in check.signals[locale])
                self._signals[(step.id, check.id)] = tuple(
                    _Signal(p, f" {normalize(p)} ", _squeeze(p)) for p in phrases if _squeeze(p)
                )

    def score(self, step_id: str, text: str, locale: str = "zh") -> ScoreResult:
        """Score `text` as an answer for step `step_id`; labels and tips in `locale`."""
        step = self._pack.step(step_id)
        spaced = f" {normalize(text)} "
        squeezed = spaced.replace(" ", "")
        results = []
        for check in step.rubric:
            evidence = self._find_signal(self._signals[(step.id, check.id)], spaced, squeezed)
            results.append(
                CheckResult(
                    id=check.id,
                    passed=evidence is not None,
                    label=check.label[locale],
                    tip=check.tip[locale],
                    weight=check.weight,
                    evidence=evidence,
                )
            )
        total = sum(c.weight for c in results)
        earned = sum(c.weight for c in results if c.passed)
        return ScoreResult(step=step.id, score=round(100 * earned / total), checks=tuple(results))

    @staticmethod
    def _find_signal(signals: tuple[_Signal, ...], spaced: str, squeezed: str) -> str | None:
        if not squeezed:
            return None
        for signal in signals:
            if signal.latin:
                # Latin phrases match whole words ("ask" must not match inside "task").
                if signal.spaced in spaced:
                    return signal.shown
            elif signal.squeezed in squeezed:
                return signal.shown
        words = spaced.split()
        for signal in signals:
            if len(signal.squeezed) < FUZZY_MIN_LENGTH:
                continue
            if signal.latin:
                # Close spellings of the same words: compare against runs of as many words.
                size = signal.spaced.count(" ") - 1
                runs = [" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))]
                if process.extractOne(signal.spaced.strip(), runs, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD):
                    return signal.shown
            elif fuzz.partial_ratio(signal.squeezed, squeezed, score_cutoff=FUZZY_THRESHOLD):
                return signal.shown
        return None
