"""Engine replies as Telegram messages: HTML chunks of at most 4096 characters and inline keyboards.

Callback data is short and versioned: `2|<session id>|<session version>|<state>|<trigger>|<arg>`.
The session's version changes on every step, so any button of an older
keyboard (a self-loop like "next page" included) acts at most once. The engine
checks session, version and state, so a button from an old message, another
user's button or forged data (anything that does not parse, down to a
non-ASCII digit) gets "this button has expired".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from dialogs.engine import Button, Event, Reply

MESSAGE_LIMIT = 4096
CALLBACK_VERSION = "2"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit
_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also accepts "¹", which int() refuses


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    keyboard: InlineKeyboardMarkup | None


def _number(text: str) -> int | None:
    return int(text) if _NUMBER.fullmatch(text) else None


def encode_button(button: Button, reply: Reply) -> str:
    version = "" if reply.version is None else str(reply.version)
    parts = [CALLBACK_VERSION, str(reply.session_id or ""), version, reply.state or "", button.trigger, button.arg]
    data = "|".join(parts)
    if len(data.encode("utf-8")) > CALLBACK_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return data


def decode_button(data: str | None) -> Event | None:
    """The event a pressed button stands for, or None when the data is not ours (old format, forged)."""
    parts = (data or "").split("|")
    if len(parts) != 6 or parts[0] != CALLBACK_VERSION or not parts[4]:
        return None
    _, session_id, version, state, trigger, arg = parts
    session, number = _number(session_id), _number(version)
    if (session_id and session is None) or (version and number is None):
        return None
    event = Event.press(Button(trigger, "", arg), session, state or None)
    return replace(event, version=number) if event.kind == "button" else event


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
