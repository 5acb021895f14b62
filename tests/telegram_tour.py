"""A learner on Telegram, for tests/screens_tour.py: messages and button presses as updates, what the
fake Bot API was asked to show read back as replies.

`TelegramFront` is synchronous (the tour is): it runs each update on the event loop
the application lives on, from the tour's own thread (`run_tour`).
"""

from __future__ import annotations

import asyncio

from bot.telegram.render import encode_button
from dialogs.engine import Button, Reply
from tests.fake_telegram import FakeBotApi, callback_update, feed, message_update
from tests.screens_tour import tour


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
    def __init__(self, app, api: FakeBotApi, user_id: int, loop: asyncio.AbstractEventLoop, language: str):
        self.app, self.api, self.user_id, self.loop, self.language = app, api, user_id, loop, language
        self.updates = 0
        # per update: what it was ("text", "press", "press on an answer") and the Bot API methods it cost
        self.log: list[tuple[str, list[str]]] = []
        self._message_of: dict[int, int] = {}  # id(reply) -> the message it was read from

    def _run(self, update: dict, kind: str = "text") -> list[Reply]:
        seen, calls = len(self.api.shown(self.user_id)), len(self.api.calls)
        self.updates += 1
        asyncio.run_coroutine_threadsafe(feed(self.app, update), self.loop).result(timeout=60)
        self.log.append((kind, [method for method, _ in self.api.calls[calls:]]))
        replies = []
        for message in self.api.shown(self.user_id)[seen:]:
            reply = reply_of(message)
            self._message_of[id(reply)] = message["message_id"]
            replies.append(reply)
        return replies

    def send(self, text: str) -> list[Reply]:
        return self._run(message_update(self.user_id, text, language_code=self.language))

    def press(self, button: Button, reply: Reply) -> list[Reply]:
        message = self.api.messages[(self.user_id, self._message_of[id(reply)])]
        kind = "press on an answer" if "reply_to_message" in message else "press"
        return self._run(callback_update(self.user_id, encode_button(button, reply), message=dict(message)), kind)


async def run_tour(app, api: FakeBotApi, user_id: int, locale: str) -> tuple[list[Reply], TelegramFront]:
    """The whole tour on Telegram, in a thread of its own (the application stays on this loop)."""
    front = TelegramFront(app, api, user_id, asyncio.get_running_loop(), "zh-hans" if locale == "zh" else "en")
    replies = await asyncio.to_thread(tour, front, locale)
    return replies, front
