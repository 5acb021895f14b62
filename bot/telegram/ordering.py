"""Many users at once, each user's updates strictly in order.

python-telegram-bot runs updates concurrently through an update processor. This
one holds a lock per user (FIFO, so updates keep their arrival order) and only
then takes one of the shared slots: an update waiting for its own user's lock
holds no slot, so one user's burst of presses cannot starve everyone else.
The lock is dropped when nobody is waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def ordering_key(update: object) -> int | None:
    """The user (or chat) whose updates must stay in order."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


class PerUserOrderProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # key -> updates holding or waiting for its lock

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:  # type: ignore[override]
        # PTB marks this final; its version takes a slot *before* do_process_update, which would make
        # updates waiting for their user's lock hold slots. Here the user's lock comes first.
        key = ordering_key(update)
        if key is None:
            async with self._semaphore:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._semaphore:
                await self.do_process_update(update, coroutine)
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
