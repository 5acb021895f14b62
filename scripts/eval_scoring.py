"""Print how well the scorer agrees with labelled answers: per part (file), step, language and kind.

    python -m scripts.eval_scoring [--labels FILE ...] [--show-misses] [--by-answer]

Each `--labels` file is one part (e.g. the tuning part and a held-out part) and is reported on
its own. Accepted formats: `answers: [{step|objection, locale, label, text}]` (the older files
in tests/data, no kind), and `answers: [{id, step|objection, locale, kind, label, text}]`; an
optional top-level or per-answer `split` is shown with the part. Labels: 0 poor .. 3 excellent.

Reported per group: n, Spearman rho between score and label, mean score by label, inversions
(pairs of the same step or card and language where a lower-labelled answer scored strictly
above a higher-labelled one; "poor>excellent" counts only label 0 above label 3), the highest
score of a keyword-list answer, and mean(excellent) - mean(poor).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import yaml

from dialogs.scoring import Scorer
from knowledge.pack import load_pack

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_LABELS = [
    DATA / "labelled_answers.yaml",
    DATA / "labelled_objection_answers.yaml",
    DATA / "labelled_tuning.yaml",
    DATA / "labelled_tuning_2.yaml",
    DATA / "labelled_tuning_3.yaml",
    DATA / "labelled_tuning_4.yaml",
]


def ranks(values: list[float]) -> list[float]:
    """Average ranks, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation; 0 when either side has no spread."""
    if len(xs) < 2:
        return 0.0
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def _target(answer: dict) -> str:
    return answer.get("step") or f"card:{answer['objection']}"


def inversions(rows: list[dict], poor_over_excellent: bool = False) -> list[tuple[dict, dict]]:
    """Pairs (a, b) of the same step or card and language where a has the lower label and the strictly higher score."""
    groups = defaultdict(list)
    for row in rows:
        groups[(_target(row["answer"]), row["answer"]["locale"])].append(row)
    found = []
    for group in groups.values():
        for a in group:
            for b in group:
                la, lb = a["answer"]["label"], b["answer"]["label"]
                lower = (la == 0 and lb == 3) if poor_over_excellent else la < lb
                if lower and a["score"] > b["score"]:
                    found.append((a, b))
    return found


def summary(rows: list[dict]) -> str:
    scores = [r["score"] for r in rows]
    labels = [r["answer"]["label"] for r in rows]
    by_label = defaultdict(list)
    for r in rows:
        by_label[r["answer"]["label"]].append(r["score"])
    means = "/".join(f"{statistics.fmean(by_label[lab]):.0f}" if by_label[lab] else "-" for lab in range(4))
    gap = (
        f"{statistics.fmean(by_label[3]) - statistics.fmean(by_label[0]):>5.0f}"
        if by_label[3] and by_label[0]
        else "    -"
    )
    keywords = [r["score"] for r in rows if r["answer"].get("kind") == "keywords"]
    kw = f"{max(keywords):>4}" if keywords else "   -"
    return (
        f"{len(rows):>4}{spearman(scores, labels):>7.2f}  {means:<15}{len(inversions(rows)):>6}"
        f"{len(inversions(rows, poor_over_excellent=True)):>6}{kw}{gap}"
    )


HEADER = f"{'':<28}{'n':>4}{'rho':>7}  {'mean 0/1/2/3':<15}{'inv':>6}{'0>3':>6}{'kw':>4}{'3-0':>5}"


def load(path: Path) -> tuple[str | None, list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data.get("split"), data["answers"]


def score_all(scorer: Scorer, answers: list[dict]) -> tuple[list[dict], list[float]]:
    rows, timings = [], []
    for answer in answers:
        started = time.perf_counter()
        if "objection" in answer:
            result = scorer.score_objection(answer["objection"], answer["text"], answer["locale"])
        else:
            result = scorer.score(answer["step"], answer["text"], answer["locale"])
        timings.append(time.perf_counter() - started)
        rows.append({"answer": answer, "score": result.score, "result": result})
    return rows, timings


def report(name: str, rows: list[dict], show_misses: bool, by_answer: bool) -> None:
    print(f"\n=== {name}")
    print(HEADER)
    print(f"{'all':<28}{summary(rows)}")
    for title, key in (
        ("step", _target_step),
        ("language", lambda r: r["answer"]["locale"]),
        ("kind", lambda r: r["answer"].get("kind", "-")),
    ):
        groups = defaultdict(list)
        for row in rows:
            groups[key(row)].append(row)
        if len(groups) < 2 and title == "kind":
            continue
        print(f"-- by {title}")
        for group_key in sorted(groups):
            print(f"  {group_key:<26}{summary(groups[group_key])}")
    if show_misses:
        print("-- poor above excellent (and one-label-apart inversions)")
        for a, b in inversions(rows):
            print(
                f"  {_target(a['answer'])}/{a['answer']['locale']}: label {a['answer']['label']} scored {a['score']}"
                f" > label {b['answer']['label']} scored {b['score']}"
                f"   [{a['answer'].get('id', '')} > {b['answer'].get('id', '')}]"
            )
    if by_answer:
        for row in rows:
            a, r = row["answer"], row["result"]
            fired = ",".join(c.id for c in r.checks if c.negative and not c.passed)
            print(
                f"  {a.get('id', ''):<26} L{a['label']} {row['score']:>3} {a.get('kind', '-'):<16} {fired:<30}"
                f" {a['text'][:70]!r}"
            )


def _target_step(row: dict) -> str:
    return row["answer"].get("step") or "objection cards"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, nargs="+", action="extend", help="labelled files, one part each")
    parser.add_argument("--show-misses", action="store_true", help="list inverted pairs")
    parser.add_argument("--by-answer", action="store_true", help="list every answer with its score")
    args = parser.parse_args()

    scorer = Scorer(load_pack())
    print(f"scorer mode: {scorer.mode}")
    all_timings = []
    for path in args.labels or DEFAULT_LABELS:
        split, answers = load(path)
        rows, timings = score_all(scorer, answers)
        all_timings += timings
        report(f"{path}" + (f" (split: {split})" if split else ""), rows, args.show_misses, args.by_answer)
    ms = sorted(t * 1000 for t in all_timings)
    print(f"\nscoring time: median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms over {len(ms)} answers")


if __name__ == "__main__":
    main()
