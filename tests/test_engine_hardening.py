"""Cases found by fuzzing and probes, each fixed: forged presses, a role switch mid-drill, a typed
/forget_me confirmation, the hint for the flow in progress, and a double press of a self-loop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialogs.engine import Button, Event, SessionRecord, User
from knowledge.pack import template_context
from knowledge.templates import render
from tests.helpers import Learner, plain


def scores(storage) -> int:
    return len(storage.scores())


def to_practice(service, who) -> Learner:
    return Learner(service, who).send("/train").press_trigger("begin").press_trigger("practise")


@pytest.mark.parametrize(
    "arg, text", [("", ""), ("王老板您好，最近生意怎么样？", ""), ("", "王老板您好，最近生意怎么样？")]
)
def test_a_forged_press_of_the_answer_trigger_is_never_scored(service, storage, rep, arg, text):
    learner = to_practice(service, rep)
    learner.replies = service.handle(rep, Event("button", "answer", arg, text=text))
    assert "过期" in learner.text and learner.last.score is None and scores(storage) == 0
    learner.send("👍👍 123 ！！")  # no words: asked again, not scored
    assert "没有收到文字" in learner.text and scores(storage) == 0
    learner.send("王老板您好，最近生意怎么样？")  # the real answer still works
    assert learner.last.score is not None and scores(storage) == 1


def test_forged_answers_are_not_scored_in_the_drill_or_the_role_play_either(service, storage, rep):
    learner = Learner(service, rep).send("/settings role:rep").send("/drill").press_trigger("start")
    for event in (Event("button", "answer"), Event("button", "answer", "好的"), Event("button", "score_card")):
        learner.replies = service.handle(rep, event)
        assert "过期" in learner.text
    learner.send("/roleplay").press_trigger("choose_product").press_trigger("choose_dealer")
    learner.press_trigger("choose_goal").press_trigger("to_explain").press_trigger("to_show").press_trigger("skip_show")
    learner.replies = service.handle(rep, Event("button", "answer", "您好"))
    assert "过期" in learner.text and scores(storage) == 0


def answer_for(pack, learner) -> str:
    """The model answer of the card on screen, whichever deck it is from."""
    context = template_context(pack.products[0], pack.dealers[0], "zh")
    for objection in pack.objections:
        if plain(render(objection.text["zh"], **context))[:15] in learner.text:
            return plain(render(objection.model_answer["zh"], **context))
    raise AssertionError(learner.text)


def test_switching_role_during_a_drill_keeps_the_round_answerable(service, storage, pack, rep):
    learner = Learner(service, rep).send("/settings role:rep").send("/drill").press_trigger("start")
    learner.send("/settings").press("渠道商")  # now a partner: the round's dealer cards are not in their deck
    assert storage.find_user("console", "rep-li").learner == "partner"
    learner.send("/drill")
    for _ in range(pack.drill.round_size):
        learner.send(answer_for(pack, learner))
        assert learner.last.score is not None
        learner.press_trigger("next_card")
    assert f"练了 {pack.drill.round_size} 张" in learner.text and scores(storage) == pack.drill.round_size
    learner.send("/drill")  # the next round is from the partner's deck
    assert f"现在到期：{len(pack.deck('customer'))} 张" in learner.text


def test_typing_forget_me_confirm_still_asks_and_only_the_offered_button_deletes(service, storage, rep):
    learner = to_practice(service, rep).send("王老板您好，最近生意怎么样？")
    learner.send("/forget_me confirm")
    assert "无法恢复" in learner.text and storage.find_user("console", "rep-li") is not None
    for forged in (
        Event("button", "confirm"),
        Event("button", "confirm", "00000000"),
        Event("command", "forget_me", "confirm"),
    ):
        learner.replies = service.handle(rep, forged)
        assert storage.find_user("console", "rep-li") is not None
    learner.send("/forget_me").press("确认删除")
    assert "已删除" in learner.text and storage.find_user("console", "rep-li") is None
    assert storage.turns() == [] and storage.scores() == []


def test_keeping_the_records_returns_to_the_practice_that_was_paused(service, storage, rep):
    learner = to_practice(service, rep).send("/forget_me")
    assert "/train" in learner.replies[0].text  # the course is paused, not lost
    learner.press("不删了")
    assert "保留" in learner.text
    learner.send("王老板您好，最近生意怎么样？我是来听听您的想法的。")  # the course takes the answer again
    assert learner.last.score is not None and scores(storage) == 1


def test_the_session_hint_names_the_flow_in_progress(service, rep):
    learner = Learner(service, rep).send("/settings role:rep").send("/roleplay").press_trigger("choose_product")
    learner.send("/start")
    assert "发送 /roleplay 继续" in learner.text
    learner.send("/lang en").send("/drill").send("/start")
    assert "send /drill to continue" in learner.text


def step(engine, user, session, event):
    """One engine turn over an in-memory session, as the service would store it."""
    outcome = engine.handle(user, session, event)
    return outcome, replace(outcome.session, id=1) if outcome.session else session


def test_a_double_press_of_a_self_loop_button_acts_once(engine):
    user = User(1, "zh", "Li", "rep")
    _, session = step(engine, user, None, Event("command", "train"))
    for trigger in ("begin", "show_model"):
        _, session = step(engine, user, session, Event("button", trigger, session_id=1, version=session.version))
    first, after_first = step(engine, user, session, Event("command", "train"))  # the keyboard as shown
    another = Button("another_model", "")  # offered on the model screen's last page
    press = Event.press(another, 1, version=first.replies[-1].version)
    once, session = step(engine, user, after_first, press)
    assert session.data["model_index"] == 1 and session.version == after_first.version + 1
    twice, session = step(engine, user, session, press)  # the same keyboard pressed again
    assert "过期" in plain(twice.replies[0].text)
    assert session.data["model_index"] == 1 and session.version == after_first.version + 1
    _, session = step(engine, user, session, Event.press(another, 1, version=once.replies[-1].version))
    assert session.data["model_index"] == 2  # the new keyboard works


def test_every_step_bumps_the_version_and_a_button_of_another_session_is_expired(engine):
    user = User(1, "zh", "Li", "rep")
    _, session = step(engine, user, None, Event("command", "roleplay"))
    versions = [session.version]
    for trigger in ("choose_product", "choose_dealer", "choose_goal", "to_explain", "to_show", "next_page"):
        _, session = step(engine, user, session, Event("button", trigger, session_id=1, version=session.version))
        versions.append(session.version)
    assert versions == list(range(7)) and session.state == "show"
    stranger = SessionRecord(1, "roleplay", "show", session.data, version=session.version)
    outcome = engine.handle(user, stranger, Event("button", "next_page", session_id=2, version=session.version))
    assert "过期" in plain(outcome.replies[0].text) and outcome.session.version == session.version


def test_a_button_label_shows_a_name_as_written(pack_copy, tmp_path):
    """Telegram shows button labels as plain text: an escaped "&amp;" there is what the rep would read."""
    from bot.service import CoachService, Identity
    from bot.storage import Storage
    from dialogs.engine import Engine
    from knowledge.pack import load_pack

    root, edit = pack_copy
    odd = "Fibre & TV <Plus>"

    def rename(data):
        data["products"][0]["name"]["en"] = odd

    edit("products.yaml", rename)
    service = CoachService(Storage(tmp_path / "label.db"), Engine(load_pack(root)))
    who = Identity("console", "amp", "Amp", "en")
    learner = Learner(service, who).send("/lang en").send("/train")
    assert f"Start with {odd}" in learner.labels
    assert all(type(label) is str for label in learner.labels)  # not Markup: nothing escapes it again
    learner.press(f"Start with {odd}")  # typing the label as shown presses it
    assert learner.last.state != "intro" and "Step 1" in learner.text
