"""Print how long the Telegram layer takes for many users at once, against a simulated API latency.

    python -m scripts.bench_telegram [--users 200] [--latency 0.05]

Each user sends /start, /train, /lang en, /train (interleaved with the other
users); every Bot API call waits `latency` seconds (a recording request from
tests/fake_telegram.py, no network). Prints the time for one user alone, for
all users at once, the speed-up over handling them one by one, and whether
every user's replies arrived in order. Telegram's own 30 messages/s limit is
switched off here: it is not what this measures.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter

from bot.config import Settings
from bot.service import CoachService
from bot.storage import Storage
from bot.telegram.app import build_application
from dialogs.engine import Engine
from knowledge.pack import load_pack
from tests.fake_telegram import TOKEN, RecordingRequest, message_update

SCRIPT = ["/start", "/train", "/lang en", "/train"]
MARKERS = ["渠道教练", "五步沟通课程", "English", "Welcome back"]


async def serve(users: list[int], latency: float, engine: Engine, db: Path) -> tuple[float, bool]:
    request = RecordingRequest(latency=latency)
    service = CoachService(Storage(db), engine)
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    app = build_application(Settings(token=TOKEN), service, request=request, rate_limiter=limiter)
    await app.initialize()
    await app.start()
    started = time.perf_counter()
    for i, text in enumerate(SCRIPT):
        for uid in users:
            await app.update_queue.put(Update.de_json(message_update(uid, text, update_id=uid * 10 + i), app.bot))
    while len(request.api.sent()) < len(SCRIPT) * len(users):
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    await app.stop()
    await app.shutdown()
    in_order = all(
        all(m in sent["text"] for m, sent in zip(MARKERS, request.api.sent(uid), strict=True)) for uid in users
    )
    return elapsed, in_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    engine = Engine(load_pack())
    with tempfile.TemporaryDirectory() as tmp:
        alone, _ = asyncio.run(serve([1], args.latency, engine, Path(tmp) / "one.db"))
        together, in_order = asyncio.run(serve(list(range(100, 100 + args.users)), args.latency, engine,
                                               Path(tmp) / "many.db"))  # fmt: skip
    print(f"latency per API call: {args.latency * 1000:.0f} ms; {len(SCRIPT)} messages per user")
    print(f"one user alone:        {alone:.3f} s")
    print(f"{args.users} users at once:  {together:.3f} s  (one by one would take ~{alone * args.users:.1f} s)")
    print(f"speed-up:              {alone * args.users / together:.0f}x")
    print(f"every user's replies in order: {in_order}")


if __name__ == "__main__":
    main()
