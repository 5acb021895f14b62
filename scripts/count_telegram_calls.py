"""Print how many Bot API calls the bot makes per update over a full course, two role-plays and a drill.

    python -m scripts.count_telegram_calls [--straight] [--unpaged]

Plays tests/screens_tour.py (every screen read to its end, every fold of every review
opened) through the real application (inbox, handlers, outbox) against the fake Bot
API of tests/fake_telegram.py, in each language, twice: with updates taken by long
polling, and delivered to the webhook receiver over real HTTP. Counted, not timed:
the figures do not depend on the machine. Start-up calls (getMe, setMyCommands,
setWebhook) are not counted.

Printed per part and overall: updates, the share of them that are presses, and for
each way of receiving updates the calls and calls per update. Over polling every
press costs an `answerCallbackQuery` request (Telegram requires one per press); over
a webhook it rides in the reply to Telegram's request ("in reply": counted apart, as
it is no request of the bot's). `--straight` plays a rep who goes straight through
(no second model, no retry, no review opened further, no model conversation in the
role-play); `--unpaged` plays the tour with screens not paged (no "more" presses).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.storage import Storage
from dialogs.engine import Engine
from knowledge.pack import load_pack
from tests import screens_tour
from tests.telegram_tour import TelegramFront, delivering_application

PARTS = {
    "course": lambda t, locale: (screens_tour.shell(t), screens_tour.course(t, locale)),
    "role-play": lambda t, locale: (screens_tour.roleplay(t, locale, 0), screens_tour.roleplay(t, locale, 3)),
    "drill": lambda t, locale: screens_tour.drill(t, locale),
}
DELIVERIES = ("polling", "webhook")


@dataclass
class Count:
    """What one part of the tour cost, received one way."""

    updates: int = 0
    presses: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # requests of the bot's, by method
    in_reply: int = 0  # methods run from a webhook reply

    def __add__(self, other: Count) -> Count:
        calls = {m: self.calls.get(m, 0) + other.calls.get(m, 0) for m in {*self.calls, *other.calls}}
        return Count(self.updates + other.updates, self.presses + other.presses, calls, self.in_reply + other.in_reply)

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


async def count(engine: Engine, db: Path, locale: str, delivery: str, straight: bool) -> dict[str, Count]:
    """What each part of the tour cost, the parts played one after the other by one learner."""
    storage = Storage(db)
    counts = {}
    try:
        async with delivering_application(storage, engine, delivery) as (app, api):
            language = "zh-hans" if locale == "zh" else "en"
            front = TelegramFront(app, api, 7, asyncio.get_running_loop(), language, delivery)
            t = screens_tour.Tour(front, straight=straight)
            for name, play in PARTS.items():
                calls, replies, logged = len(api.calls), len(api.webhook_replies), len(front.log)
                await asyncio.to_thread(play, t, locale)
                presses = sum(1 for kind, _ in front.log[logged:] if kind != "text")
                in_reply = len(api.webhook_replies) - replies
                counts[name] = Count(len(front.log) - logged, presses, api.counted(since=calls), in_reply)
    finally:
        storage.close()
    return counts


def row(locale: str, part: str, by_delivery: dict[str, Count]) -> str:
    first = by_delivery["polling"]
    cells = f"{locale:<7}{part:<11}{first.updates:>8}{first.presses / first.updates:>9.0%}"
    for delivery in DELIVERIES:
        c = by_delivery[delivery]
        cells += f"{c.requests:>9}{c.requests / c.updates:>11.2f}"
    return cells + f"{by_delivery['webhook'].in_reply:>10}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--straight", action="store_true", help="a rep going straight through (no optional presses)")
    parser.add_argument("--unpaged", action="store_true", help="screens not paged (Engine page_lines=None)")
    args = parser.parse_args()
    pack = load_pack()
    results: dict[tuple[str, str], dict[str, Count]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for locale in ("zh", "en"):
            for delivery in DELIVERIES:  # the same tour each time: the same dealer and tasks drawn
                engine = Engine(pack, rng=random.Random(7), **({"page_lines": None} if args.unpaged else {}))
                counts = asyncio.run(count(engine, Path(tmp) / f"{locale}-{delivery}.db", locale, delivery,
                                           args.straight))  # fmt: skip
                for part, c in counts.items():
                    results.setdefault((locale, part), {})[delivery] = c
    print(f"{'':<37}{'polling':>20}{'webhook':>20}")
    print(f"{'locale':<7}{'part':<11}{'updates':>8}{'presses':>9}{'calls':>9}{'per update':>11}"
          f"{'calls':>9}{'per update':>11}{'in reply':>10}")  # fmt: skip
    for (locale, part), by_delivery in results.items():
        print(row(locale, part, by_delivery))
    for locale in ("zh", "en", "both"):
        chosen = [v for (loc, _), v in results.items() if locale in ("both", loc)]
        total = {d: sum((v[d] for v in chosen), Count()) for d in DELIVERIES}
        print(row(locale, "all", total))
    print("\ncalls by method")
    for (locale, part), by_delivery in results.items():
        for delivery in DELIVERIES:
            methods = ", ".join(f"{m} {n}" for m, n in sorted(by_delivery[delivery].calls.items()))
            print(f"{locale:<7}{part:<11}{delivery:<9}{methods}")


if __name__ == "__main__":
    main()
