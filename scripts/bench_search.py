"""Print what search costs: building the index from the pack, and answering one query.

    python -m scripts.bench_search [--builds 5] [--queries 400]

Build: jieba's dictionary load (once per process, shared with the scorer), then the median of
`--builds` fresh builds of the pack's entries (templates rendered) and of its FTS5 index (every
text segmented and inserted). Query: words typed by a learner (fixed ones in both languages,
the rest drawn with a fixed seed from the pack's titles), each searched and its snippets made,
as a results window does; prints p50/p99 and the worst case. Figures depend on the machine's
load: report them with it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from dialogs.machines import FLOWS_DIR, load_flow
from dialogs.search import SearchSession
from knowledge import search_index
from knowledge.pack import load_pack

FIXED = ["利润", "五个误区", "破冰", "佣金 柜台", "王老板", "异议", "margin", "myths", "objection", "Mr Wang",
         "ice-breaking", "commission too thin", '"', "NEAR(", "x" * 2000]  # fmt: skip


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()

    pack = load_pack()
    texts = load_flow(FLOWS_DIR / "search.yaml", []).texts
    topics = {k.removeprefix("search.topic_"): v for k, v in texts.items() if k.startswith("search.topic_")}
    synonyms = search_index.synonym_table(texts["search.synonyms"][locale] for locale in ("zh", "en"))
    jieba_seconds, _ = timed(search_index.load_segmenter)
    entry_times, index_times = [], []
    for _ in range(args.builds):
        seconds, entries = timed(lambda: search_index.pack_entries(pack, topics))
        entry_times.append(seconds)
        seconds, index = timed(lambda entries=entries: search_index.SearchIndex(entries, synonyms))
        index_times.append(seconds)
    SearchSession.prepare(pack, texts)

    rng = random.Random(11)
    words = [w for e in index.entries for w in e.title.replace("：", " ").split() if len(w) >= 2]
    queries = FIXED + [rng.choice(words)[:6] for _ in range(max(0, args.queries - len(FIXED)))]
    times = []
    for i, query in enumerate(queries):
        locale = "zh" if i % 2 else "en"
        seconds, _ = timed(lambda q=query, loc=locale: [search_index.snippet(h) for h in index.search(q, loc)])
        times.append(seconds * 1000)
    times.sort()
    build = statistics.median(entry_times) + statistics.median(index_times)
    print(f"search index: {len(index)} rows ({len(index) // 2} items x 2 locales), cpu cores {os.cpu_count()}")
    print(
        f"build: jieba dictionary {jieba_seconds:.3f} s (once per process, shared with the scorer); "
        f"entries {statistics.median(entry_times):.3f} s + index {statistics.median(index_times):.3f} s "
        f"= {build:.3f} s (median of {args.builds})"
    )
    print(
        f"query ({len(times)} queries with snippets): p50 {percentile(times, 0.5):.2f} ms, "
        f"p99 {percentile(times, 0.99):.2f} ms, max {times[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
