"""Telegram the Telegram way, through the handlers and the fake Bot API: a press edits its own
message into the next screen, a score answers (and quotes) the learner's message, the dealer is
seen typing before their line, and the outbox neither loses nor doubles an edit."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.service import CoachService
from bot.telegram.outbox import OutboxSender
from dialogs.paging import MORE_TRIGGER
from tests import screens_tour
from tests.fake_telegram import buttons_of, callback_update, feed, message_update, recorded_application
from tests.telegram_tour import TelegramFront

CHAT = 7
BRIBE = "王老板您好，我私下马上给您加每户五十块补贴，这事别往外说，您今天就把套餐上架吧。"


@pytest.fixture
async def bot(storage, engine):
    async with recorded_application(CoachService(storage, engine)) as app_and_api:
        yield app_and_api


def latest(api) -> dict:
    """The last message shown in the chat, as Telegram now holds it."""
    return api.messages[(CHAT, api.shown(CHAT)[-1]["message_id"])]


async def press(app, api, label_part: str, message: dict | None = None) -> list[tuple[str, dict]]:
    """Press the button whose label has `label_part` on `message` (default: the latest); return the calls made."""
    message = message or latest(api)
    data = next(d for label, d in buttons_of(message) if label_part in label)
    calls = len(api.calls)
    await feed(app, callback_update(CHAT, data, message=dict(message)))
    return api.calls[calls:]


async def read_on(app, api) -> None:
    """Press "more" until the screen's last page."""
    while any(MORE_TRIGGER in d.split("|")[4:5] for _, d in buttons_of(latest(api))):
        await press(app, api, "更多")


async def to_practice(app, api) -> None:
    await feed(app, message_update(CHAT, "/train"))
    await read_on(app, api)
    await press(app, api, "开始")
    await read_on(app, api)
    await press(app, api, "我来练习")
    await read_on(app, api)


async def test_a_press_edits_its_own_message_into_the_next_screen(bot):
    app, api = bot
    await feed(app, message_update(CHAT, "/train"))
    await read_on(app, api)
    intro = dict(latest(api))
    calls = await press(app, api, "开始")
    assert [method for method, _ in calls] == ["answerCallbackQuery", "editMessageText"]  # one call, not two
    edit = calls[1][1]
    assert edit["message_id"] == intro["message_id"]
    step = api.messages[(CHAT, intro["message_id"])]
    assert "第 1/5 步" in step["text"] and buttons_of(step)  # the new screen, with its own keyboard
    assert all(d != old for _, d in buttons_of(step) for _, old in buttons_of(intro))


async def test_a_score_answers_the_learners_message_and_quotes_the_clause_to_fix(bot):
    app, api = bot
    await to_practice(app, api)
    answer = message_update(CHAT, BRIBE)
    await feed(app, answer)
    sent = api.sent(CHAT)[-1]
    reply = sent["reply_parameters"]
    assert reply["message_id"] == answer["message"]["message_id"]
    assert reply["quote"] and reply["quote"] in BRIBE  # the harm's own clause, the learner's words exactly
    feedback = latest(api)
    assert feedback["reply_to_message"]["message_id"] == answer["message"]["message_id"]
    assert reply["quote"] in feedback["text"]  # the review names the same clause it quotes
    # the feedback stays in the chat: pressing on it sends the next screen and retires its keyboard
    calls = await press(app, api, "再答一次", feedback)
    assert [m for m, _ in calls] == ["answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"]
    assert not buttons_of(api.messages[(CHAT, feedback["message_id"])])


async def test_a_quote_telegram_cannot_find_is_dropped_and_the_reply_still_answers(bot):
    app, api = bot
    await to_practice(app, api)
    answer = message_update(CHAT, BRIBE)
    api.note_message({**answer["message"], "text": "（已被用户改写）"})  # Telegram holds other text now
    calls = len(api.calls)
    await app.process_update(Update.de_json(answer, app.bot))  # (feed would note the original text)
    sends = [p for m, p in api.calls[calls:] if m == "sendMessage"]
    assert len(sends) == 2 and "quote" in sends[0]["reply_parameters"]  # refused: "quote not found"
    assert "quote" not in sends[1]["reply_parameters"] and "分" in sends[1]["text"]
    assert latest(api)["reply_to_message"]["message_id"] == answer["message"]["message_id"]


async def test_the_dealer_is_seen_typing_before_their_line(bot):
    app, api = bot
    await feed(app, message_update(CHAT, "/roleplay"))
    for label in ("千兆", "王", "首次", "看拜访计划", "看示范对话", "跳过示范"):
        await read_on(app, api)
        candidates = [lbl for lbl, _ in buttons_of(latest(api))]
        await press(app, api, next((c for c in candidates if label in c), candidates[0]))
    calls = len(api.calls)
    await feed(app, message_update(CHAT, "王老板您好，最近店里生意怎么样？"))
    methods = [(m, p) for m, p in api.calls[calls:]]
    assert [m for m, _ in methods] == ["sendChatAction", "sendMessage"]
    assert methods[0][1]["action"] == "typing" and "王" in methods[1][1]["text"]


async def test_an_edit_telegram_refuses_is_sent_as_a_new_message(bot):
    app, api = bot
    await feed(app, message_update(CHAT, "/train"))
    await read_on(app, api)
    intro = latest(api)
    api.messages[(CHAT, intro["message_id"])]["date"] -= 3 * 24 * 3600  # too old to edit
    calls = await press(app, api, "开始")
    assert [m for m, _ in calls] == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert "第 1/5 步" in calls[-1][1]["text"] and "第 1/5 步" not in api.messages[(CHAT, intro["message_id"])]["text"]


async def test_an_edit_sent_again_after_a_crash_is_done_once(bot, storage):
    """Telegram accepted the edit, then the process died before marking it sent: the next flush edits again,
    finds the message already showing it ("message is not modified"), and counts it as done."""
    app, api = bot
    service, workers = app.bot_data["service"], app.bot_data["workers"]
    await feed(app, message_update(CHAT, "/train"))
    await read_on(app, api)
    intro = dict(latest(api))
    data = next(d for label, d in buttons_of(intro) if "开始" in label)
    shown_before = len(api.shown(CHAT))
    real_reply_sent = service.reply_sent

    def crash(outbox_id):
        raise SystemExit("killed after Telegram accepted the edit")

    service.reply_sent = crash
    with pytest.raises(SystemExit):
        await feed(app, callback_update(CHAT, data, message=dict(intro)))
    service.reply_sent = real_reply_sent
    assert storage.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1  # still queued
    calls = len(api.calls)
    await OutboxSender(service, app.bot, workers).flush_all()  # the restarted process
    assert [m for m, _ in api.calls[calls:]] == ["editMessageText"]
    assert storage.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert [m["message_id"] for m in api.shown(CHAT)[shown_before:]] == [intro["message_id"]]  # edited once
    assert "第 1/5 步" in api.messages[(CHAT, intro["message_id"])]["text"]


@pytest.mark.parametrize("locale", ["zh", "en"])
async def test_over_a_full_course_a_press_costs_its_answer_and_one_call(storage, engine, locale):
    """Counted, not timed: a typed message costs one call (the reply); a press costs the mandatory
    answerCallbackQuery and one more (the edit), or two when the pressed message answers the learner and
    stays (its keyboard retired, the next screen sent)."""
    async with recorded_application(CoachService(storage, engine)) as (app, api):
        front = TelegramFront(app, api, CHAT, asyncio.get_running_loop(), "zh-hans" if locale == "zh" else "en")
        t = screens_tour.Tour(front)
        await asyncio.to_thread(lambda: (screens_tour.shell(t), screens_tour.course(t, locale)))
    costs = {"text": 1, "press": 1, "press on an answer": 2}
    assert {kind for kind, _ in front.log} == set(costs)
    for kind, methods in front.log:
        answered = [m for m in methods if m == "answerCallbackQuery"]
        assert len(answered) == (0 if kind == "text" else 1)
        assert len(methods) - len(answered) == costs[kind], (kind, methods)
    presses = [methods for kind, methods in front.log if kind == "press"]
    assert all(methods == ["answerCallbackQuery", "editMessageText"] for methods in presses)
