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
OBJECTION_ANSWERS = load_labelled("labelled_objection_answers.yaml")


@pytest.fixture(scope="module")
def scorer(pack):
    return Scorer(pack)


def test_the_labelled_set_covers_every_step_language_and_level():
    assert len(LABELLED) >= 80
    assert {(a["step"], a["locale"]) for a in LABELLED} == {(s, loc) for s in STEP_IDS for loc in ("zh", "en")}
    assert {a["label"] for a in LABELLED} == {0, 1, 2, 3}


def test_scores_follow_the_trainers_labels(scorer):
    scores = [scorer.score(a["step"], a["text"], a["locale"]).score for a in LABELLED]
    rho = spearman(scores, [a["label"] for a in LABELLED])
    assert rho >= 0.7, f"rank correlation with the labels is {rho:.2f}"


def test_no_poor_answer_outscores_an_excellent_one_for_the_same_step(scorer):
    for step in STEP_IDS:
        poor = [
            scorer.score(step, a["text"], a["locale"]).score for a in LABELLED if a["step"] == step and a["label"] == 0
        ]
        excellent = [
            scorer.score(step, a["text"], a["locale"]).score for a in LABELLED if a["step"] == step and a["label"] == 3
        ]
        assert max(poor) < min(excellent), (step, sorted(poor), sorted(excellent))


def test_objection_answers_follow_the_labels_card_by_card(scorer):
    scores = [scorer.score_objection(a["objection"], a["text"], a["locale"]).score for a in OBJECTION_ANSWERS]
    rho = spearman(scores, [a["label"] for a in OBJECTION_ANSWERS])
    assert rho >= 0.7, f"rank correlation with the labels is {rho:.2f}"
    for card in {a["objection"] for a in OBJECTION_ANSWERS}:
        by_label = {a["label"]: s for a, s in zip(OBJECTION_ANSWERS, scores, strict=True) if a["objection"] == card}
        assert by_label[3] > by_label[0], card


def test_arguing_blaming_discounts_and_pressure_cost_points_and_say_why(scorer, pack):
    good = next(a for a in LABELLED if a["step"] == "objection_handling" and a["locale"] == "zh" and a["label"] == 3)
    base = scorer.score("objection_handling", good["text"], "zh")
    assert base.harms == ()
    for check in pack.scoring.negative_checks:
        spoiled = scorer.score("objection_handling", f"{good['text']} {check.signals.zh[0]}", "zh")
        fired = next(c for c in spoiled.checks if c.id == check.id)
        assert not fired.passed and fired.tip == check.tip.zh and fired.evidence
        # a harmful move makes the whole answer poor, however good the rest
        assert spoiled.score <= min(base.score - check.penalty, pack.scoring.harm_cap)


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
        assert [c.id for c in result.checks if c.kind == "rubric"] == [c.id for c in step.rubric]
        short = pack.scoring.short_answer
        too_short = next(c for c in result.checks if c.id == short.id)
        assert not too_short.passed  # "你好" cannot show any skill
        assert result.score <= short.cap
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
    assert data["checks"] and all({"id", "passed", "tip"} <= set(c) for c in data["checks"])
    assert data["mode"] == "semantic"
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


def test_a_list_of_keywords_is_capped_as_too_short(scorer, pack):
    short = pack.scoring.short_answer
    salad = scorer.score("objection_handling", "理解 请问 数据 您看这样 下周", "zh")
    assert salad.score <= short.cap
    flagged = next(c for c in salad.checks if c.id == short.id)
    assert not flagged.passed and flagged.tip == short.tip.zh
    real = (
        "我理解您的担心。请问您最担心的是哪一点？上个月周边三家店的数据是平均每月多赚一千二。"
        "您看这样能打消顾虑吗？下周一我们先试一小批。"
    )
    assert scorer.score("objection_handling", real, "zh").score > short.cap
