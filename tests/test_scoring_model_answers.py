"""The pack's own model answers pass their own rubric: every model script (the rep's lines) and every
objection card's model answer, rendered for every product × dealer, scores at least `excellent`
under its own step or card and fires no harm check."""

from __future__ import annotations

import pytest

from dialogs.scoring import Scorer, rep_lines
from knowledge.pack import LOCALES, template_context
from knowledge.templates import render

EXCELLENT = 70


@pytest.fixture(scope="module")
def scorer(pack):
    return Scorer(pack)


def rendered(pack, template):
    """(product, dealer, locale, text) for every product × dealer × language."""
    for product in pack.products:
        for dealer in pack.dealers:
            for locale in LOCALES:
                yield (
                    product.id,
                    dealer.id,
                    locale,
                    str(render(template[locale], **template_context(product, dealer, locale))),
                )


def test_every_model_script_passes_its_own_step(scorer, pack):
    failures = []
    prefixes = pack.scoring.rep_line_prefixes.zh + pack.scoring.rep_line_prefixes.en
    for step in pack.steps:
        for number, script in enumerate(step.model_scripts):
            for product, dealer, locale, text in rendered(pack, script.template):
                answer = "\n".join(rep_lines(text, prefixes))
                assert answer, (step.id, number, locale)
                result = scorer.score(step.id, answer, locale)
                if result.score < EXCELLENT or result.harms:
                    failures.append(
                        (step.id, number, product, dealer, locale, result.score, [h.id for h in result.harms])
                    )
    assert not failures, failures[:10]


def test_every_card_model_answer_passes_its_own_card(scorer, pack):
    failures = []
    for card in pack.objections:
        for product, dealer, locale, text in rendered(pack, card.model_answer):
            result = scorer.score_objection(card.id, text, locale)
            if result.score < EXCELLENT or result.harms:
                failures.append(
                    (card.id, product, dealer, locale, result.score, [(h.id, h.evidence) for h in result.harms])
                )
    assert not failures, failures[:10]
