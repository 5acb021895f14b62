"""Exact phrase matching (after folding case, width and punctuation), never fuzzy.

English phrases match whole words ("ask" never matches inside "task"); Chinese phrases match
inside the clause with spaces removed. Matching is per clause, so the evidence is the clause.
"""

from __future__ import annotations

import re

from dialogs.scoring.clauses import Clause, normalize


class Phrases:
    def __init__(self, phrases: list[str], patterns: list[str] = ()):
        forms = {normalize(p) for p in phrases} - {""}
        latin = sorted((f for f in forms if f.replace(" ", "").isascii()), key=len, reverse=True)
        han = sorted((f.replace(" ", "") for f in forms if not f.replace(" ", "").isascii()), key=len, reverse=True)
        self._latin = re.compile(r"(?:^| )(?:" + "|".join(map(re.escape, latin)) + r")(?= |$)") if latin else None
        self._han = re.compile("|".join(map(re.escape, han))) if han else None
        self._patterns = [re.compile(p) for p in patterns]

    def __bool__(self) -> bool:
        return bool(self._latin or self._han or self._patterns)

    def matches(self, clause: Clause) -> bool:
        if self._latin and self._latin.search(clause.normalized):
            return True
        if self._han and self._han.search(clause.squeezed):
            return True
        return any(p.search(clause.squeezed) or p.search(clause.normalized) for p in self._patterns)

    def first(self, clauses: list[Clause]) -> Clause | None:
        return next((c for c in clauses if self.matches(c)), None)
