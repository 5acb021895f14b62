"""Print what the scorer costs: start-up (cold and warm) and time per 300-character answer.

    python -m scripts.bench_scoring [--answers 300] [--chars 300] [--no-startup]

Start-up is what `coach chat` does before its first prompt, in a fresh process: imports, the
pack, the engine (its flows and the scorer: the model, the exemplar vectors, the rest), the
database. Cold is a first start on a fresh machine (empty vector cache, empty jieba cache);
warm is the next start (twice). When the exemplar vectors are not cached they are computed in
the background, so the line also says when the first answer could be scored (one short
answer, right after the first prompt). Each line gives wall seconds and the CPU seconds of the
whole process (all its threads): on an idle machine the wall time is about the CPU time less
what the model's two threads overlap, whatever the load was when the figures were taken.

Per-answer times: labelled answers, each cut or padded (with the next answer) to `--chars`
characters, scored once each in one process with the memos cleared before every answer, so
every clause is embedded and counted as for an answer never seen before. Prints p50/p90/p99
and the worst case; the clauses and model tokens per answer (the scorer reads at most
`semantic.token_budget` tokens; the engine concatenates a batch's tokens, so there is no
padding); what the model costs per token in wall and CPU time (CPU per token depends little on
the load); and everything else per answer. Figures depend on the load: report them with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

# What `coach chat` runs before its first prompt (bot/cli.py cmd_chat), timed by part.
STARTUP = """
import time
started = time.perf_counter()
from bot.cli import load_pack
from bot.console import for_console
from bot.service import CoachService, Identity
from bot.storage import Storage
import dialogs.engine
from dialogs.scoring import Scorer
from dialogs.scoring import embedding

imported = time.perf_counter()
pack = load_pack()
loaded = time.perf_counter()
spent = {}

def timed_scorer(*args, **kwargs):
    begun = time.perf_counter()
    try:
        return Scorer(*args, **kwargs)
    finally:
        spent["scorer"] = time.perf_counter() - begun

dialogs.engine.Scorer = timed_scorer
engine = dialogs.engine.Engine(for_console(pack), option_lines=True)
built = time.perf_counter()
service = CoachService(Storage(DB), engine, "zh")
ready = time.perf_counter()
engine.scorer.score("icebreaking", "王老板您好，这周末生意怎么样？", "zh")
scored = time.perf_counter()
print(imported - started, loaded - imported, spent["scorer"], built - loaded - spent["scorer"], ready - built,
      ready - started, scored - started)
"""
STARTUP_PARTS = ("imports", "pack", "scorer", "engine", "database")


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def startup(cache_dir: str, tmp_dir: str) -> tuple[list[float], float, float, float]:
    """(seconds per part, seconds to the first prompt, seconds to the first score, CPU seconds of the process)
    in a fresh interpreter."""
    env = {**os.environ, "COACH_CACHE_DIR": cache_dir, "TMPDIR": tmp_dir}
    env.pop("COACH_SCORER", None)
    code = f"DB = {str(Path(tmp_dir) / 'coach.db')!r}\n" + STARTUP
    cpu_before = cpu_of_children()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    *parts, prompt, scored = map(float, out.stdout.split())
    return parts, prompt, scored, cpu_of_children() - cpu_before


def print_startup() -> None:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as tmp:
        runs = [("cold", startup(cache, tmp)), ("warm", startup(cache, tmp)), ("warm", startup(cache, tmp))]
    for name, (parts, prompt, scored, cpu) in runs:
        shown = ", ".join(f"{part} {seconds:.2f}" for part, seconds in zip(STARTUP_PARTS, parts, strict=True))
        print(
            f"start-up, {name}: first prompt after {prompt:.2f} s ({shown}); first answer scored after "
            f"{scored:.2f} s; process CPU {cpu:.2f} s"
        )


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


def cpu_of_process() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def print_answers(count: int, chars: int) -> None:
    from dialogs.scoring import Scorer
    from dialogs.scoring.embedding import model_threads
    from knowledge.pack import load_pack

    scorer = Scorer(load_pack())
    embedder = scorer._embedder
    model_calls: list[tuple[float, float, list[str]]] = []  # (wall seconds, CPU seconds, texts) of every call
    embed = embedder.embed

    def timed_embed(texts: list[str]):
        started, cpu = time.perf_counter(), cpu_of_process()
        vectors = embed(texts)
        model_calls.append((time.perf_counter() - started, cpu_of_process() - cpu, list(texts)))
        return vectors

    embedder.embed = timed_embed
    timings = []
    for kind, key, locale, text in answers(chars, count):
        embedder.clear_memo()
        started = time.perf_counter()
        if kind == "objection":
            scorer.score_objection(key, text, locale)
        else:
            scorer.score(key, text, locale)
        timings.append((time.perf_counter() - started) * 1000)
    tokens = [sum(embedder.token_count(t) for t in texts) for _, _, texts in model_calls]
    clauses = sorted(len(texts) for _, _, texts in model_calls)
    wall, cpu = sum(w for w, _, _ in model_calls), sum(c for _, c, _ in model_calls)
    ordered, by_tokens = sorted(timings), sorted(tokens)
    print(
        f"{len(timings)} answers of {chars} characters, unseen clauses: "
        f"p50 {percentile(ordered, 0.5):.0f} ms, p90 {percentile(ordered, 0.9):.0f} ms, "
        f"p99 {percentile(ordered, 0.99):.0f} ms, max {ordered[-1]:.0f} ms (mean {statistics.fmean(ordered):.0f} ms)"
    )
    print(
        f"model: {len(model_calls)} calls ({model_threads()} threads), "
        f"clauses per call p50 {percentile(clauses, 0.5)}, "
        f"max {clauses[-1]}; tokens per call p50 {percentile(by_tokens, 0.5)}, p99 {percentile(by_tokens, 0.99)}, "
        f"max {by_tokens[-1]}; {1000 * wall / sum(tokens):.3f} ms per token ({1000 * cpu / sum(tokens):.3f} ms CPU), "
        f"{1000 * wall / len(model_calls):.0f} ms per call; everything else "
        f"{(sum(timings) - 1000 * wall) / len(timings):.1f} ms per answer"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=300, help="how many answers to time")
    parser.add_argument("--chars", type=int, default=300, help="characters per answer")
    parser.add_argument("--no-startup", action="store_true", help="time the answers only")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    if not args.no_startup:
        print_startup()
    print_answers(args.answers, args.chars)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
