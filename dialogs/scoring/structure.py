"""Shapes that words alone mislead about: open vs closed questions, check-backs, concrete next steps.

The word lists are content (scoring.yaml `structure`); this module only applies them.
- A question is closed when it can be answered yes or no: a closed marker (是不是, 有没有, 对吧,
  ...吗？; "do you", "is it", "can we" at the start) decides it, whatever else it contains.
- It is open when it has an open word (什么, 怎么, 哪, 为什么, 多少; what, how, which, "tell me") and
  no closed marker. An unpunctuated clause with an open word counts (phone typing drops "?").
"""

from __future__ import annotations

import re

from dialogs.scoring.clauses import Clause, normalize
from knowledge.pack import StructureWords


def _alternation(phrases: list[str], latin: bool) -> re.Pattern | None:
    forms = sorted({normalize(p) for p in phrases if normalize(p)}, key=len, reverse=True)
    if not forms:
        return None
    if latin:
        return re.compile(r"(?:^| )(?:" + "|".join(re.escape(f) for f in forms) + r")(?= |$)")
    return re.compile("|".join(re.escape(f.replace(" ", "")) for f in forms))


class Structure:
    def __init__(self, words: StructureWords):
        self._open_zh = _alternation(words.open_words.zh, latin=False)
        self._closed_zh = _alternation(words.closed_words.zh, latin=False)
        # English: a one-word open marker ("how") counts at the start of a clause or in a question;
        # a longer one ("tell me", "walk me through") anywhere. A closed question starts with an auxiliary.
        single = [w for w in words.open_words.en if len(normalize(w).split()) == 1]
        self._open_en_start = _starts_with(single)
        self._open_en_word = _alternation(single, latin=True)
        self._open_en_phrase = _alternation([w for w in words.open_words.en if len(normalize(w).split()) > 1], True)
        # "what do they ask for?" is open: the word before a closed auxiliary may not be an open word
        self._closed_en_start = _starts_with(words.closed_words.en, not_after=single)
        self._check_back_zh = _alternation(words.check_back.zh, latin=False)
        self._check_back_en = _alternation(words.check_back.en, latin=True)
        self._concrete = [re.compile(p) for p in words.concrete]
        self._benefit_zh = _alternation(words.benefit_words.zh, latin=False)
        self._benefit_en = _alternation(words.benefit_words.en, latin=True)

    def _open_marker(self, clause: Clause) -> bool:
        text = clause.normalized
        if self._open_en_phrase and self._open_en_phrase.search(text):
            return True
        if self._open_en_start.search(text) or (
            clause.question and self._open_en_word and self._open_en_word.search(text)
        ):
            return True
        return bool(self._open_zh and not clause.statement and self._open_zh.search(clause.squeezed))

    def is_closed_question(self, clause: Clause) -> bool:
        if self._closed_zh and self._closed_zh.search(clause.squeezed):
            return True
        if self._open_en_phrase and self._open_en_phrase.search(clause.normalized):
            return False  # "could you tell me ..." invites an answer
        if self._closed_en_start.search(clause.normalized):
            return clause.question
        return clause.question and not self._open_marker(clause)

    def is_open_question(self, clause: Clause) -> bool:
        return not self.is_closed_question(clause) and self._open_marker(clause)

    def is_check_back(self, clause: Clause) -> bool:
        if self._check_back_zh and self._check_back_zh.search(clause.squeezed):
            return True
        return bool(self._check_back_en and self._check_back_en.search(clause.normalized))

    def is_benefit(self, clause: Clause) -> bool:
        if self._benefit_zh and self._benefit_zh.search(clause.squeezed):
            return True
        return bool(self._benefit_en and self._benefit_en.search(clause.normalized))

    def is_concrete(self, clause: Clause) -> bool:
        text = clause.text.lower()
        return any(p.search(text) for p in self._concrete)


def _starts_with(words: list[str], not_after: list[str] = ()) -> re.Pattern:
    """A clause starting with one of `words`, perhaps after one leading word ("so", "mr wang") that is not
    one of `not_after`."""
    forms = sorted({normalize(w) for w in words if normalize(w)}, key=len, reverse=True)
    barred = sorted({normalize(w) for w in not_after if normalize(w)}, key=len, reverse=True)
    guard = r"(?!(?:" + "|".join(map(re.escape, barred)) + r") )" if barred else ""
    return re.compile(
        r"^(?:"
        + guard
        + r"(?:so|and|but|ok|okay|well|then|now|mr \w+|\w+) )?(?:"
        + "|".join(map(re.escape, forms))
        + r")(?= |$)"
    )
