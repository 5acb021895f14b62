"""Telegram handlers: Update -> engine event -> service (turn and replies committed) -> send.

The service, the worker threads and the outbox sender live in `context.bot_data`.
Every handler passes the update's id so a redelivered update is not answered
twice, and calls the service in a worker thread (SQLite may wait for a lock held
by another process; the event loop never does). Replies are committed to the
outbox with their turn and sent from there, so a crash loses none. A press's
answer edits the pressed message when it replaces it (see outbox.py); only a
new message retires the pressed keyboard.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.service import CoachService, Identity
from bot.telegram.outbox import OutboxSender
from bot.telegram.render import decode_button
from bot.telegram.workers import Workers
from dialogs.engine import Event

log = logging.getLogger(__name__)
ATTACHMENT_KINDS = ("photo", "sticker", "voice", "video_note", "video", "audio", "document", "animation",
                    "location", "contact", "poll", "dice", "venue")  # fmt: skip


def identity(update: Update) -> Identity:
    user = update.effective_user
    return Identity("telegram", str(user.id), user.full_name, user.language_code or "")


def service_of(context: ContextTypes.DEFAULT_TYPE) -> CoachService:
    return context.bot_data["service"]


def workers_of(context: ContextTypes.DEFAULT_TYPE) -> Workers:
    return context.bot_data["workers"]


def outbox_of(context: ContextTypes.DEFAULT_TYPE) -> OutboxSender:
    return context.bot_data["outbox"]


async def commit(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> list:
    """Hand one event to the service: its turn and its replies are committed together.

    Returns the chat's queued replies, read in the same worker call (one trip to the thread pool).
    """
    who, service = identity(update), service_of(context)

    def turn() -> list:
        service.handle(who, event, update.update_id, queue=True)
        return service.queued_replies(who.channel, who.external_id)

    return await workers_of(context).run(turn)


async def respond(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    """Commit the event's turn, then send what it queued."""
    queued = await commit(update, context, event)
    await outbox_of(context).flush(identity(update).external_id, queued)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message or a /command in a private chat."""
    message = update.effective_message
    await respond(update, context, replace(Event.from_text(message.text), reference=str(message.message_id)))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A pressed inline button: act on it, acknowledge the press, retire its keyboard, send the answer."""
    query = update.callback_query
    event = decode_button(query.data) or Event("button", "unknown_button")  # answered "this button has expired"
    event = replace(event, reference=replaceable(query))
    try:
        queued = await commit(update, context, event)
    finally:  # after the commit; also when it failed, so the user's spinner stops (the error handler explains)
        await acknowledge(query, context)
    edited = event.reference and any(reply.replaces == event.reference for _, reply, _ in queued)
    if isinstance(query.message, Message) and not edited:  # the answer is a new message: retire this keyboard
        with contextlib.suppress(TelegramError):  # already edited (a double press) or too old: harmless
            await query.edit_message_reply_markup(reply_markup=None)
    await outbox_of(context).flush(identity(update).external_id, queued)


def replaceable(query: CallbackQuery) -> str:
    """The id of the pressed message if the next screen may replace it: not one that answers the learner
    (a score, a dealer's reply), which stays in the chat as the record of their answer."""
    message = query.message
    if not isinstance(message, Message) or message.reply_to_message is not None:
        return ""
    return str(message.message_id)


async def acknowledge(query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a callback query once its press is saved (the intake, or the webhook's reply, may have done it
    already)."""
    acknowledged = context.bot_data.setdefault("acknowledged", set())
    if query.id in acknowledged:
        acknowledged.discard(query.id)
        return
    with contextlib.suppress(TelegramError):  # a query can be answered once, and only for a while: harmless
        await query.answer()


async def on_poll_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An answer to a quiz poll: pressed as that option in the session that asked it; ignored when the
    poll is unknown, was sent to someone else (a forwarded poll) or the vote was retracted."""
    answer = update.poll_answer
    if answer.user is None:  # a vote on behalf of a channel: not one of our learners
        return
    who, service = identity(update), service_of(context)

    def turn() -> list | None:
        event = service.quiz_poll_event(who, answer.poll_id, list(answer.option_ids))
        if event is None:
            return None
        service.handle(who, event, update.update_id, queue=True)
        return service.queued_replies(who.channel, who.external_id)

    queued = await workers_of(context).run(turn)
    if queued is None:
        log.info("poll answer %s ignored: not a quiz poll sent to this user", update.update_id)
        return
    await outbox_of(context).flush(who.external_id, queued)


async def on_attachment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice note, file, ...: say that only text can be read."""
    message = update.effective_message
    kind = next((k for k in ATTACHMENT_KINDS if getattr(message, k, None)), "other")
    await respond(update, context, Event("unsupported", kind, text=message.caption or f"[{kind}]"))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: edits are not re-scored; say so."""
    await respond(update, context, Event("edited", text=update.edited_message.text or "[edited]"))


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything in a group: coaching happens in private chats."""
    if update.effective_user is None or update.effective_message is None:
        return
    text = await workers_of(context).run(service_of(context).ui_text, identity(update), "telegram.private_only")
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def send_reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily job: remind every opted-in learner who has drill cards due."""
    for chat_id, text in await workers_of(context).run(service_of(context).due_reminders, "telegram"):
        try:
            await context.bot.send_message(int(chat_id), text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # blocked the bot, deleted the account, ...: the others still get theirs
            log.warning("could not send the drill reminder to a user: %r", exc)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (never the bot or its token) and tell the user what to do."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %r", update_id, context.error, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    try:
        text = await workers_of(context).run(service_of(context).ui_text, identity(update), "telegram.error")
        await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML)
    except Exception:  # the error report itself failed (network down): the log has it
        log.exception("could not tell the user about the failure of update %s", update_id)
