"""The Telegram layer through Application.process_update, with a recording request object."""

from __future__ import annotations

import asyncio
import html
import random

import pytest
from telegram import Update

from bot.config import Settings
from bot.service import CoachService
from bot.telegram.app import build_application, register_commands
from bot.telegram.render import split_message
from dialogs.engine import Engine, Event
from tests.fake_telegram import (
    TOKEN,
    RecordingRequest,
    buttons_of,
    callback_update,
    edited_update,
    feed,
    message_update,
    recorded_application,
)


@pytest.fixture
def engine(pack):
    """What these tests are about is delivery, not screen size: the screens are not paged here
    (tests/test_screens.py and tests/test_telegram_edit.py page them)."""
    return Engine(pack, rng=random.Random(7), page_lines=None)


@pytest.fixture
async def bot(storage, engine):
    """A built, initialised application over a fresh database and a recording request."""
    async with recorded_application(CoachService(storage, engine)) as app_and_api:
        yield app_and_api


def texts(api, chat_id=7):
    return [m["text"] for m in api.sent(chat_id)]


async def test_start_train_answer_and_buttons(bot, storage):
    app, api = bot
    await feed(app, message_update(7, "/start"), message_update(7, "/train"))
    intro = api.sent(7)[-1]
    assert "五步沟通课程" in intro["text"] and intro["parse_mode"] == "HTML"
    _, data = buttons_of(intro)[0]
    pressed = api.shown(7)[-1]
    await feed(app, callback_update(7, data, message=pressed))
    assert any(m == "answerCallbackQuery" for m, _ in api.calls)
    edits = [p for m, p in api.calls if m == "editMessageText"]  # the pressed message becomes the next screen
    assert edits and edits[-1]["message_id"] == pressed["message_id"] and "第 1/5 步" in edits[-1]["text"]
    step = api.shown(7)[-1]
    practise = next(d for label, d in buttons_of(step) if "练习" in label)
    answer = message_update(7, "王老板您好！最近店里生意怎么样？今天来想听听您的想法。")
    await feed(app, callback_update(7, practise, message=step), answer)
    assert "分" in texts(api)[-1]
    assert api.sent(7)[-1]["reply_parameters"]["message_id"] == answer["message"]["message_id"]
    incoming = [t for t in storage.turns() if t["direction"] == "in"]
    assert len(incoming) == 5 and all(t["update_id"] for t in incoming)


async def test_every_callback_query_is_answered_even_forged_ones(bot):
    app, api = bot
    await feed(app, message_update(7, "/train"))
    for data in ("forged", "1|99999|intro|begin|home_fiber", "0|1|intro|begin|", "1|x|y|z|w", ""):
        await feed(app, callback_update(7, data))
        assert "过期" in texts(api)[-1]
    answered = [m for m, _ in api.calls if m == "answerCallbackQuery"]
    assert len(answered) == 5


async def test_a_button_from_before_a_restart_still_gets_a_sensible_reply(tmp_path, engine):
    from bot.storage import Storage

    path = tmp_path / "restart.db"
    request = RecordingRequest()
    app = build_application(Settings(token=TOKEN), CoachService(Storage(path), engine), request=request)
    await app.initialize()
    await feed(app, message_update(8, "/train"))
    old_begin = buttons_of(request.api.sent(8)[-1])[0][1]
    await feed(app, callback_update(8, old_begin))
    await app.shutdown()

    request2 = RecordingRequest()
    app2 = build_application(Settings(token=TOKEN), CoachService(Storage(path), engine), request=request2)
    await app2.initialize()
    await feed(app2, callback_update(8, old_begin))  # pressed again after the restart
    reply = texts(request2.api, 8)[-1]
    assert "过期" in reply and "第 1/5 步" in reply
    await app2.shutdown()


async def test_a_4096_character_answer_of_mixed_text_is_logged_exactly(bot, storage):
    app, api = bot
    await feed(app, message_update(7, "/train"))
    await feed(app, callback_update(7, buttons_of(api.sent(7)[-1])[0][1]))
    await feed(app, callback_update(7, next(d for label, d in buttons_of(api.sent(7)[-1]) if "练习" in label)))
    unit = "您好王老板😀<b>&</b>"
    answer = (unit * (4096 // len(unit) + 1))[:4096]
    await feed(app, message_update(7, answer))
    assert "分" in texts(api)[-1]
    assert [t["text"] for t in storage.turns() if t["direction"] == "in"][-1] == answer
    for sent in api.sent(7):
        assert len(sent["text"]) <= 4096


async def test_names_with_markup_are_escaped(bot):
    app, api = bot
    await feed(app, message_update(9, "/start", name="<b>Boss</b> & Co"))
    text = texts(api, 9)[-1]
    assert "&lt;b&gt;Boss&lt;/b&gt; &amp; Co" in text and "<b>Boss" not in text


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"photo": [{"file_id": "p", "file_unique_id": "pu", "width": 1, "height": 1}]}, "只能读文字"),
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "su",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            "只能读文字",
        ),
        ({"voice": {"file_id": "v", "file_unique_id": "vu", "duration": 2}}, "只能读文字"),
        ({"document": {"file_id": "d", "file_unique_id": "du"}}, "只能读文字"),
    ],
)
async def test_non_text_messages_get_a_clear_reply(bot, extra, expected):
    app, api = bot
    await feed(app, message_update(7, None, **extra))
    assert expected in texts(api)[-1]


async def test_edited_messages_group_chats_and_unknown_commands(bot, storage):
    app, api = bot
    await feed(app, edited_update(7, "改一下"))
    assert "修改" in texts(api)[-1]
    await feed(app, message_update(7, "/train", chat_type="group"))
    group = [m for m in api.sent() if m["chat_id"] == -100123]
    assert group and "私聊" in group[-1]["text"]
    assert not storage.active_session(1) or storage.active_session(1).flow == "course"
    await feed(app, message_update(7, "/whatever"))
    assert "/whatever" in html.unescape(texts(api)[-1])


async def test_english_users_get_english_and_lang_switches(bot):
    app, api = bot
    await feed(app, message_update(11, "/start", language_code="en-GB"))
    assert "Channel Coach" in texts(api, 11)[-1]
    await feed(app, message_update(11, "/lang zh"), message_update(11, "/train"))
    assert "五步沟通课程" in texts(api, 11)[-1]


async def test_a_redelivered_update_is_not_processed_twice(bot, storage):
    app, api = bot
    update = message_update(7, "/train", update_id=555)
    await feed(app, update, update)
    assert len(api.sent(7)) == 1
    assert [t["update_id"] for t in storage.turns() if t["direction"] == "in"] == [555]


async def test_the_command_menu_is_registered_in_both_languages(bot):
    app, api = bot
    await register_commands(app)
    menus = {p.get("language_code"): p["commands"] for m, p in api.calls if m == "setMyCommands"}
    assert set(menus) == {"zh", "en", None}
    assert any(c["command"] == "train" and "课程" in c["description"] for c in menus["zh"])
    assert any(c["command"] == "train" and "course" in c["description"] for c in menus["en"])


async def test_a_failing_handler_logs_without_the_token_and_tells_the_user(bot, monkeypatch, caplog):
    app, api = bot
    service = app.bot_data["service"]

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom with {TOKEN}")

    monkeypatch.setattr(service.engine, "handle", broken)
    await feed(app, message_update(7, "/train"))
    assert "出了点问题" in texts(api)[-1]
    assert "update" in caplog.text and "boom" in caplog.text


def test_long_replies_split_on_line_boundaries_without_breaking_markup():
    lines = [f"<b>第 {i} 行</b> 内容 &amp; 更多" for i in range(600)]
    chunks = split_message("\n".join(lines))
    assert len(chunks) > 1 and all(len(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == "\n".join(lines)
    one_line = "&amp;" * 2000
    for chunk in split_message(one_line):
        assert len(chunk) <= 4096 and chunk.startswith("&amp;") and chunk.endswith("&amp;")


async def test_200_users_at_once_each_in_order_and_far_faster_than_one_by_one(storage, engine):
    """Each user sends /start, /train, /lang en, /train; 250 ms simulated latency per API call.

    "Far faster" is counted, not timed (a wall-clock ratio of two runs failed whenever the machine got
    busier between them): while every call waits out its latency, the calls of many users are in flight
    at once, where one by one there would never be more than one user's."""
    from telegram.ext import AIORateLimiter

    class CountingRequest(RecordingRequest):
        """Counts the API calls in flight at the same time."""

        def __init__(self, latency: float):
            super().__init__(latency=latency)
            self.in_flight = self.most_in_flight = 0

        async def do_request(self, *args, **kwargs):
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await super().do_request(*args, **kwargs)
            finally:
                self.in_flight -= 1

    def script(uid):
        return [message_update(uid, t, update_id=uid * 10 + i) for i, t in
                enumerate(["/start", "/train", "/lang en", "/train"])]  # fmt: skip

    expected = ["渠道教练", "五步沟通课程", "English", "Welcome back"]

    async def run(users):
        request = CountingRequest(latency=0.25)  # a slow network: long enough for a busy machine's turns to overlap
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)  # Telegram's 30/s is not what we measure
        app = build_application(Settings(token=TOKEN), CoachService(storage, engine), request=request,
                                rate_limiter=limiter)  # fmt: skip
        await app.initialize()
        await app.start()
        request.most_in_flight = 0  # from the first update on (start-up's own calls are not counted)
        for i in range(4):  # interleaved, as they would arrive from many phones
            for uid in users:
                await app.update_queue.put(Update.de_json(script(uid)[i], app.bot))
        while len(request.api.sent()) < 4 * len(users):
            await asyncio.sleep(0.01)
        await app.stop()
        await app.shutdown()
        return request.api, request.most_in_flight

    _, one_user = await run([1])
    api, all_users = await run(list(range(100, 300)))
    for uid in range(100, 300):
        got = [m["text"] for m in api.sent(uid)]
        assert len(got) == 4 and all(marker in text for marker, text in zip(expected, got, strict=True)), uid
    assert all_users >= 10 * one_user, (all_users, one_user)  # at least ten times as many calls at once


async def test_flood_control_retry_after_is_waited_out_and_the_reply_still_arrives(bot):
    app, api = bot
    api.fail_next(
        "sendMessage",
        {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
         "parameters": {"retry_after": 1}},
    )  # fmt: skip
    await feed(app, message_update(7, "/start"))
    attempts = [p for m, p in api.calls if m == "sendMessage"]
    assert len(attempts) == 2  # the first was refused with 429, the retry after a second went through
    assert "渠道教练" in attempts[-1]["text"]


async def test_the_daily_reminder_job_messages_opted_in_users_with_cards_due(bot):
    from telegram.ext import CallbackContext

    from bot.telegram.handlers import send_reminders

    app, api = bot
    service = app.bot_data["service"]
    await feed(app, message_update(21, "/start"), message_update(22, "/start"))
    for uid in (21, 22):
        service.handle(service_identity(uid), Event.from_text("/settings role:rep"))
    service.handle(service_identity(21), Event.from_text("/drill"))
    service.handle(service_identity(21), Event("button", "toggle_reminder"))
    before = len(api.sent())
    await send_reminders(CallbackContext(app))
    reminders = api.sent()[before:]
    assert [m["chat_id"] for m in reminders] == [21] and "/drill" in reminders[0]["text"]
    (job,) = app.job_queue.get_jobs_by_name("drill-reminders")
    when = job.trigger.fields  # the cron fields of the daily job: the pack's drill.yaml time, in its zone
    reminder = service.engine.pack.reminder_time
    assert str(when[5]) == str(reminder.hour) and str(when[6]) == str(reminder.minute)
    assert str(job.trigger.timezone) == str(reminder.tzinfo)


def service_identity(uid: int):
    from bot.service import Identity

    return Identity("telegram", str(uid), "Li", "zh-hans")


async def test_a_full_role_play_on_telegram_in_english(bot, storage, pack):
    from tests.helpers import load_labelled

    app, api = bot
    await feed(app, message_update(31, "/roleplay", language_code="en"))
    for _ in range(6):  # product, dealer, goal, plan, model, then skip the model visit
        buttons = buttons_of(api.sent(31)[-1])
        data = next((d for label, d in buttons if label.startswith("Skip")), buttons[0][1])
        await feed(app, callback_update(31, data))
    assert "Observe (O)" in texts(api, 31)[-1]
    labelled = load_labelled()
    for step in ("icebreaking", "need_guidance", "value_presentation", "objection_handling", "agreement"):
        answer = next(a["text"] for a in labelled if a["step"] == step and a["locale"] == "en" and a["label"] == 3)
        await feed(app, message_update(31, answer, language_code="en"))
    review = "\n".join(texts(api, 31)[-2:])
    assert "Coach's review" in review
    for row, step in zip(storage.scores(), pack.steps, strict=True):
        assert f"{step.title['en']}: {row['score']}" in review


async def test_a_fast_double_press_acts_once(bot, storage):
    app, api = bot
    await feed(app, message_update(41, "/train"))
    _, begin = buttons_of(api.sent(41)[-1])[0]
    await asyncio.gather(feed(app, callback_update(41, begin)), feed(app, callback_update(41, begin)))
    replies = texts(api, 41)[-2:]
    assert "第 1/5 步" in replies[0] and "过期" in replies[1]
    session = storage.active_session(storage.find_user("telegram", "41").id)
    assert session.state == "explain" and session.data["step_index"] == 0
