"""An answer cut into clauses, each kept exactly as the rep wrote it (the evidence a check quotes).

Clauses end at punctuation (Chinese or Latin), at line breaks, and between two Chinese
characters separated by a space (phone-typed Chinese often has no punctuation, only spaces).
A long unpunctuated Chinese run is cut into overlapping windows of jieba words. Very short
clauses are joined to the next one in the same sentence, so each unit carries a meaning and
a 300-character answer stays around a dozen units (each unit costs one model row).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import jieba

MAX_SCORED_CHARS = 4096  # Telegram's message limit; longer text is cut before scoring
MAX_UNITS = 24  # the most clauses one answer is judged on (the rest is repetition or padding)
MIN_HAN = 6  # a clause shorter than this (Chinese characters) is joined to its neighbour
MIN_WORDS = 4  # ... or than this many English words
COARSE_MIN_HAN = 12  # coarse clauses (a long answer, read within the model's token budget): joined up to this
COARSE_MIN_WORDS = 8
WINDOW_HAN = 16  # long unpunctuated Chinese: windows of about this many characters
LONG_HAN = 28

_SENTENCE_END = "。！？!?.\n"
_QUESTION_END = "?？"
# A break: punctuation, or a space between two Chinese characters; a Latin full stop only before a space or the end.
_BREAK = re.compile(
    r"[。！？!?；;，,、：:\n…~～]+|\.(?=\s|$)|(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])|\s+[-/|]\s+|\s*/\s*"
)
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z']+")


def load_dictionary() -> None:
    """Load jieba's dictionary now (at start-up, not in the first answer), without its log lines."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def normalize(text: str) -> str:
    """Lower-case, full-width folded, punctuation and spacing reduced to single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCTUATION.sub(" ", text).strip()


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def latin_words(text: str) -> int:
    return len(_LATIN_WORD.findall(text))


def size(text: str) -> int:
    """A clause's size in "words": Chinese characters count half (two characters are about one word)."""
    return latin_words(text) + (han_count(text) + 1) // 2


@dataclass(frozen=True)
class Clause:
    text: str  # exactly as written (a substring of the answer)
    start: int
    sentence: int  # index of the sentence it belongs to
    question: bool  # ends with a question mark
    statement: bool  # ends with a full stop or an exclamation mark
    normalized: str

    @property
    def squeezed(self) -> str:
        return self.normalized.replace(" ", "")


def _raw_pieces(text: str) -> list[tuple[int, int, str]]:
    """(start, end, delimiter that follows) for every stretch between breaks."""
    pieces, position = [], 0
    for match in _BREAK.finditer(text):
        if match.start() > position:
            pieces.append((position, match.start(), match.group()))
        elif pieces:  # two breaks in a row: keep the strongest delimiter on the previous piece
            start, end, delimiter = pieces[-1]
            pieces[-1] = (start, end, delimiter + match.group())
        position = match.end()
    if position < len(text):
        pieces.append((position, len(text), ""))
    return pieces


def _windows(text: str, start: int, overlap: bool = True) -> list[tuple[int, int]]:
    """Windows of jieba words over a long unpunctuated Chinese run, overlapping by half unless told not to."""
    words = jieba.lcut(text, HMM=False)
    bounds, offset = [], 0
    for word in words:
        bounds.append((offset, offset + len(word)))
        offset += len(word)
    windows, i = [], 0
    while i < len(bounds):
        j, chars = i, 0
        while j < len(bounds) and chars < WINDOW_HAN:
            chars += bounds[j][1] - bounds[j][0]
            j += 1
        windows.append((start + bounds[i][0], start + bounds[j - 1][1]))
        if j >= len(bounds):
            break
        if not overlap:
            i = j
            continue
        # step about half a window forward
        half, k = 0, i
        while k < j - 1 and half < WINDOW_HAN // 2:
            half += bounds[k][1] - bounds[k][0]
            k += 1
        i = max(k, i + 1)
    return windows


def fragments(text: str) -> list[str]:
    """Every stretch of the answer between two breaks, unjoined (to tell a keyword list from sentences)."""
    text = text[:MAX_SCORED_CHARS]
    return [text[start:end].strip() for start, end, _ in _raw_pieces(text) if normalize(text[start:end])]


def split_clauses(text: str, coarse: bool = False) -> list[Clause]:
    """The answer's clauses, short ones joined to the next within a sentence. Coarse clauses are joined up to
    a longer length and long Chinese runs are cut without overlap: fewer, longer units for a long answer."""
    min_han, min_words = (COARSE_MIN_HAN, COARSE_MIN_WORDS) if coarse else (MIN_HAN, MIN_WORDS)
    text = text[:MAX_SCORED_CHARS]
    spans: list[tuple[int, int, str, int]] = []  # start, end, delimiter, sentence
    sentence = 0
    for start, end, delimiter in _raw_pieces(text):
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped or not normalize(stripped):
            if any(c in _SENTENCE_END for c in delimiter):
                sentence += 1
            continue
        start += len(piece) - len(piece.lstrip())
        end = start + len(stripped)
        if han_count(stripped) > LONG_HAN and latin_words(stripped) < 3:
            windows = _windows(stripped, start, overlap=not coarse)
            for i, (w_start, w_end) in enumerate(windows):
                spans.append((w_start, w_end, delimiter if i == len(windows) - 1 else "", sentence))
        else:
            spans.append((start, end, delimiter, sentence))
        if any(c in _SENTENCE_END for c in delimiter):
            sentence += 1

    merged: list[tuple[int, int, str, int]] = []
    for span in spans:
        if merged:
            start, end, delimiter, sent = merged[-1]
            previous = text[start:end]
            short = han_count(previous) < min_han and latin_words(previous) < min_words
            if short and sent == span[3] and not any(c in _QUESTION_END for c in delimiter) and span[0] >= end:
                merged[-1] = (start, span[1], span[2], sent)
                continue
        merged.append(span)
    clauses = []
    for start, end, delimiter, sent in merged[:MAX_UNITS]:
        clause_text = text[start:end]
        question = any(c in _QUESTION_END for c in delimiter)
        statement = not question and any(c in "。！!." for c in delimiter)
        clauses.append(Clause(clause_text, start, sent, question, statement, normalize(clause_text)))
    return clauses
