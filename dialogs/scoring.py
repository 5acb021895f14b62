"""Scores a learner's answer against a rubric: a step's, or an objection card's.

How a score is made, so that it explains itself:
- Each rubric check passes when the answer contains one of its signal phrases:
  exactly (after folding case, width and punctuation; English on whole words), or
  closely (rapidfuzz ratio against runs of the answer's words; Chinese words come
  from jieba). The phrase found is kept as evidence.
  A check may also pass on structure: "asks at least N questions".
- The base score is the weighted share of checks passed, 0-100.
- Negative checks (scoring.yaml: arguing, blaming, an instant discount, pressure
  to sign, ...) each subtract their penalty when found, with their tip.
- An answer too short to show the skill (a few keywords) is capped (scoring.yaml).
Signals from both languages are used, so an answer in either language is scored
fairly; the locale only chooses the language of labels and tips.

Objection cards have the five stage checks of the objection-handling step; a
card's own signals and tip come first, the step's generic signals also count.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import jieba
from rapidfuzz import fuzz, process

from knowledge.pack import LOCALES, STAGE_IDS, Pack, Signals, Text

FUZZY_MIN_LENGTH = 4  # characters (Chinese) or letters (English) a signal needs before near-misses count
FUZZY_THRESHOLD = 86
MAX_SCORED_CHARS = 4096  # Telegram's message limit; longer text is cut before scoring
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
_HAS_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def normalize(text: str) -> str:
    """Lower-case, full-width folded, punctuation and spacing reduced to single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCTUATION.sub(" ", text).strip()


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    label: str
    tip: str
    weight: float
    evidence: str | None  # the phrase that was found, for the learner to see why
    penalty: int = 0  # negative checks: points taken off when not passed

    @property
    def negative(self) -> bool:
        return self.penalty > 0

    def as_json(self) -> dict:
        return {"id": self.id, "passed": self.passed, "tip": self.tip}


@dataclass(frozen=True)
class ScoreResult:
    step: str  # the step id, or the objection id for a drill card
    score: int
    checks: tuple[CheckResult, ...]

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.passed and not c.negative)

    @property
    def missed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def as_json(self) -> dict:
        return {"step": self.step, "score": self.score, "checks": [c.as_json() for c in self.checks]}


@dataclass(frozen=True)
class _Signal:
    shown: str  # as written in the pack
    spaced: str  # normalised with spaces kept, padded: " how s business "
    squeezed: str  # normalised without spaces (how Chinese is matched)
    words: int  # how many words (Latin) or jieba tokens (Chinese) it spans
    latin: bool
    parts: frozenset[str]  # its characters (Chinese) or words (Latin), for the quick pre-filter


class _Signals:
    """A check's signals compiled for speed: one regex for exact Latin matches, one for Chinese,
    and the longer phrases kept for fuzzy matching."""

    def __init__(self, signals: tuple[_Signal, ...]):
        self.shown = {s.spaced.strip() if s.latin else s.squeezed: s.shown for s in signals}
        latin = sorted((s.spaced.strip() for s in signals if s.latin), key=len, reverse=True)
        han = sorted((s.squeezed for s in signals if not s.latin), key=len, reverse=True)
        # Latin phrases match whole words ("ask" must not match inside "task"): the answer is padded with spaces.
        self.latin = re.compile(" (" + "|".join(map(re.escape, latin)) + ") ") if latin else None
        self.han = re.compile("|".join(map(re.escape, han))) if han else None
        # For fuzzy matching, flattened for a fast loop: (latin, head, tail, parts, words, target, shown).
        # A near-miss differs by about one character (Chinese) or one word (English), so most of the
        # phrase must be there: for Chinese one half intact and all but one character; for English all
        # but one word, or (one word) the same first two letters.
        self.fuzzy = tuple(
            (
                s.latin,
                s.squeezed[:2] if s.latin else s.squeezed[: len(s.squeezed) // 2],
                "" if s.latin else s.squeezed[-(len(s.squeezed) // 2) :],
                s.parts,
                s.words,
                s.spaced.strip() if s.latin else s.squeezed,
                s.shown,
            )
            for s in signals
            if len(s.squeezed) >= FUZZY_MIN_LENGTH
        )

    def find(self, answer: _Answer) -> str | None:
        if not answer.squeezed:
            return None
        if self.latin and (match := self.latin.search(answer.spaced_overlap)):
            return self.shown[match.group(1)]
        if self.han and (match := self.han.search(answer.squeezed)):
            return self.shown[match.group(0)]
        if not self.fuzzy:
            return None
        squeezed, chars, word_set, prefixes = answer.squeezed, *answer.filter_sets()
        for latin, head, tail, parts, words, target, shown in self.fuzzy:
            if latin:
                if (head not in prefixes) if words == 1 else (len(parts - word_set) > 1):
                    continue
                candidates = answer.runs(words, " ")
            else:
                if (head not in squeezed and tail not in squeezed) or len(parts - chars) > 1:
                    continue
                candidates = answer.han_runs(words, head, tail)
            if process.extractOne(target, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD):
                return shown
        return None


@dataclass(frozen=True)
class _Check:
    id: str
    label: Text
    tip: Text
    weight: float
    signals: _Signals
    penalty: int = 0
    questions: int | None = None  # passes also when the answer asks at least this many questions


class _Answer:
    """An answer prepared once for all checks: normalised forms and word runs for fuzzy matching."""

    def __init__(self, text: str):
        text = text[:MAX_SCORED_CHARS]
        self.questions = text.count("?") + text.count("？")
        self.han_characters = len(_HAS_HAN.findall(text))
        self.latin_words = len(_LATIN_WORD.findall(text))
        normalized = normalize(text)
        self.spaced = f" {normalized} "
        self.spaced_overlap = self.spaced.replace(" ", "  ")  # a regex match consumes one space, not both
        self.squeezed = normalized.replace(" ", "")
        self._words: list[str] | None = None
        self._sets: tuple[frozenset[str], frozenset[str], frozenset[str]] | None = None
        self._runs: dict = {}
        self.clauses = normalized.split()  # punctuation and spaces end a clause
        self._clause_words: dict[int, list[str]] = {}

    @property
    def words(self) -> list[str]:
        """The answer's words, for English runs."""
        if self._words is None:
            self._words = self.spaced.split()
        return self._words

    def filter_sets(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """The answer's characters, words and two-letter word beginnings (for the fuzzy pre-filter)."""
        if self._sets is None:
            word_set = frozenset(self.spaced.split())
            self._sets = (frozenset(self.squeezed), word_set, frozenset(w[:2] for w in word_set))
        return self._sets

    def han_runs(self, size: int, head: str, tail: str) -> list[str]:
        """Runs of `size` and `size + 1` jieba words (joined) from the clauses that contain `head` or
        `tail`: a near-miss of a Chinese phrase sits inside one clause, and shows one of its halves."""
        runs: list[str] = []
        for index, clause in enumerate(self.clauses):
            if head in clause or tail in clause:
                key = (index, size)
                if key not in self._runs:
                    words = self._clause_words.get(index)
                    if words is None:
                        words = self._clause_words[index] = jieba.lcut(clause, HMM=False)
                    self._runs[key] = [
                        "".join(words[i : i + n]) for n in (size, size + 1) for i in range(max(1, len(words) - n + 1))
                    ]
                runs.extend(self._runs[key])
        return runs

    def runs(self, size: int, joiner: str) -> list[str]:
        """Every run of `size` consecutive words, joined."""
        key = size if joiner else -size
        if key not in self._runs:
            words = self.words
            self._runs[key] = [joiner.join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))]
        return self._runs[key]


def _compile_signals(signals: list[Signals]) -> _Signals:
    phrases = dict.fromkeys(p for group in signals for locale in LOCALES for p in group[locale])
    compiled = []
    for phrase in phrases:
        normalized = normalize(phrase)
        squeezed = normalized.replace(" ", "")
        if not squeezed:
            continue
        words = len(normalized.split()) if squeezed.isascii() else len(jieba.lcut(squeezed, HMM=False))
        latin = squeezed.isascii()
        parts = frozenset(normalized.split()) if latin else frozenset(squeezed)
        compiled.append(_Signal(phrase, f" {normalized} ", squeezed, words, latin, parts))
    return _Signals(tuple(compiled))


class Scorer:
    """Built once per pack (jieba's dictionary is loaded here, never per message)."""

    PASS_MARK = 60

    def __init__(self, pack: Pack):
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self._pack = pack
        self._negatives = tuple(
            _Check(n.id, n.label, n.tip, 0.0, _compile_signals([n.signals]), n.penalty)
            for n in pack.scoring.negative_checks
        )
        self._rubrics: dict[str, tuple[_Check, ...]] = {}
        for step in pack.steps:
            self._rubrics[f"step:{step.id}"] = tuple(
                _Check(c.id, c.label, c.tip, c.weight, _compile_signals([c.signals]), questions=c.questions)
                for c in step.rubric
            )
        stages = {c.id: c for c in pack.step("objection_handling").rubric}
        for card in pack.objections:
            checks = []
            for stage_id in STAGE_IDS:
                own, generic = card.checks[stage_id], stages.get(stage_id)
                signal_groups = [own.signals] + ([generic.signals] if generic else [])
                label = generic.label if generic else Text(zh=stage_id, en=stage_id)
                weight = generic.weight if generic else 1.0
                checks.append(_Check(stage_id, label, own.tip, weight, _compile_signals(signal_groups)))
            self._rubrics[f"objection:{card.id}"] = tuple(checks)

    def score(self, step_id: str, text: str, locale: str = "zh") -> ScoreResult:
        """Score `text` as an answer for step `step_id`; labels and tips in `locale`."""
        return self._score(step_id, self._rubrics[f"step:{step_id}"], text, locale)

    def score_objection(self, objection_id: str, text: str, locale: str = "zh") -> ScoreResult:
        """Score `text` as an answer to objection card `objection_id`."""
        return self._score(objection_id, self._rubrics[f"objection:{objection_id}"], text, locale)

    def describe(self, kind: str, key: str, locale: str) -> dict[str, CheckResult]:
        """The checks of a step (`kind` "step") or objection card ("objection"), unscored: labels and tips."""
        rubric = self._rubrics[f"{kind}:{key}"] + self._negatives
        return {
            c.id: CheckResult(c.id, False, c.label[locale], c.tip[locale], c.weight, None, c.penalty) for c in rubric
        }

    def _score(self, key: str, rubric: tuple[_Check, ...], text: str, locale: str) -> ScoreResult:
        answer = _Answer(text)
        results = []
        for check in rubric:
            evidence = check.signals.find(answer)
            if evidence is None and check.questions and answer.questions >= check.questions:
                evidence = "？" * answer.questions if answer.questions <= 5 else f"？×{answer.questions}"
            results.append(CheckResult(check.id, evidence is not None, check.label[locale], check.tip[locale],
                                       check.weight, evidence))  # fmt: skip
        total = sum(c.weight for c in results)
        base = 100 * sum(c.weight for c in results if c.passed) / total
        penalties = 0
        for check in self._negatives:
            evidence = check.signals.find(answer)
            if evidence is not None:
                penalties += check.penalty
            results.append(CheckResult(check.id, evidence is None, check.label[locale], check.tip[locale], 0.0,
                                       evidence, check.penalty))  # fmt: skip
        score = max(0, round(base - penalties))
        short = self._pack.scoring.short_answer
        too_short = (
            answer.han_characters < short.min_chinese_characters and answer.latin_words < short.min_english_words
        )
        if too_short:
            score = min(score, short.cap)
        results.append(CheckResult(short.id, not too_short, short.label[locale], short.tip[locale], 0.0, None,
                                   100 - short.cap))  # fmt: skip
        return ScoreResult(step=key, score=score, checks=tuple(results))
