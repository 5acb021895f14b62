"""Effects as data: flows return them, one dispatcher applies them in the turn's transaction, and
stored facts are read only when a flow asks."""

from __future__ import annotations

import pytest

from bot.effects import apply_turn
from bot.service import _describe_press
from dialogs.effects import ChangeSetting, RecordScore, SaveDrillCard, SetLocale
from dialogs.engine import Event, Outcome, Reply, SessionRecord, User
from tests.helpers import Learner


class CountingReader:
    """A reader that counts how often the stored drill cards are asked for."""

    def __init__(self):
        self.calls = 0

    def drill_cards(self):
        self.calls += 1
        return ()


def test_drill_cards_are_read_only_by_a_flow_that_needs_them_and_once_per_event(engine):
    user = User(1, "zh", "Li", "rep")
    reader = CountingReader()
    outcome = engine.handle(user, None, Event("command", "train"), reader=reader)
    engine.handle(user, outcome.session, Event("button", "begin", "home_fiber"), reader=reader)
    engine.handle(user, None, Event("command", "help"), reader=reader)
    assert reader.calls == 0
    engine.handle(user, None, Event("command", "drill"), reader=reader)
    assert reader.calls == 1  # the menu reads the deck once, however many getters and conditions use it


def test_a_turn_and_its_effects_are_applied_together(service, storage, rep):
    learner = Learner(service, rep).send("/drill").press_trigger("start")
    learner.send("我理解您的担心。请问您最担心的是哪一点？我们有同类门店的数据，您看下周先试一个月？")
    user_id = storage.find_user("console", "rep-li").id
    assert len(storage.scores(user_id)) == 1 and len(storage.drill_cards(user_id)) == 1
    assert storage.scores(user_id)[0]["flow"] == "drill"


def test_a_failing_effect_rolls_back_the_whole_turn(storage):
    row = storage.ensure_user("console", "x", "X", "", "zh")
    user = User(row.id, "zh", "X")
    outcome = Outcome(
        [Reply("ok")],
        SessionRecord(None, "course", "intro", {}),
        [SetLocale("en"), ChangeSetting("learner", "partner"), ChangeSetting("favourite_colour", "blue")],
    )
    with pytest.raises(ValueError, match="favourite_colour"), storage.transaction():
        apply_turn(storage, user, None, Event.from_text("/train"), outcome, None, _describe_press)
    after = storage.find_user("console", "x")
    assert after.locale == "zh" and after.learner is None  # nothing of the turn was kept
    assert storage.turns() == [] and storage.active_sessions(row.id) == []


def test_every_effect_a_shipped_flow_returns_has_a_handler():
    from bot.effects import HANDLERS

    assert {RecordScore, SaveDrillCard, ChangeSetting, SetLocale} <= set(HANDLERS)
