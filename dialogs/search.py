"""/search (flows/search.yaml): search the content pack, list the best items, open one page by page.

The index (knowledge/search_index.py) is built once per pack when the engine starts (`prepare`),
with the objection topics named by this flow's `search.topic_<topic>` strings. Session data:

    query    the words searched for (as typed, cleaned)
    hits     [[key, locale], ...] of the results shown, in order; a result button carries its place
    open     the key of the item opened, and `page`, its page (from 0)
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from dialogs.flow_session import Choice, FlowSession
from knowledge.pack import LOCALES, Pack
from knowledge.search_index import Entry, Hit, SearchIndex, index_for, snippet, synonym_table

RESULTS_SHOWN = 6
PAGE_CHARS = 700  # a page of an item: about one phone screen
TITLE_CHARS = 48  # a title in the result list
LABEL_CHARS = 40  # a title on a result button
SHOWN_QUERY_CHARS = 60
TOPIC_PREFIX = "search.topic_"
SYNONYMS = "search.synonyms"
_SENTENCE_ENDS = "。！？；.!?;"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pieces(text: str, limit: int) -> list[str]:
    """A section's text in pieces of at most `limit` characters: whole lines, or sentences of a long line."""
    pieces: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = max((line.rfind(end, 0, limit) for end in _SENTENCE_ENDS), default=-1)
            cut = cut + 1 if cut > limit // 3 else limit
            pieces.append(line[:cut].strip())
            line = line[cut:].strip()
        if line.strip():
            pieces.append(line)
    return pieces


def pages_of(sections: list[tuple[str, str]], limit: int = PAGE_CHARS) -> list[list[dict[str, str]]]:
    """(heading, text) sections laid out on pages of about `limit` characters, as blocks {heading, text};
    a heading-less section (a lesson's page) starts a page of its own."""
    pages: list[list[dict[str, str]]] = [[]]
    used = 0
    for heading, text in sections:
        if not heading and pages[-1]:
            pages.append([])
            used = 0
        for i, piece in enumerate(_pieces(text, limit)):
            if used and used + len(piece) > limit:
                pages.append([])
                used = 0
            page = pages[-1]
            if i > 0 and page:  # the section goes on, on this page
                page[-1]["text"] += "\n" + piece
            else:
                page.append({"heading": heading if i == 0 else "", "text": piece})
            used += len(piece) + (len(heading) if i == 0 else 0)
    return [page for page in pages if page] or [[]]


class SearchSession(FlowSession):
    @classmethod
    def prepare(cls, pack: Pack, texts: Mapping[str, Any]) -> None:
        """Build the pack's index now, at start-up (engine), not in the first search."""
        topics = {key.removeprefix(TOPIC_PREFIX): text for key, text in texts.items() if key.startswith(TOPIC_PREFIX)}
        synonyms = synonym_table(texts[SYNONYMS][locale] for locale in LOCALES) if SYNONYMS in texts else {}
        index_for(pack, topics, synonyms)

    @property
    def index(self) -> SearchIndex:
        return index_for(self.ctx.pack)

    # --- callbacks ---------------------------------------------------------------------

    def run_query(self, text: str = "", **_):
        self.data["query"] = text
        hits = self.index.search(text, self.ctx.locale, limit=RESULTS_SHOWN)
        self.data["hits"] = [[hit.entry.key, hit.entry.locale] for hit in hits]
        self.data.pop("open", None)

    def is_result(self, arg: str = "", **_) -> bool:
        return arg.isdigit() and int(arg) < len(self.data.get("hits", []))

    def open_item(self, arg: str = "", **_):
        self.data["open"] = self.data["hits"][int(arg)][0]
        self.data["page"] = 0

    def more_pages(self, **_) -> bool:
        return self.data.get("page", 0) + 1 < len(self._pages())

    def turn_page(self, **_):
        self.data["page"] = self.data.get("page", 0) + 1

    # --- views -------------------------------------------------------------------------

    def _title(self, entry: Entry) -> str:
        """An item's title as plain text: an objection card and a model script lead with their topic or step."""
        if not entry.keywords:
            return entry.title
        return html.unescape(str(self.ctx.ui("search.title", topic=entry.keywords, title=entry.title)))

    def examples_view(self) -> dict:
        return {"examples": self.ctx.ui("search.examples")}

    def _hits(self) -> list[Hit]:
        terms = self.index.parse(self.data.get("query", "")).terms
        found = (self.index.entry(key, locale) for key, locale in self.data.get("hits", []))
        return [Hit(entry, 0.0, terms) for entry in found if entry is not None]

    def results_view(self) -> dict:
        results = []
        for n, hit in enumerate(self._hits(), start=1):
            shown = self.index.entry(hit.entry.key, self.ctx.locale) or hit.entry  # the title in the user's language
            results.append(
                {
                    "n": n,
                    "title": _short(self._title(shown), TITLE_CHARS),
                    "kind": self.ctx.ui(f"search.kind_{hit.entry.kind}"),
                    "snippet": Markup(snippet(hit)),  # escaped, with the hits in <b>
                }
            )
        return {
            "query": _short(self.data.get("query", ""), SHOWN_QUERY_CHARS),
            "results": results,
            **self.examples_view(),
        }

    def result_choices(self) -> list[Choice]:
        """One button per result: its number and title (plain text, as button labels are)."""
        titles = [self.index.entry(key, self.ctx.locale) for key, _ in self.data.get("hits", [])]
        return [
            Choice(str(i), f"{i + 1}. {_short(self._title(entry), LABEL_CHARS)}")
            for i, entry in enumerate(titles)
            if entry is not None
        ]

    def _opened(self) -> Entry | None:
        return self.index.entry(self.data.get("open", ""), self.ctx.locale)

    def _pages(self) -> list[list[dict[str, str]]]:
        entry = self._opened()
        if entry is None:
            return [[{"heading": "", "text": self.ctx.ui("search.gone")}]]
        ui = self.ctx.ui
        sections = [(ui(f"search.section_{s.name}") if s.name != "page" else "", s.text) for s in entry.sections]
        if entry.kind == "objection":  # what the dealer or customer says is the card's title: shown first
            sections.insert(1, (ui("search.section_objection"), entry.title))
        return pages_of(sections)

    def item_view(self) -> dict:
        entry = self._opened()
        pages = self._pages()
        page = min(self.data.get("page", 0), len(pages) - 1)
        title = "" if entry is None else entry.keywords if entry.kind == "objection" else self._title(entry)
        return {
            "title": title,  # an objection card: its topic (what is said comes first on the page)
            "kind": self.ctx.ui(f"search.kind_{entry.kind}") if entry else "",
            "blocks": pages[page],
            "page": page + 1,
            "pages": len(pages),
        }
