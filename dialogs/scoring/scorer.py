"""The Scorer: an answer, a step (or an objection card), and a score that explains itself.

How a score is made:
1. The answer is cut into clauses (clauses.py); repeats count once; phone shorthand ("u", "dont") is
   spelled out for the rules and the model (spoken.py), and the evidence quotes the rep as typed.
2. Each rubric check gets a credit 0..1 from its best clause: how close the clause means to the
   check's exemplars (semantic mode), or an exact signal phrase inside a real sentence. Some
   checks also need a shape (structure.py): an open question, a summary with a check-back, a
   next step with a date or a number. The evidence is that clause as the rep wrote it.
3. The score is the weighted credit, scaled so that `full_marks_at` of it earns 100.
4. Harms (instant discounts, pressure, blaming, arguing, own targets, mis-selling) fire on an
   exact phrase or pattern, or on a clause (or two neighbouring clauses of one sentence) that means
   the same as a harm exemplar and not the same as its harmless look-alikes; each costs its
   penalty and caps the score.
5. Guards cap the score with a tip: a keyword list, pasted lesson text, another step's job,
   an answer too short to show the skill.
All numbers, word lists, labels and tips come from scoring.yaml and the steps' rubrics.
`COACH_SCORER=keywords` chooses the keyword-only mode (exact phrases, no model) explicitly.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass

import numpy as np

from dialogs.scoring.clauses import Clause, han_count, latin_words, load_dictionary, normalize, size, split_clauses
from dialogs.scoring.embedding import Embedder, ScorerUnavailable
from dialogs.scoring.exemplars import ExemplarBank
from dialogs.scoring.guards import CopyDetector, KeywordList, unique
from dialogs.scoring.phrases import Phrases
from dialogs.scoring.results import CheckResult, ScoreResult
from dialogs.scoring.spoken import SpokenForms
from dialogs.scoring.structure import Structure
from knowledge.pack import LOCALES, STAGE_IDS, STEP_IDS, Guard, Pack, Signals, Text, template_context
from knowledge.templates import render

MODES = ("semantic", "keywords")
_BUILT: dict[tuple[int, str], tuple[Pack, dict]] = {}  # (id(pack), mode) -> (pack, the parts a Scorer is built from)


def _both(signals: Signals | None) -> list[str]:
    return [] if signals is None else [t for locale in LOCALES for t in signals[locale]]


@dataclass(frozen=True)
class _Check:
    id: str
    label: Text
    tip: Text
    weight: float
    phrases: Phrases
    groups: tuple[int, ...]  # exemplar groups (a card stage has its own and the step's generic one)
    structure: str | None = None
    questions: int | None = None


@dataclass(frozen=True)
class _Harm:
    id: str
    label: Text
    tip: Text
    penalty: int
    phrases: Phrases
    group: int | None
    unlike: int | None
    cues: Phrases


class Scorer:
    """Built once per pack and process: the model and the exemplar vectors are loaded here, never per message."""

    def __init__(self, pack: Pack, mode: str | None = None):
        mode = mode or os.environ.get("COACH_SCORER") or "semantic"
        if mode not in MODES:
            raise ScorerUnavailable(f"COACH_SCORER must be unset (the full scorer) or 'keywords', not {mode!r}")
        self.mode = mode
        self._pack = pack
        built = _BUILT.get((id(pack), mode))
        if built is not None and built[0] is pack:  # another Scorer for the same pack in this process: share its parts
            self.__dict__.update(built[1])
            return
        self._build(pack, mode)
        _BUILT[(id(pack), mode)] = (pack, dict(self.__dict__))

    def _build(self, pack: Pack, mode: str) -> None:
        load_dictionary()
        scoring = pack.scoring
        self._settings = scoring.semantic
        self._spoken = SpokenForms(scoring.semantic.spoken_forms)
        self._structure = Structure(scoring.structure)
        self._is_keyword_list = KeywordList(scoring.structure.function_words)
        self.PASS_MARK = scoring.pass_mark
        bank = ExemplarBank()

        extra = _rubric_exemplars(pack)
        self._rubrics: dict[str, tuple[_Check, ...]] = {}
        for step in pack.steps:
            self._rubrics[f"step:{step.id}"] = tuple(
                _Check(c.id, c.label, c.tip, c.weight, Phrases(_both(c.signals)),
                       _groups(bank.add(f"step:{step.id}:{c.id}", _both(c.exemplars) + extra.get((step.id, c.id), []))),
                       c.structure, c.questions)
                for c in step.rubric
            )  # fmt: skip
        stages = {c.id: c for c in pack.step("objection_handling").rubric}
        generic = {c.id: c for c in self._rubrics["step:objection_handling"]}
        for card in pack.objections:
            checks = []
            for stage_id in STAGE_IDS:
                own, stage = card.checks[stage_id], stages[stage_id]
                base = generic[stage_id]
                own_group = bank.add(f"card:{card.id}:{stage_id}", _both(own.exemplars))
                checks.append(
                    _Check(stage_id, stage.label, own.tip, stage.weight,
                           Phrases(_both(own.signals) + _both(stage.signals)),
                           base.groups + _groups(own_group), stage.structure, stage.questions)
                )  # fmt: skip
            self._rubrics[f"objection:{card.id}"] = tuple(checks)

        self._harms = tuple(
            _Harm(n.id, n.label, n.tip, n.penalty, Phrases(_both(n.signals), n.patterns),
                  bank.add(f"harm:{n.id}", _both(n.exemplars)), bank.add(f"unlike:{n.id}", _both(n.unlike)),
                  Phrases(_both(n.cues)))
            for n in scoring.negative_checks
        )  # fmt: skip
        self._harm_cues = Phrases([cue for n in scoring.negative_checks for cue in _both(n.cues)])
        polite = scoring.polite_empty
        self._empty_group = None if polite is None else bank.add("guard:polite_empty", _both(polite.exemplars))
        self._bank = bank
        self._embedder: Embedder | None = None
        if mode == "semantic":
            self._embedder = Embedder.shared()
            bank.build(self._embedder, _both(self._settings.background))

        lessons = []
        for step in pack.steps:
            for locale in LOCALES:
                lessons.append(step.purpose[locale])
                lessons += [t.how[locale] for t in step.techniques] + [m[locale] for m in step.mistakes]
                lessons += [c.tip[locale] for c in step.rubric]
        self._lesson_copy = CopyDetector(lessons)
        self._model_copy = CopyDetector(_model_texts(pack))

    # --- public API -----------------------------------------------------------

    def score(self, step_id: str, text: str, locale: str = "zh") -> ScoreResult:
        """Score `text` as an answer for step `step_id`; labels and tips in `locale`."""
        return self._score(step_id, f"step:{step_id}", step_id, text, locale)

    def score_objection(self, objection_id: str, text: str, locale: str = "zh") -> ScoreResult:
        """Score `text` as an answer to objection card `objection_id`."""
        return self._score(objection_id, f"objection:{objection_id}", "objection_handling", text, locale)

    def describe(self, kind: str, key: str, locale: str) -> dict[str, CheckResult]:
        """Every check a result for this step or card may hold, unscored: labels and tips."""
        described = {
            c.id: CheckResult(c.id, False, c.label[locale], c.tip[locale], c.weight, None)
            for c in self._rubrics[f"{kind}:{key}"]
        }
        for harm in self._harms:
            described[harm.id] = CheckResult(
                harm.id, False, harm.label[locale], harm.tip[locale], 0.0, None, harm.penalty, "harm"
            )
        this_step = key if kind == "step" else "objection_handling"
        for guard in self._guards(this_step, locale):
            described[guard.id] = guard
        return described

    def band(self, score: int) -> str | None:
        """The id of the highest band (scoring.yaml) this score reaches."""
        reached = [b for b in self._pack.scoring.bands if score >= b.min_score]
        return max(reached, key=lambda b: b.min_score).id if reached else None

    # --- scoring --------------------------------------------------------------

    def _score(self, shown_key: str, rubric_key: str, step_id: str, text: str, locale: str) -> ScoreResult:
        budget = self._token_budget(text)
        clauses = self._clauses(text, budget)
        sims, vectors = self._similarities(clauses, budget)
        rubric = self._rubrics[rubric_key]
        results = [self._judge(check, text, clauses, sims, locale) for check in rubric]
        base = self._base(results)
        score = 100 * min(1.0, base / self._settings.full_marks_at)

        pairs, pair_sims = self._pair_similarities(text, clauses, vectors)
        harms = [self._harm(h, clauses, pairs, sims, pair_sims, locale) for h in self._harms]
        fired = [h for h in harms if not h.passed]
        if fired:
            score = min(score - sum(h.penalty for h in fired), self._pack.scoring.harm_cap)

        guards, caps = self._apply_guards(text, clauses, sims, step_id, rubric_key, base, locale)
        for cap in caps:
            score = min(score, cap)
        score = max(0, round(score))
        return ScoreResult(
            step=shown_key, score=score, checks=tuple(results + harms + guards), mode=self.mode,
            band=self.band(score), notes=tuple(g.id for g in guards if not g.passed),
        )  # fmt: skip

    def _token_budget(self, text: str) -> int:
        """The most model tokens this answer is read with: `token_budget` up to `budget_length` characters, in
        proportion beyond (a long answer waits longer, but is read as carefully), never above `token_budget_max`."""
        settings = self._settings
        scaled = settings.token_budget * max(1.0, len(text.strip()) / settings.budget_length)
        return min(settings.token_budget_max, round(scaled))

    def _clauses(self, text: str, budget: int) -> list[Clause]:
        """The answer's clauses, repeats dropped; coarser ones when the fine ones would not fit the token budget."""
        clauses = self._spelled_out(split_clauses(text))
        if self._embedder is not None and self._tokens(clauses) > budget:
            clauses = self._spelled_out(split_clauses(text, coarse=True))
        return clauses

    def _spelled_out(self, clauses: list[Clause]) -> list[Clause]:
        """The clauses with phone shorthand spelled out in what the rules read (`normalized`); the text stays
        as the rep typed it. Repeats dropped."""
        spelled = [dataclasses.replace(c, normalized=normalize(self._spoken.spell_out(c.text))) for c in clauses]
        return unique(spelled)

    def _model_text(self, clause: Clause) -> str:
        """What the model reads of a clause (and what its tokens are counted on): shorthand spelled out."""
        return self._spoken.spell_out(clause.text)

    def _tokens(self, clauses: list[Clause]) -> int:
        return sum(self._embedder.token_count(self._model_text(c)) for c in clauses)

    def _similarities(self, clauses: list[Clause], budget: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(clauses × exemplar groups) closeness, and the clause vectors (a row of zeros for a clause the model
        does not read: it is close to nothing)."""
        sims = np.zeros((len(clauses), self._bank.groups), dtype=np.float32)
        if self._embedder is None or not clauses:
            return sims, None
        read = self._within_budget(clauses, budget)
        vectors = np.zeros((len(clauses), self._embedder.dim), dtype=np.float32)
        vectors[read] = self._embedder.embed_clauses([self._model_text(clauses[i]) for i in read])
        sims[read] = self._bank.similarities(vectors[read])
        return sims, vectors

    def _pair_similarities(
        self, text: str, clauses: list[Clause], vectors: np.ndarray | None
    ) -> tuple[list[Clause], np.ndarray]:
        """Each two neighbouring clauses of one sentence as one stretch of the rep's text, and its closeness to the
        exemplar groups: the mean of the two clause vectors (no model call), zero when either was left unread."""
        pairs, indices = _pairs(text, clauses)
        sims = np.zeros((len(pairs), self._bank.groups), dtype=np.float32)
        if vectors is None or not pairs:
            return pairs, sims
        both_read = [k for k, (i, j) in enumerate(indices) if vectors[i].any() and vectors[j].any()]
        if both_read:
            means = np.stack([vectors[indices[k][0]] + vectors[indices[k][1]] for k in both_read])
            means /= np.linalg.norm(means, axis=1, keepdims=True)
            sims[both_read] = self._bank.similarities(means)
        return pairs, sims

    def _within_budget(self, clauses: list[Clause], budget: int) -> list[int]:
        """The clauses the model reads, within the token budget: each sentence's first clause, then later ones with
        a shape a check or a harm needs (`_reading_rank`), then the rest, each group in the rep's order. Chosen
        from the text alone, so the same text is always read the same way."""
        place, seen = [], {}
        for clause in clauses:  # the clause's place in its sentence: 0 for the first
            place.append(seen.get(clause.sentence, 0))
            seen[clause.sentence] = place[-1] + 1
        first = sorted(
            range(len(clauses)), key=lambda i: (size(clauses[i].text) < 3, self._reading_rank(clauses[i], place[i]), i)
        )
        read, spent = [], 0
        for i in first:
            cost = self._embedder.token_count(self._model_text(clauses[i]))
            if spent + cost <= budget:
                read.append(i)
                spent += cost
        return sorted(read)

    def _reading_rank(self, clause: Clause, place: int) -> int:
        """0 for a sentence's first clause; 1 for a later clause with a shape a check or a harm needs read (a harm's
        cue word, a feature turned into value, a date or a number, an open question); 2 for the rest."""
        if place == 0:
            return 0
        structure = self._structure
        shaped = (
            self._harm_cues.matches(clause)
            or structure.is_benefit(clause)
            or structure.is_concrete(clause)
            or structure.is_open_question(clause)
        )
        return 1 if shaped else 2

    def _credit(self, similarity: float) -> float:
        low, high = self._settings.partial_from, self._settings.pass_similarity
        return float(min(1.0, max(0.0, (similarity - low) / (high - low))))

    def _clause_credits(self, check: _Check, clauses: list[Clause], sims: np.ndarray) -> list[float]:
        """How well each clause shows the check, before structure."""
        credits = []
        for i, clause in enumerate(clauses):
            semantic = max((self._credit(sims[i, g]) for g in check.groups), default=0.0)
            if check.phrases.matches(clause):
                semantic = max(semantic, 1.0 if self.mode == "keywords" else self._settings.phrase_credit)
            credits.append(semantic)
        return credits

    def _judge(self, check: _Check, text: str, clauses: list[Clause], sims: np.ndarray, locale: str) -> CheckResult:
        credit, evidence = self._check_credit(check, text, clauses, sims)
        passed = credit >= self._settings.pass_credit
        return CheckResult(check.id, passed, check.label[locale], check.tip[locale], check.weight,
                           evidence if passed else None, credit=round(credit, 3))  # fmt: skip

    def _check_credit(
        self, check: _Check, text: str, clauses: list[Clause], sims: np.ndarray
    ) -> tuple[float, str | None]:
        if not clauses:
            return 0.0, None
        credits = self._clause_credits(check, clauses, sims)
        structure = self._structure
        if check.structure == "open_question":
            opens = [c for c in clauses if structure.is_open_question(c)]
            needed = check.questions or 1
            from_questions = min(1.0, len(opens) / needed)
            # an invitation to talk that is not a question also counts; a closed question never does
            others = [
                (credits[i], c) for i, c in enumerate(clauses) if not c.question and not structure.is_closed_question(c)
            ]
            best_other = max(others, key=lambda pair: pair[0], default=(0.0, None))
            if opens and from_questions >= best_other[0]:
                return from_questions, opens[0].text
            return best_other[0] * (0.5 if check.questions and check.questions > 1 else 1.0), _text(best_other[1])
        best = int(np.argmax(credits))
        credit, clause = credits[best], clauses[best]
        if check.structure == "summary_and_check_back":
            backs = [c for c in clauses if structure.is_check_back(c)]
            if not backs:
                return credit * 0.4, clause.text
            # the summary and the check-back, as one quotable stretch of the rep's text
            back = min(backs, key=lambda c: abs(c.start - clause.start))
            return credit, _span(text, clause, back)
        if check.structure in ("concrete_step", "benefit"):
            shaped = structure.is_concrete if check.structure == "concrete_step" else structure.is_benefit
            concrete_sentences = {c.sentence for c in clauses if shaped(c)}
            if clause.sentence not in concrete_sentences:
                # the best concrete clause may still carry the step
                concrete = [(credits[i], c) for i, c in enumerate(clauses) if c.sentence in concrete_sentences]
                best_concrete = max(concrete, key=lambda pair: pair[0], default=(0.0, None))
                if best_concrete[0] >= credit * 0.6 and best_concrete[1] is not None:
                    return best_concrete[0], best_concrete[1].text
                return credit * 0.4, clause.text
        return credit, clause.text

    def _base(self, results: list[CheckResult]) -> float:
        total = sum(c.weight for c in results)
        return sum(c.weight * c.credit for c in results) / total if total else 0.0

    def _harm(
        self, harm: _Harm, clauses: list[Clause], pairs: list[Clause], sims: np.ndarray, pair_sims: np.ndarray,
        locale: str,
    ) -> CheckResult:  # fmt: skip
        evidence = None
        # an exact phrase or pattern in a clause, or across two clauses of one sentence ("合约是两年，这个先别管")
        found = harm.phrases.first(clauses) or harm.phrases.first(pairs)
        if found is not None:
            evidence = found.text
        elif harm.group is not None and self._embedder is not None:
            # by meaning: a clause, or two neighbouring clauses of one sentence taken together
            found = next((c for i, c in enumerate(clauses) if self._near_harm(harm, sims[i], c)), None)
            found = found or next((p for k, p in enumerate(pairs) if self._near_harm(harm, pair_sims[k], p)), None)
            evidence = _text(found)
        return CheckResult(harm.id, evidence is None, harm.label[locale], harm.tip[locale], 0.0, evidence,
                           harm.penalty, "harm")  # fmt: skip

    def _near_harm(self, harm: _Harm, row: np.ndarray, clause: Clause) -> bool:
        """Whether a clause (or a pair of clauses) with these similarities means the harm: close to its exemplars,
        clearly closer than to its harmless look-alikes, and holding one of its cue words."""
        settings = self._settings
        closeness = row[harm.group]
        unlike = row[harm.unlike] if harm.unlike is not None else -1.0
        near = closeness >= settings.harm_similarity and closeness - unlike >= settings.harm_margin
        return bool(near and (not harm.cues or harm.cues.matches(clause)))

    # --- guards ---------------------------------------------------------------

    def _guards(self, step_id: str, locale: str) -> list[CheckResult]:
        """The guards (unfired), with their tips, for `describe`."""
        scoring = self._pack.scoring
        guards = [_guard(g, locale) for g in (scoring.keyword_list, scoring.copied_lesson, scoring.copied_model)]
        if scoring.polite_empty is not None:
            guards.append(_guard(scoring.polite_empty, locale))
        short = scoring.short_answer
        guards.append(
            CheckResult(short.id, True, short.label[locale], short.tip[locale], 0.0, None, 100 - short.cap, "guard")
        )
        for other in STEP_IDS:
            if other != step_id:
                guards.append(self._wrong_step(other, step_id, locale, True, None))
        return guards

    def empty_and_substance(
        self, rubric_key: str, clauses: list[Clause], sims: np.ndarray
    ) -> tuple[list[bool], list[bool]]:
        """Per clause: is it empty courtesy (close to the polite-empty exemplars, closer than to any check), and
        has it substance (an open question, a date or a number, or a check it shows and is not merely polite)?"""
        if not clauses:
            return [], []
        guard, structure = self._pack.scoring.polite_empty, self._structure
        rubric = self._rubrics[rubric_key]
        groups = [g for check in rubric for g in check.groups]
        closest_check = sims[:, groups].max(axis=1) if groups else np.zeros(len(clauses))
        polite = sims[:, self._empty_group]
        empty = [bool(p >= guard.similarity and p >= c) for p, c in zip(polite, closest_check, strict=True)]
        shown = np.max([self._clause_credits(c, clauses, sims) for c in rubric], axis=0)
        substance = [
            not empty[i]
            and (shown[i] >= self._settings.pass_credit or structure.is_concrete(c) or structure.is_open_question(c))
            for i, c in enumerate(clauses)
        ]
        return empty, substance

    def _polite_but_empty(self, rubric_key: str, clauses: list[Clause], sims: np.ndarray) -> tuple[bool, str | None]:
        """Whether the answer is courtesy with nothing concrete in it; its longest empty clause as evidence."""
        guard = self._pack.scoring.polite_empty
        empty, substance = self.empty_and_substance(rubric_key, clauses, sims)
        sizes = [len(c.squeezed) for c in clauses]
        total = max(1, sum(sizes))
        empty_share = sum(n for n, e in zip(sizes, empty, strict=True) if e) / total
        substance_share = sum(n for n, s in zip(sizes, substance, strict=True) if s) / total
        fired = empty_share >= guard.min_empty and substance_share <= guard.max_substance
        longest = max(
            (c for c, e in zip(clauses, empty, strict=True) if e), key=lambda c: len(c.squeezed), default=None
        )
        return fired, _text(longest) if fired else None

    def _share_only_for(self, other_key: str, own_key: str, clauses: list[Clause], sims: np.ndarray) -> float:
        """The share of the answer (in characters) in clauses that show a check of `other_key` and clearly no
        check of `own_key`: how much of it does only the other step's job."""
        other = np.max([self._clause_credits(c, clauses, sims) for c in self._rubrics[other_key]], axis=0)
        own = np.max([self._clause_credits(c, clauses, sims) for c in self._rubrics[own_key]], axis=0)
        margin, sizes = self._settings.wrong_step_margin, [len(c.squeezed) for c in clauses]
        only = sum(
            n for n, o, m in zip(sizes, other, own, strict=True) if o >= self._settings.pass_credit and o - m >= margin
        )
        return only / max(1, sum(sizes))

    def _wrong_step(self, other: str, step_id: str, locale: str, passed: bool, evidence: str | None) -> CheckResult:
        guard = self._pack.scoring.wrong_step
        names = {"other": self._pack.step(other).title[locale], "this": self._pack.step(step_id).title[locale]}
        tip = str(render(guard.tip[locale], **names))
        label = str(render(guard.label[locale], **names))
        return CheckResult(f"{guard.id}:{other}", passed, label, tip, 0.0, evidence, 100 - guard.cap, "guard")

    def _apply_guards(
        self, text, clauses, sims, step_id, rubric_key, base, locale
    ) -> tuple[list[CheckResult], list[int]]:
        scoring = self._pack.scoring
        results, caps = [], []

        keyword = self._is_keyword_list(text)
        results.append(_guard(scoring.keyword_list, locale, not keyword))
        if keyword:
            caps.append(scoring.keyword_list.cap)

        copied, evidence = self._lesson_copy.is_copy(clauses)
        results.append(_guard(scoring.copied_lesson, locale, not copied, _text(evidence) if copied else None))
        if copied:
            caps.append(scoring.copied_lesson.cap)
        model_copied, model_evidence = self._model_copy.is_copy(clauses)
        results.append(
            _guard(scoring.copied_model, locale, not model_copied, _text(model_evidence) if model_copied else None)
        )
        if model_copied:
            caps.append(scoring.copied_model.cap)

        if scoring.polite_empty is not None and self._empty_group is not None and self._embedder is not None:
            empty, evidence = self._polite_but_empty(rubric_key, clauses, sims)
            results.append(_guard(scoring.polite_empty, locale, not empty, evidence))
            if empty:
                caps.append(scoring.polite_empty.cap)

        short = scoring.short_answer
        body = "".join(c.text for c in clauses)
        too_short = han_count(body) < short.min_chinese_characters and latin_words(body) < short.min_english_words
        results.append(CheckResult(short.id, not too_short, short.label[locale], short.tip[locale], 0.0, None,
                                   100 - short.cap, "guard"))  # fmt: skip
        if too_short:
            caps.append(short.cap)

        # another step's job: its rubric fits this answer much better than this step's does
        if clauses and not keyword:
            fits = {}
            for other in STEP_IDS:
                if other != step_id:
                    judged = [self._check_credit(c, text, clauses, sims) for c in self._rubrics[f"step:{other}"]]
                    weights = [c.weight for c in self._rubrics[f"step:{other}"]]
                    fits[other] = (sum(w * j[0] for w, j in zip(weights, judged, strict=True)) / sum(weights), judged)
            other, (fit, judged) = max(fits.items(), key=lambda item: item[1][0])
            # it does another step's job and little of this one; and enough of the answer does only that job
            # (a next step at the end of an objection answer is part of this step's job too)
            wrong = (
                fit - base >= self._settings.wrong_step_margin
                and base < self._settings.pass_credit
                and self._share_only_for(f"step:{other}", rubric_key, clauses, sims) >= self._settings.wrong_step_share
            )
            evidence = max(judged, key=lambda j: j[0])[1] if wrong else None
            for name in fits:
                results.append(
                    self._wrong_step(
                        name, step_id, locale, not (wrong and name == other), evidence if name == other else None
                    )
                )
            if wrong:
                caps.append(scoring.wrong_step.cap)
        return results, caps


def _rubric_exemplars(pack: Pack) -> dict[tuple[str, str], list[str]]:
    """scoring.yaml `rubric_exemplars`, by (step, check) (the pack check has made sure each names a check)."""
    return {
        (step_id, check_id): _both(lines)
        for step_id, checks in pack.scoring.rubric_exemplars.items()
        for check_id, lines in checks.items()
    }


def _pairs(text: str, clauses: list[Clause]) -> tuple[list[Clause], list[tuple[int, int]]]:
    """Each two neighbouring clauses of one sentence as one stretch of the rep's text (what the rules read of it
    joined from the two), and the indices of the two clauses."""
    pairs, indices = [], []
    for i, (a, b) in enumerate(itertools.pairwise(clauses)):
        if a.sentence == b.sentence and b.start > a.start:
            span = _span(text, a, b)
            pairs.append(Clause(span, a.start, a.sentence, b.question, b.statement, f"{a.normalized} {b.normalized}"))
            indices.append((i, i + 1))
    return pairs, indices


def _groups(group: int | None) -> tuple[int, ...]:
    return () if group is None else (group,)


def _text(clause: Clause | None) -> str | None:
    return None if clause is None else clause.text


def _span(text: str, a: Clause, b: Clause) -> str:
    """The rep's text from the earlier clause to the end of the later one (a substring of the answer)."""
    first, last = (a, b) if a.start <= b.start else (b, a)
    return text[first.start : max(first.start + len(first.text), last.start + len(last.text))]


def _guard(guard: Guard, locale: str, passed: bool = True, evidence: str | None = None) -> CheckResult:
    return CheckResult(
        guard.id, passed, guard.label[locale], guard.tip[locale], 0.0, evidence, 100 - guard.cap, "guard"
    )


def _model_texts(pack: Pack) -> list[str]:
    """The rep's lines of every model script and every card's model answer, rendered for each product (with
    one dealer: names change a few characters, and copies are recognised at 90% similarity anyway)."""
    texts = []
    dealer = pack.dealers[0]
    prefixes = _both(pack.scoring.rep_line_prefixes)
    for product in pack.products:
        for locale in LOCALES:
            context = template_context(product, dealer, locale)
            for step in pack.steps:
                for script in step.model_scripts:
                    texts.extend(rep_lines(str(render(script.template[locale], **context)), prefixes))
            for card in pack.objections:
                texts.append(str(render(card.model_answer[locale], **context)))
    return texts


def rep_lines(script: str, prefixes: list[str]) -> list[str]:
    """The rep's own lines of a rendered model script: those starting with one of `prefixes`
    (scoring.yaml `rep_line_prefixes`), without it."""
    lines = []
    for line in script.splitlines():
        line = line.strip()
        prefix = next((p for p in prefixes if line.startswith(p)), None)
        if prefix is not None:
            lines.append(line[len(prefix) :].strip())
    return lines
