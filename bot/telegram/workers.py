"""Blocking work (SQLite, scoring) off the event loop, in two small thread pools.

The main database and the inbox get a pool each: while another process holds
the main database's write lock, the database workers wait in SQLite's busy
handler, and the inbox worker still stores new updates, so polling and the
acknowledgement of presses go on.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
DATABASE_THREADS = 4  # one connection behind a lock: more threads only let the engine score in parallel


class Workers:
    def __init__(self, database_threads: int = DATABASE_THREADS):
        self._database = ThreadPoolExecutor(database_threads, thread_name_prefix="coach-db")
        self._inbox = ThreadPoolExecutor(1, thread_name_prefix="coach-inbox")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a database worker (service calls: read, engine, write)."""
        return await asyncio.get_running_loop().run_in_executor(self._database, functools.partial(fn, *args, **kwargs))

    async def run_inbox(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the inbox worker."""
        return await asyncio.get_running_loop().run_in_executor(self._inbox, functools.partial(fn, *args))

    def shutdown(self) -> None:
        self._database.shutdown(wait=False, cancel_futures=True)
        self._inbox.shutdown(wait=False, cancel_futures=True)
