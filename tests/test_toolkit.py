"""The visit toolkit driven like a rep: /man, /swot and /pitch to the end in both languages, each result
stored under the rep and the session it was made in; bad input gets a notice and loses nothing."""

from __future__ import annotations

import pytest

from bot.service import Identity
from dialogs.pitch_judge import FEATURE, VALUE, judge_for
from tests.helpers import Learner, squeeze

ZH = Identity("console", "rep-zh", "Li", "zh-hans")
EN = Identity("console", "rep-en", "Sam", "en")

SCALE = {  # the scale labels of toolkit.yaml, by value
    "zh": {4: "完全是", 3: "基本是", 2: "不太是", 1: "完全不是", 0: "还不清楚"},
    "en": {4: "Clearly yes", 3: "Mostly", 2: "Not really", 1: "Not at all", 0: "Not sure yet"},
}


def user_id(storage, who: Identity) -> int:
    return storage.find_user(who.channel, who.external_id).id


def session_ids(storage, who: Identity, flow: str) -> list[int]:
    rows = storage.db.execute(
        "SELECT id FROM sessions WHERE user_id = ? AND flow = ? ORDER BY id", [user_id(storage, who), flow]
    ).fetchall()
    return [r[0] for r in rows]


def answer_man(learner: Learner, pack, locale: str, levels: dict[str, int]) -> Learner:
    """Answer every MAN question with the scale value given for its dimension."""
    for question in pack.toolkit.man.questions:
        assert question.text[locale] in learner.text
        learner.press(SCALE[locale][levels[question.dimension]])
    return learner


# --- /man ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, locale", [(ZH, "zh"), (EN, "en")])
def test_man_classifies_a_dealer_gives_the_strategy_and_offers_a_persona_of_that_class(
    service, storage, pack, who, locale
):
    learner = Learner(service, who).send("/man").send("Chen's repair <b>&</b> shop")
    answer_man(learner, pack, locale, {"money": 1, "authority": 4, "need": 3})
    growth = next(c for c in pack.roleplay.man_classes if c.code == "mAN")
    assert growth.name[locale] in learner.text and squeeze(growth.strategy[locale]) in squeeze(learner.text)
    for line in pack.toolkit.man.next_steps["mAN"]:
        assert line[locale] in learner.text
    assert "Chen's repair <b>&</b> shop" in learner.text  # as typed, and escaped in the HTML
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in learner.last.text

    [card] = storage.result_cards(user_id(storage, who))
    assert (card.kind, card.title, card.data["code"]) == ("man", "Chen's repair <b>&</b> shop", "mAN")
    assert card.session_id == session_ids(storage, who, "man")[-1]

    persona = next(d for d in pack.dealers if pack.man_class(d).code == "mAN")
    learner.press(persona.name[locale])  # the role-play starts with that persona: no dealer to pick
    learner.press(pack.products[0].name[locale])
    assert [g.title[locale] for g in pack.roleplay.goals] == learner.labels
    learner.press(pack.roleplay.goals[0].title[locale])
    assert persona.name[locale] in learner.text and persona.shop[locale] in learner.text


def test_a_question_unsure_goes_to_what_to_find_out_and_back_returns_to_the_last_question(service, pack):
    learner = Learner(service, ZH).send("/man").send("吴店长")
    first, second = pack.toolkit.man.questions[:2]
    learner.press("还不清楚")
    assert second.text.zh in learner.text
    learner.press("上一题")
    assert first.text.zh in learner.text
    learner.press("还不清楚")
    answer_man_rest = pack.toolkit.man.questions[1:]
    for question in answer_man_rest:
        learner.press("完全是" if question.dimension == "need" else "完全不是")
    assert first.find_out.zh in learner.text  # the question not answered is what to find out next
    assert "maN" in learner.text


def test_man_again_with_the_same_dealer_offers_to_update_and_updates_the_same_card(service, storage, pack):
    learner = Learner(service, ZH).send("/man").send("王老板")
    answer_man(learner, pack, "zh", {"money": 4, "authority": 4, "need": 4})
    first = storage.result_cards(user_id(storage, ZH))[0]

    learner.send("/man").send("  王老板 ")  # the same dealer, typed a little differently
    assert "重新评估" in " ".join(learner.labels) and "MAN · " in learner.text
    learner.press("保持不变")
    assert storage.result_cards(user_id(storage, ZH)) == [first]  # kept as it was

    learner.send("/man").send("王老板").press("重新评估")
    answer_man(learner, pack, "zh", {"money": 4, "authority": 1, "need": 4})
    [updated] = storage.result_cards(user_id(storage, ZH))
    assert updated.id == first.id and updated.data["code"] == "MaN" != first.data["code"]
    assert updated.session_id == session_ids(storage, ZH, "man")[-1] != first.session_id
    inside = next(c for c in pack.roleplay.man_classes if c.code == "MaN")
    assert inside.strategy.zh in learner.text


def test_a_dealer_name_too_long_is_refused_kindly_and_the_flow_goes_on(service, pack):
    limit = pack.toolkit.limits.title
    learner = Learner(service, EN).send("/man").send("x" * (limit + 1))
    assert f"keep it to {limit}" in learner.text and "Which dealer" in learner.text
    learner.send("   ")  # no words at all: the engine asks for an answer
    assert "Which dealer" in learner.text
    learner.send("Mr Ma")
    assert pack.toolkit.man.questions[0].text.en in learner.text


# --- /swot --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, locale, kind, done",
    [(ZH, "zh", "一家渠道商", "完成"), (EN, "en", "A market or area", "done")],
)
def test_swot_goes_part_by_part_and_ends_with_a_saved_strategy_card(service, storage, pack, who, locale, kind, done):
    items = {
        "strengths": ["Shop at the <market> gate", "Forty repairs a day"],
        "weaknesses": ["Cash is tight & stock is thin"],
        "opportunities": ["The estate is getting fibre"],
        "threats": ["A rival stall gives free top-ups"],
    }
    learner = Learner(service, who).send("/swot").press(kind).send("Old Town")
    for quadrant in pack.toolkit.swot.quadrants:
        assert quadrant.title[locale] in learner.text
        learner.send(done)  # nothing written yet: not moved on
        assert quadrant.title[locale] in learner.text
        learner.send("\n".join(items[quadrant.id]))  # several items in one message, one per line
        for item in items[quadrant.id]:
            assert item in learner.text
        learner.send(done)

    for strategy in pack.toolkit.swot.strategies:
        assert strategy.title[locale] in learner.text
    assert "“Shop at the <market> gate”" in learner.text  # the SO prompt is built on the rep's own items
    assert "&lt;market&gt;" in learner.last.text
    [card] = storage.result_cards(user_id(storage, who))
    assert card.kind == "swot" and card.title == "Old Town" and card.data["items"] == items
    assert card.session_id == session_ids(storage, who, "swot")[-1]


def test_a_swot_part_takes_at_most_max_items_and_a_long_item_is_refused(service, pack):
    tool, limit = pack.toolkit.swot, pack.toolkit.limits.item
    learner = Learner(service, ZH).send("/swot").press("一个市场").send("城东新区")
    learner.send("网" * (limit + 1))
    assert f"控制在 {limit} 个字以内" in learner.text and "已写下" not in learner.text
    learner.send("\n".join(f"第{i}条优势" for i in range(tool.max_items + 2)))
    assert f"最多 {tool.max_items} 条" in learner.text
    assert f"第{tool.max_items - 1}条优势" in learner.text and f"第{tool.max_items}条优势" not in learner.text


# --- /pitch -------------------------------------------------------------------------------------

# Sentences written for these tests (none is an exemplar of toolkit.yaml): a feature said again, and a value.
RESTATED = {
    "zh": "我们送两台Mesh路由器，全屋都有信号覆盖",
    "en": "Two mesh routers come with the plan and cover every room of the flat",
}
VALUE_STATEMENT = {
    "zh": "孩子关上书房门上网课也不掉线，您在卧室开视频会也不用再跑去客厅找信号",
    "en": "Your daughter's online lesson in the study no longer drops, and you can take calls in the bedroom",
}


def test_the_test_sentences_are_not_the_judges_own_exemplars(pack):
    tool = pack.toolkit.pitch
    exemplars = {t for lo in ("zh", "en") for t in (*tool.feature_exemplars[lo], *tool.value_exemplars[lo])}
    assert not exemplars & {*RESTATED.values(), *VALUE_STATEMENT.values()}


@pytest.mark.parametrize("who, locale", [(ZH, "zh"), (EN, "en")])
def test_pitch_flags_a_restated_feature_then_accepts_the_value_and_saves_a_script_card(
    service, storage, pack, who, locale
):
    product = pack.product("home_fiber")
    mesh = next(f for f in product.features if f.name.en == "Whole-home mesh Wi-Fi")
    scenario = product.scenarios[0]
    learner = Learner(service, who).send("/pitch").press(product.name[locale])
    learner.press(scenario.people[locale])
    assert scenario.situation[locale] in learner.text
    learner.press("参考场景" if locale == "zh" else "suggested situation")
    learner.press(mesh.name[locale])
    learner.press("参考" if locale == "zh" else "suggestion")

    learner.send(RESTATED[locale])
    assert "⚠️" in learner.text and ("卖点≠特点" if locale == "zh" else "not a feature") in learner.text
    assert scenario.people[locale] in learner.text  # it asks for the value to this customer
    assert storage.result_cards(user_id(storage, who)) == []

    learner.send(VALUE_STATEMENT[locale])
    assert "⚠️" not in learner.text
    assert VALUE_STATEMENT[locale] in learner.text and mesh.name[locale] in learner.text
    assert ("你：" if locale == "zh" else "You:") in learner.text  # the script, from the content templates
    [card] = storage.result_cards(user_id(storage, who))
    assert card.kind == "pitch" and card.data["selling_point"] == VALUE_STATEMENT[locale]
    assert card.data["product"] == {"id": "home_fiber"} and card.session_id == session_ids(storage, who, "pitch")[-1]


def test_a_described_product_is_walked_through_with_typed_answers(service, storage):
    learner = Learner(service, EN).send("/pitch").send("Solar <lamp> kit")
    learner.send("night-market stall owners").send("The stall has no mains power and closes at eleven")
    learner.send("a 20-hour battery charged by the sun in the daytime")
    learner.send("I cannot keep paying for a generator")
    learner.send("You stop paying for generator fuel every night and the stall stays bright until closing")
    assert "Solar &lt;lamp&gt; kit" in learner.last.text and "You:" in learner.text
    [card] = storage.result_cards(user_id(storage, EN))
    assert card.title == "Solar <lamp> kit · night-market stall owners" and card.data["product"] == {
        "name": "Solar <lamp> kit"
    }


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_judge_tells_a_restated_feature_from_a_value_by_meaning(pack, engine, locale):
    judge = judge_for(pack, engine.scorer)
    fiber = {
        "zh": "千兆光纤入户。光纤直接到户，下行最高1000Mbps。",
        "en": "Gigabit fibre to the home, up to 1000 Mbps.",
    }
    restated = {"zh": "宽带是千兆光纤的，速度最高一千兆", "en": "The line is gigabit fibre with speeds up to a gigabit"}
    value = {
        "zh": "全家晚上一起刷视频也不卡，孩子查资料不用等您下线",
        "en": "The whole family can stream at night without waiting for each other to log off",
    }
    assert judge.judge(restated[locale], fiber[locale]).kind == FEATURE
    assert judge.judge(value[locale], fiber[locale]).kind == VALUE


def test_forged_button_data_changes_nothing_and_crashes_nothing(service, pack):
    from dialogs.engine import Button, Event

    def forge(learner: Learner, trigger: str, arg: str) -> Learner:
        last = learner.last
        return learner._take(service.handle(learner.who, Event.press(Button(trigger, "", arg), last.session_id,
                                                                     last.state, last.version)))  # fmt: skip

    learner = Learner(service, ZH).send("/man").send("马师傅")
    for arg in ("9", "²", "-1", ""):
        forge(learner, "answer", arg)
        assert pack.toolkit.man.questions[0].text.zh in learner.text and "过期" in learner.text
    learner = Learner(service, EN).send("/pitch").send("Solar kit")
    forge(learner, "pick_target", "0")  # offered only for a pack product
    assert "who is this script for" in learner.text
    learner.send("stall owners").send("No power at night")
    forge(learner, "pick_feature", "99")
    assert "Which feature" in learner.text
