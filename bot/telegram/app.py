"""Assembles the Telegram application: settings, services, handlers, command menu, and running it.

Handler order matters: group chats are answered first (one polite line), then
buttons, edited messages, text and commands, and finally every other kind of
message in a private chat.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from telegram import BotCommand
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import ConfigError, Settings
from bot.service import CoachService
from bot.telegram import handlers
from bot.telegram.ordering import PerUserOrderProcessor
from knowledge.pack import LOCALES

log = logging.getLogger(__name__)
TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MAX_CONCURRENT_UPDATES = 256
REMINDER_TIME = datetime.time(hour=9, tzinfo=ZoneInfo("Asia/Shanghai"))  # the daily drill reminder


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
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, handlers.on_edited))
    app.add_handler(MessageHandler(private & filters.TEXT & filters.UpdateType.MESSAGE, handlers.on_text))
    app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, handlers.on_attachment))
    app.add_error_handler(handlers.on_error)
    if app.job_queue is not None:
        app.job_queue.run_daily(handlers.send_reminders, time=REMINDER_TIME, name="drill-reminders")


async def register_commands(app: Application) -> None:
    """The command menu in each language, chosen by the user's Telegram language."""
    service: CoachService = app.bot_data["service"]
    default_locale = app.bot_data["default_locale"]
    for locale in (*LOCALES, None):
        ui = service.engine.ui(locale or default_locale)
        commands = [BotCommand(name, ui(f"command.{name}")) for name in service.engine.commands()]
        await app.bot.set_my_commands(commands, language_code=locale)


def build_application(
    settings: Settings,
    service: CoachService,
    *,
    request: BaseRequest | None = None,
    rate_limiter: AIORateLimiter | None = None,
) -> Application:
    """The PTB application; `request` replaces the HTTP layer (tests use a recording one)."""
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .concurrent_updates(PerUserOrderProcessor(MAX_CONCURRENT_UPDATES))
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=3))
        .post_init(register_commands)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url).base_file_url(
            settings.api_base_file_url or file_url_for(settings.api_base_url)
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data["service"] = service
    app.bot_data["default_locale"] = settings.locale
    register_handlers(app)
    return app


def run(
    app: Application, webhook_url: str | None = None, port: int = 8443, secret: str = "", listen: str = "0.0.0.0"
) -> None:
    """Serve until stopped: long polling, or a webhook (always with a secret token)."""
    if not webhook_url:
        log.info("polling for updates")
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
        return
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.info("COACH_WEBHOOK_SECRET not set: using a generated secret for this run")
    path = urlparse(webhook_url).path.strip("/") or "telegram"
    log.info("serving webhook on %s:%s at /%s", listen, port, path)
    app.run_webhook(
        listen=listen,
        port=port,
        url_path=path,
        webhook_url=webhook_url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
    )
