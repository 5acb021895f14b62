"""Print what the scorer costs: start-up (cold and warm vector cache) and time per 300-character answer.

    python -m scripts.bench_scoring [--answers 300] [--chars 300]

Start-up is measured in fresh processes: loading the pack, the model and the exemplar vectors,
first with an empty vector cache (cold: every exemplar is embedded), then with the cache that
run left behind (warm). Per-answer times: labelled answers, each cut or padded (with the next
answer) to `--chars` characters, scored once each in one process with the clause memo cleared
before every answer, so every clause is embedded as for an answer never seen before. Prints
p50/p90/p99 and the worst case, the model tokens read per answer (the scorer reads at most
`semantic.token_budget` of them) and what the model costs per token and per call, which depends
less on the machine's load than the wall time. Figures depend on the load: report them with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
STARTUP = (
    "import time; t = time.perf_counter(); "
    "from knowledge.pack import load_pack; from dialogs.scoring import Scorer; "
    "p = load_pack(); t1 = time.perf_counter(); Scorer(p); t2 = time.perf_counter(); "
    "print(f'{t1 - t:.3f} {t2 - t1:.3f}')"
)


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def startup(cache_dir: str) -> tuple[float, float, float]:
    """(pack seconds, scorer seconds, whole process seconds) in a fresh interpreter."""
    env = {**os.environ, "COACH_CACHE_DIR": cache_dir}
    env.pop("COACH_SCORER", None)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, env=env, check=True)
    total = time.perf_counter() - started
    pack, scorer = map(float, out.stdout.split())
    return pack, scorer, total


def answers(chars: int, count: int) -> list[tuple[str, str, str, str]]:
    """(kind, key, locale, text) of about `chars` characters each, from the labelled sets."""
    pool = []
    for name in ("labelled_answers.yaml", "labelled_objection_answers.yaml", "labelled_tuning.yaml"):
        path = DATA / name
        if path.exists():
            pool += yaml.safe_load(path.read_text(encoding="utf-8"))["answers"]
    made = []
    for i, answer in enumerate(pool[:count]):
        text, j = answer["text"], i + 1
        while len(text) < chars:
            text += " " + pool[j % len(pool)]["text"]
            j += 1
        kind, key = ("objection", answer["objection"]) if "objection" in answer else ("step", answer["step"])
        made.append((kind, key, answer["locale"], text[:chars]))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=300, help="how many answers to time")
    parser.add_argument("--chars", type=int, default=300, help="characters per answer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        cold = startup(cache)
        warm = startup(cache)
    print(f"start-up, cold vector cache: pack {cold[0]:.2f} s + scorer {cold[1]:.2f} s (process {cold[2]:.2f} s)")
    print(f"start-up, warm vector cache: pack {warm[0]:.2f} s + scorer {warm[1]:.2f} s (process {warm[2]:.2f} s)")

    from dialogs.scoring import Scorer
    from knowledge.pack import load_pack

    scorer = Scorer(load_pack())
    embedder = scorer._embedder
    model_calls: list[tuple[float, int]] = []  # (seconds, tokens) of every model call
    embed = embedder.embed

    def timed_embed(texts: list[str]):
        started = time.perf_counter()
        vectors = embed(texts)
        model_calls.append((time.perf_counter() - started, sum(embedder.token_count(t) for t in texts)))
        return vectors

    embedder.embed = timed_embed
    batch = answers(args.chars, args.answers)
    timings = []
    for kind, key, locale, text in batch:
        embedder.clear_memo()
        started = time.perf_counter()
        if kind == "objection":
            scorer.score_objection(key, text, locale)
        else:
            scorer.score(key, text, locale)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(
        f"{len(timings)} answers of {args.chars} characters, unseen clauses: "
        f"p50 {percentile(timings, 0.5):.0f} ms, p90 {percentile(timings, 0.9):.0f} ms, "
        f"p99 {percentile(timings, 0.99):.0f} ms, max {timings[-1]:.0f} ms (mean {statistics.fmean(timings):.0f} ms)"
    )
    tokens = sorted(t for _, t in model_calls)
    seconds = sum(s for s, _ in model_calls)
    print(
        f"model: {len(model_calls)} calls, tokens per call p50 {percentile(tokens, 0.5)}, "
        f"p99 {percentile(tokens, 0.99)}, max {tokens[-1]}; {1000 * seconds / sum(tokens):.3f} ms per token, "
        f"{1000 * seconds / len(model_calls):.0f} ms per call; everything else "
        f"{(sum(timings) - 1000 * seconds) / len(timings):.1f} ms per answer"
    )
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
