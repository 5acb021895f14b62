"""/my: a rep's own result cards listed, opened, sent again and deleted after a confirmation; another
rep's card id opens nothing; /forget_me deletes the cards; the storage behind it (one card per kind
and title, updated in place)."""

from __future__ import annotations

from bot.service import Identity
from dialogs.engine import Button, Event
from tests.helpers import Learner, squeeze
from tests.test_toolkit import answer_man, user_id

ZH = Identity("console", "my-zh", "Li", "zh-hans")
EN = Identity("console", "my-en", "Sam", "en")
OTHER = Identity("console", "someone-else", "Wu", "zh-hans")


def man_card(service, pack, who: Identity, dealer: str, locale: str = "zh") -> Learner:
    learner = Learner(service, who).send("/man").send(dealer)
    return answer_man(learner, pack, locale, {"money": 4, "authority": 1, "need": 4})


def test_saving_a_card_of_the_same_kind_and_title_updates_it(storage):
    uid = storage.ensure_user("console", "s", "S", "", "zh").id
    first = storage.save_result_card(uid, None, "man", "王老板", {"code": "MAN"})
    again = storage.save_result_card(uid, None, "man", "王老板", {"code": "MaN"})
    other_kind = storage.save_result_card(uid, None, "swot", "王老板", {"kind": "dealer"})
    assert first == again != other_kind
    cards = {c.kind: c for c in storage.result_cards(uid)}
    assert cards["man"].data == {"code": "MaN"} and len(cards) == 2
    assert storage.delete_result_card(uid, first) and not storage.delete_result_card(uid, first)


def test_my_lists_opens_sends_again_and_deletes_after_confirming(service, storage, pack):
    man_card(service, pack, ZH, "王老板")
    man_card(service, pack, ZH, "刘店长")
    learner = Learner(service, ZH).send("/my")
    assert "2 张" in learner.text
    assert any("王老板" in label for label in learner.labels) and any("刘店长" in label for label in learner.labels)

    learner.press("王老板")
    inside = next(c for c in pack.roleplay.man_classes if c.code == "MaN")
    assert "MAN 分析：王老板" in learner.text and inside.strategy.zh in learner.text
    shown = learner.text
    learner.press("再发一次")
    assert learner.text == shown  # the same card, as a new message

    learner.press("删除")
    assert "无法恢复" in learner.text
    learner.press("不删了")
    assert learner.text == shown and len(storage.result_cards(user_id(storage, ZH))) == 2
    learner.press("删除").press("确定删除")
    assert "已删除「王老板」" in learner.text and "1 张" in learner.text
    assert not any("王老板" in label for label in learner.labels)
    assert [c.title for c in storage.result_cards(user_id(storage, ZH))] == ["刘店长"]


def test_another_reps_card_id_cannot_be_opened_or_deleted(service, storage, pack):
    man_card(service, pack, OTHER, "Secret <dealer>")
    [theirs] = storage.result_cards(user_id(storage, OTHER))
    man_card(service, pack, ZH, "王老板")
    learner = Learner(service, ZH).send("/my")
    own = learner.last
    forged = Event.press(Button("open", "", str(theirs.id)), own.session_id, own.state, own.version)
    learner._take(service.handle(ZH, forged))
    assert "找不到这张卡片" in learner.text and "Secret" not in learner.text
    assert not any("Secret" in label for label in learner.labels)

    learner.press("王老板").press("删除")
    confirm = learner.last
    learner._take(service.handle(ZH, Event.press(Button("confirm", "", str(theirs.id)), confirm.session_id,
                                                 confirm.state, confirm.version)))  # fmt: skip
    assert storage.result_cards(user_id(storage, OTHER)) == [theirs]  # deleting acts on the open card only


def test_my_without_cards_offers_the_tools_and_works_in_english(service, pack):
    learner = Learner(service, EN).send("/my")
    assert "no saved cards" in learner.text
    assert {"Do a MAN assessment", "Do a SWOT", "Build a pitch script"} <= set(learner.labels)
    learner.press("Do a MAN assessment").send("Mr Zhao")
    answer_man(learner, pack, "en", {"money": 4, "authority": 4, "need": 1})
    learner.press("My cards").press("Mr Zhao")
    needs = next(c for c in pack.roleplay.man_classes if c.code == "MAn")
    assert "MAN assessment: Mr Zhao" in learner.text and squeeze(needs.strategy.en) in squeeze(learner.text)
    learner.press("All cards").press("Close")
    assert "/my" in learner.text


def test_a_card_made_in_one_language_opens_in_the_other(service, storage, pack):
    man_card(service, pack, ZH, "赵总")
    service.set_locale(ZH, "en")
    learner = Learner(service, ZH).send("/my").press("赵总")
    inside = next(c for c in pack.roleplay.man_classes if c.code == "MaN")
    assert "MAN assessment: 赵总" in learner.text and squeeze(inside.strategy.en) in squeeze(learner.text)


def test_forget_me_deletes_the_reps_cards(service, storage, pack):
    man_card(service, pack, ZH, "王老板")
    man_card(service, pack, OTHER, "刘店长")
    uid = user_id(storage, ZH)
    Learner(service, ZH).send("/forget_me").press("确认删除")
    assert storage.db.execute("SELECT COUNT(*) FROM result_cards WHERE user_id = ?", [uid]).fetchone()[0] == 0
    assert len(storage.result_cards(user_id(storage, OTHER))) == 1


def test_every_effect_has_a_handler_and_a_card_of_an_unknown_kind_is_refused(storage):
    import typing

    import pytest

    from bot.effects import HANDLERS, apply_turn
    from bot.service import _describe_press
    from dialogs.effects import Effect, ForgetUser, SaveResultCard
    from dialogs.engine import Outcome, Reply, SessionRecord, User

    assert set(typing.get_args(Effect)) - set(HANDLERS) == {ForgetUser}  # apply_turn handles that one itself
    row = storage.ensure_user("console", "k", "K", "", "zh")
    outcome = Outcome([Reply("ok")], SessionRecord(None, "man", "result", {}), [SaveResultCard("recipe", "x", {})])
    with pytest.raises(ValueError, match="recipe"), storage.transaction():
        apply_turn(storage, User(row.id, "zh"), None, Event.from_text("/man"), outcome, None, _describe_press)
    assert storage.result_cards(row.id) == [] and storage.turns() == []  # nothing of the turn was kept


def test_a_man_card_opened_in_my_can_be_reassessed_and_the_same_card_is_updated(service, storage, pack):
    man_card(service, pack, EN, "Mr <Sun>", "en")
    [before] = storage.result_cards(user_id(storage, EN))
    learner = Learner(service, EN).send("/my").press("Mr <Sun>").press("Reassess this dealer")
    assert "Reassess “Mr &lt;Sun&gt;”?" in learner.last.text
    learner.press("Reassess this dealer").press("Reassess and update")
    answer_man(learner, pack, "en", {"money": 4, "authority": 4, "need": 4})
    [after] = storage.result_cards(user_id(storage, EN))
    assert after.id == before.id and (before.data["code"], after.data["code"]) == ("MaN", "MAN")
    learner.send("/swot").press("A dealer").send("Mr <Sun>")  # a SWOT card offers no reassessment
    for _ in pack.toolkit.swot.quadrants:
        learner.send("one thing").press("Done")
    learner.send("/my").press("All cards").press("SWOT")  # /my continues where it was paused: the MAN card
    assert "Reassess this dealer" not in learner.labels
