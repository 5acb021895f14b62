"""The scorer: explainable scores that order answers the way a trainer would."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from dialogs.scoring import Scorer, normalize
from knowledge.pack import STEP_IDS
from scripts.eval_scoring import spearman
from tests.helpers import load_labelled

LABELLED = load_labelled()


@pytest.fixture(scope="module")
def scorer(pack):
    return Scorer(pack)


def test_the_labelled_set_covers_every_step_language_and_level():
    assert len(LABELLED) >= 30
    assert {(a["step"], a["locale"]) for a in LABELLED} == {(s, loc) for s in STEP_IDS for loc in ("zh", "en")}
    assert {a["label"] for a in LABELLED} == {0, 1, 2, 3}


def test_scores_follow_the_trainers_labels(scorer):
    scores = [scorer.score(a["step"], a["text"], a["locale"]).score for a in LABELLED]
    rho = spearman(scores, [a["label"] for a in LABELLED])
    assert rho >= 0.6, f"rank correlation with the labels is {rho:.2f}"


def test_within_each_step_better_answers_score_higher_on_average(scorer):
    by_level = defaultdict(list)
    for a in LABELLED:
        by_level[(a["step"], a["label"] >= 2)].append(scorer.score(a["step"], a["text"], a["locale"]).score)
    for step in STEP_IDS:
        good, weak = by_level[(step, True)], by_level[(step, False)]
        assert sum(good) / len(good) > sum(weak) / len(weak) + 15, step


def test_every_score_lists_the_checks_behind_it(scorer, pack):
    for step in pack.steps:
        result = scorer.score(step.id, "你好", "zh")
        assert [c.id for c in result.checks] == [c.id for c in step.rubric]
        passed_weight = sum(c.weight for c in result.checks if c.passed)
        assert result.score == round(100 * passed_weight / sum(c.weight for c in result.checks))
        for check in result.missed:
            assert check.tip and check.evidence is None


def test_empty_and_junk_answers_score_zero(scorer):
    for junk in ("", "   ", "\x00\x07", "😀😀😀", "asdf qwer"):
        assert scorer.score("icebreaking", junk, "en").score == 0


def test_normalize_folds_width_case_and_punctuation():
    assert normalize("Ｈｏｗ's  BUSINESS？！") == "how s business"


def test_english_signals_match_whole_words(scorer, pack):
    check = pack.step("need_guidance").rubric[0]
    word = next(s for s in check.signals.en if s.isalpha() and len(s) >= 3)
    inside = f"x{word}x zz"
    assert scorer.score("need_guidance", inside, "en").checks[0].passed is False


def test_coach_score_prints_the_contract_json():
    answer = "王老板您好，最近店里生意怎么样？我今天来是想听听您对宽带业务的看法，大概占用您十分钟。"
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "score", "--step", "icebreaking", "--locale", "zh", answer],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    assert data["step"] == "icebreaking" and 0 <= data["score"] <= 100
    assert data["checks"] and all(set(c) == {"id", "passed", "tip"} for c in data["checks"])
    assert any(c["passed"] for c in data["checks"])


def test_coach_score_ranks_a_better_answer_above_a_poor_one():
    def score(text):
        out = subprocess.run(
            [sys.executable, "-m", "bot.cli", "score", "--step", "objection_handling", "--locale", "en", text],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out)["score"]

    poor = "That's just how it is. Everyone else accepts our margin, so you should too."
    better = next(
        a["text"] for a in LABELLED if a["step"] == "objection_handling" and a["locale"] == "en" and a["label"] == 3
    )
    assert score(better) > score(poor)
