"""Print how fast the Telegram layer serves many users at once, against a simulated API latency.

    python -m scripts.bench_telegram [--users 200] [--latency 0.05] [--burst 300]

Each user sends /start, /train, /lang en, /train (interleaved with the other
users); every Bot API call waits `latency` seconds (a recording request from
tests/fake_telegram.py, no network). Prints the time for one user alone, for
all users at once, updates per second, the speed-up over handling them one by
one, and whether every user's replies arrived in order.

Then the same users again while one more user fires a burst of `--burst`
/help messages just before them: per-user order must not let that burst hold
the shared slots the others need. Printed: updates per second overall and how
long the other users waited for their last reply. Telegram's own 30 messages/s
limit is switched off here: it is not what this measures. Timings on a shared
machine are noisy; run it twice.
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
BURST_USER = 1


async def serve(users: list[int], latency: float, engine: Engine, db: Path, burst: int = 0) -> dict:
    request = RecordingRequest(latency=latency)
    storage = Storage(db)
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
    app = build_application(Settings(token=TOKEN), CoachService(storage, engine), request=request,
                            rate_limiter=limiter)  # fmt: skip
    await app.initialize()
    await app.start()
    api = request.api
    started = time.perf_counter()
    for i in range(burst):
        await app.update_queue.put(Update.de_json(message_update(BURST_USER, "/help", update_id=10 + i), app.bot))
    for i, text in enumerate(SCRIPT):
        for uid in users:
            await app.update_queue.put(Update.de_json(message_update(uid, text, update_id=uid * 10 + i), app.bot))
    others_done = None
    while len(api.sent()) < len(SCRIPT) * len(users) + burst:  # /help without a session: one reply
        if others_done is None and all(len(api.sent(uid)) >= len(SCRIPT) for uid in users):
            others_done = time.perf_counter() - started
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    if others_done is None:
        others_done = elapsed
    await app.stop()
    await app.shutdown()
    storage.close()
    in_order = all(all(m in sent["text"] for m, sent in zip(MARKERS, api.sent(uid), strict=True)) for uid in users)
    updates = len(SCRIPT) * len(users) + burst
    return {"elapsed": elapsed, "others": others_done, "in_order": in_order, "per_second": updates / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--burst", type=int, default=300, help="messages one user sends at once (0: skip)")
    args = parser.parse_args()
    engine = Engine(load_pack())
    users = list(range(100, 100 + args.users))
    with tempfile.TemporaryDirectory() as tmp:
        alone = asyncio.run(serve([1], args.latency, engine, Path(tmp) / "one.db"))["elapsed"]
        many = asyncio.run(serve(users, args.latency, engine, Path(tmp) / "many.db"))
        burst = (
            asyncio.run(serve(users, args.latency, engine, Path(tmp) / "burst.db", args.burst)) if args.burst else None
        )
    together = many["elapsed"]
    print(f"latency per API call: {args.latency * 1000:.0f} ms; {len(SCRIPT)} messages per user")
    print(f"one user alone:        {alone:.3f} s")
    print(f"{args.users} users at once:  {together:.3f} s  (one by one would take ~{alone * args.users:.1f} s)")
    print(f"updates per second:    {many['per_second']:.0f}")
    print(f"speed-up:              {alone * args.users / together:.0f}x")
    print(f"every user's replies in order: {many['in_order']}")
    if burst:
        print(f"with one user's burst of {args.burst} messages first:")
        print(f"  updates per second:  {burst['per_second']:.0f}")
        print(f"  the other {args.users} users served in {burst['others']:.3f} s (without the burst: {together:.3f} s)")
        print(f"  every user's replies in order: {burst['in_order']}")


if __name__ == "__main__":
    main()
