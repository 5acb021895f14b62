"""The plug-in flow of tests/fixtures/flows on Telegram: in the command menu, started by its
command, answered, and its dynamic buttons pressed through callback data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import CoachService
from bot.telegram.app import register_commands
from dialogs.engine import Engine
from tests.fake_telegram import buttons_of, callback_update, feed, message_update, recorded_application

WARMUP_DIR = Path(__file__).parent / "fixtures" / "flows"


@pytest.fixture
async def bot(storage, pack):
    async with recorded_application(CoachService(storage, Engine(pack, flow_dirs=(WARMUP_DIR,)))) as app_and_api:
        yield app_and_api


async def test_a_plug_in_flow_runs_on_telegram(bot, storage):
    app, api = bot
    await register_commands(app)
    menus = {p.get("language_code"): p["commands"] for m, p in api.calls if m == "setMyCommands"}
    assert any(c["command"] == "warmup" and "热身" in c["description"] for c in menus["zh"])
    assert any(c["command"] == "warmup" and "Warm-up" in c["description"] for c in menus["en"])
    await feed(app, message_update(7, "/warmup"), message_update(7, "拜访了 王老板 的店"))
    echo = api.sent(7)[-1]
    assert "拜访了 王老板 的店" in echo["text"] and "3 个词" in echo["text"] and echo["parse_mode"] == "HTML"
    mood = next(data for label, data in buttons_of(echo) if "🙂" in label)
    await feed(app, callback_update(7, mood))
    assert "热身完成" in api.sent(7)[-1]["text"]
    await feed(app, callback_update(7, mood))  # the same keyboard again: the session is over
    assert "过期" in api.sent(7)[-1]["text"]
    assert storage.db.execute("SELECT flow, status FROM sessions").fetchall() == [("warmup", "finished")]
