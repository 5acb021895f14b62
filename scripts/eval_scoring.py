"""Print how well the scorer agrees with the labelled answers, per step and per language.

    python -m scripts.eval_scoring [--labels tests/data/labelled_answers.yaml] [--show-misses]

Agreement is Spearman's rank correlation between score and label (0 poor .. 3
excellent); "inversions" counts pairs for the same step and language where a
lower-labelled answer scored strictly above a higher-labelled one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import yaml

from dialogs.scoring import Scorer
from knowledge.pack import STEP_IDS, load_pack

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_LABELS = DATA / "labelled_answers.yaml"
OBJECTION_LABELS = DATA / "labelled_objection_answers.yaml"


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
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def inversions(pairs: list[tuple[int, int]]) -> int:
    """Pairs (label, score) where the lower label has the strictly higher score."""
    return sum(1 for la, sa in pairs for lb, sb in pairs if la < lb and sa > sb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--show-misses", action="store_true", help="list inverted pairs")
    args = parser.parse_args()

    answers = yaml.safe_load(args.labels.read_text(encoding="utf-8"))["answers"]
    scorer = Scorer(load_pack())
    timings = []
    scored = []
    for answer in answers:
        started = time.perf_counter()
        result = scorer.score(answer["step"], answer["text"], answer["locale"])
        timings.append(time.perf_counter() - started)
        scored.append((answer, result.score))

    groups = defaultdict(list)
    for answer, score in scored:
        groups[(answer["step"], answer["locale"])].append((answer["label"], score))

    print(f"{'step':<20}{'locale':<8}{'n':>4}{'rho':>8}{'inversions':>12}  mean score by label 0/1/2/3")
    for step in STEP_IDS:
        for locale in ("zh", "en"):
            pairs = groups.get((step, locale), [])
            if not pairs:
                continue
            rho = spearman([s for _, s in pairs], [lab for lab, _ in pairs])
            by_label = defaultdict(list)
            for label, score in pairs:
                by_label[label].append(score)
            means = "/".join(f"{statistics.fmean(by_label[lab]):.0f}" if by_label[lab] else "-" for lab in range(4))
            print(f"{step:<20}{locale:<8}{len(pairs):>4}{rho:>8.2f}{inversions(pairs):>12}  {means}")
            if args.show_misses:
                for la, sa in pairs:
                    for lb, sb in pairs:
                        if la < lb and sa > sb:
                            print(f"    label {la} scored {sa} > label {lb} scored {sb}")
    overall = spearman([s for _, s in scored], [a["label"] for a, _ in scored])
    print(f"\noverall: n={len(scored)} rho={overall:.3f}")
    for step in STEP_IDS:
        poor = [s for a, s in scored if a["step"] == step and a["label"] == 0]
        excellent = [s for a, s in scored if a["step"] == step and a["label"] == 3]
        print(f"{step:<20} poor max {max(poor):>3}  excellent min {min(excellent):>3}")

    if OBJECTION_LABELS.exists():
        cards = yaml.safe_load(OBJECTION_LABELS.read_text(encoding="utf-8"))["answers"]
        card_scores = [(a, scorer.score_objection(a["objection"], a["text"], a["locale"]).score) for a in cards]
        rho = spearman([s for _, s in card_scores], [a["label"] for a, _ in card_scores])
        print(f"\nobjection cards: n={len(card_scores)} rho={rho:.3f}")
        for card in dict.fromkeys(a["objection"] for a in cards):
            row = " ".join(f"{a['label']}:{s:>3}" for a, s in card_scores if a["objection"] == card)
            print(f"  {card:<28} {row}")
    ms = sorted(t * 1000 for t in timings)
    print(f"scoring time: median {statistics.median(ms):.3f} ms, max {ms[-1]:.3f} ms over {len(ms)} answers")


if __name__ == "__main__":
    main()
