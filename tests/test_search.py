"""/search as a learner uses it: search with words or be asked for them, open a result, page through
it, search again; in both languages; hostile text gets a friendly answer; micro-lessons are found
once the pack has them."""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from dataclasses import dataclass, fields
from types import SimpleNamespace

import pytest

from bot.service import CoachService, Identity
from dialogs.engine import Engine
from knowledge.pack import Pack
from tests.helpers import Learner


def learner(service, name: str, locale: str = "zh") -> Learner:
    who = Identity("console", name, name)
    service.set_locale(who, locale)
    return Learner(service, who)


def open_result(rep: Learner, title: str) -> Learner:
    """Press the result button whose title is exactly `title`."""
    button = next(b for b in rep.last.buttons if b.label.partition(". ")[2] == title)
    return rep.press(button.label)


def test_search_with_words_lists_the_margin_card_and_opens_it(service, pack):
    rep = learner(service, "li").send("/search 利润")
    card = pack.objection("margin_too_low")
    assert "利润与佣金" in rep.text and card.text.zh[:10] in rep.text
    assert "<b>利润</b>" in rep.last.text  # the hit is highlighted in the snippet
    rep.press("利润与佣金：你们这个佣金")
    assert "异议卡" in rep.text and "示范回答" in rep.text and "对方说" in rep.text
    assert card.text.zh in rep.text and "柜台就这么大，每一格都得挣钱" in rep.text  # the model answer, rendered
    assert "{{" not in rep.text
    rep.press("返回搜索结果")
    assert "利润与佣金" in rep.text and "找到" in rep.text


def test_search_in_english_finds_the_margin_card_in_english(service, pack):
    rep = learner(service, "sam", "en").send("/search margins")
    assert "Margin and commission" in rep.text
    rep.press("Margin and commission: Your")
    assert "(objection card · page 1 of" in rep.text and pack.objection("margin_too_low").text.en in rep.text
    assert rep.text.startswith("Margin and commission (")  # the card's topic heads it; the quote follows
    rep.press("Next")
    assert "page 2 of" in rep.text and "Model answer" in rep.text and "Mr Wang, your counter" in rep.text


def test_results_are_shown_in_the_users_language_whatever_the_query_language(service):
    zh = learner(service, "wang").send("/search margin")
    assert "利润与佣金" in zh.text and any("利润与佣金" in label for label in zh.labels)
    en = learner(service, "amy", "en").send("/search 利润")
    assert any(label.startswith("1. ") for label in en.labels)
    assert any("Margin and commission" in label for label in en.labels)


def test_bare_search_asks_and_takes_the_next_text_as_the_query(service, pack):
    rep = learner(service, "zhao").send("/search")
    assert "想找什么" in rep.text and "利润" in rep.text  # with example searches
    rep.send("破冰")
    assert pack.step("icebreaking").title.zh in rep.text
    rep.send("/search")  # asks again, even with results on screen
    assert "想找什么" in rep.text


def test_a_long_item_is_paged_and_every_part_of_it_is_shown(service, pack):
    step = pack.step("icebreaking")
    rep = learner(service, "qian").send("/search 破冰与同频")
    open_result(rep, step.title.zh)
    seen, pages = [rep.text], 1
    assert "第 1/" in rep.text
    while any("下一段" in label for label in rep.labels):
        rep.press("下一段")
        pages += 1
        assert f"第 {pages}/" in rep.text
        seen.append(rep.text)
    assert pages > 1 and all(len(page) < 1500 for page in seen)  # phone-sized pages
    everything = "\n".join(seen)
    for part in [step.purpose.zh[:20], *(t.name.zh for t in step.techniques), *(m.zh[:15] for m in step.mistakes)]:
        assert part in everything


def test_typing_new_words_on_an_open_item_searches_again(service):
    rep = learner(service, "sun").send("/search 利润")
    rep.press("1.")
    rep.send("王老板")
    assert "找到" in rep.text and "王老板" in rep.labels[0]


def test_nothing_found_gets_a_friendly_message_with_examples(service):
    zh = learner(service, "zhou").send("/search 量子引力波")
    assert "没有找到" in zh.text and "五个误区" in zh.text and zh.labels == []
    en = learner(service, "ann", "en").send("/search xyzzyqx")
    assert "Nothing found for “xyzzyqx”" in en.text and "margin · myths" in en.text


@pytest.mark.parametrize("query", ['"', "*", "NEAR(", "OR", '" OR "', "NEAR(利润 佣金, 2)", "x" * 2000, "利润*"])
def test_a_hostile_query_gets_a_friendly_answer(service, query):
    rep = learner(service, "wu").send(f"/search {query}")
    assert any(phrase in rep.text for phrase in ("想找什么", "找到", "没有找到")), rep.text
    rep.send(query)  # typed as the query too
    assert any(phrase in rep.text for phrase in ("想找什么", "找到", "没有找到", "请直接输入")), rep.text
    assert len(rep.last.text) < 4096


def test_a_forged_result_number_shows_the_results_again(service, storage):
    rep = learner(service, "zheng").send("/search 利润")
    button = rep.last.buttons[0]
    from dialogs.engine import Button, Event

    for forged in ("99", "-1", "x", ""):
        rep._take(service.handle(rep.who, Event.press(Button(button.trigger, "", forged))))
        assert "过期" in rep.text and "找到" in rep.text


def test_search_pauses_a_practice_and_keeps_one_search_session(service, storage):
    rep = learner(service, "feng").send("/train")
    rep.send("/search 利润")
    assert "/train" in rep.replies[0].text and "找到" in rep.text  # the course is paused, not lost
    rep.send("/search 破冰").send("/search margin")
    flows = storage.db.execute("SELECT flow, status FROM sessions ORDER BY id").fetchall()
    assert flows == [("course", "active"), ("search", "active")]
    rep.send("/train")
    assert "欢迎回来" in rep.text


# --- micro-lessons (pack.lessons, from the /learn branch) ---------------------------------------


@dataclass(frozen=True)
class PackWithLessons(Pack):
    lessons: tuple = ()


FIVE_MYTHS = SimpleNamespace(
    id="five_myths",
    title={"zh": "渠道建设的五个误区", "en": "Five myths of channel building"},
    pages=[
        {"zh": "误区一：经销商越多越好？数量多不等于卖得多，重叠的网点会互相抢客。",
         "en": "Myth one: are more dealers better? More outlets are not more sales; overlapping shops fight."},
        {"zh": "误区二：覆盖越密越好？密度要跟客户数量匹配，过密只会压低每家的利润。",
         "en": "Myth two: is denser coverage better? Too dense only cuts every shop's profit."},
    ],
)  # fmt: skip
SHARED_PROFIT = SimpleNamespace(
    id="shared_interest",
    title={"zh": "利益共同体：利润共享，责任共担", "en": "A community of shared interest: shared profit"},
    pages=[{"zh": "利益共同体的核心是利润共享。", "en": "At its heart a community of shared interest shares profit."}],
)


@pytest.fixture
def lesson_service(pack, storage):
    parts = {f.name: getattr(pack, f.name) for f in fields(pack)}  # the pack's own lessons, if any, replaced
    with_lessons = PackWithLessons(**{**parts, "lessons": (FIVE_MYTHS, SHARED_PROFIT)})
    return CoachService(storage, Engine(with_lessons, rng=random.Random(7)), default_locale="zh")


def test_lessons_are_indexed_and_found_in_both_languages(lesson_service):
    zh = learner(lesson_service, "he").send("/search 五个误区")
    assert zh.labels[0] == "1. 渠道建设的五个误区"
    en = learner(lesson_service, "eve", "en").send("/search myths")
    assert en.labels[0] == "1. Five myths of channel building"
    profit = learner(lesson_service, "lu").send("/search 利润")
    assert any("利益共同体" in label for label in profit.labels)
    assert any("利润与佣金" in label for label in profit.labels)  # and the margin card still


def test_a_lesson_opens_page_by_page(lesson_service):
    rep = learner(lesson_service, "ma").send("/search 五个误区").press("1.")
    assert "微课" in rep.text and "第 1/2 页" in rep.text and "误区一" in rep.text and "误区二" not in rep.text
    rep.press("下一段")
    assert "第 2/2 页" in rep.text and "误区二" in rep.text
    assert not any("下一段" in label for label in rep.labels)


def test_a_pack_without_lessons_has_no_lesson_results(pack, storage):
    bare = dataclasses.replace(pack, lessons=()) if getattr(pack, "lessons", None) else pack
    service = CoachService(storage, Engine(bare, rng=random.Random(7)), default_locale="zh")
    rep = learner(service, "gu").send("/search 五个误区")
    assert "找到" in rep.text and "（微课）" not in rep.text


def test_search_in_the_console(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COACH_DB": str(tmp_path / "c.db")}
    lines = ["/search clear space for you", "1"]  # words only the first margin card has all of; its button
    result = subprocess.run([sys.executable, "-m", "bot.cli", "chat", "--user", "c", "--locale", "en"],
                            input="\n".join(lines) + "\n", capture_output=True, text=True, env=env,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed, _, opened = result.stdout.partition("[1] 1. Margin and commission: Your")
    assert "1 result(s) for “clear space for you”" in listed
    assert "What they say" in opened and "Your commission is just too thin" in opened


def test_a_flow_whose_argument_names_no_trigger_is_refused_with_file_and_field(pack, tmp_path):
    from dialogs.engine import FlowError
    from dialogs.machines import FLOWS_DIR

    spec = (FLOWS_DIR / "search.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "search_copy.yaml"
    broken.write_text(
        spec.replace("name: search", "name: search_copy").replace("command: search", "command: search_copy")
        .replace("argument: query", "argument: qurey"),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(FlowError) as refused:
        Engine(pack, flow_dirs=(tmp_path,))
    assert f"{broken}: argument: no trigger 'qurey' in the machine" in [str(p) for p in refused.value.problems]


def test_the_packs_own_lessons_are_found_with_the_objection_cards(service, pack):
    """The issue's four searches, on the content pack as shipped (not a fixture)."""
    myths = pack.lesson("five_myths").title
    shared = pack.lesson("shared_interest").title
    margin = next(o for o in pack.objections if o.id == "margin_too_low")
    assert any(myths["zh"] in label for label in learner(service, "w1").send("/search 五个误区").labels[:3])
    assert any(myths["en"] in label for label in learner(service, "w2", "en").send("/search myths").labels[:3])
    for words, locale in (("利润", "zh"), ("margin", "en")):
        labels = learner(service, f"w-{locale}", locale).send(f"/search {words}").labels
        assert any(shared[locale][:12] in label for label in labels), (words, labels)  # labels are cut to fit
        assert any(margin.text[locale][:6] in label for label in labels), (words, labels)
