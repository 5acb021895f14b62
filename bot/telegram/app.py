"""Assembles the Telegram application: settings, services, handlers, command menu, and running it.

Handler order matters: group chats are answered first (one polite line), then
buttons, edited messages, text and commands, and finally every other kind of
message in a private chat.

Running it (`serve`) is our own loop, not PTB's `run_polling`/`run_webhook`:
updates come in through the inbox (intake.py; polling.py or webhook.py), and
replies go out through the outbox (outbox.py), so a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import signal
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    PollAnswerHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import ConfigError, Settings
from bot.service import CoachService
from bot.storage import Inbox
from bot.telegram import handlers, menus
from bot.telegram.intake import Intake
from bot.telegram.manager_jobs import schedule_manager_jobs
from bot.telegram.menus import everyone_commands, register_manager_menus
from bot.telegram.ordering import PerUserOrderProcessor
from bot.telegram.outbox import OutboxSender
from bot.telegram.polling import poll
from bot.telegram.webhook import start_webhook
from bot.telegram.workers import Workers
from knowledge.pack import LOCALES

log = logging.getLogger(__name__)
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
MAX_CONCURRENT_UPDATES = 256
DRAIN_SECONDS = 10.0  # on SIGTERM: how long updates being handled may take to finish


def check_token(token: str) -> None:
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token")
    if not TOKEN_PATTERN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters from @BotFather)")


def file_url_for(base_url: str) -> str:
    """The file URL that goes with a Bot API base URL (…/bot → …/file/bot)."""
    return re.sub(r"/bot$", "/file/bot", base_url.rstrip("/")) if base_url.rstrip("/").endswith("/bot") else base_url


def register_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(~private & filters.UpdateType.MESSAGES, handlers.on_group))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_handler(PollAnswerHandler(handlers.on_poll_answer))  # lesson quizzes: answers carry no chat
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, handlers.on_edited))
    app.add_handler(MessageHandler(private & filters.TEXT & filters.UpdateType.MESSAGE, handlers.on_text))
    app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, handlers.on_attachment))
    app.add_error_handler(handlers.on_error)
    if app.job_queue is not None:
        reminder_time = app.bot_data["service"].engine.pack.reminder_time  # drill.yaml
        app.job_queue.run_daily(handlers.send_reminders, time=reminder_time, name="drill-reminders")


async def register_commands(app: Application) -> None:
    """The command menu in each language, chosen by the user's Telegram language."""
    service: CoachService = app.bot_data["service"]
    default_locale = app.bot_data["default_locale"]
    for locale in (*LOCALES, None):  # everyone's menu: no manager commands (managers get theirs, menus.py)
        await app.bot.set_my_commands(everyone_commands(service, locale or default_locale), language_code=locale)
    await register_manager_menus(app)


def build_application(
    settings: Settings,
    service: CoachService,
    *,
    request: BaseRequest | None = None,
    rate_limiter: AIORateLimiter | None = None,
    inbox: Inbox | None = None,
) -> Application:
    """The PTB application; `request` replaces the HTTP layer (tests use a recording one).

    With an `inbox`, `bot_data["intake"]` takes updates in (see `serve`); without one, updates
    are fed to `Application.process_update` directly (as the handler tests do).
    """
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .concurrent_updates(PerUserOrderProcessor(MAX_CONCURRENT_UPDATES))
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=3))
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url).base_file_url(
            settings.api_base_file_url or file_url_for(settings.api_base_url)
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    workers = Workers()
    app.bot_data["service"] = service
    app.bot_data["default_locale"] = settings.locale
    app.bot_data["workers"] = workers
    app.bot_data["outbox"] = OutboxSender(service, app.bot, workers)
    if inbox is not None:
        app.bot_data["intake"] = Intake(app, inbox, workers)
    register_handlers(app)
    register_manager_parts(app, settings)
    return app


def register_manager_parts(app: Application, settings: Settings) -> None:
    """Invite links name this bot; a configured manager's menu on first contact; the digest and retention jobs."""
    app.bot_data["service"].deep_link = lambda code: f"https://t.me/{app.bot.username}?start={code}"
    app.add_handler(TypeHandler(Update, menus.on_first_contact), group=-1)
    schedule_manager_jobs(app, settings.retention_days)


def run(
    app: Application, webhook_url: str | None = None, port: int = 8443, secret: str = "", listen: str = "0.0.0.0"
) -> None:
    """Serve until SIGTERM or SIGINT: long polling, or a webhook (always with a secret token)."""
    asyncio.run(serve(app, webhook_url, port, secret, listen))


async def serve(
    app: Application, webhook_url: str | None = None, port: int = 8443, secret: str = "", listen: str = "0.0.0.0"
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    intake: Intake = app.bot_data["intake"]
    outbox: OutboxSender = app.bot_data["outbox"]
    await app.initialize()  # getMe: a token Telegram refuses fails here (InvalidToken)
    background: list[asyncio.Task] = []
    server = None
    try:
        await register_commands(app)
        await app.start()  # the job queue (drill reminders)
        background.append(asyncio.create_task(outbox.sweep()))  # replies committed before a crash go out first
        await intake.recover()  # then updates stored but not handled before it
        if webhook_url:
            if not secret:
                secret = secrets.token_urlsafe(32)
                log.info("COACH_WEBHOOK_SECRET not set: using a generated secret for this run")
            path = urlparse(webhook_url).path.strip("/") or "telegram"
            server = await start_webhook(app.bot, intake, url=webhook_url, path=path, listen=listen, port=port,
                                         secret=secret)  # fmt: skip
            log.info("serving webhook on %s:%s at /%s", listen, port, path)
        else:
            background.append(asyncio.create_task(poll(app.bot, intake)))
            log.info("polling for updates")
        await _until(stopping, background)
    finally:
        if server is not None:
            server.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await intake.drain(DRAIN_SECONDS)
        if app.running:
            await app.stop()
        await app.shutdown()
        app.bot_data["workers"].shutdown()


async def _until(stopping: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    """Wait for the stop signal; a background task that fails (a refused token) ends the wait with its error."""
    stop = asyncio.create_task(stopping.wait())
    done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    for task in done:
        if task is not stop:
            task.result()
