"""Run the test suite N times in a row and say, run by run, whether it passed: a test that fails one
run in twenty is a race to find, not bad luck.

    python -m scripts.repeat_suite [-n 20] [--keep-going] [--log-dir DIR] [-- PYTEST_ARGS...]

Each run is the README's test command, `pytest -q -n 2` (with `-rfE`, which lists what failed),
plus any PYTEST_ARGS (`-- -p no:xdist` runs the tests in one process). It stops at the first failed run unless
`--keep-going`. For every run it prints pass/fail, the counts, the wall time and the ids of the
failing tests; each run's whole output is kept in the log folder (printed at the start) as
run-01.txt, run-02.txt, ... The
last line sums up, e.g. `20 of 20 runs passed (20 in a row), 2:31:04 in all, slowest run 471 s`.
The exit status is 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")
SUITE = ["-q", "-n", "2", "-rfE"]  # the README's `pytest -q -n 2`, and the short summary of failures
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@dataclass
class Run:
    number: int
    returncode: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    def line(self, total: int) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.counts.items()) or "no test counts printed"
        verdict = "PASS" if self.passed else f"FAIL (exit {self.returncode})"
        return f"run {self.number}/{total}: {verdict}  {counts}  {self.seconds:.0f} s"


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line (`3 failed, 460 passed, 2 warnings in 401.2s`)."""
    lines = [line for line in output.splitlines() if COUNT.search(line) and " in " in line]
    if not lines:
        return {}
    return {("error" if kind.startswith("error") else kind): int(n) for n, kind in COUNT.findall(lines[-1])}


def failing_ids(output: str) -> list[str]:
    """The test ids of the short summary's FAILED and ERROR lines, in order, each once."""
    return list(dict.fromkeys(FAILED.findall(output)))


def run_once(number: int, pytest_args: list[str], log_dir: Path) -> Run:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *SUITE, *pytest_args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    run = Run(number, result.returncode, time.monotonic() - started)
    run.counts = summary_counts(result.stdout)
    run.failing = failing_ids(result.stdout)
    (log_dir / f"run-{number:02d}.txt").write_text(result.stdout, encoding="utf-8")
    return run


def summary(runs: list[Run], wanted: int) -> str:
    passed = sum(r.passed for r in runs)
    streak = 0
    for run in reversed(runs):
        if not run.passed:
            break
        streak += 1
    longest = max((r.seconds for r in runs), default=0.0)
    total = timedelta(seconds=round(sum(r.seconds for r in runs)))
    stopped = "" if len(runs) == wanted else f", stopped after run {len(runs)} of {wanted}"
    return (
        f"{passed} of {len(runs)} runs passed ({streak} in a row at the end){stopped}, "
        f"{total} in all, slowest run {longest:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("--keep-going", action="store_true", help="go on after a failed run")
    parser.add_argument("--log-dir", type=Path, help="where each run's output is kept (default: a new temp dir)")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (put them after --)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("-n must be at least 1")
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="repeat-suite-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    command = " ".join(["pytest", *SUITE, *args.pytest_args])
    print(f"{args.runs} runs of `{command}`; each run's output is kept in {log_dir}")
    runs: list[Run] = []
    for number in range(1, args.runs + 1):
        run = run_once(number, args.pytest_args, log_dir)
        runs.append(run)
        print(run.line(args.runs), flush=True)
        for test_id in run.failing:
            print(f"    {test_id}", flush=True)
        if not run.passed and not args.keep_going:
            break
    print(summary(runs, args.runs))
    return 0 if all(r.passed for r in runs) and len(runs) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
