"""A full-text index over the content pack, in Chinese and English (SQLite FTS5, in memory).

One row per searchable item and locale: step lessons (purpose, techniques, mistakes), model
scripts, objection cards with their model answers, dealer personas, products, and the
micro-lessons when the pack has them (`pack.lessons`). See docs/search.md.

- Chinese has no spaces, and FTS5's unicode61 tokenizer would take a whole run of Chinese as one
  token; the trigram tokenizer cannot match a 2-character word such as 利润. So the Chinese runs
  of every text are segmented with jieba first (`cut_for_search`: 利润空间 is indexed as 利润, 空间
  and 利润空间), and a query with `cut` (its sub-words as alternatives), both without HMM so the
  same text is always cut the same way.
- The tokenizer is `porter unicode61 remove_diacritics 2`: English is stemmed, so "margins" and
  "profits" match "margin" and "profit"; a Latin query word is also a prefix ("marg" finds "margin").
- Ranking is bm25 with the title and the keywords (an objection's topic) weighted above the body.
- A query word's synonyms (a table the flow gives, `synonym_table`) count as that word.
- A query is user text: it is cut into words and each word quoted, so nothing typed (quotes,
  `*`, `NEAR(`, `OR`, 2,000 characters) reaches FTS5 as syntax. All words must match; if nothing
  does, any word may.

The index is built once per pack (`index_for`), at start-up: 0.1–0.8 s for the shipped pack on a
busy 2-core machine (scripts/bench_search.py), so it lives in memory and is never written to disk.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jieba
from jinja2 import TemplateError

from knowledge.pack import LOCALES, Pack, template_context
from knowledge.templates import render

TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT, KEYWORDS_WEIGHT, BODY_WEIGHT = 8.0, 6.0, 1.0
MAX_QUERY_CHARS = 200  # longer text is cut here: nobody searches with a paragraph
MAX_QUERY_TERMS = 12
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+")
_ENGLISH_SUFFIXES = ("ies", "es", "s", "ing", "ed", "ly")  # stripped for highlighting only (FTS5 stems for matching)


@dataclass(frozen=True)
class Section:
    """One part of an item as shown: `name` says what it is (purpose, techniques, model_answer, ...)."""

    name: str
    text: str  # plain text, not escaped


@dataclass(frozen=True)
class Entry:
    """One searchable item in one locale."""

    key: str  # kind:id, the same in every locale (e.g. objection:margin_too_low)
    kind: str  # step, script, objection, persona, product, lesson
    locale: str
    title: str
    sections: tuple[Section, ...]
    keywords: str = ""  # indexed and weighted like the title, not shown as a section (an objection's topic)

    @property
    def body(self) -> str:
        return "\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    rank: float  # bm25: lower is better
    terms: tuple[str, ...] = field(default=())  # what to highlight


# --- segmentation -------------------------------------------------------------------------


def load_segmenter() -> None:
    """Load jieba's dictionary now (once per process; the scorer shares it), without its log lines."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def segment_for_index(text: str) -> str:
    """Text with its Chinese runs cut into words and sub-words (jieba cut_for_search), space-separated."""
    return _CJK_RUN.sub(lambda m: " " + " ".join(jieba.cut_for_search(m.group(), HMM=False)) + " ", text)


@dataclass(frozen=True)
class Query:
    """A user's search text as FTS5 expressions: every word must match, or (the fallback) any word."""

    groups: tuple[tuple[str, ...], ...]  # per word, the alternatives that count as that word
    terms: tuple[str, ...]  # what to highlight in the original text

    def expression(self, every: bool = True) -> str:
        parts = ["(" + " OR ".join(alternatives) + ")" for alternatives in self.groups]
        return (" AND " if every else " OR ").join(parts)

    def __bool__(self) -> bool:
        return bool(self.groups)


def _quoted(word: str, prefix: bool = False) -> str:
    return '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")


def _english_stem(word: str) -> str:
    for suffix in _ENGLISH_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def synonym_table(groups: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """{word: its synonyms} from lines of groups, `利润 毛利 / 经销商 渠道商` (a group's words count as one another)."""
    table: dict[str, tuple[str, ...]] = {}
    for line in groups:
        for group in str(line).split("/"):
            words = [w.casefold() for w in group.split()]
            for word in words:
                table[word] = tuple(dict.fromkeys([*table.get(word, ()), *(w for w in words if w != word)]))
    return table


def parse_query(text: str, synonyms: Mapping[str, tuple[str, ...]] | None = None) -> Query:
    """The words of a query, each one safe to hand to FTS5 MATCH (never raises, whatever the text);
    a word's `synonyms` count as that word."""
    synonyms = synonyms or {}
    text = text[:MAX_QUERY_CHARS]
    groups: list[tuple[str, ...]] = []
    terms: list[str] = []
    position = 0
    pieces: list[tuple[bool, str]] = []
    for match in _CJK_RUN.finditer(text):
        pieces.append((False, text[position : match.start()]))
        pieces.append((True, match.group()))
        position = match.end()
    pieces.append((False, text[position:]))
    for chinese, piece in pieces:
        if chinese:
            for word in jieba.cut(piece, HMM=False):
                subwords = [w for w in jieba.cut_for_search(word, HMM=False) if len(w) >= 2 and w != word]
                alternatives = [word, *subwords, *synonyms.get(word, ())]
                groups.append(tuple(_quoted(w, prefix=w.isascii()) for w in alternatives))
                terms += alternatives
        else:
            for word in _WORD.findall(piece.casefold()):
                stem = _english_stem(word) if word.isascii() else word
                alternatives = [word, *synonyms.get(word, synonyms.get(stem, ()))]
                groups.append(tuple(_quoted(w, prefix=len(w) >= 3 and w.isascii()) for w in alternatives))
                terms += [_english_stem(w) if w.isascii() else w for w in alternatives]
    unique = tuple(dict.fromkeys(groups))[:MAX_QUERY_TERMS]
    return Query(unique, tuple(dict.fromkeys(t for t in terms if t)))


# --- the items of a pack --------------------------------------------------------------------


def _texts_of(value: Any, locale: str) -> str:
    """A {zh, en} text (a pack model, or a plain mapping) in one locale."""
    if isinstance(value, Mapping):
        return str(value.get(locale, ""))
    return str(getattr(value, locale, "") or "")


class _Renderer:
    """Content texts as plain text: templates rendered for the first product and dealer (as the drill does),
    or for the dealer a text was written for (a persona's own model script)."""

    def __init__(self, pack: Pack):
        self.pack = pack
        self._contexts: dict[tuple[str, str | None], dict] = {}

    def _context(self, locale: str, dealer_id: str | None) -> dict:
        key = (locale, dealer_id)
        if key not in self._contexts:
            pack = self.pack
            if not (pack.products and pack.dealers):
                self._contexts[key] = {}
            else:
                dealer = next((d for d in pack.dealers if d.id == dealer_id), pack.dealers[0])
                self._contexts[key] = template_context(pack.products[0], dealer, locale)
        return self._contexts[key]

    def __call__(self, value: Any, locale: str, dealer_id: str | None = None) -> str:
        source = _texts_of(value, locale)
        try:
            return html.unescape(str(render(source, **self._context(locale, dealer_id))))
        except TemplateError:  # a text that is not a valid template here is shown as written
            return source


def _first(ids) -> str | None:
    return ids[0] if ids else None


def _step_entries(pack: Pack, text: _Renderer, locale: str) -> Iterable[Entry]:
    for step in pack.steps:
        techniques = "\n".join(f"• {text(t.name, locale)}：{text(t.how, locale)}" for t in step.techniques)
        mistakes = "\n".join(f"• {text(m, locale)}" for m in step.mistakes)
        yield Entry(
            f"step:{step.id}",
            "step",
            locale,
            text(step.title, locale),
            (
                Section("purpose", text(step.purpose, locale)),
                Section("techniques", techniques),
                Section("mistakes", mistakes),
            ),
        )
        for i, script in enumerate(step.model_scripts):
            yield Entry(
                f"script:{step.id}:{i}",
                "script",
                locale,
                text(script.title, locale),
                (Section("script", text(script.template, locale, _first(getattr(script, "dealers", None)))),),
                keywords=text(step.title, locale),
            )


def _objection_entries(pack: Pack, text: _Renderer, locale: str, topics: Mapping[str, Any]) -> Iterable[Entry]:
    for card in pack.objections:
        yield Entry(
            f"objection:{card.id}",
            "objection",
            locale,
            text(card.text, locale),
            (
                Section("context", text(card.context, locale)),
                Section("model_answer", text(card.model_answer, locale)),
            ),
            keywords=_texts_of(topics.get(card.topic, {}), locale) or card.topic.replace("_", " "),
        )


def _persona_entries(pack: Pack, text: _Renderer, locale: str) -> Iterable[Entry]:
    for dealer in pack.dealers:
        man_class = pack.man_class(dealer)
        concerns = "\n".join(f"• {text(c, locale)}" for c in dealer.concerns)
        yield Entry(
            f"persona:{dealer.id}",
            "persona",
            locale,
            f"{text(dealer.name, locale)} · {text(dealer.shop, locale)}",
            (
                Section("profile", text(dealer.profile, locale)),
                Section("temperament", text(dealer.temperament, locale)),
                Section("concerns", concerns),
                Section(
                    "man_class", f"{man_class.code} {text(man_class.name, locale)}：{text(man_class.strategy, locale)}"
                ),
            ),
        )


def _product_entries(pack: Pack, text: _Renderer, locale: str) -> Iterable[Entry]:
    for product in pack.products:
        features = "\n".join(f"• {text(f.name, locale)}：{text(f.detail, locale)}" for f in product.features)
        scenarios = "\n".join(
            f"• {text(s.people, locale)}：{text(s.situation, locale)} {text(s.customer_thinking, locale)}"
            for s in product.scenarios
        )
        yield Entry(
            f"product:{product.id}",
            "product",
            locale,
            text(product.name, locale),
            (
                Section("tagline", text(product.tagline, locale)),
                Section("features", features),
                Section("pricing", "\n".join(f"• {text(p, locale)}" for p in product.pricing)),
                Section("scenarios", scenarios),
                Section("selling_points", "\n".join(f"• {text(p, locale)}" for p in product.selling_points)),
            ),
        )


def _lesson_entries(pack: Pack, text: _Renderer, locale: str) -> Iterable[Entry]:
    """The micro-lessons, read by attribute (`id`, `title`, `pages`) so any lesson-shaped object will do."""
    for lesson in getattr(pack, "lessons", None) or ():
        pages = tuple(Section("page", text(page, locale)) for page in getattr(lesson, "pages", ()) or ())
        yield Entry(f"lesson:{lesson.id}", "lesson", locale, text(lesson.title, locale), pages)


def pack_entries(pack: Pack, topics: Mapping[str, Any] | None = None) -> list[Entry]:
    """Every searchable item of the pack, in every locale. `topics` names objection topics ({topic: {zh, en}})."""
    text = _Renderer(pack)
    entries: list[Entry] = []
    for locale in LOCALES:
        entries += _lesson_entries(pack, text, locale)
        entries += _step_entries(pack, text, locale)
        entries += _objection_entries(pack, text, locale, topics or {})
        entries += _persona_entries(pack, text, locale)
        entries += _product_entries(pack, text, locale)
    return [e for e in entries if e.title.strip() or e.body.strip()]


# --- the index ------------------------------------------------------------------------------


def _indexed_keywords(entry: Entry) -> str:
    """What the keywords column holds. A model script has its step's title there, so a step is indexed
    under its own title there too: otherwise its (short) scripts outrank the (long) step on the step's
    own name and push it out of the results once a step has five scripts."""
    return entry.keywords or (entry.title if entry.kind == "step" else "")


class SearchIndex:
    """An FTS5 table in memory over some entries; safe to query from several threads."""

    def __init__(self, entries: Iterable[Entry], synonyms: Mapping[str, tuple[str, ...]] | None = None):
        load_segmenter()
        self.entries = list(entries)
        self.synonyms = dict(synonyms or {})
        self._by_key = {(e.key, e.locale): e for e in self.entries}
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute(f"CREATE VIRTUAL TABLE items USING fts5(title, keywords, body, tokenize = '{TOKENIZER}')")
        self._db.executemany(
            "INSERT INTO items(rowid, title, keywords, body) VALUES (?, ?, ?, ?)",
            (
                (i, segment_for_index(e.title), segment_for_index(_indexed_keywords(e)), segment_for_index(e.body))
                for i, e in enumerate(self.entries)
            ),
        )
        self._db.execute("INSERT INTO items(items) VALUES ('optimize')")

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, key: str, locale: str) -> Entry | None:
        """An item in `locale`, or in any locale it exists in."""
        return self._by_key.get((key, locale)) or next(
            (self._by_key[(key, other)] for other in LOCALES if (key, other) in self._by_key), None
        )

    def parse(self, text: str) -> Query:
        """A query with this index's synonyms."""
        return parse_query(text, self.synonyms)

    def _match(self, expression: str) -> list[tuple[int, float]]:
        sql = (
            f"SELECT rowid, bm25(items, {TITLE_WEIGHT}, {KEYWORDS_WEIGHT}, {BODY_WEIGHT}) AS score"
            " FROM items WHERE items MATCH ? ORDER BY score"
        )
        with self._lock:
            try:
                return self._db.execute(sql, (expression,)).fetchall()
            except sqlite3.OperationalError:  # never expected (every word is quoted); a query must not crash a turn
                return []

    def search(self, text: str, locale: str, limit: int = 6) -> list[Hit]:
        """The best items for `text`, one hit per item: those in `locale` first, each group by bm25."""
        query = self.parse(text)
        if not query:
            return []
        rows = self._match(query.expression(every=True)) or self._match(query.expression(every=False))
        ranked = sorted(rows, key=lambda row: (self.entries[row[0]].locale != locale, row[1]))
        hits: dict[str, Hit] = {}
        for rowid, rank in ranked:
            entry = self.entries[rowid]
            if entry.key not in hits:
                hits[entry.key] = Hit(entry, rank, query.terms)
            if len(hits) == limit:
                break
        return list(hits.values())


# --- one index per pack, built once ---------------------------------------------------------

_built: dict[int, tuple[Pack, SearchIndex]] = {}
_built_lock = threading.Lock()


def index_for(
    pack: Pack, topics: Mapping[str, Any] | None = None, synonyms: Mapping[str, tuple[str, ...]] | None = None
) -> SearchIndex:
    """The pack's index, built on the first call (at start-up, see dialogs/search.py) and kept in memory;
    `topics` and `synonyms` are used by that first call."""
    with _built_lock:
        kept = _built.get(id(pack))
        if kept is None or kept[0] is not pack:
            kept = (pack, SearchIndex(pack_entries(pack, topics), synonyms))
            _built[id(pack)] = kept  # the pack is kept too, so its id cannot be reused by another pack
        return kept[1]


# --- snippets -------------------------------------------------------------------------------


def _term_pattern(terms: Iterable[str]) -> re.Pattern | None:
    parts = []
    for term in sorted(set(terms), key=len, reverse=True):
        if _CJK_RUN.fullmatch(term):
            parts.append(re.escape(term))
        else:
            parts.append(r"\b" + re.escape(term) + r"\w*")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def highlight(text: str, terms: Iterable[str], width: int = 90) -> str:
    """HTML: about `width` characters of `text` around its first hit, hits in <b>, everything escaped."""
    text = " ".join(text.split())
    pattern = _term_pattern(terms)
    first = pattern.search(text) if pattern else None
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(text), start + width)
    window = text[start:end]
    out, position = [], 0
    for match in pattern.finditer(window) if pattern else ():
        out.append(html.escape(window[position : match.start()]))
        out.append(f"<b>{html.escape(match.group())}</b>")
        position = match.end()
    out.append(html.escape(window[position:]))
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(text) else "")


def snippet(hit: Hit, width: int = 90) -> str:
    """The part of a hit's body to show under its title, hits highlighted (HTML)."""
    pattern = _term_pattern(hit.terms)
    body = hit.entry.body
    if pattern and not pattern.search(" ".join(body.split())) and pattern.search(hit.entry.keywords):
        body = f"{hit.entry.keywords} · {body}"
    return highlight(body, hit.terms, width)
