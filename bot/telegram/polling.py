"""Long polling with our own loop: an update's offset is confirmed only after it is in the inbox.

PTB's Updater confirms offsets before the handlers run, so a crash in between
loses updates. Here `getUpdates` with offset N+1 (which tells Telegram that
everything up to N was delivered) is only sent once `Intake.receive` has
committed update N to the inbox.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.telegram.intake import Intake

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "poll_answer"]  # poll_answer: lesson quizzes
POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open when there is nothing new
MAX_BACKOFF = 30.0


async def poll(bot: Bot, intake: Intake, timeout: int = POLL_TIMEOUT) -> None:
    """Fetch, store and hand on updates until cancelled."""
    await bot.delete_webhook()
    offset: int | None = None
    backoff = 1.0
    while True:
        try:
            updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
            if updates:
                await intake.receive(updates)
                offset = updates[-1].update_id + 1
            backoff = 1.0
        except InvalidToken:
            raise
        except (TelegramError, OSError, sqlite3.Error) as exc:  # offline, Telegram down, the inbox disk full: try again
            log.warning("could not fetch or store updates (%r); retrying in %.0f s", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
