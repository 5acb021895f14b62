"""Print what scoring an answer costs after start-up: percentiles over the labelled answers.

    python -m scripts.bench_scoring [--repeat 30]

Scores every labelled step answer and objection answer `repeat` times and prints
the start-up cost (pack, jieba dictionary, compiled rubrics) and the time per
answer at the 50th, 90th and 99th percentile and the worst case, plus one
4096-character answer (Telegram's longest message) for the far tail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from dialogs.scoring import Scorer
from knowledge.pack import load_pack

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    started = time.perf_counter()
    scorer = Scorer(load_pack())
    startup = time.perf_counter() - started

    steps = yaml.safe_load((DATA / "labelled_answers.yaml").read_text(encoding="utf-8"))["answers"]
    objections = yaml.safe_load((DATA / "labelled_objection_answers.yaml").read_text(encoding="utf-8"))["answers"]
    calls = [(scorer.score, a["step"], a["text"], a["locale"]) for a in steps]
    calls += [(scorer.score_objection, a["objection"], a["text"], a["locale"]) for a in objections]

    timings = []
    for _ in range(args.repeat):
        for score, key, text, locale in calls:
            t0 = time.perf_counter()
            score(key, text, locale)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    longest = ("您好王老板😀，最近生意怎么样？" * 300)[:4096]
    t0 = time.perf_counter()
    scorer.score("need_guidance", longest, "zh")
    long_ms = (time.perf_counter() - t0) * 1000

    lengths = [len(text) for _, _, text, _ in calls]
    print(f"start-up (pack + jieba + rubrics): {startup:.2f} s")
    print(f"answers: {len(calls)} (median {statistics.median(lengths):.0f} characters), {len(timings)} scorings")
    print(
        f"per answer: p50 {percentile(timings, 0.50):.3f} ms  p90 {percentile(timings, 0.90):.3f} ms  "
        f"p99 {percentile(timings, 0.99):.3f} ms  max {timings[-1]:.3f} ms"
    )
    print(f"one 4096-character answer: {long_ms:.2f} ms")


if __name__ == "__main__":
    main()
