"""Sends the replies a turn committed to the outbox, and marks each one once Telegram accepted it.

One chat's replies go out one at a time, in order (a lock per chat); different
chats go out at once. A long reply is sent in parts and the outbox remembers
how many parts Telegram accepted, so a crash repeats at most the part that was
in flight. What Telegram refuses for good (the user blocked the bot, the chat
is gone) is logged and dropped; a network failure leaves the reply queued for
the next attempt (the chat's next turn, the periodic sweep, a restart). A reply
that asks a quiz goes out as a quiz poll (`_send_quiz`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from markupsafe import escape
from telegram import Bot, InputFile, LinkPreviewOptions, Poll
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.service import CoachService, Identity
from bot.telegram.render import messages
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
                        await self.bot.send_message(
                            int(chat), parts[index].text, parse_mode=ParseMode.HTML,
                            reply_markup=parts[index].keyboard, link_preview_options=NO_PREVIEW,
                        )  # fmt: skip
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
