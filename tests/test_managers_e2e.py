"""End to end for managers: `coach run` as a real process, uploads over real HTTP to the fake Bot API.

Over the team log of tests/team_log.py: the manager's chat gets its own command menu; /team and
/progress send real PNG charts (multipart uploads the fake server parses), /export a CSV and an XLSX
that open with the team's rows; an invite link names the bot and enrols a newcomer once.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3

import pytest
from matplotlib import image
from openpyxl import load_workbook

from tests import team_log
from tests.fake_telegram import BOT_USER, TOKEN, FakeBotApiServer, buttons_of, callback_update, message_update, user
from tests.helpers import wait_until
from tests.team_log import MANAGER_A, PARTNER_A, REP_A
from tests.test_telegram_e2e import start_bot, stop


@pytest.fixture
def running(team_db, tmp_path, monkeypatch):
    db = team_log.copy_of(team_db, tmp_path)
    monkeypatch.setenv("COACH_MANAGER_IDS", "900,901")
    monkeypatch.setenv("COACH_ADMIN_IDS", "800")
    log_path = tmp_path / "bot.log"
    with FakeBotApiServer() as server:
        bot = start_bot(server, db, log_path)
        try:
            assert wait_until(lambda: len(_menus(server.api)[1]) >= 3), log_path.read_text()
            yield server.api, db, log_path
        finally:
            stop(bot)


def _menus(api) -> tuple[list[dict], list[dict]]:
    """(everyone's menus, chat-scoped menus) set so far."""
    calls = [p for m, p in api.calls if m == "setMyCommands"]
    return [p for p in calls if not p.get("scope")], [p for p in calls if (p.get("scope") or {}).get("type") == "chat"]


def team_a_turns(db) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT t.id FROM turns t JOIN users u ON u.id = t.user_id WHERE u.external_id IN (?, ?) ORDER BY t.id",
            [str(REP_A.telegram_id), str(PARTNER_A.telegram_id)],
        )
        return [row[0] for row in rows]
    finally:
        conn.close()


def inked(png: bytes) -> float:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    rgb = image.imread(io.BytesIO(png), format="png")[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())


def test_managers_get_their_own_menu_and_reps_never_see_manager_commands(running):
    api, _, _ = running
    everyone, scoped = _menus(api)
    assert everyone and all(not {"team", "rep", "export", "invite"} & {c["command"] for c in p["commands"]}
                            for p in everyone)  # fmt: skip
    chats = {p["scope"]["chat_id"] for p in scoped}
    assert chats == {800, 900, 901}  # the admin and both managers; no rep, no partner
    assert {"team", "rep", "export", "invite", "progress"} <= {c["command"] for c in scoped[0]["commands"]}


def ask_and_read(api, chat: int, text: str, name: str) -> None:
    """Send `text` and read its screen as a user does: press "more" (which edits it) until its last page,
    the one a chart comes with."""
    before = len(api.shown(chat))
    api.push(message_update(chat, text, name=name))
    for _ in range(30):
        assert wait_until(lambda seen=before: len(api.shown(chat)) > seen), [m["text"][:40] for m in api.shown(chat)]
        screen = api.messages[(chat, api.shown(chat)[-1]["message_id"])]
        more = next((data for label, data in buttons_of(screen) if "更多" in label), None)
        if more is None:
            return
        before = len(api.shown(chat))
        press = callback_update(chat, more, message=dict(screen))
        press["callback_query"]["from"] = user(chat, name)  # the presser keeps their name (it is stored)
        api.push(press)
    raise AssertionError(f"still more after 30 pages: {api.shown(chat)[-1]['text'][:80]!r}")


def test_team_and_progress_send_real_charts_and_export_sends_files_that_open(running):
    api, db, log_path = running
    manager, rep = MANAGER_A.telegram_id, REP_A.telegram_id
    ask_and_read(api, manager, "/team", MANAGER_A.name)
    (chart,) = api.wait_for_files(1, manager)
    assert chart.method == "sendPhoto" and inked(chart.content) > 0.01 and "团队" in chart.caption
    ask_and_read(api, rep, "/progress", REP_A.name)
    (progress,) = api.wait_for_files(1, rep)
    assert progress.method == "sendPhoto" and inked(progress.content) > 0.01
    api.push(message_update(manager, "/export csv", name=MANAGER_A.name))
    api.push(message_update(manager, "/export xlsx", name=MANAGER_A.name))
    _, as_csv, as_xlsx = api.wait_for_files(3, manager)
    expected = team_a_turns(db)
    assert as_csv.method == as_xlsx.method == "sendDocument"
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [int(r["turn_id"]) for r in rows] == expected
    header, *sheet_rows = list(load_workbook(io.BytesIO(as_xlsx.content), read_only=True)["turns"].values)
    assert [r[header.index("turn_id")] for r in sheet_rows] == expected
    assert {r[header.index("name")] for r in sheet_rows} == {REP_A.name, PARTNER_A.name}
    assert TOKEN not in log_path.read_text()


def test_an_invite_link_names_the_bot_and_works_once(running):
    api, db, _ = running
    manager = MANAGER_A.telegram_id
    api.push(message_update(manager, "/invite partner", name=MANAGER_A.name))
    link = re.search(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)", api.wait_for_sent(1, manager)[-1]["text"])
    assert link and link.group(1) == BOT_USER["username"] and len(link.group(2)) <= 64
    api.push(message_update(5555, f"/start {link.group(2)}", name="New"))
    assert "经理甲" in api.wait_for_sent(1, 5555)[-1]["text"]
    api.push(message_update(5556, f"/start {link.group(2)}", name="Late"))
    assert "已经被使用过" in api.wait_for_sent(1, 5556)[-1]["text"]
    conn = sqlite3.connect(db)
    try:
        roles = dict(conn.execute("SELECT external_id, role FROM users WHERE external_id IN ('5555', '5556')"))
    finally:
        conn.close()
    assert roles == {"5555": "partner", "5556": "rep"}
