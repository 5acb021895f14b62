"""/search on Telegram, over real HTTP to the local fake Bot API: search, press a result, see the item."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.telegram.app import build_application, register_commands
from tests.fake_telegram import TOKEN, FakeBotApiServer, buttons_of, callback_update, feed, message_update

REP = 5151


@pytest.fixture
async def bot(service):
    with FakeBotApiServer() as server:
        app = build_application(Settings(token=TOKEN, api_base_url=server.base_url), service)
        await app.initialize()  # PTB's own HTTP client, talking to the fake server
        try:
            yield app, server.api
        finally:
            await app.shutdown()


MORE = ("更多", "More")  # the button that shows a screen's next page


def result_button(message: dict, title_part: str) -> str:
    found = next((data for label, data in buttons_of(message) if title_part in label), None)
    assert found, f"no button {title_part!r} in {buttons_of(message)}"
    return found


async def press(app, chat: int, message: dict, data: str) -> None:
    """Press a button of `message`, as Telegram reports it (the pressed message's id)."""
    await feed(app, callback_update(chat, data, message_id=message["message_id"]))


async def read(app, api, chat: int) -> tuple[str, dict]:
    """The newest screen read to its end as a user does (pressing "more" page after page): all its
    pages' text, and its last page (where the flow's own buttons are)."""
    pages = [api.shown(chat)[-1]]
    for _ in range(30):
        more = next((data for label, data in buttons_of(pages[-1]) if label.startswith(MORE)), None)
        if more is None:
            return "\n".join(page["text"] for page in pages), pages[-1]
        await press(app, chat, pages[-1], more)
        pages.append(api.shown(chat)[-1])
    raise AssertionError("a screen of more than 30 pages")


def all_html(api, chat: int) -> bool:
    """Every message sent or edited for `chat` was HTML."""
    shown = [p for m, p in api.calls if m in ("sendMessage", "editMessageText") and p["chat_id"] == chat]
    return bool(shown) and all(p.get("parse_mode") == "HTML" for p in shown)


async def test_search_press_a_result_and_the_item_is_shown(bot, pack, storage):
    app, api = bot
    await register_commands(app)
    menus = {p.get("language_code"): p["commands"] for m, p in api.calls if m == "setMyCommands"}
    assert any(c["command"] == "search" for c in menus["zh"]) and any(c["command"] == "search" for c in menus["en"])

    await feed(app, message_update(REP, "/search 利润"))
    text, results = await read(app, api, REP)
    assert all_html(api, REP) and "<b>利润</b>" in text and "利润与佣金" in text
    await press(app, REP, results, result_button(results, "利润与佣金：你们"))
    text, item = await read(app, api, REP)
    assert "示范回答" in text and pack.objection("margin_too_low").text.zh in text
    assert [label for label, _ in buttons_of(item)] == ["返回搜索结果"]

    await press(app, REP, results, result_button(results, "利润与佣金：你们"))  # the old keyboard again
    assert "过期" in api.shown(REP)[-1]["text"]
    assert storage.db.execute("SELECT flow, status FROM sessions").fetchall() == [("search", "active")]


async def test_search_in_english_on_telegram_and_a_hostile_query(bot):
    app, api = bot
    await feed(app, message_update(REP + 1, "/search", language_code="en"))
    assert "What are you looking for?" in api.shown(REP + 1)[-1]["text"]
    await feed(app, message_update(REP + 1, "margin"))
    _, results = await read(app, api, REP + 1)
    await press(app, REP + 1, results, result_button(results, "Margin and commission: Your"))
    assert "What they say" in (await read(app, api, REP + 1))[0]
    for hostile in ('"', "NEAR(", "*", "OR", "x" * 2000):
        await feed(app, message_update(REP, f"/search {hostile}"))
        reply = api.shown(REP)[-1]["text"]
        assert any(phrase in reply for phrase in ("想找什么", "找到", "没有找到")), reply
