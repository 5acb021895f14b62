"""Print how many Bot API calls the bot makes per update over a full course, a role-play and a drill.

    python -m scripts.count_telegram_calls [--unpaged]

Plays tests/screens_tour.py (every screen read to its end) through the real
Telegram handlers against the fake Bot API of tests/fake_telegram.py, in each
language, and counts the calls each part made (start-up calls such as getMe
are not counted). Counted, not timed: the figures do not depend on the machine.
Printed per part: updates, calls, calls per update, and calls per update besides
answerCallbackQuery (which Telegram requires once for every press). `--unpaged`
plays the same tour with screens not paged (no "more" presses), to compare with
a bot that never paged.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from pathlib import Path

from bot.service import CoachService
from bot.storage import Storage
from dialogs.engine import Engine
from knowledge.pack import load_pack
from tests import screens_tour
from tests.fake_telegram import recorded_application
from tests.telegram_tour import TelegramFront

PARTS = {
    "course": lambda t, locale: (screens_tour.shell(t), screens_tour.course(t, locale)),
    "role-play": lambda t, locale: (screens_tour.roleplay(t, locale, 0), screens_tour.roleplay(t, locale, 3)),
    "drill": lambda t, locale: screens_tour.drill(t, locale),
}


async def count(engine: Engine, db: Path, locale: str) -> list[tuple[str, int, dict[str, int]]]:
    """(part, updates, calls by method) for each part of the tour, played one after the other."""
    storage = Storage(db)
    rows = []
    async with recorded_application(CoachService(storage, engine)) as (app, api):
        front = TelegramFront(app, api, 7, asyncio.get_running_loop(), "zh-hans" if locale == "zh" else "en")
        t = screens_tour.Tour(front)
        for name, play in PARTS.items():
            calls, updates = len(api.calls), front.updates
            await asyncio.to_thread(play, t, locale)
            rows.append((name, front.updates - updates, api.counted(since=calls)))
    storage.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unpaged", action="store_true", help="screens not paged (Engine page_lines=None)")
    args = parser.parse_args()
    engine = Engine(load_pack(), rng=random.Random(7), **({"page_lines": None} if args.unpaged else {}))
    header = f"{'locale':<7}{'part':<11}{'updates':>8}{'calls':>7}{'per update':>11}{'w/o answers':>12}"
    print(f"{header}  calls by method")
    with tempfile.TemporaryDirectory() as tmp:
        for locale in ("zh", "en"):
            for name, updates, methods in asyncio.run(count(engine, Path(tmp) / f"{locale}.db", locale)):
                calls = sum(methods.values())
                besides = (calls - methods.get("answerCallbackQuery", 0)) / updates
                by_method = ", ".join(f"{m} {n}" for m, n in sorted(methods.items()))
                figures = f"{updates:>8}{calls:>7}{calls / updates:>11.2f}{besides:>12.2f}"
                print(f"{locale:<7}{name:<11}{figures}  {by_method}")


if __name__ == "__main__":
    main()
