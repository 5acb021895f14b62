"""Sends the replies a turn committed to the outbox, and marks each one once Telegram accepted it.

One chat's replies go out one at a time, in order (a lock per chat); different
chats go out at once. A long reply is sent in parts and the outbox remembers
how many parts Telegram accepted, so a crash repeats at most the part that was
in flight. What Telegram refuses for good (the user blocked the bot, the chat
is gone) is logged and dropped; a network failure leaves the reply queued for
the next attempt (the chat's next turn, the periodic sweep, a restart). A reply
that asks a quiz goes out as a quiz poll (`_send_quiz`); a reply's files follow its text
(`_send_attachment`).

A reply to a press that replaces the pressed message is an edit of it
(`editMessageText`: one call instead of removing the keyboard and sending); an
edit sent again after a crash finds the message already showing it ("message is
not modified") and counts as done, and an edit Telegram refuses (the message is
too old or gone) is sent as a new message instead. A scored reply answers the
learner's message (`reply_parameters`, quoting the clause it is about), and a
dealer's line comes after a moment of "typing…" (`sendChatAction`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from markupsafe import escape
from telegram import Bot, InputFile, LinkPreviewOptions, Poll, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.service import CoachService, Identity
from bot.telegram.render import OutgoingMessage, messages
from bot.telegram.workers import Workers
from dialogs.engine import Reply
from dialogs.turn import Attachment

log = logging.getLogger(__name__)
CHANNEL = "telegram"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
SWEEP_SECONDS = 15.0
PARALLEL_CHATS = 32  # chats flushed at once by a sweep
CAPTION_LIMIT = 1024  # Telegram's limit for a photo's or document's caption


class OutboxSender:
    def __init__(self, service: CoachService, bot: Bot, workers: Workers):
        self.service = service
        self.bot = bot
        self.workers = workers
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._sent_up_to: dict[str, int] = {}  # chat -> newest outbox id sent by this process (ids only grow)
        self._interrupted: set[str] = set()  # chats whose last flush stopped part-way: read their queue afresh

    async def flush(self, chat: str, queued: list[tuple[int, Reply, int]] | None = None) -> None:
        """Send every queued reply of a chat, oldest first.

        `queued` is the chat's queue as the caller read it right after committing its turn (saving a
        trip to the database); replies another flush sent meanwhile are skipped.
        """
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._waiting[chat] = self._waiting.get(chat, 0) + 1
        try:
            async with lock:
                if queued is None or chat in self._interrupted:
                    queued = await self.workers.run(self.service.queued_replies, CHANNEL, chat)
                self._interrupted.discard(chat)
                await self._send(chat, queued)
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:
                del self._waiting[chat], self._locks[chat]

    async def _send(self, chat: str, queued: list[tuple[int, Reply, int]]) -> None:
        for outbox_id, reply, parts_sent in queued:
            if outbox_id <= self._sent_up_to.get(chat, 0):
                continue
            if reply.quiz is not None:
                if not await self._send_quiz(chat, outbox_id, reply, parts_sent):
                    self._interrupted.add(chat)
                    return
                self._sent_up_to[chat] = outbox_id
                continue
            parts = messages(reply)
            total = len(parts) + len(reply.attachments)  # the text's parts, then each file
            for index in range(parts_sent, total):
                try:
                    if index >= len(parts):
                        await self._send_attachment(chat, reply.attachments[index - len(parts)])
                    else:
                        await self._deliver(chat, reply, parts[index], first=index == 0)
                except (BadRequest, Forbidden) as exc:  # refused for good: retrying would block the chat forever
                    log.warning("Telegram refused reply %s, dropped: %r", outbox_id, exc)
                    break
                except TelegramError as exc:  # network, flood control: stays queued, sent on the next attempt
                    log.warning("reply %s not sent yet: %r", outbox_id, exc)
                    self._interrupted.add(chat)
                    return
                if index + 1 < total:
                    await self.workers.run(self.service.reply_parts_sent, outbox_id, index + 1)
            await self.workers.run(self.service.reply_sent, outbox_id)
            self._sent_up_to[chat] = outbox_id

    async def _send_attachment(self, chat: str, attachment: Attachment) -> None:
        """One file of a reply: a chart as a photo, an export as a document (caption plain text, cut to fit)."""
        upload = InputFile(attachment.data, filename=attachment.filename)
        caption = attachment.caption[:CAPTION_LIMIT] or None
        if attachment.kind == "photo":
            await self.bot.send_photo(int(chat), upload, caption=caption)
        else:
            await self.bot.send_document(int(chat), upload, caption=caption)

    async def _send_quiz(self, chat: str, outbox_id: int, reply: Reply, parts_sent: int) -> bool:
        """A reply asking a quiz: whatever it says before the question as messages, then a quiz poll.

        The poll is non-anonymous (an anonymous one never reports answers); its right answer goes as
        `correct_option_ids` (Bot API 9.6; it replaced `correct_option_id`). Once Telegram accepts it,
        its id is stored with the user and session it asks for, in the same commit that marks the reply
        sent. Returns False when it could not go out yet (it stays queued).
        """
        quiz = reply.quiz
        lead = messages(replace(reply, text=_said_before(reply), buttons=())) if _said_before(reply) else []
        try:
            for index in range(parts_sent, len(lead)):
                await self.bot.send_message(int(chat), lead[index].text, parse_mode=ParseMode.HTML,
                                            link_preview_options=NO_PREVIEW)  # fmt: skip
                await self.workers.run(self.service.reply_parts_sent, outbox_id, index + 1)
            sent = await self.bot.send_poll(
                int(chat), quiz.question, list(quiz.options), is_anonymous=False, type=Poll.QUIZ,
                correct_option_ids=[quiz.correct], explanation=quiz.explanation or None,
            )  # fmt: skip
        except (BadRequest, Forbidden) as exc:  # refused for good: dropped, like a message
            log.warning("Telegram refused quiz reply %s, dropped: %r", outbox_id, exc)
            await self.workers.run(self.service.reply_sent, outbox_id)
            return True
        except TelegramError as exc:  # network, flood control: stays queued
            log.warning("quiz reply %s not sent yet: %r", outbox_id, exc)
            return False
        await self.workers.run(self.service.quiz_poll_sent, outbox_id, Identity(CHANNEL, chat), sent.poll.id, reply)
        return True

    async def _deliver(self, chat: str, reply: Reply, part: OutgoingMessage, first: bool) -> None:
        """One part of a reply: the first may replace the message whose button was pressed, or answer
        (and quote) the learner's message, after showing the dealer typing."""
        if first and reply.replaces and await self._edit_in_place(chat, reply, part):
            return
        if first and reply.typing:
            await self._show_typing(chat)
        await self._send_new(chat, reply, part, answering=first)

    async def _edit_in_place(self, chat: str, reply: Reply, part: OutgoingMessage) -> bool:
        """Edit the pressed message into the reply; False when Telegram will not (too old, deleted):
        then it is sent. An edit that finds the message already showing it (sent before a crash, and
        not yet marked) counts as done, so it is never doubled."""
        try:
            await self.bot.edit_message_text(
                part.text, chat_id=int(chat), message_id=int(reply.replaces), parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard, link_preview_options=NO_PREVIEW,
            )  # fmt: skip
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.info("could not edit message %s, sending the screen instead: %r", reply.replaces, exc)
            return False
        return True

    async def _show_typing(self, chat: str) -> None:
        """The dealer is typing: a moment's 'typing…' before their line (harmless when it fails)."""
        with contextlib.suppress(TelegramError):
            await self.bot.send_chat_action(int(chat), ChatAction.TYPING)

    async def _send_new(self, chat: str, reply: Reply, part: OutgoingMessage, answering: bool) -> None:
        """Send a part as a new message; the first part of a score answers the learner's message,
        quoting the clause it is about (without the quote, or the reply, if Telegram refuses them)."""
        options = [None]
        if answering and reply.answers:
            answered = {"message_id": int(reply.answers), "allow_sending_without_reply": True}
            options = [ReplyParameters(**answered, quote=reply.quote), ReplyParameters(**answered), None]
            options = options[1:] if not reply.quote else options
        for attempt, reply_parameters in enumerate(options):
            try:
                await self.bot.send_message(
                    int(chat), part.text, parse_mode=ParseMode.HTML, reply_markup=part.keyboard,
                    link_preview_options=NO_PREVIEW, reply_parameters=reply_parameters,
                )  # fmt: skip
                return
            except BadRequest as exc:
                if attempt == len(options) - 1:
                    raise
                log.info("Telegram refused to quote message %s, sending without: %r", reply.answers, exc)

    async def flush_all(self) -> None:
        """Send what every chat has queued (after a restart, and now and then)."""
        chats = await self.workers.run(self.service.chats_with_queued_replies, CHANNEL)
        slots = asyncio.Semaphore(PARALLEL_CHATS)

        async def one(chat: str) -> None:
            async with slots:
                await self.flush(chat)

        await asyncio.gather(*(one(chat) for chat in chats))

    async def sweep(self, every: float = SWEEP_SECONDS) -> None:
        """Flush everything now, then again every `every` seconds, until cancelled."""
        while True:
            try:
                await self.flush_all()
            except Exception:  # the database is unreachable for a moment: the next sweep tries again
                log.exception("the outbox sweep failed")
            await asyncio.sleep(every)


def _said_before(reply: Reply) -> str:
    """A quiz reply's text without the question at its end (the poll asks it): a note such as "welcome
    back" put in front of it, or nothing."""
    question = str(escape(reply.quiz.question))
    text = reply.text.strip()
    return text.removesuffix(question).strip() if text.endswith(question) else text
