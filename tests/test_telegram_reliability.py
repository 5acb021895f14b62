"""Nothing lost, nothing twice, never blocked: the inbox, the outbox, buttons and locks on Telegram.

The application is the real one (our intake, polling loop and outbox over real
SQLite files); Telegram is the in-process fake Bot API.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import AIORateLimiter

from bot.config import Settings
from bot.service import CoachService, Identity, reply_to_json
from bot.storage import Inbox, Storage
from bot.telegram.app import build_application
from bot.telegram.ordering import PerUserOrderProcessor
from bot.telegram.render import decode_button, split_message
from dialogs.engine import Engine, Event, Reply
from scripts.lockprobe import probe
from tests.fake_telegram import TOKEN, RecordingRequest, buttons_of, callback_update, message_update

CHAT = 77


@pytest.fixture
def engine(pack):
    """What these tests are about is delivery, not screen size: the screens are not paged here
    (tests/test_screens.py and tests/test_telegram_edit.py page them)."""
    return Engine(pack, rng=random.Random(7), page_lines=None)


class Bot:
    """The application over a database folder, started like `coach run` starts it (minus polling)."""

    def __init__(self, folder: Path, engine, request: RecordingRequest | None = None):
        self.storage = Storage(folder / "coach.db")
        self.inbox = Inbox.beside(self.storage)
        self.request = request or RecordingRequest()
        self.api = self.request.api
        service = CoachService(self.storage, engine, inbox=self.inbox)
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
        self.app = build_application(Settings(token=TOKEN), service, request=self.request, rate_limiter=limiter,
                                     inbox=self.inbox)  # fmt: skip
        self.intake = self.app.bot_data["intake"]
        self.outbox = self.app.bot_data["outbox"]

    async def __aenter__(self) -> Bot:
        await self.app.initialize()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.intake.drain(30)
        await self.app.shutdown()
        self.app.bot_data["workers"].shutdown()
        self.inbox.close()
        self.storage.close()

    async def receive(self, *updates: dict) -> None:
        """Updates as the poller hands them over, handled to the end."""
        await self.intake.receive([Update.de_json(u, self.app.bot) for u in updates])
        await self.intake.drain(30)

    def texts(self, chat: int = CHAT) -> list[str]:
        return [m["text"] for m in self.api.sent(chat)]


def button(api, label_part: str, chat: int = CHAT) -> str:
    """The callback data of the newest button whose label contains `label_part`."""
    for message in reversed(api.shown(chat)):
        for label, data in buttons_of(message):
            if label_part in label:
                return data
    raise AssertionError(f"no button {label_part!r}")


async def test_a_press_is_saved_before_it_is_acknowledged_and_acknowledged_once(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train"))
        seen_at_answer = []
        original = bot.api.call

        def call(method, params):
            if method == "answerCallbackQuery":
                with sqlite3.connect(bot.inbox.path) as conn:
                    seen_at_answer.append(conn.execute("SELECT count(*) FROM inbox WHERE update_id = 5001").fetchone())
            return original(method, params)

        bot.api.call = call
        await bot.receive(callback_update(CHAT, button(bot.api, "千兆"), update_id=5001))
        assert seen_at_answer == [(1,)]  # stored when Telegram learnt the press was received; answered once
        assert "第 1/5 步" in bot.texts()[-1]


async def test_an_update_stored_but_not_handled_before_a_crash_is_handled_after_the_restart(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train"))
        press = callback_update(CHAT, button(bot.api, "千兆"))
        # the crash: the press reached the inbox (so its offset was confirmed), and nothing more happened
        bot.inbox.store("telegram", [(press["update_id"], str(CHAT), Update.de_json(press, bot.app.bot).to_json())])
    async with Bot(tmp_path, engine) as bot:
        await bot.intake.recover()
        await bot.intake.drain(30)
        assert "第 1/5 步" in bot.texts()[-1]
        await bot.receive(press)  # Telegram delivers it once more: not handled twice
        assert len(bot.texts()) == 1
        assert bot.inbox.pending("telegram") == []


async def test_a_reply_committed_but_not_sent_before_a_crash_is_sent_after_the_restart(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        service = bot.app.bot_data["service"]
        who = Identity("telegram", str(CHAT), "Li", "zh-hans")
        service.handle(who, Event.from_text("/train"), update_id=6001, queue=True)  # committed, then the crash
        assert bot.texts() == []
    async with Bot(tmp_path, engine) as bot:
        await bot.outbox.flush_all()
        await bot.outbox.flush_all()  # a second sweep finds nothing left to send
        assert len(bot.texts()) == 1 and "五步沟通课程" in bot.texts()[0]
        await bot.receive(message_update(CHAT, "/train", update_id=6001))  # and the update is not handled again
        assert len(bot.texts()) == 1


async def test_a_reply_telegram_could_not_take_stays_queued_and_goes_out_later(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        bot.api.fail_next("sendMessage", {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        await bot.receive(message_update(CHAT, "/start"))
        assert len(bot.texts()) == 1  # one attempt, refused...
        assert len(bot.storage.queued_replies("telegram", str(CHAT))) == 1  # ...so the reply stays queued
        await bot.outbox.flush_all()
        assert len(bot.texts()) == 2 and "渠道教练" in bot.texts()[1]  # ...and the next sweep sends it
        assert bot.storage.queued_replies("telegram", str(CHAT)) == []


async def test_a_long_reply_interrupted_after_its_first_part_resends_only_the_rest(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        long_text = "\n".join(f"第 {i} 行：价值呈现要讲对方的收益。" for i in range(400))
        parts = split_message(long_text)
        assert len(parts) > 2
        outbox_id = bot.storage.queue_reply(channel="telegram", chat=str(CHAT), user_id=None, update_id=None,
                                            reply=reply_to_json(Reply(long_text)))  # fmt: skip
        bot.storage.reply_parts_sent(outbox_id, 1)  # the first part went out, then the crash
        await bot.outbox.flush_all()
        assert bot.texts() == parts[1:]
        assert bot.storage.queued_replies("telegram", str(CHAT)) == []


async def test_a_double_press_of_an_old_keyboard_acts_once(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train"))
        begin = button(bot.api, "千兆")
        await bot.receive(callback_update(CHAT, begin))
        await bot.receive(callback_update(CHAT, begin))
        assert "第 1/5 步" in bot.texts()[-2] and "过期" in bot.texts()[-1]
        user = bot.storage.find_user("telegram", str(CHAT))
        assert bot.storage.active_session(user.id).state == "explain"


async def test_a_double_press_of_a_self_loop_button_acts_once(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train"))
        await bot.receive(callback_update(CHAT, button(bot.api, "千兆")))
        await bot.receive(callback_update(CHAT, button(bot.api, "示范话术")))
        another = button(bot.api, "换一个示范")  # "another model": model -> model
        await bot.receive(callback_update(CHAT, another))
        user = bot.storage.find_user("telegram", str(CHAT))
        after_first = bot.storage.active_session(user.id).data
        await bot.receive(callback_update(CHAT, another))  # the same keyboard pressed again
        assert "过期" in bot.texts()[-1]
        assert bot.storage.active_session(user.id).data == after_first


def test_buttons_carry_the_session_version_and_forged_data_is_refused():
    from bot.telegram.render import encode_button
    from dialogs.engine import Button

    data = encode_button(Button("next_page", "Next"), Reply("x", session_id=12, state="show", version=7))
    event = decode_button(data)
    assert (event.session_id, event.version, event.state, event.name) == (12, 7, "show", "next_page")
    forgeries = ["2|¹|7|show|next_page|", "2|12|¹|show|next_page|", "2|12|٣|show|next_page|", "2|12|7|show||",
                 "1|12|show|next_page|", "2|12|7|show|next_page", "2|9999999999999999999|7|a|b|", "||||||"]  # fmt: skip
    for forged in forgeries:
        assert decode_button(forged) is None, forged


async def test_forged_callback_data_gets_this_button_has_expired(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train"))
        for forged in ("2|¹|0|intro|begin|", "2|1|¹|intro|begin|", "\x00|\uffff", "2|" + "9" * 60):
            await bot.receive(callback_update(CHAT, forged))
            assert "过期" in bot.texts()[-1]
        assert not any("出了点问题" in t for t in bot.texts())


async def test_one_users_burst_holds_no_slot_another_user_needs():
    processor = PerUserOrderProcessor(max_concurrent_updates=2)
    release_first = asyncio.Event()
    started: list[str] = []

    async def work(name: str, wait: asyncio.Event | None = None):
        started.append(name)
        if wait is not None:
            await wait.wait()

    def update(uid, i):
        return Update.de_json(message_update(uid, "hi", update_id=uid * 100 + i), None)

    burst = [asyncio.create_task(processor.process_update(update(1, 0), work("a0", release_first)))]
    burst += [asyncio.create_task(processor.process_update(update(1, i), work(f"a{i}"))) for i in range(1, 6)]
    other = asyncio.create_task(processor.process_update(update(2, 0), work("b0")))
    await asyncio.wait_for(other, timeout=5)  # served while user 1's first update still holds its lock
    assert started == ["a0", "b0"]
    release_first.set()
    await asyncio.gather(*burst)
    assert started == ["a0", "b0", "a1", "a2", "a3", "a4", "a5"]  # user 1's own order kept


async def test_a_write_lock_held_by_another_process_delays_replies_but_blocks_nothing(tmp_path, engine):
    result = await probe(tmp_path, hold=2.0, users=5, engine=engine)
    assert result.polls_while_locked > 0  # still polling
    assert result.acknowledged_while_locked == result.presses  # and acknowledging presses
    assert result.replies_while_locked == 0  # (the turns themselves wait for the lock)
    assert result.answered_after == result.updates and result.errors == 0


async def test_forget_me_leaves_no_trace_of_the_users_text_in_any_database_file(tmp_path, engine):
    secret_answer = "王老板您好，我是斑马李梅花号七三一，最近店里生意怎么样？"
    secret_name = "Zebrafinch Quux"
    async with Bot(tmp_path, engine) as bot:
        await bot.receive(message_update(CHAT, "/train", name=secret_name))
        await bot.receive(callback_update(CHAT, button(bot.api, "千兆")))
        await bot.receive(callback_update(CHAT, button(bot.api, "练习")))
        await bot.receive(message_update(CHAT, secret_answer, name=secret_name))
        await bot.receive(message_update(CHAT, "/forget_me", name=secret_name))
        files = sorted(tmp_path.glob("coach.db*"))
        assert any(secret_answer.encode() in p.read_bytes() for p in files)  # the scan can find it
        await bot.receive(callback_update(CHAT, button(bot.api, "确认删除")))
        assert "删除" in bot.texts()[-1]
        files = sorted(tmp_path.glob("coach.db*"))
        assert {p.name for p in files} >= {"coach.db", "coach.db-wal", "coach.db-inbox", "coach.db-inbox-wal"}
        for path in files:
            data = path.read_bytes()
            for needle in (secret_answer, "斑马李梅花", secret_name, "Zebrafinch"):
                assert needle.encode() not in data, (path.name, needle)
        assert bot.storage.find_user("telegram", str(CHAT)) is None
        assert bot.storage.queued_replies("telegram", str(CHAT)) == []
        with sqlite3.connect(bot.inbox.path) as conn:
            assert conn.execute("SELECT count(*) FROM inbox WHERE sender = ?", [str(CHAT)]).fetchone() == (0,)


def test_the_database_overwrites_what_it_deletes(storage):
    assert storage.db.execute("PRAGMA secure_delete").fetchone() == (1,)


def test_the_inbox_stores_each_update_once_and_forgets_the_text_once_handled(tmp_path):
    inbox = Inbox(tmp_path / "inbox.db")
    assert inbox.store("telegram", [(1, "7", '{"a": "你好"}'), (2, "7", "{}")]) == [1, 2]
    assert inbox.store("telegram", [(2, "7", "{}"), (3, "8", "{}")]) == [3]  # 2 was delivered again
    inbox.mark_handled("telegram", 1)
    inbox.mark_handled("telegram", 1)  # idempotent
    assert [uid for uid, _ in inbox.pending("telegram")] == [2, 3]
    assert inbox.store("telegram", [(1, "7", '{"a": "你好"}')]) == []  # handled, still recognised
    inbox.close()


def test_the_turn_is_stepped_outside_the_write_transaction(service, storage, rep, monkeypatch):
    """The engine runs with no transaction open, so a slow score holds no lock."""
    in_transaction = []
    original = service.engine.handle

    def watching(*args, **kwargs):
        in_transaction.append(storage.db.conn.in_transaction)
        return original(*args, **kwargs)

    monkeypatch.setattr(service.engine, "handle", watching)
    service.handle(rep, Event.from_text("/train"))
    assert in_transaction == [False]


def test_a_session_changed_between_read_and_write_is_read_and_stepped_again(service, storage, rep, pack, monkeypatch):
    from dialogs.engine import Engine
    from tests.helpers import Learner

    learner = Learner(service, rep).send("/train")
    original = service.engine.handle
    calls = []

    def racing(user, session, event, paused=(), reader=None):
        calls.append(session.state if session else None)
        if len(calls) == 1:  # another front end steps the same session meanwhile
            other = Learner(CoachService(Storage(storage.path), Engine(pack)), rep)
            other.service.handle(rep, Event("button", "begin", "home_fiber"))
        return original(user, session, event, paused, reader)

    monkeypatch.setattr(service.engine, "handle", racing)
    learner.send("/train")
    assert calls == ["intro", "explain"]  # the first result was thrown away, the second one saved
    assert "第 1/5 步" in learner.text


def test_waiting_for_a_lock_happens_in_sqlite_not_in_python(tmp_path):
    store = Storage(tmp_path / "c.db")
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 30_000
    store.close()


async def test_a_queue_read_before_another_flush_sent_it_is_not_sent_twice(tmp_path, engine):
    async with Bot(tmp_path, engine) as bot:
        service = bot.app.bot_data["service"]
        who = Identity("telegram", str(CHAT), "Li", "zh-hans")
        service.handle(who, Event.from_text("/start"), update_id=7001, queue=True)
        read_by_the_handler = service.queued_replies("telegram", str(CHAT))
        await bot.outbox.flush_all()  # the sweep gets there first
        await bot.outbox.flush(str(CHAT), read_by_the_handler)
        assert len(bot.texts()) == 1


async def test_an_update_the_bot_cannot_read_is_skipped_and_polling_goes_on(tmp_path, engine, caplog):
    from bot.telegram.polling import poll

    async with Bot(tmp_path, engine, RecordingRequest(latency=0.01)) as bot:  # each request yields to the loop
        chat = {"id": CHAT, "type": "private"}
        unreadable = {"update_id": 5000, "message": {"message_id": 1, "date": "not a date", "chat": chat}}
        bot.api.push(unreadable)
        bot.api.push(message_update(CHAT, "/start", update_id=5001))
        polling = asyncio.create_task(poll(bot.app.bot, bot.intake, timeout=0))
        try:
            for _ in range(400):
                if bot.api.sent(CHAT):
                    break
                await asyncio.sleep(0.05)
        finally:
            polling.cancel()
        assert not polling.done() or polling.cancelled()  # the loop was still running, not stopped by the odd update
        assert bot.texts(), "the readable update after the unreadable one was answered"
        assert "5000" in caplog.text and "skipped" in caplog.text
