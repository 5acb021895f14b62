"""Phone-sized screens: over every screen of a full course, two role-plays and a drill, in each
language, in the console and on Telegram, no message is longer than 12 lines (a line is 40
columns, a Chinese character takes two) unless it pages — and long ones do page.

The console is measured as it prints (text and numbered options, through ConsoleChat);
Telegram as the fake Bot API was asked to show it (every message sent and every edit).
"""

from __future__ import annotations

import random

import pytest

from bot.console.chat import ConsoleChat
from bot.console.wording import for_console
from bot.service import CoachService, Identity
from dialogs.engine import Engine, Event, Reply
from dialogs.paging import FOLD_TRIGGER, MORE_TRIGGER, PAGE_LINES, page_from, page_starts, screen_lines
from tests.fake_telegram import recorded_application
from tests.helpers import assert_telegram_html, plain
from tests.screens_tour import ConsoleFront, ConsoleRecorder, tour
from tests.telegram_tour import run_tour

LOCALES = ["zh", "en"]


def over_the_limit(texts: list[str]) -> list[tuple[int, str]]:
    return [(screen_lines(t), t[:120]) for t in texts if screen_lines(t) > PAGE_LINES]


def assert_the_tour_went_everywhere(replies: list[Reply]) -> None:
    """The tour reached the end of each part (so the measurement covers them) and opened the folds."""
    text = "\n".join(plain(r.text) for r in replies)
    for marker in ("课程完成", "Course complete"), ("教练点评", "Coach's review"), ("下次复习", "Next review"):
        assert any(m in text for m in marker), f"the tour never reached {marker}"
    for marker in ("全部评分要点", "Every check"), ("参考示范", "Model answer"):
        assert any(m in text for m in marker), f"the tour never opened {marker}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_console_screen_fits_a_phone(storage, pack, locale):
    engine = Engine(for_console(pack), rng=random.Random(7), option_lines=True)
    who = Identity("console", f"phone-{locale}", "Li")
    service = CoachService(storage, engine)
    service.set_locale(who, locale)
    recorder = ConsoleRecorder()
    replies = tour(ConsoleFront(ConsoleChat(service, who, recorder), recorder), locale)
    assert_the_tour_went_everywhere(replies)
    assert len(recorder.printed) > 100
    assert over_the_limit(recorder.printed) == []


@pytest.mark.parametrize("locale", LOCALES)
async def test_every_telegram_screen_fits_a_phone(storage, engine, locale):
    async with recorded_application(CoachService(storage, engine)) as (app, api):
        replies, _ = await run_tour(app, api, 7, locale)
    assert_the_tour_went_everywhere(replies)
    assert any(b.trigger == MORE_TRIGGER for r in replies for b in r.buttons)  # long screens paged
    shown = [m["text"] for m in api.shown(7)]
    assert len(shown) > 100
    assert over_the_limit(shown) == []
    for text in shown:
        assert_telegram_html(text)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_long_lesson_pages_and_its_pages_hold_the_whole_screen(service, pack, locale):
    """Read page by page, the lesson says everything the unpaged lesson says, in order, nothing twice."""
    who = Identity("console", f"pages-{locale}", "Li")
    service.set_locale(who, locale)
    intro, _ = read_to_end(service, who, service.handle(who, Event.from_text("/train"))[-1])
    first = service.handle(who, press(intro, "begin"))[-1]
    pages = [first]
    while more := [b for b in pages[-1].buttons if b.trigger == MORE_TRIGGER]:
        assert pages[-1].buttons == (more[0],)  # the flow's own buttons wait for the last page
        pages += service.handle(who, press(pages[-1], MORE_TRIGGER))
    assert len(pages) > 1
    assert {"show_model", "practise"} <= {b.trigger for b in pages[-1].buttons}  # (and "change dealer")
    read = "".join("".join(plain(p.text).split()) for p in pages)
    step = pack.steps[0]
    for technique in step.techniques:  # every technique, in order
        assert "".join(technique.name[locale].split()) in read
    positions = [read.index("".join(t.name[locale].split())) for t in step.techniques]
    assert positions == sorted(positions)
    assert read.count("".join(step.title[locale].split())) == 1


def test_pages_cut_at_paragraphs_keep_tags_balanced_and_lose_nothing():
    paragraph = "<b>标题</b>\n" + "这是一个很长的句子，用来测试分页。" * 3
    text = "\n\n".join([paragraph] * 6) + "\n<i>" + "斜体的最后一段，" * 40 + "</i>"
    starts = page_starts(text)
    pages = [page_from(text, start)[0] for start in starts]
    assert len(pages) > 3
    for page in pages:
        assert screen_lines(page) <= PAGE_LINES
        assert_telegram_html(page)  # a tag open at a cut is closed, and opened again on the next page
    assert "".join("".join(plain(p).split()) for p in pages) == "".join(plain(text).split())


def test_a_rendered_screen_cut_inside_a_quote_closes_the_quote_as_a_tag():
    """A screen rendered from a template is Markup; the tag closing a page must stay a tag, not become
    visible text ("&lt;/blockquote&gt;" on a /rep transcript page, found by the managers' fuzz test)."""
    from markupsafe import Markup

    quote = "王老板，您刚说宽带这块最近不好做，具体是哪种情况多一些？是客户嫌贵，还是装机慢跑单了？" * 6
    text = Markup("<b>王小明</b> · 第 2/5 条\n\n<blockquote>{}</blockquote>").format(quote)
    pages = [page_from(text, start)[0] for start in page_starts(text)]
    assert len(pages) > 1
    for page in pages:
        assert_telegram_html(page)
        assert "&lt;" not in page


def test_lines_are_counted_as_a_phone_wraps_them():
    assert screen_lines("好" * 20) == 1 and screen_lines("好" * 21) == 2  # 2 columns each, 40 to a line
    assert screen_lines("a" * 40) == 1 and screen_lines("a" * 41) == 2
    words = " ".join(["dealer's"] * 5)  # 44 columns: the fifth word goes to the next line whole
    assert screen_lines(words) == 2
    assert screen_lines("好" * 19 + "。") == 1 and screen_lines("好" * 20 + "。") == 2  # 。never starts a line
    assert screen_lines("<b>bold</b> &amp;\n\nnext") == 3  # tags take no room, a blank line does


def test_a_review_leads_with_the_one_thing_to_fix_and_offers_the_rest(service, pack):
    who = Identity("console", "review", "Li")
    screen, _ = read_to_end(service, who, service.handle(who, Event.from_text("/train"))[-1])
    for trigger in ("begin", "practise"):
        screen, _ = read_to_end(service, who, service.handle(who, press(screen, trigger))[-1])
    review = service.handle(who, Event.from_text("王老板您好，我是青禾的小李。"))[-1]
    assert "最该改的一点" in plain(review.text) and screen_lines(review.text) <= PAGE_LINES
    assert [b.trigger for b in review.buttons][:2] == ["retry", "next_step"]  # the flow's buttons keep their place
    assert FOLD_TRIGGER in {b.trigger for b in review.buttons}
    _, every = read_to_end(service, who, service.handle(who, press(review, FOLD_TRIGGER))[-1])
    for check in pack.steps[0].rubric:
        assert check.label["zh"] in every


def press(reply: Reply, trigger: str) -> Event:
    button = next(b for b in reply.buttons if b.trigger == trigger)
    return Event.press(button, reply.session_id, reply.state, reply.version)


def read_to_end(service, who, reply: Reply) -> tuple[Reply, str]:
    """A screen read to its last page: the last page, and every page's text."""
    texts = [plain(reply.text)]
    while any(b.trigger == MORE_TRIGGER for b in reply.buttons):
        reply = service.handle(who, press(reply, MORE_TRIGGER))[-1]
        texts.append(plain(reply.text))
    return reply, "\n".join(texts)
