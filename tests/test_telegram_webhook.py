"""Over a webhook a press is acknowledged in the reply to Telegram's request, not by a request of its own.

The fake Bot API delivers updates to the bot's webhook over real HTTP and runs the
method a reply names ("answered in the webhook reply"). In process: a press gets
exactly one answer, in the reply, after its commit; a redelivered press and a failed
commit get none; over a full course a press costs one request. End to end:
`coach run --webhook-url` against the fake.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from bot.storage import Inbox
from tests import screens_tour
from tests.fake_telegram import TOKEN, FakeBotApiServer, buttons_of, callback_update, message_update
from tests.helpers import wait_until
from tests.telegram_tour import TelegramFront, delivering_application, free_port

CHAT = 91
REP = 31338


def newest(api, chat: int = CHAT) -> dict:
    """The newest screen as Telegram holds it now."""
    return dict(api.messages[(chat, api.shown(chat)[-1]["message_id"])])


def press_on(message: dict, label_part: str, chat: int = CHAT) -> dict:
    """The update of a press of the button of `message` whose label contains `label_part`."""
    data = next(d for label, d in buttons_of(message) if label_part in label)
    return callback_update(chat, data, message=message)


async def delivered(app, api, update: dict) -> int | None:
    """Deliver one update to the webhook (from a thread: the receiver runs on this loop) and let it be handled."""
    status = await asyncio.to_thread(api.deliver, update)
    await app.bot_data["intake"].drain(30)
    return status


async def test_a_press_is_answered_once_in_the_webhook_reply_and_its_message_edited_into_the_next_screen(
    storage, engine
):
    async with delivering_application(storage, engine, "webhook") as (app, api):
        assert await delivered(app, api, message_update(CHAT, "/train")) == 200
        assert api.webhook_replies == []  # a message is not a press: a plain 200
        intro = newest(api)
        press = press_on(intro, "千兆")
        query = press["callback_query"]["id"]
        calls = len(api.calls)

        assert await delivered(app, api, press) == 200
        assert api.answers(query) == ["webhook reply"]
        assert [m for m, _ in api.calls[calls:]] == ["editMessageText"]  # the press cost one request
        assert api.shown(CHAT)[-1]["message_id"] == intro["message_id"]  # the next screen, in place
        assert "第 1/5 步" in api.messages[(CHAT, intro["message_id"])]["text"]

        shown = len(api.shown(CHAT))
        assert await delivered(app, api, press) == 200  # Telegram delivers it again
        assert api.answers(query) == ["webhook reply"]  # no second answer
        assert len(api.shown(CHAT)) == shown and len(api.calls) == calls + 1  # and nothing else either


class FailingInbox(Inbox):
    """An inbox whose disk is full until `failing` is switched off."""

    def __init__(self, path):
        super().__init__(path)
        self.failing = True

    def store(self, channel, updates):
        if self.failing:
            raise OSError("disk full")
        return super().store(channel, updates)


async def test_a_press_whose_commit_fails_gets_a_500_and_no_answer_and_its_redelivery_is_answered(storage, engine):
    async with delivering_application(storage, engine, "webhook") as (app, api):
        assert await delivered(app, api, message_update(CHAT, "/train")) == 200
        press = press_on(newest(api), "千兆")
        query = press["callback_query"]["id"]
        intake = app.bot_data["intake"]
        healthy = intake.inbox
        intake.inbox = FailingInbox(healthy.path)
        shown = len(api.shown(CHAT))
        assert await delivered(app, api, press) == 500
        assert api.answers(query) == [] and len(api.shown(CHAT)) == shown  # not saved: neither answered nor acted on

        intake.inbox.failing = False  # the disk has room again; Telegram delivers the press once more
        assert await delivered(app, api, press) == 200
        intake.inbox.close()
        intake.inbox = healthy
        assert api.answers(query) == ["webhook reply"]
        assert "第 1/5 步" in api.shown(CHAT)[-1]["text"]


@pytest.mark.parametrize("locale", ["zh", "en"])
async def test_over_a_full_course_on_a_webhook_a_press_costs_one_request(storage, engine, locale):
    """Counted, not timed: every press is answered in its webhook reply, so a press costs one request (the
    edit; two when the pressed message answers the learner and stays), a typed message one (the reply),
    and the course comes to fewer than 1.5 requests per update."""
    async with delivering_application(storage, engine, "webhook") as (app, api):
        front = TelegramFront(app, api, CHAT, asyncio.get_running_loop(), "zh-hans" if locale == "zh" else "en",
                              "webhook")  # fmt: skip
        t = screens_tour.Tour(front)
        await asyncio.to_thread(lambda: (screens_tour.shell(t), screens_tour.course(t, locale)))
    costs = {"text": 1, "press": 1, "press on an answer": 2}
    assert {kind for kind, _ in front.log} == set(costs)
    for kind, methods in front.log:
        assert "answerCallbackQuery" not in methods
        assert len(methods) == costs[kind], (kind, methods)
    presses = sum(1 for kind, _ in front.log if kind != "text")
    answered = [p["callback_query_id"] for m, p in api.webhook_replies if m == "answerCallbackQuery"]
    assert len(answered) == len(set(answered)) == presses  # each press answered once, in its reply
    requests = sum(len(methods) for _, methods in front.log)
    assert requests / front.updates < 1.5


def test_coach_run_with_a_webhook_answers_a_press_in_its_reply_once_and_edits_the_screen(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with FakeBotApiServer() as server:
        api = server.api
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": server.base_url,
               "COACH_DB": str(tmp_path / "c.db"), "COACH_WEBHOOK_SECRET": "s3cret-For_Tests"}  # fmt: skip
        log = open(tmp_path / "bot.log", "ab")  # noqa: SIM115 (closed below)
        command = [sys.executable, "-m", "bot.cli", "run", "--webhook-url", url, "--port", str(port),
                   "--listen", "127.0.0.1"]  # fmt: skip
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            assert wait_until(lambda: api.webhook is not None), (tmp_path / "bot.log").read_text()
            train = message_update(REP, "/train")
            api.push(train)  # delivered again until the receiver listens and stores it
            assert wait_until(lambda: len(api.shown(REP)) == 1)
            intro = newest(api, REP)
            press = press_on(intro, "千兆", REP)
            query = press["callback_query"]["id"]
            api.push(press)
            assert wait_until(lambda: len(api.shown(REP)) == 2)
            explain = newest(api, REP)
            assert explain["message_id"] == intro["message_id"] and "第 1/5 步" in explain["text"]
            assert api.answers(query) == ["webhook reply"]

            api.push(press)  # Telegram delivers the press again
            more = press_on(explain, "更多", REP)  # then the rep reads on: handled after the redelivery
            api.push(more)
            assert wait_until(lambda: api.answers(more["callback_query"]["id"]) == ["webhook reply"])
            page_one = buttons_of(explain)
            assert wait_until(lambda: buttons_of(api.shown(REP)[-1]) not in ([], page_one))  # the next page is up
            assert len(api.shown(REP)) == 3  # and nothing came of the redelivered press before it
            assert api.wait_for_delivered(press["update_id"], times=2).count(200) == 2
            assert api.answers(query) == ["webhook reply"]  # the redelivered press: no second answer
            assert [m["message_id"] for m in api.shown(REP)] == [intro["message_id"]] * 3  # all edits of one message
            assert not [m for m, _ in api.calls if m in ("answerCallbackQuery", "getUpdates")]
            assert api.polls == 0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


async def test_a_malformed_update_gets_a_400_and_nothing_logs_the_secret(storage, engine, caplog):
    """PTB raises AttributeError on some malformed updates; unhandled, tornado answered 500 (so Telegram
    would deliver it again and again) and logged the whole request, secret-token header included."""
    from tests.telegram_tour import TOUR_SECRET

    caplog.set_level("INFO")  # what `coach run` logs at (PTB logs request parameters only at DEBUG)
    async with delivering_application(storage, engine, "webhook") as (app, api):
        assert await delivered(app, api, {"update_id": 5, "callback_query": "not an object"}) == 400
        assert await delivered(app, api, message_update(CHAT, "/train")) == 200  # the next update is served
        assert any("千兆" in label for label, _ in buttons_of(newest(api)))  # /train answered
    assert TOUR_SECRET not in caplog.text
