"""The one thing to fix in a scored answer: what a review leads with.

A harm the answer fired comes first (the worst one), then a guard that capped the
score (a copied lesson, another step's answer), then the heaviest check it
missed. Works on the scorer's `CheckResult`s and on stored check dicts alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _field(check: Any, name: str, default: Any = None) -> Any:
    return check.get(name, default) if isinstance(check, dict) else getattr(check, name, default)


def _urgency(check: Any) -> tuple[int, float] | None:
    """How urgent fixing this check is (smaller first); None when there is nothing to fix."""
    if _field(check, "passed"):
        return None
    kind = _field(check, "kind", "rubric")
    if kind == "harm":
        return (0, -float(_field(check, "penalty", 0) or 0))
    if kind == "guard":
        return (1, -float(_field(check, "penalty", 0) or 0))
    return (2, -float(_field(check, "weight", 0) or 0))


def thing_to_fix(checks: Iterable[Any]) -> Any | None:
    """The check to fix first, or None when every check passed."""
    ranked = [(urgency, i, c) for i, c in enumerate(checks) if (urgency := _urgency(c)) is not None]
    return min(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None
