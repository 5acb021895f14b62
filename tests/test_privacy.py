"""Who sees what, on Telegram through the fake Bot API: every manager command for every role.

A rep and a partner of team A, the manager of team B and the admin each send /team, /rep, /export
and /invite; a rep's transcript must reach only their own manager and the admin. "Nothing leaks"
is checked on everything the bot sent to that chat: message texts, button labels, captions and the
bytes of every file.
"""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from bot.storage import Storage
from tests import team_log
from tests.fake_telegram import buttons_of, callback_update, feed, message_update, recorded_application, user
from tests.team_log import ADMIN, MANAGER_A, MANAGER_B, PARTNER_A, REP_A, REP_B, TEAM_A_SECRETS

REFUSAL = "只对团队经理开放"


@pytest.fixture
def storage(team_db, tmp_path):
    store = Storage(team_log.copy_of(team_db, tmp_path))
    yield store
    store.close()


@pytest.fixture
async def bot(storage, pack):
    async with recorded_application(team_log.service_over(storage, pack)) as app_and_api:
        yield app_and_api


def everything_sent(api, chat: int) -> str:
    """All a chat received, as one text: every screen (a message as sent and as each edit left it), button
    labels, captions, and the files' contents."""
    parts = []
    for message in [*api.sent(chat), *api.shown(chat)]:
        parts.append(message["text"])
        parts += [label for label, _ in buttons_of(message)]
    for sent in api.files(chat):
        parts.append(sent.caption)
        if sent.filename.endswith(".xlsx"):
            sheet = load_workbook(io.BytesIO(sent.content), read_only=True).active
            parts += [json.dumps(row, ensure_ascii=False, default=str) for row in sheet.values]
        else:
            parts.append(sent.content.decode("utf-8", errors="replace"))
    return "\n".join(parts)


def secrets_of(team_db) -> list[str]:
    """Team A's members' names and the first words of each of their answers."""
    answers = team_log.answers_of(team_db, REP_A) + team_log.answers_of(team_db, PARTNER_A)
    return [*TEAM_A_SECRETS, *(a[:12] for a in answers)]


def rep_a_id(storage) -> int:
    return storage.find_user("telegram", str(REP_A.telegram_id)).id


COMMANDS = ["/team", "/rep 王小明", "/rep {rep_id}", "/export csv", "/export xlsx", "/export", "/invite rep", "/invite"]


@pytest.mark.parametrize("person", [REP_A, PARTNER_A], ids=["rep", "partner"])
@pytest.mark.parametrize("command", COMMANDS)
async def test_a_rep_and_a_partner_get_a_polite_refusal_and_nothing_else(bot, storage, team_db, person, command):
    app, api = bot
    await feed(app, message_update(person.telegram_id, command.format(rep_id=rep_a_id(storage))))
    sent = api.sent(person.telegram_id)
    assert len(sent) == 1 and REFUSAL in sent[0]["text"]
    assert api.files(person.telegram_id) == []
    seen = everything_sent(api, person.telegram_id)
    assert not [s for s in secrets_of(team_db) if s != person.name and s in seen]
    assert storage.db.execute("SELECT COUNT(*) FROM invites WHERE created_by = (SELECT id FROM users WHERE"
                              " external_id = ?)", [str(person.telegram_id)]).fetchone()[0] == 0  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
async def test_the_manager_of_another_team_sees_nothing_of_team_a(bot, storage, team_db, command):
    app, api = bot
    typed = command.format(rep_id=rep_a_id(storage))
    await feed(app, message_update(MANAGER_B.telegram_id, typed))
    seen = everything_sent(api, MANAGER_B.telegram_id)
    assert seen.strip() and REFUSAL not in seen  # a manager is answered, about their own team
    asked = typed.partition(" ")[2]
    seen = seen.replace(f"「{asked}」", "") if asked else seen  # "no member called 「王小明」" echoes what Bob typed
    assert not [s for s in secrets_of(team_db) if s in seen]


async def test_the_other_manager_finds_no_such_member_and_sees_their_own_team(bot, storage):
    app, api = bot
    await feed(app, message_update(MANAGER_B.telegram_id, "/rep 王小明"))
    assert "没有叫「王小明」的成员" in api.sent(MANAGER_B.telegram_id)[-1]["text"]
    await feed(app, message_update(MANAGER_B.telegram_id, "/team"))
    overview = api.sent(MANAGER_B.telegram_id)[-1]["text"]
    assert REP_B.name in overview and "1 人" in overview


async def test_forged_presses_pointing_into_team_a_find_nothing(bot, storage, team_db):
    """Bob's own keyboards, with the argument swapped for team A's member and session ids."""
    app, api = bot
    bob = MANAGER_B.telegram_id
    await feed(app, message_update(bob, "/rep"))
    zhao = next(data for label, data in buttons_of(api.sent(bob)[-1]) if label == REP_B.name)
    forged_member = zhao.rsplit("|", 1)[0] + f"|{rep_a_id(storage)}"
    await feed(app, callback_update(bob, forged_member))
    await feed(app, message_update(bob, f"/rep {REP_B.name}"))
    a_session = storage.db.execute(
        "SELECT id FROM sessions WHERE user_id = ? AND flow = 'course'", [rep_a_id(storage)]
    ).fetchone()[0]
    back = next(data for label, data in buttons_of(api.sent(bob)[-1]) if "换一位" in label)
    forged_session = back.rsplit("|", 2)[0] + f"|open|{a_session}"
    await feed(app, callback_update(bob, forged_session))
    assert "过期" in api.sent(bob)[-1]["text"]
    assert not [s for s in secrets_of(team_db) if s in everything_sent(api, bob)]


async def read_screen(app, api, chat: int, name: str) -> str:
    """The newest screen as the user reads it: every page, pressing "more" (which edits it) to the last."""
    pages = []
    for _ in range(30):
        screen = api.shown(chat)[-1]
        pages.append(screen["text"])
        more = next((data for label, data in buttons_of(screen) if "更多" in label), None)
        if more is None:
            return "\n".join(pages)
        press = callback_update(chat, more, message=dict(api.messages[(chat, screen["message_id"])]))
        press["callback_query"]["from"] = user(chat, name)  # the presser keeps their name (it is stored)
        await feed(app, press)
    raise AssertionError(f"still more after 30 pages: {pages[-1][:80]!r}")


async def test_team_a_manager_and_the_admin_see_team_a(bot, storage, team_db):
    app, api = bot
    overviews = {}
    for person in (MANAGER_A, ADMIN):
        await feed(app, message_update(person.telegram_id, "/team"))
        overviews[person.name] = overview = await read_screen(app, api, person.telegram_id, person.name)
        await feed(app, message_update(person.telegram_id, "/rep 王小明"))
        sessions = await read_screen(app, api, person.telegram_id, person.name)
        assert all(name in overview for name in TEAM_A_SECRETS)
        assert "course" in sessions and REP_A.name in sessions
        assert [f.method for f in api.files(person.telegram_id)] == ["sendPhoto"]  # the chart, with the last page
    admin_overview = overviews[ADMIN.name]
    assert REP_B.name in admin_overview and "所有团队" in admin_overview  # the admin sees every team
    assert REP_B.name not in overviews[MANAGER_A.name]
    assert REP_B.name not in everything_sent(api, MANAGER_A.telegram_id)


async def test_the_admin_exports_every_team_and_a_manager_only_theirs(bot, storage):
    app, api = bot
    for person in (ADMIN, MANAGER_A):
        await feed(app, message_update(person.telegram_id, "/export xlsx"))
    exported = {}
    for person in (ADMIN, MANAGER_A):
        (sent,) = api.files(person.telegram_id)
        sheet = load_workbook(io.BytesIO(sent.content), read_only=True)["turns"]
        header, *rows = list(sheet.values)
        exported[person.name] = {row[header.index("name")] for row in rows}
    assert exported[MANAGER_A.name] == set(TEAM_A_SECRETS)
    assert set(TEAM_A_SECRETS) | {REP_B.name} <= exported[ADMIN.name]
