"""Engine replies as Telegram messages: HTML chunks of at most 4096 characters and inline keyboards.

Callback data is short and versioned: `1|<session id>|<state>|<trigger>|<arg>`.
The engine checks the session and state, so a button from an old message,
another user's button or forged data gets "this button has expired".
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from dialogs.engine import Button, Event, Reply

MESSAGE_LIMIT = 4096
CALLBACK_VERSION = "1"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    keyboard: InlineKeyboardMarkup | None


def encode_button(button: Button, reply: Reply) -> str:
    parts = [CALLBACK_VERSION, str(reply.session_id or ""), reply.state or "", button.trigger, button.arg]
    data = "|".join(parts)
    if len(data.encode("utf-8")) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


def decode_button(data: str | None) -> Event | None:
    """The event a pressed button stands for, or None when the data is not ours (old format, forged)."""
    parts = (data or "").split("|")
    if len(parts) != 5 or parts[0] != CALLBACK_VERSION or not parts[3]:
        return None
    _, session_id, state, trigger, arg = parts
    if session_id and not session_id.isdigit():
        return None
    button = Button(trigger, "", arg)
    return Event.press(button, int(session_id) if session_id else None, state or None)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=encode_button(b, reply))] for b in reply.buttons]
    )


def _safe_cut(text: str, limit: int) -> int:
    """Where to cut an over-long line: at or before `limit`, never inside a tag or an entity."""
    cut = limit
    for opener, closer in (("<", ">"), ("&", ";")):
        start = text.rfind(opener, 0, cut)
        if start != -1 and text.find(closer, start, cut) == -1:
            cut = min(cut, start)
    space = text.rfind(" ", 0, cut)
    return space if space > cut // 2 else cut


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into chunks of at most `limit` characters, at line boundaries when possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = _safe_cut(line, limit)
            head, line = line[:cut], line[cut:].lstrip(" ")
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return [c for c in chunks if c.strip()] or [text[:limit]]


def messages(reply: Reply) -> list[OutgoingMessage]:
    """One reply as the messages to send; the keyboard goes on the last one."""
    chunks = split_message(reply.text)
    markup = keyboard(reply)
    return [OutgoingMessage(c, markup if i == len(chunks) - 1 else None) for i, c in enumerate(chunks)]
