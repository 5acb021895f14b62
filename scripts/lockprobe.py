"""Hold the database's write lock from another process while users press buttons; print what happened.

    python -m scripts.lockprobe [--hold 2] [--users 20]

A second process (a manager's export, a backup) takes `BEGIN IMMEDIATE` on the
bot's database and keeps it for `--hold` seconds (and until every press was
acknowledged, so the check below is never cut short). Meanwhile each user, who
already has a course keyboard, presses its button and types a line. The bot runs
in-process (the real application, our polling loop and inbox) against the fake
Bot API (tests/fake_telegram.py, no network). Printed: how many getUpdates calls
and press acknowledgements happened while the lock was held, how many replies
were sent then (none can be: their turns wait for the lock), and after the
release whether every update was answered without an error.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import AIORateLimiter

from bot.config import Settings
from bot.service import CoachService
from bot.storage import Inbox, Storage
from bot.telegram.app import build_application
from bot.telegram.polling import poll
from dialogs.engine import Engine
from knowledge.pack import load_pack
from tests.fake_telegram import TOKEN, RecordingRequest, buttons_of, callback_update, message_update

FIRST_USER = 900_000
HOLDER = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "conn.execute('ROLLBACK')\n"
)


@dataclass
class ProbeResult:
    hold: float
    users: int
    presses: int
    polls_while_locked: int
    acknowledged_while_locked: int
    replies_while_locked: int
    answered_after: int  # updates answered once the lock was released
    updates: int
    errors: int
    seconds_to_answer_all: float

    def report(self) -> str:
        return "\n".join(
            [
                f"write lock held by another process for {self.hold:.1f} s; {self.users} users,"
                f" {self.updates} updates ({self.presses} presses) sent while it was held",
                f"getUpdates calls while locked:        {self.polls_while_locked}",
                f"presses acknowledged while locked:    {self.acknowledged_while_locked}/{self.presses}",
                f"replies sent while locked:            {self.replies_while_locked}",
                f"updates answered after the release:   {self.answered_after}/{self.updates}"
                f" ({self.seconds_to_answer_all:.2f} s after it)",
                f"updates that failed (error replies):  {self.errors}",
            ]
        )


def _calls(api, method: str) -> int:
    if method == "getUpdates":
        return api.polls
    with api._changed:
        return sum(1 for m, _ in api.calls if m == method)


async def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


async def probe(workdir: Path, hold: float = 2.0, users: int = 20, engine: Engine | None = None) -> ProbeResult:
    engine = engine or Engine(load_pack())
    storage = Storage(workdir / "coach.db")
    inbox = Inbox.beside(storage)
    request = RecordingRequest(latency=0.005)
    api = request.api
    service = CoachService(storage, engine, inbox=inbox)
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    app = build_application(Settings(token=TOKEN), service, request=request, rate_limiter=limiter, inbox=inbox)
    intake = app.bot_data["intake"]
    chats = list(range(FIRST_USER, FIRST_USER + users))
    await app.initialize()
    poller = asyncio.create_task(poll(app.bot, intake, timeout=0))
    try:
        for chat in chats:
            api.push(message_update(chat, "/train"))
        assert await _wait(lambda: all(api.sent(c) for c in chats), 60), "the users never got their first screen"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(storage.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "locked"
            locked_at = time.monotonic()
            polls, acks, sent = _calls(api, "getUpdates"), _calls(api, "answerCallbackQuery"), len(api.sent())
            for chat in chats:
                api.push(callback_update(chat, buttons_of(api.sent(chat)[-1])[0][1]))
                api.push(message_update(chat, "王老板您好，最近店里生意怎么样？"))
            await _wait(lambda: _calls(api, "answerCallbackQuery") - acks >= users, 20)
            await asyncio.sleep(max(0.0, hold - (time.monotonic() - locked_at)))
            polls_locked = _calls(api, "getUpdates") - polls
            acks_locked = _calls(api, "answerCallbackQuery") - acks
            replies_locked = len(api.sent()) - sent
            held = time.monotonic() - locked_at
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        released_at = time.monotonic()
        answered = await _wait(lambda: len(api.sent()) - sent >= 2 * users, 60)
        took = time.monotonic() - released_at
        errors = sum(1 for m in api.sent() if "出了点问题" in m["text"] or "went wrong" in m["text"])
        answered_after = sum(min(2, len(api.sent(c)) - 1) for c in chats)
    finally:
        poller.cancel()
        await asyncio.gather(poller, return_exceptions=True)
        await intake.drain(30)
        await app.shutdown()
        app.bot_data["workers"].shutdown()
        inbox.close()
        storage.close()
    return ProbeResult(held, users, users, polls_locked, acks_locked, replies_locked, answered_after, 2 * users,
                       errors, took if answered else float("nan"))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=2.0, help="seconds the other process holds the lock")
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(probe(Path(tmp), args.hold, args.users))
    print(result.report())
    ok = result.answered_after == result.updates and not result.errors
    return 0 if ok and result.acknowledged_while_locked == result.presses else 1


if __name__ == "__main__":
    sys.exit(main())
