"""What keeps the score honest: keyword lists, pasted lesson text, and repetition.

- A keyword list is several fragments with no sentence among them ("上回 怎么样 想听听 ..."):
  however well chosen, it is not something a rep would say to a dealer.
- Copied text: clauses that match a sentence of the lessons (purpose, techniques, mistakes,
  tips) or of the model scripts nearly verbatim (rapidfuzz ratio on clauses of at least
  COPY_MIN_CHARS characters, never on short phrases).
- Repeated clauses count once.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process

from dialogs.scoring.clauses import Clause, fragments, han_count, latin_words, split_clauses

SENTENCE_HAN = 6  # a fragment with this many Chinese characters, or SENTENCE_WORDS words, reads as a sentence
SENTENCE_WORDS = 4
KEYWORD_MIN_FRAGMENTS = 3
COPY_MIN_CHARS = 10
COPY_SIMILARITY = 90
COPY_SHARE = 0.5  # this share of the answer (in characters) copied: the answer is a copy
COPY_MIN_TOTAL = 30  # ... or this many copied characters, whatever the rest


def is_keyword_list(text: str) -> bool:
    pieces = fragments(text)
    if len(pieces) < KEYWORD_MIN_FRAGMENTS:
        return False
    return not any(han_count(p) >= SENTENCE_HAN or latin_words(p) >= SENTENCE_WORDS for p in pieces)


def unique(clauses: list[Clause]) -> list[Clause]:
    """Clauses with repeats (the same words, or nearly) dropped: repeated content counts once."""
    kept: list[Clause] = []
    seen: list[str] = []
    for clause in clauses:
        key = clause.squeezed
        if key in seen or (len(key) >= 8 and process.extractOne(key, seen, scorer=fuzz.ratio, score_cutoff=92)):
            continue
        seen.append(key)
        kept.append(clause)
    return kept


class CopyDetector:
    """Recognises clauses lifted from a body of reference text (the lessons, or the model scripts)."""

    def __init__(self, sources: list[str]):
        lines = {c.squeezed for text in sources for c in split_clauses(text)}
        self._lines = sorted(line for line in lines if len(line) >= COPY_MIN_CHARS)

    def copied(self, clauses: list[Clause]) -> list[Clause]:
        found = []
        for clause in clauses:
            key = clause.squeezed
            if len(key) >= COPY_MIN_CHARS and process.extractOne(
                key, self._lines, scorer=fuzz.ratio, score_cutoff=COPY_SIMILARITY
            ):
                found.append(clause)
        return found

    def is_copy(self, clauses: list[Clause]) -> tuple[bool, Clause | None]:
        """Whether most of the answer is copied; the longest copied clause as evidence."""
        copied = self.copied(clauses)
        total = sum(len(c.squeezed) for c in clauses)
        copied_chars = sum(len(c.squeezed) for c in copied)
        share = copied_chars / total if total else 0.0
        evidence = max(copied, key=lambda c: len(c.squeezed), default=None)
        return share >= COPY_SHARE or copied_chars >= COPY_MIN_TOTAL, evidence
