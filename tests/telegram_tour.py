"""A learner on Telegram, for tests/screens_tour.py: messages and button presses as updates, what the
fake Bot API was asked to show read back as replies.

`TelegramFront` is synchronous (the tour is): it runs each update on the event loop
the application lives on, from the tour's own thread (`run_tour`). An update reaches the
application one of three ways (`delivery`): "direct" (handed to the handlers, as the handler
tests do), "polling" (through the intake, as the poller hands it over) or "webhook" (POSTed by
the fake Bot API to the webhook receiver over real HTTP, which may answer a press in its reply);
`delivering_application` builds the application for the last two.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from telegram import Update
from telegram.ext import AIORateLimiter

from bot.config import Settings
from bot.service import CoachService
from bot.storage import Inbox, Storage
from bot.telegram.app import build_application
from bot.telegram.render import encode_button
from bot.telegram.webhook import start_webhook
from dialogs.engine import Button, Engine, Reply
from tests.fake_telegram import TOKEN, FakeBotApi, RecordingRequest, callback_update, feed, message_update
from tests.screens_tour import tour

DELIVERIES = ("direct", "polling", "webhook")
TOUR_SECRET = "tour-webhook-secret"


def reply_of(message: dict) -> Reply:
    """A shown message as the reply it stands for: its text, and its buttons decoded from their callback data."""
    buttons, session_id, state, version = [], None, None, None
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for key in row:
            _, session, number, state, trigger, arg = key["callback_data"].split("|")
            session_id, version = (int(session) if session else None), (int(number) if number else None)
            buttons.append(Button(trigger, key["text"], arg))
    return Reply(message["text"], tuple(buttons), session_id=session_id, state=state or None, version=version)


class TelegramFront:
    def __init__(self, app, api: FakeBotApi, user_id: int, loop: asyncio.AbstractEventLoop, language: str,
                 delivery: str = "direct"):  # fmt: skip
        assert delivery in DELIVERIES, delivery
        self.app, self.api, self.user_id, self.loop, self.language = app, api, user_id, loop, language
        self.delivery = delivery
        self.updates = 0
        # per update: what it was ("text", "press", "press on an answer") and the Bot API methods it cost
        # (requests of the bot's; a method run from a webhook reply is in `api.webhook_replies`)
        self.log: list[tuple[str, list[str]]] = []
        self._message_of: dict[int, int] = {}  # id(reply) -> the message it was read from

    def _run(self, update: dict, kind: str = "text") -> list[Reply]:
        seen, calls = len(self.api.shown(self.user_id)), len(self.api.calls)
        self.updates += 1
        self._deliver(update)
        self.log.append((kind, [method for method, _ in self.api.calls[calls:]]))
        replies = []
        for message in self.api.shown(self.user_id)[seen:]:
            reply = reply_of(message)
            self._message_of[id(reply)] = message["message_id"]
            replies.append(reply)
        return replies

    def _deliver(self, update: dict) -> None:
        """Hand the update over the front's way and wait until it is handled to the end."""
        if self.delivery == "direct":
            self._on_loop(feed(self.app, update))
            return
        intake = self.app.bot_data["intake"]
        if self.delivery == "webhook":
            status = self.api.deliver(update)
            assert status == 200, f"the webhook answered {status}"
        else:
            if "message" in update:
                self.api.note_message(update["message"])
            self._on_loop(intake.receive([Update.de_json(update, self.app.bot)]))
        self._on_loop(intake.drain(60))

    def _on_loop(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def send(self, text: str) -> list[Reply]:
        return self._run(message_update(self.user_id, text, language_code=self.language))

    def press(self, button: Button, reply: Reply) -> list[Reply]:
        message = self.api.messages[(self.user_id, self._message_of[id(reply)])]
        kind = "press on an answer" if "reply_to_message" in message else "press"
        return self._run(callback_update(self.user_id, encode_button(button, reply), message=dict(message)), kind)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def delivering_application(storage: Storage, engine: Engine, delivery: str):
    """The application over `storage` with its inbox, as `coach run` builds it, against an in-process fake
    Bot API (no rate limit: calls are counted, not timed); for "webhook", its webhook receiver listens on
    a free local port and the fake delivers to it. Yields (application, fake Bot API)."""
    inbox = Inbox.beside(storage)
    request = RecordingRequest()
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    service = CoachService(storage, engine, inbox=inbox)
    app = build_application(Settings(token=TOKEN), service, request=request, rate_limiter=limiter, inbox=inbox)
    await app.initialize()
    server = None
    try:
        if delivery == "webhook":
            port = free_port()
            server = await start_webhook(app.bot, app.bot_data["intake"], url=f"http://127.0.0.1:{port}/hook",
                                         path="hook", listen="127.0.0.1", port=port, secret=TOUR_SECRET)  # fmt: skip
        yield app, request.api
    finally:
        if server is not None:
            server.stop()
        await app.bot_data["intake"].drain(30)
        await app.shutdown()
        app.bot_data["workers"].shutdown()
        inbox.close()


async def run_tour(app, api: FakeBotApi, user_id: int, locale: str,
                   delivery: str = "direct") -> tuple[list[Reply], TelegramFront]:  # fmt: skip
    """The whole tour on Telegram, in a thread of its own (the application stays on this loop)."""
    front = TelegramFront(app, api, user_id, asyncio.get_running_loop(), "zh-hans" if locale == "zh" else "en",
                          delivery)  # fmt: skip
    replies = await asyncio.to_thread(tour, front, locale)
    return replies, front
