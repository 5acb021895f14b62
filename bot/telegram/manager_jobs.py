"""The managers' scheduled jobs on PTB's job queue: the weekly digest and the retention sweep.

The digest goes out on Mondays at the drill reminder's time (drill.yaml) to managers who
opted in; COACH_RETENTION_DAYS, when set, deletes turns older than that many days once a
day (and once at start-up, see `coach run`). Both read and write SQLite in a worker thread.
"""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.digest import weekly_digests

log = logging.getLogger(__name__)
MONDAY = 1  # PTB counts days from Sunday = 0


async def send_digests(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every opted-in manager gets their team's week."""
    service = context.bot_data["service"]
    for chat_id, text in await context.bot_data["workers"].run(weekly_digests, service, "telegram"):
        try:
            await context.bot.send_message(int(chat_id), text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # blocked the bot: the other managers still get theirs
            log.warning("could not send the weekly digest to a manager: %r", exc)


async def prune_old_turns(context: ContextTypes.DEFAULT_TYPE) -> None:
    service = context.bot_data["service"]
    days = context.job.data
    deleted = await context.bot_data["workers"].run(service.prune_turns, days)
    if deleted:
        log.info("deleted %d turn(s) older than %d days (COACH_RETENTION_DAYS)", deleted, days)


def schedule_manager_jobs(app: Application, retention_days: int | None) -> None:
    if app.job_queue is None:
        return
    at = app.bot_data["service"].engine.pack.reminder_time
    app.job_queue.run_daily(send_digests, time=at, days=(MONDAY,), name="weekly-digest")
    if retention_days:
        app.job_queue.run_daily(prune_old_turns, time=at, data=retention_days, name="retention")
