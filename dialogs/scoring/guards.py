"""What keeps the score honest: keyword lists, pasted lesson text, and repetition.

- A keyword list is several fragments with no sentence among them ("上回 怎么样 想听听 ..."):
  however well chosen, it is not something a rep would say to a dealer.
- Copied text: clauses that match a sentence of the lessons (purpose, techniques, mistakes,
  tips) or of the model scripts nearly verbatim (rapidfuzz ratio on clauses of at least
  COPY_MIN_CHARS characters, never on short phrases).
- Repeated clauses count once.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from dialogs.scoring.clauses import Clause, fragments, han_count, latin_words, split_clauses
from knowledge.pack import Signals

SENTENCE_HAN = 6  # a fragment with this many Chinese characters, or SENTENCE_WORDS words, reads as a sentence
SENTENCE_WORDS = 3
KEYWORD_MIN_FRAGMENTS = 3
KEYWORD_SENTENCE_SHARE = 0.35  # less than this share of the text (in characters) in sentences: a keyword list
KEYWORD_RUN_WORDS = 5
_WORD = re.compile(r"[A-Za-z']+")
COPY_MIN_CHARS = 10
COPY_SIMILARITY = 90
COPY_SHARE = 0.5  # this share of the answer (in characters) copied: the answer is a copy
COPY_MIN_TOTAL = 80  # ... or this many copied characters, whatever the rest


class KeywordList:
    """Tells a list of keywords from sentences: a sentence is long enough and holds a function word
    (我, 您, 的, 了 ...; I, you, the, to ...); a keyword list is mostly fragments that are not."""

    def __init__(self, function_words: Signals):
        self._han = frozenset("".join(function_words.zh))
        self._latin = frozenset(w.lower() for w in function_words.en)

    def is_sentence(self, fragment: str) -> bool:
        words = [w.lower() for w in _WORD.findall(fragment)]
        han = han_count(fragment)
        if han + 2 * len(words) < SENTENCE_HAN:  # mixed zh/en: a word counts as two characters
            return False
        if han and any(c in self._han for c in fragment):
            return True
        return len(words) + han // 2 >= SENTENCE_WORDS and any(w in self._latin for w in words)

    def __call__(self, text: str) -> bool:
        pieces = fragments(text)
        if not pieces:
            return False
        sentences = sum(len(p) for p in pieces if self.is_sentence(p))
        total = sum(len(p) for p in pieces)
        if len(pieces) < KEYWORD_MIN_FRAGMENTS:
            # one long run of words with no function word at all ("footfall margin broadband demand ...")
            return sentences == 0 and max(latin_words(p) for p in pieces) >= KEYWORD_RUN_WORDS
        return sentences < KEYWORD_SENTENCE_SHARE * total


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
