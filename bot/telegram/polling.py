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
import warnings

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.warnings import PTBUserWarning

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
            updates, next_offset = await _fetch(bot, offset, timeout)
            if updates:
                await intake.receive(updates)
            offset = next_offset or offset
            backoff = 1.0
        except InvalidToken:
            raise
        except (TelegramError, OSError, sqlite3.Error) as exc:  # offline, Telegram down, the inbox disk full: try again
            log.warning("could not fetch or store updates (%r); retrying in %.0f s", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


async def _fetch(bot: Bot, offset: int | None, timeout: int) -> tuple[list[Update], int | None]:
    """The next updates and the offset that confirms them.

    An update this version of python-telegram-bot cannot read (a field it does not know how to
    parse) would make `get_updates` raise for the whole batch, forever: the batch is then fetched
    again as plain JSON, every readable update kept and each unreadable one logged (its id and kind
    only, never its content) and confirmed, so one odd update never stops the bot.
    """
    try:
        updates = await bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        log.warning("an update could not be read (%s); reading the batch one update at a time", type(exc).__name__)
    else:
        return updates, (updates[-1].update_id + 1 if updates else None)
    with warnings.catch_warnings():  # PTB suggests get_updates, which is exactly what cannot read this batch
        warnings.simplefilter("ignore", PTBUserWarning)
        raw = await bot.do_api_request(
            "getUpdates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": ALLOWED_UPDATES}
        )
    readable: list[Update] = []
    for item in raw or []:
        try:
            readable.append(Update.de_json(item, bot))
        except (TypeError, KeyError, ValueError, AttributeError):
            kinds = ", ".join(k for k in item if k != "update_id")
            log.warning(
                "update %s (%s) cannot be read by this version of the bot: skipped", item.get("update_id"), kinds
            )
    last = max((item["update_id"] for item in raw or [] if isinstance(item.get("update_id"), int)), default=None)
    return readable, (last + 1 if last is not None else None)
