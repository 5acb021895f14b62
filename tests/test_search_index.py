"""The search index over the shipped pack: Chinese words (two characters included) and English words
(any form) find their items, ranking puts the item about the word first, and whatever a user types is
a valid FTS5 query."""

from __future__ import annotations

import sqlite3

import pytest

from dialogs.search import SearchSession
from knowledge.search_index import TOKENIZER, SearchIndex, highlight, index_for, pack_entries, parse_query, snippet


@pytest.fixture(scope="module")
def index(pack):
    SearchSession.prepare(pack, _flow_texts())
    return index_for(pack)


def _flow_texts():
    from dialogs.machines import FLOWS_DIR, load_flow

    return load_flow(FLOWS_DIR / "search.yaml", []).texts


def keys(hits) -> list[str]:
    return [hit.entry.key for hit in hits]


def test_every_kind_of_item_is_indexed_in_both_languages(pack, index):
    lessons = tuple(getattr(pack, "lessons", None) or ())  # the micro-lessons, once the pack has them
    kinds = {(e.kind, e.locale) for e in index.entries}
    expected_kinds = ("step", "script", "objection", "persona", "product") + (("lesson",) if lessons else ())
    assert kinds == {(k, loc) for k in expected_kinds for loc in ("zh", "en")}
    expected = len(pack.steps) + sum(len(s.model_scripts) for s in pack.steps) + len(lessons)
    expected += len(pack.objections) + len(pack.dealers) + len(pack.products)
    assert len(index) == 2 * expected
    card = index.entry("objection:margin_too_low", "en")
    assert "{{" not in card.body and pack.dealers[0].name.en in card.body  # templates are rendered


@pytest.mark.parametrize("query", ["利润", "佣金"])
def test_a_two_character_chinese_word_finds_the_margin_card(index, query):
    found = keys(index.search(query, "zh"))
    assert "objection:margin_too_low" in found[:4]


@pytest.mark.parametrize("query", ["margin", "margins", "Margin", "marg"])
def test_an_english_word_in_any_form_finds_the_margin_card(index, query):
    found = keys(index.search(query, "en"))
    assert "objection:margin_too_low" in found[:4]


def test_a_word_finds_its_step_lesson_and_a_persona_by_name(pack, index):
    assert "step:icebreaking" in keys(index.search("同频", "zh"))
    assert "step:icebreaking" in keys(index.search("ice", "en"))
    dealer = pack.dealers[1]
    assert keys(index.search(dealer.name.zh, "zh"))[0] == f"persona:{dealer.id}"
    product = pack.products[0]
    assert f"product:{product.id}" in keys(index.search(product.features[1].name.en, "en"))[:3]


def test_myths_find_the_myth_cards(pack, index):
    myths = {f"objection:{o.id}" for o in pack.objections if o.topic == "myth"}
    for query, locale in (("myths", "en"), ("误区", "zh")):
        cards = [key for key in keys(index.search(query, locale)) if key.startswith("objection:")]
        assert set(cards[:5]) == myths  # the five myth cards before any other card


def test_results_in_the_users_language_come_first_one_per_item(index):
    hits = index.search("margin", "zh")
    locales = [h.entry.locale for h in hits]
    assert locales == sorted(locales, key=lambda loc: loc != "zh")
    assert len(keys(hits)) == len(set(keys(hits)))


def test_all_words_must_match_and_if_none_do_any_may(index):
    both = index.search("佣金 柜台", "zh")
    assert both and all("佣金" in h.entry.body + h.entry.title and "柜台" in h.entry.body for h in both)
    assert index.search("margin xyzzyqx", "en")  # the unknown word does not empty the result
    assert index.search("xyzzyqx", "en") == []


HOSTILE = ['"', "*", "NEAR(", "OR", "AND NOT", 'a" OR "b', "NEAR(margin profit, 2)", "title:margin", "-margin",
           "^margin", "(", ")", "{title}: x", "'; DROP TABLE items; --", "x" * 2000, "利润" * 1000, "\x00",
           "\u202emargin"]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
def test_whatever_is_typed_becomes_a_valid_fts5_query(index, query):
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, keywords, body, tokenize = '{TOKENIZER}')")
    db.execute("INSERT INTO t VALUES ('margin', 'profit', '利润 佣金 or near')")
    parsed = parse_query(query)
    for every in (True, False):
        if parsed:
            db.execute("SELECT rowid FROM t WHERE t MATCH ?", (parsed.expression(every),)).fetchall()  # no raise
    assert isinstance(index.search(query, "zh"), list)


def test_snippets_highlight_the_words_and_escape_the_text():
    html = highlight("Dealers say <the margin> & margins are thin", parse_query("margin").terms)
    assert html == "Dealers say &lt;the <b>margin</b>&gt; &amp; <b>margins</b> are thin"
    chinese = highlight("你们这个佣金也太薄了，利润空间不够", parse_query("利润").terms)
    assert "<b>利润</b>空间" in chinese


def test_a_long_body_is_cut_around_the_first_hit(index):
    hit = index.search("柜台", "zh")[0]
    shown = snippet(hit, width=40)
    assert "<b>柜台</b>" in shown and len(shown.replace("<b>", "").replace("</b>", "")) <= 42


def test_the_entries_of_a_pack_without_topic_names_still_carry_the_topic(pack):
    card = next(e for e in pack_entries(pack) if e.key == "objection:margin_too_low" and e.locale == "en")
    assert card.keywords == "margin"
    assert SearchIndex([card]).search("margin", "en")[0].entry is card


def test_a_synonym_from_the_flow_texts_counts_as_the_word():
    from knowledge.search_index import Entry, Section, synonym_table

    entries = [Entry("x:1", "step", "zh", "毛利怎么算", (Section("purpose", "配件的毛利"),)),
               Entry("x:2", "step", "en", "Profit first", (Section("purpose", "shared profit"),))]  # fmt: skip
    table = synonym_table(_flow_texts()["search.synonyms"][locale] for locale in ("zh", "en"))
    assert keys(SearchIndex(entries).search("利润", "zh")) == [] == keys(SearchIndex(entries).search("margins", "en"))
    assert keys(SearchIndex(entries, table).search("利润", "zh")) == ["x:1"]
    assert keys(SearchIndex(entries, table).search("margins", "en")) == ["x:2"]
    assert "<b>毛利</b>" in snippet(SearchIndex(entries, table).search("利润", "zh")[0])
