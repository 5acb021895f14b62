"""The scorer judges what an answer does, not which words it uses: gaming, structure and harms."""

from __future__ import annotations

import dataclasses

import pytest

from dialogs.scoring import Scorer
from dialogs.scoring.clauses import split_clauses
from dialogs.scoring.embedding import Embedder


@pytest.fixture(scope="module")
def scorer(pack):
    return Scorer(pack)


def fired(result, check_id):
    return (
        next(c for c in result.checks if c.id == check_id and not c.passed)
        if any(c.id == check_id and not c.passed for c in result.checks)
        else None
    )


GOOD_ICEBREAK_ZH = (
    "王老板，上回您说周末店里人手不够，今天一进门就看到三四个客人在挑手机。您先忙，我不着急。"
    "等您空下来，我想听听这个月店里生意怎么样，今天主要是来了解情况的，十分钟就够。"
)
GOOD_ICEBREAK_EN = (
    "Morning Mr Wang! Last time you said weekends leave you short-staffed, and I can see it's busy again. "
    "Go ahead and finish with your customer, I'm in no rush. Once you're free, how has the shop been this month? "
    "I'm mainly here to listen today, ten minutes at most."
)


@pytest.mark.parametrize(
    "text,locale",
    [
        ("上回 怎么样 想听听 您先忙 确实难受 十分钟 方便吗", "zh"),
        ("Rapport, empathy, your shop, last time, how's business, ten minutes, good time", "en"),
        ("个性化开场 开放提问 接住情绪 说清来意 征得同意", "zh"),
    ],
)
def test_a_list_of_buzzwords_scores_low_and_says_why(scorer, pack, text, locale):
    result = scorer.score("icebreaking", text, locale)
    assert result.score <= 20
    flag = fired(result, pack.scoring.keyword_list.id)
    assert flag is not None and flag.tip == pack.scoring.keyword_list.tip[locale]


def test_real_sentences_are_not_taken_for_a_keyword_list(scorer, pack):
    for text, locale in ((GOOD_ICEBREAK_ZH, "zh"), (GOOD_ICEBREAK_EN, "en")):
        result = scorer.score("icebreaking", text, locale)
        assert fired(result, pack.scoring.keyword_list.id) is None
        assert result.score >= 70, (text, result.score)


def test_phone_typed_chinese_without_punctuation_is_still_understood(scorer):
    typed = "王老板 上回您说周末人手不够 这周末还那么忙吗 您先忙我不急 今天来主要想听听您这边的情况 十分钟就行"
    punctuated = scorer.score("icebreaking", GOOD_ICEBREAK_ZH, "zh").score
    assert scorer.score("icebreaking", typed, "zh").score >= punctuated - 25
    assert scorer.score("icebreaking", typed, "zh").score >= 60


PHONE_TYPED_EN = (
    "hi mr wang dont mind me, sort ur customers first n ill wait by the door. hows the shop been since u put the "
    "new sign up? im not here to push anything today, just wanna hear abt ur weekends, 10 mins tops"
)
SPELLED_OUT_EN = (
    "Hi Mr Wang, don't mind me, sort your customers first and I'll wait by the door. How's the shop been since you "
    "put the new sign up? I'm not here to push anything today, just want to hear about your weekends, 10 minutes tops"
)


def test_phone_shorthand_is_read_as_the_words_it_stands_for_and_quoted_as_typed(scorer, pack):
    typed = scorer.score("icebreaking", PHONE_TYPED_EN, "en")
    assert typed.score >= scorer.score("icebreaking", SPELLED_OUT_EN, "en").score - 10
    assert typed.score >= 60
    quoted = [c.evidence for c in typed.checks if c.evidence is not None]
    assert quoted and all(evidence in PHONE_TYPED_EN for evidence in quoted)
    # the same answer without the pack's shorthand table is not understood
    bare = pack.scoring.semantic.model_copy(update={"spoken_forms": {}})
    without = dataclasses.replace(pack, scoring=pack.scoring.model_copy(update={"semantic": bare}))
    assert Scorer(without).score("icebreaking", PHONE_TYPED_EN, "en").score < typed.score - 20


def test_closed_questions_do_not_pass_open_questions(scorer):
    closed = scorer.score("need_guidance", "是不是生意不好？要不要试试我们的套餐？您肯定也想多赚点吧？", "zh")
    assert not next(c for c in closed.checks if c.id == "open_questions").passed
    closed_en = scorer.score("need_guidance", "Do you sell much broadband? Is it hard? Can we put up a poster?", "en")
    assert not next(c for c in closed_en.checks if c.id == "open_questions").passed
    opened = scorer.score("need_guidance", "最近来问宽带的都是些什么客人？他们最常问的是什么？", "zh")
    check = next(c for c in opened.checks if c.id == "open_questions")
    assert check.passed and check.evidence in "最近来问宽带的都是些什么客人？他们最常问的是什么？"


def test_a_summary_needs_a_check_back(scorer):
    summary = "我总结一下，您最在意的一是返点到账慢，二是客人问完价就走。"
    without = next(c for c in scorer.score("need_guidance", summary, "zh").checks if c.id == "summarise_and_confirm")
    with_back = next(
        c
        for c in scorer.score("need_guidance", summary + "我理解得对吗？", "zh").checks
        if c.id == "summarise_and_confirm"
    )
    assert not without.passed and with_back.passed and with_back.credit > without.credit


def test_an_agreement_needs_a_concrete_next_step(scorer):
    vague = next(
        c
        for c in scorer.score("agreement", "那我们以后有机会再一起推一推吧。", "zh").checks
        if c.id == "concrete_next_step"
    )
    concrete = next(
        c
        for c in scorer.score("agreement", "那就下周一开始试两周，先主推一档，目标十单。", "zh").checks
        if c.id == "concrete_next_step"
    )
    assert concrete.passed and not vague.passed


@pytest.mark.parametrize(
    "text,locale",
    [
        ("Which customers come to you most often? What do they usually ask about first?", "en"),
        ("I'll give you a call on Thursday to see how the first week went.", "en"),
        ("Please don't hesitate to ask me anything about the plans, I'm happy to explain.", "en"),
        ("下周三我再给您打个电话，问问这周卖得怎么样。", "zh"),
    ],
)
def test_harmless_sentences_fire_no_harm(scorer, text, locale):
    for step in ("need_guidance", "agreement", "icebreaking"):
        assert scorer.score(step, text, locale).harms == ()


@pytest.mark.parametrize(
    "text,harm",
    [
        ("我再给您每户多加五十块", "instant_discount"),
        ("我私下再给您每户补三十，这个别往外说", "instant_discount"),
        ("我给您再打个九折", "instant_discount"),
        ("我这个月任务还差十单", "targets_only"),
        ("今天不签的话，这个名额明天就给隔壁店了。", "pressure_to_sign"),
        ("Just don't mention the two-year lock-in to customers, they never ask anyway.", "mis_selling"),
    ],
)
def test_harms_are_caught_inside_a_good_answer_and_quote_the_clause(scorer, pack, text, harm):
    answer = (
        "王老板，您担心利润薄很正常，换我也会这么算。您是跟哪家比的？城东一家同样大小的店上个月分成两千多。"
        f"{text}。您看这样行吗？"
    )
    clean = scorer.score("objection_handling", answer.replace(f"{text}。", ""), "zh")
    result = scorer.score("objection_handling", answer, "zh")
    fired_harm = next((c for c in result.harms if c.id == harm), None)
    assert fired_harm is not None, [c.id for c in result.harms]
    assert fired_harm.evidence and fired_harm.evidence in answer
    assert result.score <= pack.scoring.harm_cap < clean.score


LONG_GOOD_OBJECTION_ZH = (
    "王老板，您担心利润薄很正常，换我也会这么算。您是跟哪家比的，比的是首月佣金还是一年下来的总收入？"
    "城东一家跟您差不多大的店，上个月光在网分成就拿了两千多，后台截图我带来了，您可以翻翻看。"
    "我们的分成是按月到账的，顾客在网一天您就多拿一天，不是一锤子买卖。"
    "店员这边也不用多学什么，我下周二过来给他们讲半小时，每人发一张话术卡。"
    "您担心的压货问题也不存在，卡是按需领的，季度末没卖完的可以全额退回去。"
    "我们先不谈量，您先挑一个柜台试两周，周五下午我过来跟您一起看数据。"
)


def test_a_long_answer_is_read_within_the_token_budget_and_a_harm_at_its_end_still_fires(scorer, pack):
    threat = "要是您这周不定下来，以后的新机型就不给您铺货了。"  # a threat no exact phrase knows: found by meaning
    answer = LONG_GOOD_OBJECTION_ZH + threat
    model = Embedder.shared()
    read_whole = sum(model.token_count(c.text) for c in split_clauses(answer, coarse=True))
    assert read_whole > scorer._token_budget(answer)  # too long to read whole, even with a long budget
    assert scorer.score("objection_handling", LONG_GOOD_OBJECTION_ZH, "zh").score >= 70
    result = scorer.score("objection_handling", answer, "zh")
    harm = next((c for c in result.harms if c.id == "pressure_to_sign"), None)
    assert harm is not None and harm.evidence in threat
    assert result.score <= pack.scoring.harm_cap


def test_pasting_the_lesson_text_is_capped_with_a_tip(scorer, pack):
    step = pack.step("icebreaking")
    pasted = GOOD_ICEBREAK_ZH + step.techniques[0].how.zh + step.techniques[3].how.zh + step.purpose.zh
    result = scorer.score("icebreaking", pasted, "zh")
    guard = pack.scoring.copied_lesson
    flag = fired(result, guard.id)
    assert flag is not None and flag.tip == guard.tip.zh and flag.evidence in pasted
    assert result.score <= guard.cap


def test_repeated_content_counts_once(scorer):
    weak = "王老板您好，我是青禾的小李，今天来跟您聊聊我们的新套餐。"
    once = scorer.score("icebreaking", weak, "zh").score
    assert scorer.score("icebreaking", weak * 5, "zh").score == once


def test_a_closing_line_given_as_an_icebreaker_is_flagged_as_another_steps_job(scorer, pack):
    closing = (
        "那就这么定了：下周一开始试两周，先主推一档，目标十单。"
        "周一上午的培训您安排哪两位店员参加？每周五下午我过来复盘。"
    )
    result = scorer.score("icebreaking", closing, "zh")
    flag = fired(result, f"{pack.scoring.wrong_step.id}:agreement")
    assert flag is not None
    assert pack.step("agreement").title.zh in flag.tip and pack.step("icebreaking").title.zh in flag.tip
    assert result.score <= pack.scoring.wrong_step.cap
    # the same words as an agreement are a good answer
    assert scorer.score("agreement", closing, "zh").score >= 60


def test_the_same_text_always_gets_the_same_score(pack, scorer):
    again = Scorer(pack)
    for text, locale in ((GOOD_ICEBREAK_ZH, "zh"), (GOOD_ICEBREAK_EN, "en"), (LONG_GOOD_OBJECTION_ZH * 2, "zh")):
        first = scorer.score("icebreaking", text, locale)
        assert again.score("icebreaking", text, locale) == first
        assert scorer.score("icebreaking", text, locale) == first
        Embedder.shared().clear_memo()  # vectors computed afresh, in another batch, give the same score
        assert scorer.score("icebreaking", text, locale) == first


def test_every_passed_check_quotes_the_reps_own_words(scorer, pack):
    answers = [(GOOD_ICEBREAK_ZH, "zh"), (GOOD_ICEBREAK_EN, "en")]
    for step in pack.steps:
        for text, locale in answers:
            for check in scorer.score(step.id, text, locale).checks:
                if check.evidence is not None:
                    assert check.evidence in text, (step.id, check.id, check.evidence)


def test_strongest_and_weakest_name_what_the_dealer_should_react_to(scorer):
    result = scorer.score("icebreaking", GOOD_ICEBREAK_EN, "en")
    assert result.strongest is not None and result.strongest.passed
    poor = scorer.score("icebreaking", "Hi, I'm from Qinghe Telecom. We have a new plan, you should stock it.", "en")
    assert poor.weakest is not None and not poor.weakest.passed
    assert poor.weakest.weight == max(c.weight for c in poor.checks if c.kind == "rubric" and not c.passed)


def test_the_pass_mark_comes_from_the_pack(scorer, pack):
    assert pack.scoring.pass_mark == scorer.PASS_MARK


@pytest.mark.parametrize(
    "step,text,locale",
    [
        (
            "icebreaking",
            "张老板您好您好！您这店面真气派，一看生意就红火。我今天就是顺路来拜访一下，认识认识您，"
            "我们公司特别看重像您这样的好伙伴，以后有什么事您尽管开口，咱们多走动、多交流。",
            "zh",
        ),
        (
            "objection_handling",
            "您的顾虑我特别理解，也非常感谢您跟我说这些。我们一直把合作伙伴的感受放在第一位，"
            "这件事我回去一定好好汇报，请您放心，肯定给您一个满意的交代。",
            "zh",
        ),
        (
            "value_presentation",
            "Honestly, Mr Li, this is a wonderful product in every way. Everyone who tries it loves it, "
            "and I just know it would be a great fit for a lovely shop like yours. We really value working with you.",
            "en",
        ),
    ],
)
def test_a_long_polite_answer_with_nothing_concrete_scores_low_and_says_why(scorer, pack, step, text, locale):
    result = scorer.score(step, text, locale)
    guard = pack.scoring.polite_empty
    flag = fired(result, guard.id)
    assert flag is not None and flag.tip == guard.tip[locale] and flag.evidence in text
    assert result.score <= guard.cap


def test_courtesy_around_real_content_is_not_called_empty(scorer, pack):
    for text, locale in ((GOOD_ICEBREAK_ZH, "zh"), (GOOD_ICEBREAK_EN, "en")):
        polite = text + ("以后还请多多关照。" if locale == "zh" else " Lovely to see you again, as always.")
        result = scorer.score("icebreaking", polite, locale)
        assert fired(result, pack.scoring.polite_empty.id) is None
        assert result.score >= 70


@pytest.mark.parametrize(
    "text,harm",
    [
        ("说实话，另外那家运营商的网就是垃圾，用过的都骂", "bashing_competitors"),
        ("上次那事都是我们后台那帮人搞砸的，跟我没关系", "blaming"),
        ("多出来的那部分佣金咱俩对半分，系统里看不出来", "instant_discount"),
        ("您要是这个月还不进货，年底您的代理资格怕是保不住了", "pressure_to_sign"),
        ("我跟您保证，这网一辈子都不会断", "mis_selling"),
        ("副卡每张还要另收十块，这个您先别跟顾客提", "mis_selling"),
        ("我本月融合套餐还差二十五单才达标，您这边多走几单", "targets_only"),
        ("对面那家营业厅收了钱就不管人了，客人都吃过亏", "bashing_competitors"),
    ],
)
def test_harms_in_other_words_are_caught_inside_a_good_answer(scorer, pack, text, harm):
    test_harms_are_caught_inside_a_good_answer_and_quote_the_clause(scorer, pack, text, harm)


def test_a_harm_spread_over_two_clauses_of_a_sentence_is_caught_and_quotes_both(scorer, pack):
    good = "王老板，您担心的是客人办完觉得被坑，这个我懂。我们先把副卡怎么收费讲明白。"
    hidden = "副卡每月要另交十五块，办的时候您就别主动跟客人讲了。"
    honest = "副卡每月要另交十五块，办的时候您一定先跟客人讲清楚。"
    result = scorer.score("objection_handling", good + hidden, "zh")
    harm = next((c for c in result.harms if c.id == "mis_selling"), None)
    assert harm is not None and "十五块" in harm.evidence and "别主动" in harm.evidence and harm.evidence in hidden
    # neither clause alone means it: the fee is a fact, and "don't bring it up" needs something to hide
    assert not scorer.score("objection_handling", good + "办的时候您就别主动跟客人讲了。", "zh").harms
    assert not scorer.score("objection_handling", good + honest, "zh").harms


GOOD_OBJECTION_EN = (
    "That's a fair worry, Mr Li, nobody wants stock sitting in the back room. What worries you most, "
    "the cash tied up or the boxes that never sell? A shop your size on East Road took twenty SIMs last month "
    "and sold eighteen, and anything unsold goes back at the end of the quarter. "
)


@pytest.mark.parametrize(
    "text,harm",
    [
        ("Honestly, that other operator is a joke, their network falls over every evening.", "bashing_competitors"),
        ("And let's be fair, the mess last time was mostly down to your own counter staff.", "blaming"),
        (
            "I can also slip you an extra twenty a line from my own budget, it won't show in the system.",
            "instant_discount",
        ),
        (
            "If nothing is signed by Friday, head office may well hand your area to the shop opposite.",
            "pressure_to_sign",
        ),
        ("Tell your customers it never drops anywhere, I guarantee it.", "mis_selling"),
        ("To be straight with you, I have a quota to hit by the end of the month.", "targets_only"),
    ],
)
def test_english_harms_in_other_words_are_caught_and_quote_the_clause(scorer, pack, text, harm):
    answer = GOOD_OBJECTION_EN + text + " Shall we start with ten SIMs on Monday?"
    clean = scorer.score("objection_handling", GOOD_OBJECTION_EN + "Shall we start with ten SIMs on Monday?", "en")
    result = scorer.score("objection_handling", answer, "en")
    fired_harm = next((c for c in result.harms if c.id == harm), None)
    assert fired_harm is not None, [c.id for c in result.harms]
    assert fired_harm.evidence and fired_harm.evidence in text
    assert result.score <= pack.scoring.harm_cap < clean.score


def test_naming_a_competitors_strength_is_not_running_them_down(scorer):
    fair = (
        "They do pay more up front, I won't pretend otherwise, and their displays look great. "
        "What matters more to you, the first month or the whole year? Ours keeps paying you every month."
    )
    assert scorer.score("objection_handling", fair, "en").harms == ()


def test_an_objection_answer_that_ends_with_a_next_step_is_not_another_steps_job(scorer, pack):
    answer = (
        "周老板，怕学不会太正常了，谁碰上新东西都发怵。店里要做的其实就一件事：帮客人在平板上填个单，"
        "装机调试都是我们师傅上门。我周三上午过来，陪您的店员一起办第一单，您看看到底难不难。"
    )
    result = scorer.score("objection_handling", answer, "zh")
    assert not any(n.startswith(pack.scoring.wrong_step.id) for n in result.notes), result.notes


def test_an_english_question_word_before_an_auxiliary_keeps_the_question_open(scorer):
    text = "Who are your customers mostly? What do they grumble about while they wait?"
    check = next(c for c in scorer.score("need_guidance", text, "en").checks if c.id == "open_questions")
    assert check.passed and check.evidence in text


def test_counting_what_the_dealer_still_needs_is_not_talking_about_your_own_targets(scorer):
    text = (
        "王老板，您店里这个月还差五单就到下一档返点了。我们还差两步就能开通，"
        "您觉得哪几类客人最可能先办？周三我带物料过来。"
    )
    result = scorer.score("value_presentation", text, "zh")
    assert "targets_only" not in [c.id for c in result.harms]


def test_owning_up_to_how_the_last_vendor_left_them_is_not_running_down_a_competitor(scorer):
    text = (
        "刘店长，那家厂商撤走以后售后就没人管了，最后挨骂的是您的店员，换谁都寒心。"
        "您最担心的是售后没人接，对吧？下周一我带售后流程过来给您过一遍。"
    )
    result = scorer.score("objection_handling", text, "zh")
    assert "bashing_competitors" not in [c.id for c in result.harms]
