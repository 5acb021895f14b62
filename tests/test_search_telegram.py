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


def result_button(message: dict, title_part: str) -> str:
    return next(data for label, data in buttons_of(message) if title_part in label)


async def test_search_press_a_result_and_the_item_is_shown(bot, pack, storage):
    app, api = bot
    await register_commands(app)
    menus = {p.get("language_code"): p["commands"] for m, p in api.calls if m == "setMyCommands"}
    assert any(c["command"] == "search" for c in menus["zh"]) and any(c["command"] == "search" for c in menus["en"])

    await feed(app, message_update(REP, "/search 利润"))
    results = api.sent(REP)[-1]
    assert results["parse_mode"] == "HTML" and "<b>利润</b>" in results["text"] and "利润与佣金" in results["text"]
    await feed(app, callback_update(REP, result_button(results, "利润与佣金：你们")))
    item = api.sent(REP)[-1]
    assert "示范回答" in item["text"] and pack.objection("margin_too_low").text.zh in item["text"]
    assert [label for label, _ in buttons_of(item)] == ["返回搜索结果"]

    await feed(app, callback_update(REP, result_button(results, "利润与佣金：你们")))  # the old keyboard again
    assert "过期" in api.sent(REP)[-1]["text"]
    assert storage.db.execute("SELECT flow, status FROM sessions").fetchall() == [("search", "active")]


async def test_search_in_english_on_telegram_and_a_hostile_query(bot):
    app, api = bot
    await feed(app, message_update(REP + 1, "/search", language_code="en"))
    assert "What are you looking for?" in api.sent(REP + 1)[-1]["text"]
    await feed(app, message_update(REP + 1, "margin"))
    results = api.sent(REP + 1)[-1]
    await feed(app, callback_update(REP + 1, result_button(results, "Margin and commission: Your")))
    assert "What they say" in api.sent(REP + 1)[-1]["text"]
    for hostile in ('"', "NEAR(", "*", "OR", "x" * 2000):
        await feed(app, message_update(REP, f"/search {hostile}"))
        reply = api.sent(REP)[-1]["text"]
        assert any(phrase in reply for phrase in ("想找什么", "找到", "没有找到")), reply
