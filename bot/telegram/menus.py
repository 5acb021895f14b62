"""Command menus by role: everyone's menu without the manager commands, and a chat-scoped one for managers.

`setMyCommands` with `BotCommandScopeChat` gives one chat its own menu, so a rep never sees
/team /rep /export /invite in theirs. A manager's menu is set at start-up (after the
configured staff got their role) and when a configured manager first talks to the bot; a
user who stopped being a manager has their chat's menu deleted, so they see everyone's again.
Telegram refuses a chat-scoped menu for a chat the bot has never talked to ("chat not found"):
that manager gets theirs on first contact.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.service import CoachService
from bot.storage import UserRow
from knowledge.pack import LOCALES

log = logging.getLogger(__name__)
CHANNEL = "telegram"
MENU_SET = "manager_menus"  # bot_data: chat ids whose manager menu this process has set


def everyone_commands(service: CoachService, locale: str) -> list[BotCommand]:
    ui = service.engine.ui(locale)
    return [BotCommand(name, ui(f"command.{name}")) for name in service.engine.commands(managers=False)]


def manager_commands(service: CoachService, locale: str) -> list[BotCommand]:
    ui = service.engine.ui(locale)
    return [BotCommand(name, ui(f"command.{name}")) for name in service.engine.commands(managers=True)]


async def set_manager_menu(app: Application, user: UserRow) -> bool:
    """This manager's chat gets every command, in their language; False if Telegram refused."""
    service: CoachService = app.bot_data["service"]
    locale = user.locale if user.locale in LOCALES else app.bot_data["default_locale"]
    try:
        await app.bot.set_my_commands(
            manager_commands(service, locale), scope=BotCommandScopeChat(int(user.external_id))
        )
    except TelegramError as exc:  # "chat not found" until they first write to the bot: set then
        log.info("the manager menu of a chat was not set yet: %r", exc)
        return False
    app.bot_data.setdefault(MENU_SET, set()).add(user.external_id)
    return True


async def clear_manager_menu(app: Application, user: UserRow) -> None:
    """A former manager's chat goes back to everyone's menu."""
    try:
        await app.bot.delete_my_commands(scope=BotCommandScopeChat(int(user.external_id)))
    except TelegramError as exc:
        log.info("the manager menu of a chat could not be removed: %r", exc)
    app.bot_data.setdefault(MENU_SET, set()).discard(user.external_id)


async def register_manager_menus(app: Application) -> None:
    """At start-up: give the configured staff their role, then each manager and admin their menu."""
    service: CoachService = app.bot_data["service"]
    workers = app.bot_data["workers"]
    changed = await workers.run(service.sync_staff)
    for user in changed:
        if user.role not in ("manager", "admin") and user.channel == CHANNEL:
            await clear_manager_menu(app, user)
    for user in await workers.run(service.managers, CHANNEL):
        await set_manager_menu(app, user)


async def on_first_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the handlers (group -1): a configured manager whose menu is not set yet gets it now."""
    user = update.effective_user
    if user is None or str(user.id) in context.bot_data.get(MENU_SET, set()):
        return
    service: CoachService = context.bot_data["service"]
    if service.staff.role_of(CHANNEL, str(user.id)) is None:
        return
    locale = context.bot_data["default_locale"]
    row = UserRow(0, CHANNEL, str(user.id), user.full_name, locale, "manager")
    await set_manager_menu(context.application, row)
