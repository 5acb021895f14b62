"""Phone shorthand spelled out ("u" -> "you", "dont" -> "don't"): the phrases, the shape rules and the
model read the spelled-out words, while the evidence still quotes the rep as typed.

The table is `semantic.spoken_forms` in scoring.yaml: whole words only, any case ("U", "u").
"""

from __future__ import annotations

import re


class SpokenForms:
    def __init__(self, table: dict[str, str]):
        self._table = {short.lower(): full for short, full in table.items()}
        words = sorted(self._table, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<![\w'])(" + "|".join(re.escape(w) for w in words) + r")(?![\w'])", re.IGNORECASE)
            if words
            else None
        )

    def spell_out(self, text: str) -> str:
        """`text` with every shorthand word replaced by its full form (the rest untouched)."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: self._table[match.group(1).lower()], text)
