"""Print how long the screens of a learner's tour are on a phone, per language and front end.

    python -m scripts.screen_lines [--columns 40] [--limit 12]

Plays tests/screens_tour.py (the shell commands, a full course, a poor and a good
role-play, a drill) through the service in each language, once with Telegram's
wording and once as `coach chat` prints it (text and numbered options), and
measures every message with dialogs/paging.py (a line is 40 columns, a Chinese
character takes two). Prints, per run: messages,
the longest in lines, how many are over the limit, and the total lines read.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from bot.console.chat import ConsoleChat
from bot.console.wording import for_console
from bot.service import CoachService, Identity
from bot.storage import Storage
from dialogs.engine import Engine
from dialogs.paging import screen_lines
from knowledge.pack import load_pack
from tests.screens_tour import ConsoleFront, ConsoleRecorder, ServiceFront, tour


def measure(front_end: str, locale: str, columns: int, db: Path) -> list[int]:
    pack = load_pack()
    console = front_end == "console"
    engine = Engine(for_console(pack) if console else pack, rng=random.Random(7), option_lines=console)
    storage = Storage(db)
    service = CoachService(storage, engine)
    who = Identity(front_end, f"tour-{locale}", "Li")
    service.set_locale(who, locale)
    if console:  # as `coach chat` prints them: text and numbered options
        recorder = ConsoleRecorder()
        tour(ConsoleFront(ConsoleChat(service, who, recorder), recorder), locale)
        texts = recorder.printed
    else:
        texts = [r.text for r in tour(ServiceFront(service, who), locale)]
    storage.close()
    return [screen_lines(text, columns) for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=40)
    parser.add_argument("--limit", type=int, default=12)
    args = parser.parse_args()
    print(f"{'front end':<10}{'locale':<8}{'messages':>9}{'longest':>9}{'over ' + str(args.limit):>9}{'lines':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for front_end in ("telegram", "console"):
            for locale in ("zh", "en"):
                lines = measure(front_end, locale, args.columns, Path(tmp) / f"{front_end}-{locale}.db")
                over = sum(1 for n in lines if n > args.limit)
                print(f"{front_end:<10}{locale:<8}{len(lines):>9}{max(lines):>9}{over:>9}{sum(lines):>8}")


if __name__ == "__main__":
    main()
