"""One story per course, driven like a learner: the same dealer from the first step to the last,
a cancelled course picked up where it stopped, only the weak steps rerun, a drill card retried."""

from __future__ import annotations

import pytest

from bot.service import Identity
from knowledge.pack import STEP_IDS
from tests.fake_telegram import buttons_of, callback_update, feed, message_update, recorded_application
from tests.helpers import Learner, load_labelled

LABELLED = load_labelled()
LABELS = {
    "zh": {"model": "看示范话术", "practise": "我来练习", "next": "下一步", "finish": "完成课程"},
    "en": {"model": "See a model script", "practise": "Let me practise", "next": "Next step", "finish": "Finish"},
}


def answer(step: str, locale: str, label: int) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == label)


def dealer_in(pack, text: str, locale: str) -> set[str]:
    """The ids of the personas a screen names."""
    return {d.id for d in pack.dealers if d.name[locale] in text}


def walk_step(learner: Learner, step_id: str, locale: str, label: int = 3) -> list[str]:
    """Explain → model → practice → feedback for one step; the screens seen on the way."""
    seen = [learner.text]
    learner.press(LABELS[locale]["model"])
    seen.append(learner.text)
    learner.press(LABELS[locale]["practise"])
    seen.append(learner.text)
    learner.send(answer(step_id, locale, label))
    seen.append(learner.text)
    return seen


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_course_has_one_dealer_from_the_first_step_to_the_last(service, pack, locale):
    who = Identity("console", f"story-{locale}", "Learner")
    service.set_locale(who, locale)
    learner = Learner(service, who).send("/train").press(pack.products[0].name[locale])
    named = []
    for step_id in STEP_IDS:
        model_and_prompt = walk_step(learner, step_id, locale)[1:3]
        named.append(set.union(*(dealer_in(pack, screen, locale) for screen in model_and_prompt)))
        learner.press(LABELS[locale]["finish" if step_id == STEP_IDS[-1] else "next"])
    assert all(len(names) == 1 for names in named), named  # each step names exactly one persona ...
    assert len(set.union(*named)) == 1, named  # ... and it is the same one at every step


def test_the_dealer_can_be_chosen_before_the_first_answer_and_not_after(service, pack, rep):
    zhao = pack.dealer("zhao_established")
    learner = Learner(service, rep).send("/train").press_trigger("begin")
    learner.press("换一位")
    assert "换一位经销商" in learner.text and len(learner.labels) == len(pack.dealers)
    learner.press(zhao.name["zh"])
    assert "第 1/5 步" in learner.text  # back at the first step's explanation
    learner.press("看示范话术")
    assert zhao.name["zh"] in learner.text and zhao.shop["zh"] in learner.text
    learner.press("我来练习").send(answer("icebreaking", "zh", 3)).press("下一步")
    assert not any("换一位" in label for label in learner.labels)  # the story is fixed once answered


def test_zhao_gets_a_visit_written_for_his_office_not_a_shop_floor(service, pack, rep):
    zhao = pack.dealer("zhao_established")
    learner = Learner(service, rep).send("/train").press_trigger("begin").press("换一位").press("赵总")
    learner.press("看示范话术")
    assert f"{zhao.facts.meeting_minutes}分钟" in learner.text  # his meeting length, from his declared facts
    assert "店里正有客人" not in learner.text  # not the shop-floor visit written for a retail dealer
    learner.press("换一个示范")
    assert "店里正有客人" not in learner.text  # every model he gets is his own


def test_the_drill_shows_a_card_as_said_by_a_persona_who_raises_it(pack):
    from dialogs.drill import card_persona
    from knowledge.pack import template_context
    from knowledge.templates import render

    card = "myth_only_strong_dealers"  # raised by Ms Chen and Ms Wu, whose shop sizes are declared
    persona = card_persona(pack, card)
    assert card in persona.objections
    context = template_context(pack.products[0], persona, "zh")
    text = render(pack.objection(card).text["zh"], **context)
    assert f"{persona.facts.shop_area_m2}平米的小店" in text  # the shop size that persona declares


def test_train_after_cancel_offers_the_step_where_the_course_stopped(service, pack, rep, storage):
    learner = Learner(service, rep).send("/train").press_trigger("begin")
    for step_id in STEP_IDS[:2]:
        walk_step(learner, step_id, "zh")
        learner.press("下一步")
    learner.press("看示范话术")
    dealers = dealer_in(pack, learner.text, "zh")
    learner.send("/cancel").send("/train")
    assert "接着上次的课程" in learner.text and "第 3/5 步" in learner.text
    assert any("从第 3 步接着练" in label for label in learner.labels)
    learner.send("/cancel").send("/train")  # cancelled again while offered: still offered
    learner.press("从第 3 步接着练")
    assert "第 3/5 步" in learner.text
    learner.press("看示范话术")
    assert dealer_in(pack, learner.text, "zh") == dealers  # the same story
    learner.press("我来练习").send(answer("value_presentation", "zh", 3))
    for step_id in STEP_IDS[3:]:
        learner.press("下一步")
        walk_step(learner, step_id, "zh")
    learner.press("完成课程")
    for step in pack.steps:  # the two steps answered before the cancel still count
        assert f"{step.title['zh']}：0 分" not in learner.text
    assert "课程完成" in learner.text


def test_start_over_instead_of_resuming(service, rep):
    learner = Learner(service, rep).send("/train").press_trigger("begin")
    walk_step(learner, "icebreaking", "zh")
    learner.press("下一步").send("/cancel").send("/train").press("从头开始")
    assert "五步沟通课程" in learner.text
    learner.press_trigger("begin")
    assert "第 1/5 步" in learner.text
    learner.send("/cancel").send("/train")
    assert "第 1/5 步" in learner.text  # what is offered now is the new course, stopped at step 1


def test_practise_my_weak_steps_reruns_only_the_steps_below_the_pass_mark(service, pack, rep, storage):
    weak = {"need_guidance", "objection_handling"}
    learner = Learner(service, rep).send("/train").press_trigger("begin")
    learner.press("看示范话术")
    dealers = dealer_in(pack, learner.text, "zh")
    learner.press("我来练习").send(answer("icebreaking", "zh", 3)).press("下一步")
    for step_id in STEP_IDS[1:]:
        walk_step(learner, step_id, "zh", label=0 if step_id in weak else 3)
        learner.press("完成课程" if step_id == STEP_IDS[-1] else "下一步")
    failed = {row["step"] for row in storage.scores() if row["score"] < pack.scoring.pass_mark}
    assert failed == weak  # the answers chosen did what this test needs
    before = len(storage.scores())
    learner.press("只练没过关的步骤")
    seen = []
    while "课程完成" not in learner.text:
        seen.append(next(s.id for s in pack.steps if s.title["zh"] in learner.text.splitlines()[0]))
        screens = walk_step(learner, seen[-1], "zh")
        assert dealer_in(pack, screens[1], "zh") == dealers  # the same story as the first run
        learner.press("下一步" if any("下一步" in label for label in learner.labels) else "完成课程")
    assert seen == [s for s in STEP_IDS if s in weak]
    assert {row["step"] for row in storage.scores()[before:]} == weak
    assert "⚠️" not in learner.text  # every step now passed, and the summary still lists all five
    assert all(step.title["zh"] in learner.text for step in pack.steps)
    assert not any("没过关" in label for label in learner.labels)


def test_a_drill_card_can_be_answered_again_at_once(service, pack, rep, storage):
    learner = Learner(service, rep).send("/start").press("渠道经理").send("/drill").press_trigger("start")
    card_screen = learner.text
    learner.send("嗯嗯，好的。")
    first = learner.last.score
    learner.press("这张再答一次")
    assert "再答一次" in learner.text and card_screen.splitlines()[-1] in learner.text  # the same card
    card_id = storage.scores()[-1]["step"]
    learner.send(str(plain_model_answer(pack, card_id)))
    assert learner.last.score > first
    reviews = {c.objection_id: c.reviews for c in storage.drill_cards(storage.find_user("console", "rep-li").id)}
    assert reviews[card_id] == 1  # the retry is practice: the card was scheduled once, by the first answer
    assert [row["step"] for row in storage.scores()] == [card_id, card_id]
    learner.press("下一张")
    assert "卡片 2/" in learner.text


def plain_model_answer(pack, objection_id: str) -> str:
    from dialogs.drill import card_persona
    from knowledge.pack import template_context
    from knowledge.templates import render

    context = template_context(pack.products[0], card_persona(pack, objection_id), "zh")
    return render(pack.objection(objection_id).model_answer["zh"], **context)


async def _button(app, api, label_part: str) -> str:
    """The callback data of the newest screen's button labelled `label_part`, pressing "more" to reach it."""
    for _ in range(30):
        screen = api.shown(9)[-1]
        found = next((data for label, data in buttons_of(screen) if label_part in label), None)
        if found:
            return found
        more = next((data for label, data in buttons_of(screen) if "更多" in label), None)
        assert more, f"no button {label_part!r} (nor more) in {buttons_of(screen)}"
        await feed(app, callback_update(9, more, message_id=screen["message_id"]))
    raise AssertionError(f"no button {label_part!r} after 30 pages")


async def test_resume_after_cancel_on_telegram(storage, engine):
    from bot.service import CoachService

    async with recorded_application(CoachService(storage, engine)) as (app, api):
        await feed(app, message_update(9, "/train"))
        await feed(app, callback_update(9, buttons_of(api.shown(9)[-1])[0][1]))
        practise = await _button(app, api, "练习")
        await feed(app, callback_update(9, practise), message_update(9, answer("icebreaking", "zh", 3)))
        next_step = await _button(app, api, "下一步")
        await feed(app, callback_update(9, next_step), message_update(9, "/cancel"), message_update(9, "/train"))
        resume = await _button(app, api, "从第 2 步接着练")
        offer = api.shown(9)[-1]
        assert "接着上次的课程" in offer["text"] and "第 2/5 步" in offer["text"]
        await feed(app, callback_update(9, resume, message_id=offer["message_id"]))
        assert "第 2/5 步" in api.shown(9)[-1]["text"]
