"""The PESOS role-play, played like a learner: prepare, explain, show, observe, supervise."""

from __future__ import annotations

import json

import pytest

from bot.service import CoachService, Identity
from bot.storage import Storage
from dialogs.engine import Event
from knowledge.pack import STEP_IDS, template_context
from knowledge.templates import render
from tests.helpers import Learner, load_labelled, plain

LABELLED = load_labelled()
DEALER = "wang_ideal"


def answer(step: str, locale: str, label: int) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == label)


def rendered(pack, text, locale, dealer_id=DEALER, product_index=0):
    context = template_context(pack.products[product_index], pack.dealer(dealer_id), locale)
    return plain(render(text[locale], **context))


def prepare(learner: Learner, pack, locale: str, dealer_id: str = DEALER) -> Learner:
    dealer = pack.dealer(dealer_id)
    learner.send("/roleplay").press_trigger("choose_product")
    learner.press(dealer.name[locale])
    return learner.press_trigger("choose_goal")


def observe(learner: Learner, pack, locale: str, quality: int) -> list[str]:
    """Play the five moves with answers of one quality (3 excellent, 0 poor); return the screens seen."""
    screens = []
    for step in STEP_IDS:
        screens.append(learner.text)
        if step == "objection_handling" and quality == 3:
            session = learner.service.storage.active_session(learner_user_id(learner))
            objection = pack.objection(session.data["objection"])
            learner.send(rendered(pack, objection.model_answer, locale))
        else:
            learner.send(answer(step, locale, quality))
    screens.append(learner.text)
    return screens


def last_session_data(service: CoachService) -> dict:
    """The data of the most recent session, finished or not, as stored."""
    row = next(service.storage.db.query("SELECT data FROM sessions ORDER BY id DESC LIMIT 1"))
    return json.loads(row["data"])


def learner_user_id(learner: Learner) -> int:
    return learner.service.storage.find_user(learner.who.channel, learner.who.external_id).id


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_full_role_play_from_prepare_to_supervise(service, storage, pack, locale):
    who = Identity("console", f"rp-{locale}", "Rep")
    service.set_locale(who, locale)
    learner = prepare(Learner(service, who), pack, locale)
    dealer = pack.dealer(DEALER)
    man = pack.man_class(dealer)
    briefing = learner.text
    assert dealer.name[locale] in briefing and man.code in briefing and man.strategy[locale][:20] in briefing
    for objection_id in dealer.objections:  # the likely objections are on the briefing card
        assert rendered(pack, pack.objection(objection_id).text, locale)[:15] in briefing
    learner.press_trigger("to_explain")
    for step in pack.steps:
        assert step.title[locale] in learner.text
    learner.press_trigger("to_show")
    for _ in STEP_IDS:  # the model dialogue is paced page by page
        assert dealer.name[locale] in learner.text
        learner.press_trigger("next_page")
    screens = observe(learner, pack, locale, quality=3)
    openings = [rendered(pack, line, locale)[:12] for line in dealer.opening_lines]
    assert any(opening in screens[0] for opening in openings)  # the dealer opens the visit
    scorecard = learner.text
    logged = storage.scores()
    assert [row["step"] for row in logged] == list(STEP_IDS)
    outgoing = [t["score"] for t in storage.turns() if t["direction"] == "out" and t["score"] is not None]
    assert outgoing == [row["score"] for row in logged]  # the scorecard's scores are the logged ones
    for step, row in zip(pack.steps, logged, strict=True):
        assert f"{step.title[locale]}{'：' if locale == 'zh' else ': '}{row['score']}" in scorecard
    assert storage.active_session(learner_user_id(learner)) is None  # finished


def test_good_and_poor_answers_meet_different_dealers_and_scorecards(engine, tmp_path, pack):
    def play(quality: int):
        service = CoachService(Storage(tmp_path / f"q{quality}.db"), engine)
        learner = prepare(Learner(service, Identity("console", "x", "X")), pack, "zh")
        learner.press_trigger("to_explain").press_trigger("to_show").press_trigger("skip_show")
        screens = observe(learner, pack, "zh", quality)
        moves = last_session_data(service)["moves"]
        return [*screens, " ".join(learner.labels)], service.storage.scores(), moves

    good_screens, good_scores, good_moves = play(3)
    poor_screens, poor_scores, poor_moves = play(0)
    lines = pack.reactions[DEALER]
    for i, step in enumerate(STEP_IDS[:-1]):  # after each move the dealer answers what the rep did
        for screens, moves, expected_kinds in ((good_screens, good_moves, {"passed"}),
                                               (poor_screens, poor_moves, {"missed", "harm"})):  # fmt: skip
            kind, check_id = moves[step]["reaction"]
            assert kind in expected_kinds
            assert rendered(pack, getattr(lines, kind)[check_id], "zh")[:12] in screens[i + 1]
    good = {r["step"]: r["score"] for r in good_scores}
    poor = {r["step"]: r["score"] for r in poor_scores}
    assert sum(good.values()) > sum(poor.values()) + 150
    assert "参考示范" in poor_screens[-1] and "课后任务" in poor_screens[-2]  # the model answers, on request
    assert "课后任务" not in good_screens[-2] or good["objection_handling"] < 60


DISCOUNT = {
    "zh": "王老板您好，我私下马上给您加每户五十块补贴，这事别往外说，您今天就把套餐上架吧。",
    "en": "Hi Mr Wang, I'll give you extra 50 per line out of my own pocket, "
    "just between us, so put our plan up today.",
}
ACKNOWLEDGE = {
    "zh": "王老板，上回您说返佣拖了两个月，换我也窝火。今天我不带任务来，"
    "主要想听听您这边的情况，十分钟就够，您现在方便吗？",
    "en": "Mr Wang, last time you said the commission took two months to arrive. I'd be annoyed too. "
    "I haven't brought any targets today; I mainly want to hear how things are going here. "
    "Ten minutes, is now a good time?",
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_dealer_answers_a_bribe_differently_from_an_acknowledgement(engine, tmp_path, pack, locale):
    def first_reaction(text: str) -> tuple[str, list]:
        service = CoachService(Storage(tmp_path / f"{locale}-{len(text)}.db"), engine)
        who = Identity("console", "r", "R")
        service.set_locale(who, locale)
        learner = prepare(Learner(service, who), pack, locale)
        learner.press_trigger("to_explain").press_trigger("to_show").press_trigger("skip_show")
        learner.send(text)
        return learner.text, last_session_data(service)["moves"]["icebreaking"]["reaction"]

    bribed_screen, bribed = first_reaction(DISCOUNT[locale])
    heard_screen, heard = first_reaction(ACKNOWLEDGE[locale])
    lines = pack.reactions[DEALER]
    assert bribed == ["harm", "instant_discount"]
    assert rendered(pack, lines.harm["instant_discount"], locale)[:15] in bribed_screen
    assert heard[0] in ("passed", "missed") and heard != bribed
    heard_line = rendered(pack, getattr(lines, heard[0])[heard[1]], locale)
    assert heard_line[:15] in heard_screen and heard_line[:15] not in bribed_screen


def test_a_weak_objection_is_due_first_in_the_drill_and_a_good_answer_pushes_it_further_out(engine, tmp_path, pack):
    def weak_roleplay_then_drill(db_name: str, drill_quality: int):
        service = CoachService(Storage(tmp_path / db_name), engine)
        learner = Learner(service, Identity("console", "y", "Y")).send("/start").press("渠道经理")
        prepare(learner, pack, "zh").press_trigger("to_explain").press_trigger("to_show").press_trigger("skip_show")
        observe(learner, pack, "zh", quality=0)
        user_id = learner_user_id(learner)
        objection_id = service.storage.drill_cards(user_id)[0].objection_id
        learner.send("/drill")
        assert "到期" in learner.text
        learner.press_trigger("start")
        card_text = rendered(pack, pack.objection(objection_id).text, "zh")
        assert card_text[:15] in learner.text  # the role-play's weak objection comes first
        reply = rendered(pack, pack.objection(objection_id).model_answer, "zh") if drill_quality else "好的。"
        learner.send(reply)
        card = next(c for c in service.storage.drill_cards(user_id) if c.objection_id == objection_id)
        return card.due, learner.last.score

    good_due, good_score = weak_roleplay_then_drill("good.db", 1)
    poor_due, poor_score = weak_roleplay_then_drill("poor.db", 0)
    assert good_score > poor_score
    assert good_due > poor_due


@pytest.mark.parametrize("stop_after", ["pick_dealer", "briefing", "explain", "show", "observe"])
def test_pausing_and_resuming_at_any_phase(tmp_path, engine, pack, stop_after):
    path = tmp_path / "pause.db"
    who = Identity("console", "p", "P")
    learner = Learner(CoachService(Storage(path), engine), who).send("/roleplay").press_trigger("choose_product")
    steps = {
        "briefing": lambda lr: lr.press_trigger("choose_dealer").press_trigger("choose_goal"),
        "explain": lambda lr: lr.press_trigger("to_explain"),
        "show": lambda lr: lr.press_trigger("to_show").press_trigger("next_page"),
        "observe": lambda lr: lr.press_trigger("skip_show").send(answer("icebreaking", "zh", 3)),
    }
    for phase, act in steps.items():
        if stop_after == "pick_dealer":
            break
        act(learner)
        if phase == stop_after:
            break
    before = learner.text
    state = learner.service.storage.active_session(learner_user_id(learner)).state
    learner.service.storage.close()

    again = Learner(CoachService(Storage(path), engine), who)
    again.replies = again.service.handle(who, Event("resume"))
    assert plain(before).splitlines()[0] in again.text
    again.send("/roleplay")
    assert again.service.storage.active_session(learner_user_id(again)).state == state


def test_a_drill_in_the_middle_of_a_role_play_pauses_it_and_the_role_play_continues(service, rep, pack):
    learner = Learner(service, rep).send("/roleplay").press_trigger("choose_product").press_trigger("choose_dealer")
    learner.press_trigger("choose_goal")
    briefing = learner.text.splitlines()[0]
    learner.send("/drill")
    assert "已暂停" in plain(learner.replies[0].text) and "/roleplay" in plain(learner.replies[0].text)
    learner.press_trigger("start").send("我理解您的担心，请问您最担心的是哪一点？")
    assert "参考回答" in learner.text
    learner.send("/roleplay")
    assert "欢迎回来" in learner.text and briefing in learner.text
    learner.press_trigger("to_explain")
    assert "五步计划" in learner.text
    learner.send("/drill")
    assert "参考回答" in learner.text  # the drill kept its place too
