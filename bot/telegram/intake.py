"""Every incoming update passes here: stored, acknowledged, handled exactly once, marked.

1. `receive` stores a batch of updates in the inbox (one commit) before anything
   else: only then may the poller confirm their offset, or the webhook answer 200.
   An update already in the inbox (a redelivery) is dropped here.
2. A pressed button is acknowledged (`answerCallbackQuery`) right after that
   commit, the press being saved: it never waits for the main database. Over a
   webhook the acknowledgement rides in the reply to Telegram's request instead
   (`answer_presses=False`, see webhook.py): one Bot API request fewer per press.
3. The update is handed to the application (per-user order, see ordering.py);
   the handlers commit its turn and queue its replies.
   A quiz poll's answer (`poll_answer`) comes the same way: it has a user but no chat, so its sender
   is the user, and the handler maps the poll to the session that asked it.
4. Only then is it marked handled in the inbox. A crash before that leaves it
   pending: `recover` hands it to the application again at the next start, and
   the service recognises an update whose turn already committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.storage import Inbox
from bot.telegram.workers import Workers

log = logging.getLogger(__name__)
CHANNEL = "telegram"
KEEP_HANDLED = timedelta(days=2)  # Telegram keeps an unconfirmed update for 24 hours


def sender_of(update: Update) -> str | None:
    """The user an update comes from (for a poll answer: the voter), or None."""
    user = update.effective_user
    return str(user.id) if user is not None else None


class Intake:
    def __init__(self, app: Application, inbox: Inbox, workers: Workers):
        self.app = app
        self.inbox = inbox
        self.workers = workers
        self._tasks: set[asyncio.Task] = set()

    async def receive(self, updates: list[Update], *, answer_presses: bool = True) -> list[Update]:
        """Store updates, then acknowledge and handle the ones not seen before; returns those.

        With `answer_presses=False` the caller answers the callback queries of the updates returned
        (the webhook does, in its reply); the handlers leave them alone either way.
        """
        rows = [(u.update_id, sender_of(u), u.to_json()) for u in updates]
        stored = set(await self.workers.run_inbox(self.inbox.store, CHANNEL, rows))
        new = [update for update in updates if update.update_id in stored]
        for update in new:
            if update.callback_query is not None:
                # noted before the handler can run, so it does not answer a second time
                self.app.bot_data.setdefault("acknowledged", set()).add(update.callback_query.id)
                if answer_presses:
                    self._start(self._acknowledge(update))
            self._dispatch(update)
        return new

    async def recover(self) -> None:
        """Hand every stored, unhandled update to the application again (after a crash); drop old marks."""
        before = (datetime.now(UTC) - KEEP_HANDLED).isoformat(timespec="milliseconds")
        await self.workers.run_inbox(self.inbox.prune, before)
        pending = await self.workers.run_inbox(self.inbox.pending, CHANNEL)
        if pending:
            log.info("handling %d update(s) received before the restart", len(pending))
        for _, payload in pending:
            self._dispatch(Update.de_json(json.loads(payload), self.app.bot))

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the updates being handled."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def _start(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dispatch(self, update: Update) -> None:
        self._start(self.app.update_processor.process_update(update, self._handle(update)))

    async def _handle(self, update: Update) -> None:
        await self.app.process_update(update)  # a failing handler is reported by the error handler
        await self.workers.run_inbox(self.inbox.mark_handled, CHANNEL, update.update_id)

    async def _acknowledge(self, update: Update) -> None:
        query = update.callback_query
        with contextlib.suppress(TelegramError):  # too old, or the network: the press is saved all the same
            await query.answer()
