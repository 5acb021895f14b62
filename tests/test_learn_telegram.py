"""/learn on Telegram: each question a quiz poll, answered with poll_answer updates that carry no chat.

End to end, `coach run` talks real HTTP to the fake Bot API: a rep opens a lesson, the bot sends a
non-anonymous quiz poll, the rep's poll answer is logged against the rep and the lesson; a poll
answer for a poll the bot never sent, or from another user (a forwarded poll), is ignored and
breaks nothing. In-process (the recorded application), a redelivered poll answer is not counted
twice, a retracted vote is ignored, and a note in front of a question goes out before its poll.
"""

from __future__ import annotations

import sqlite3

import pytest

from bot.service import CoachService, reply_from_json, reply_to_json
from dialogs.engine import Button, Quiz, Reply
from tests.fake_telegram import (
    FakeBotApiServer,
    buttons_of,
    callback_update,
    feed,
    message_update,
    poll_answer_update,
    poll_ids,
    recorded_application,
)
from tests.helpers import wait_until
from tests.test_telegram_e2e import start_bot, stop

REP, STRANGER = 52001, 52002


def rows(db, sql, *args):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def handled(db, update: dict) -> bool:
    """Whether the bot has finished with an update (the inbox marks it only after its handler ran)."""
    found = rows(f"{db}-inbox", "SELECT handled_at FROM inbox WHERE update_id = ?", update["update_id"])
    return bool(found) and found[0][0] is not None


@pytest.fixture
def server():
    with FakeBotApiServer() as srv:
        yield srv


def press(api, chat, label_part):
    for message in reversed(api.sent(chat)):
        for label, data in buttons_of(message):
            if label_part in label:
                api.push(callback_update(chat, data))
                return
    raise AssertionError(f"no button {label_part!r} in {[buttons_of(m) for m in api.sent(chat)[-1:]]}")


def test_a_quiz_poll_answered_on_telegram_is_logged_against_the_rep_and_the_lesson(server, tmp_path, pack):
    api, db = server.api, tmp_path / "coach.db"
    lesson = pack.lessons[2]
    bot = start_bot(server, db, tmp_path / "bot.log")
    try:
        assert wait_until(lambda: any(m == "setMyCommands" for m, _ in api.calls))
        api.push(message_update(REP, "/learn"))
        api.wait_for_sent(1, REP)
        press(api, REP, "3. ")
        for page in range(1, len(lesson.pages)):
            assert f"（{page}/{len(lesson.pages)}）" in api.wait_for_sent(page + 1, REP)[-1]["text"]
            press(api, REP, "下一屏")
        sent = len(api.wait_for_sent(len(lesson.pages) + 1, REP))
        press(api, REP, "做小测验")

        first = api.wait_for_polls(1, REP)[0]
        question = lesson.quiz[0]
        assert first["type"] == "quiz" and first["is_anonymous"] is False
        assert first["question"].endswith(question.question.zh)
        assert [o["text"] for o in first["options"]] == [o.zh for o in question.options]
        assert first["correct_option_ids"] == [question.correct] and first["explanation"] == question.explanation.zh
        assert len(api.sent(REP)) == sent  # the poll asks the question: no message repeats it

        unknown = poll_answer_update(REP, "no-such-poll", [0])
        forwarded = poll_answer_update(STRANGER, poll_ids(api, REP)[0], [question.correct])
        api.push(unknown)
        api.push(forwarded)
        assert wait_until(lambda: handled(db, unknown) and handled(db, forwarded))
        assert api.sent(STRANGER) == [] and len(api.sent(REP)) == sent  # nobody was answered

        api.push(poll_answer_update(REP, poll_ids(api, REP)[0], [question.correct]))
        assert "✅" in api.wait_for_sent(sent + 1, REP)[-1]["text"]
        press(api, REP, "下一题")
        second = lesson.quiz[1]
        wrong = (second.correct + 1) % len(second.options)
        api.wait_for_polls(2, REP)
        api.push(poll_answer_update(REP, poll_ids(api, REP)[1], [wrong]))
        assert "❌" in api.wait_for_sent(sent + 2, REP)[-1]["text"]
        for index in range(2, len(lesson.quiz)):
            press(api, REP, "下一题")
            api.wait_for_polls(index + 1, REP)
            api.push(poll_answer_update(REP, poll_ids(api, REP)[index], [lesson.quiz[index].correct]))
            api.wait_for_sent(sent + index + 1, REP)
        press(api, REP, "看结果")
        result = api.wait_for_sent(sent + len(lesson.quiz) + 1, REP)[-1]
        assert f"答对 {len(lesson.quiz) - 1}/{len(lesson.quiz)} 题" in result["text"]
        assert any("/roleplay" in label for label, _ in buttons_of(result))
    finally:
        stop(bot)

    logged = rows(
        db,
        "SELECT u.external_id, a.lesson, a.question, a.chosen, a.correct, a.channel"
        " FROM quiz_answers a JOIN users u ON u.id = a.user_id ORDER BY a.id",
    )
    expected = [(str(REP), lesson.id, i, q.correct, 1, "telegram") for i, q in enumerate(lesson.quiz)]
    expected[1] = (str(REP), lesson.id, 1, wrong, 0, "telegram")
    assert logged == expected
    assert rows(db, "SELECT COUNT(*) FROM users WHERE external_id = ?", str(STRANGER)) == [(0,)]
    polls = rows(db, "SELECT p.quiz_key, u.external_id FROM quiz_polls p JOIN users u ON u.id = p.user_id")
    assert polls == [(f"{lesson.id}:{i}", str(REP)) for i in range(len(lesson.quiz))]


async def open_quiz(app, api, chat: int, language_code: str = "en"):
    """/learn, the first lesson, through its pages to its first question (in-process)."""
    await feed(app, message_update(chat, "/learn", language_code=language_code))
    while True:
        message = api.shown(chat)[-1]  # a press edits its own message: the screen as the user sees it
        labels = dict(buttons_of(message))
        starts = ("▫️ 1.", "Next", "Take the quiz", "More")
        target = next((d for label, d in labels.items() if label.startswith(starts)), None)
        if target is None:
            return
        await feed(app, callback_update(chat, target, message_id=message["message_id"]))
        if api.sent_polls(chat):
            return


async def test_a_redelivered_or_retracted_poll_answer_is_not_counted(storage, engine):
    service = CoachService(storage, engine, default_locale="en")
    async with recorded_application(service) as (app, api):
        await open_quiz(app, api, REP)
        poll_id = poll_ids(api, REP)[0]
        assert api.sent_polls(REP)[0]["question"].startswith("1/")
        answer = poll_answer_update(REP, poll_id, [0])
        await feed(app, poll_answer_update(REP, poll_id, []))  # a retracted vote names no option
        assert storage.quiz_answers(storage.find_user("telegram", str(REP)).id) == []
        await feed(app, answer, answer)  # Telegram delivers the same update twice
        answers = storage.quiz_answers(storage.find_user("telegram", str(REP)).id)
        assert [(a["lesson"], a["question"], a["chosen"]) for a in answers] == [(engine.pack.lessons[0].id, 0, 0)]
        assert sum(("Right" in m["text"] or "Not quite" in m["text"]) for m in api.sent(REP)) == 1


async def test_a_note_in_front_of_a_question_goes_out_before_its_poll(storage, engine):
    service = CoachService(storage, engine, default_locale="en")
    async with recorded_application(service) as (app, api):
        await open_quiz(app, api, REP)
        sent = len(api.sent(REP))
        await feed(app, message_update(REP, "what now?", language_code="en"))  # typed text on a question
        note = api.sent(REP)[sent:]
        assert len(note) == 1 and engine.pack.lessons[0].quiz[0].options[0].en in note[0]["text"]
        assert engine.pack.lessons[0].quiz[0].question.en not in note[0]["text"]  # the poll asks it, once
        assert len(api.sent_polls(REP)) == 2  # the same question asked again as a poll, after the note
        assert [m for m, _ in api.calls][-2:] == ["sendMessage", "sendPoll"]


async def test_an_answer_to_an_outdated_poll_is_refused_and_not_logged(storage, engine):
    service = CoachService(storage, engine, default_locale="en")
    async with recorded_application(service) as (app, api):
        await open_quiz(app, api, REP)
        await feed(app, message_update(REP, "hm?", language_code="en"))  # the same question asked again
        first, again = poll_ids(api, REP)
        question = engine.pack.lessons[0].quiz[0]
        await feed(app, poll_answer_update(REP, again, [question.correct]))
        assert "Right" in api.sent(REP)[-1]["text"]
        await feed(app, poll_answer_update(REP, first, [question.correct]))  # that question is answered
        assert api.sent(REP)[-1]["text"].startswith(engine.ui("en")("common.button_expired"))
        answers = storage.quiz_answers(storage.find_user("telegram", str(REP)).id)
        assert [(a["question"], a["correct"]) for a in answers] == [(0, 1)]


def test_a_quiz_survives_the_outbox():
    quiz = Quiz("five_myths:1", "2/3 · 哪一种？", ("甲", "乙 & <丙>"), 1, "因为……")
    reply = Reply(
        "2/3 · 哪一种？", (Button("answer", "甲", "0"), Button("answer", "乙", "1")), None, 7, "question", 3, quiz=quiz
    )
    assert reply_from_json(reply_to_json(reply)) == reply
    plain = Reply("hello")
    assert "quiz" not in reply_to_json(plain) and reply_from_json(reply_to_json(plain)) == plain
