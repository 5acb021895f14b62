"""What a score is made of: one result per check, and the score with its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    label: str
    tip: str
    weight: float
    evidence: str | None  # the rep's own clause that showed the check (or fired the harm), as written
    penalty: int = 0  # harms: points taken off when fired; guards: 100 minus the cap
    kind: str = "rubric"  # rubric | harm | guard
    credit: float = 0.0  # rubric checks: how fully the best clause shows the check, 0..1

    @property
    def negative(self) -> bool:
        return self.penalty > 0

    @property
    def clause(self) -> str | None:
        return self.evidence

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "passed": self.passed,
            "tip": self.tip,
            "kind": self.kind,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class ScoreResult:
    step: str  # the step id, or the objection id for a drill card
    score: int
    checks: tuple[CheckResult, ...]
    mode: str = "semantic"  # semantic | keywords: what produced this score
    band: str | None = None  # scoring.yaml `bands`: the highest band whose min_score the score reaches
    notes: tuple[str, ...] = field(default=())  # ids of the guards that capped the score

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.passed and not c.negative)

    @property
    def missed(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def harms(self) -> tuple[CheckResult, ...]:
        """The harm checks this answer fired, worst first."""
        fired = [c for c in self.checks if c.kind == "harm" and not c.passed]
        return tuple(sorted(fired, key=lambda c: -c.penalty))

    @property
    def strongest(self) -> CheckResult | None:
        """The best thing the rep did: the passed rubric check with the most weighted credit."""
        passed = [c for c in self.checks if c.kind == "rubric" and c.passed]
        return max(passed, key=lambda c: c.weight * c.credit, default=None)

    @property
    def weakest(self) -> CheckResult | None:
        """The most important rubric check the rep missed (heaviest, then least credit)."""
        missed = [c for c in self.checks if c.kind == "rubric" and not c.passed]
        return max(missed, key=lambda c: (c.weight, -c.credit), default=None)

    def as_json(self) -> dict:
        return {
            "step": self.step,
            "score": self.score,
            "mode": self.mode,
            "band": self.band,
            "checks": [c.as_json() for c in self.checks],
        }
