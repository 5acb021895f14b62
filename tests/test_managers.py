"""Managers through the service and a real SQLite file: roles, invite links, /team, /rep, re-scoring, /progress,
`coach report --calibration`, `coach export --team`, the Datasette query, /forget_me, retention, the console."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import threading
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib import image

from bot.cli import main
from bot.console import ConsoleChat
from bot.console.terminal import PlainScreen
from bot.digest import weekly_digests
from bot.review import build_datasette
from bot.service import CoachService, Identity
from bot.storage import Storage
from bot.telegram import menus
from bot.telegram.app import register_commands
from dialogs.engine import Engine, Event
from tests import team_log
from tests.fake_telegram import feed, message_update, recorded_application
from tests.helpers import Learner, assert_telegram_html
from tests.manager_log import answer
from tests.team_log import ADMIN, MANAGER_A, MANAGER_B, PARTNER_A, REP_A, REP_B, STAFF, Person


@pytest.fixture
def db(team_db, tmp_path):
    return team_log.copy_of(team_db, tmp_path)


@pytest.fixture
def storage(db):
    store = Storage(db)
    yield store
    store.close()


@pytest.fixture
def service(storage, pack):
    return team_log.service_over(storage, pack)


def as_(service, person: Person) -> Learner:
    return Learner(service, person.identity)


def user_row(storage, person: Person):
    return storage.find_user("telegram", str(person.telegram_id))


def team_of(storage, person: Person):
    query = "SELECT team_id FROM users WHERE external_id = ?"
    return storage.db.execute(query, [str(person.telegram_id)]).fetchone()[0]


def png_pixels(data: bytes):
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    rgb = image.imread(io.BytesIO(data), format="png")[..., :3]
    return rgb


# --- roles and invites ---------------------------------------------------------------------------


def test_configured_staff_get_their_role_and_everyone_else_is_a_rep(storage):
    assert user_row(storage, ADMIN).role == "admin"
    assert user_row(storage, MANAGER_A).role == user_row(storage, MANAGER_B).role == "manager"
    assert user_row(storage, REP_A).role == "rep" and user_row(storage, PARTNER_A).role == "partner"


def test_a_manager_no_longer_configured_becomes_a_rep_at_start_up(storage, pack):
    service = CoachService(storage, Engine(pack), staff=team_log.Staff(manager_ids=frozenset({"900"})))
    changed = service.sync_staff()
    assert {(row.external_id, row.role) for row in changed} == {("800", "rep"), ("901", "rep")}
    assert "只对团队经理开放" in as_(service, MANAGER_B).send("/team").text


def test_an_invite_link_enrols_one_person_into_the_right_team_and_role_once(service, storage):
    manager = as_(service, MANAGER_A)
    code = team_log.invite_code(manager, "partner")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code)
    newcomer, second = Person("新人", 3001), Person("Second", 3002)
    joined = as_(service, newcomer).send(f"/start {code}")
    assert "经理甲" in joined.text and "渠道商" in joined.text
    assert team_of(storage, newcomer) == team_of(storage, REP_A)
    assert (user_row(storage, newcomer).role, user_row(storage, newcomer).learner) == ("partner", "partner")
    refused = as_(service, second).send(f"/start {code}")
    assert "已经被使用过" in refused.text
    assert team_of(storage, second) is None and user_row(storage, second).role == "rep"
    again = as_(service, newcomer).send(f"/start {code}")  # the same person, the same link again
    assert "已经被使用过" in again.text


def test_an_expired_code_is_refused_and_enrols_nobody(storage, pack):
    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    past = CoachService(storage, Engine(pack, clock=lambda: eight_days_ago), staff=STAFF)
    code = team_log.invite_code(as_(past, MANAGER_A), "rep")
    late = Person("Late", 3003)
    now = team_log.service_over(storage, pack)
    assert "已过期" in as_(now, late).send(f"/start {code}").text
    assert team_of(storage, late) is None


@pytest.mark.parametrize("code", ["nope", "x" * 65, "bad code!", "<b>"])
def test_an_unknown_or_malformed_code_gets_a_clear_message(service, storage, code):
    stranger = Person("Stranger", 3004)
    assert "邀请链接无效" in as_(service, stranger).send(f"/start {code}").text
    assert team_of(storage, stranger) is None


def test_a_manager_opening_an_invite_stays_a_manager(service, storage):
    code = team_log.invite_code(as_(service, MANAGER_A), "rep")
    assert "你是经理" in as_(service, MANAGER_B).send(f"/start {code}").text
    assert user_row(storage, MANAGER_B).role == "manager"
    assert as_(service, Person("Still open", 3005)).send(f"/start {code}").text.startswith("欢迎")


def test_a_rep_without_a_team_practises_as_before(service, storage, pack):
    loner = Person("Loner", 3006)
    learner = as_(service, loner).send("/start").press("渠道经理").send("/train")
    learner.press(pack.products[0].name["zh"]).press("我来练习").send(answer("icebreaking", 3))
    assert team_of(storage, loner) is None
    assert [s["step"] for s in storage.scores(user_row(storage, loner).id)] == ["icebreaking"]
    assert "只对团队经理开放" in learner.send("/team").text


def test_reps_do_not_see_manager_commands_in_help_and_managers_do(service):
    rep_help = as_(service, REP_A).send("/help").text
    manager_help = as_(service, MANAGER_A).send("/help").text
    for command in ("/team", "/rep", "/export", "/invite"):
        assert command not in rep_help and command in manager_help
    assert "/progress" in rep_help


# --- /team, /rep and re-scoring ----------------------------------------------------------------------


def test_team_lists_each_member_with_their_weakest_step_and_a_chart(service, pack):
    team = as_(service, MANAGER_A).send("/team")
    text = team.text
    assert "我的团队（2 人）" in text
    rep_line = text[text.index(REP_A.name) :].split("\n\n")[0]
    assert "最弱：" + pack.step("value_presentation").title["zh"] in rep_line
    (chart,) = team.last.attachments
    assert chart.kind == "photo" and chart.filename.endswith(".png")
    assert (png_pixels(chart.data).min(axis=-1) < 0.9).mean() > 0.01
    assert {REP_A.name, PARTNER_A.name} <= set(team.labels)


def open_first_answer(service) -> Learner:
    manager = as_(service, MANAGER_A).send(f"/rep {REP_A.name}")
    return manager.press("course")


def test_a_transcript_page_shows_the_answer_its_score_and_the_quoted_evidence(service, storage, team_db):
    page = open_first_answer(service)
    first_answer = team_log.answers_of(team_db, REP_A)[0]
    assert "第 1/5 条" in page.text and first_answer[:20] in page.text
    machine = storage.db.execute(
        "SELECT score FROM scores WHERE user_id = ? ORDER BY id", [user_row(storage, REP_A).id]
    ).fetchone()[0]
    assert f"机器评分：{machine} 分" in page.text
    quoted = re.findall(r"「([^」]+)」", page.text)
    assert quoted and all(q in first_answer for q in quoted)  # the evidence is the rep's own words
    assert "第 2/5 条" in page.press("下一条").text


def rescore(service, score: str, disagree_with: int | None = 0) -> Learner:
    manager = open_first_answer(service).press("重新评分").press(score)
    if disagree_with is not None:
        check = [b for b in manager.last.buttons if b.trigger == "toggle"][disagree_with]
        manager.press(check.label)
    return manager.press("保存评分")


def test_an_override_is_stored_beside_the_machine_score_which_stays(service, storage):
    before = storage.scores(user_row(storage, REP_A).id)
    saved = rescore(service, "30")
    assert "已保存你的评分 30" in saved.text
    after = storage.scores(user_row(storage, REP_A).id)
    assert [s["score"] for s in after] == [s["score"] for s in before]  # the machine's scores are untouched
    query = "SELECT score_id, user_id, manager_id, score, disagreed_checks FROM score_overrides"
    (override,) = storage.db.execute(query)
    assert override[0] == before[0]["id"] and override[1] == user_row(storage, REP_A).id
    assert override[2] == user_row(storage, MANAGER_A).id and override[3] == 30
    first_check = json.loads(before[0]["checks"])[0]["id"]  # the first check shown is the one disputed
    assert json.loads(override[4]) == [first_check]
    page = saved.press("回到这条回答")
    assert "经理评分：30 分（经理甲" in page.text and f"机器评分：{before[0]['score']} 分" in page.text


def test_the_learner_sees_the_managers_score_in_progress(service, storage):
    machine = storage.scores(user_row(storage, REP_A).id)[0]["score"]
    rescore(service, "20", disagree_with=None)
    progress = as_(service, REP_A).send("/progress")
    assert f"最近 20 分（经理评分；机器 {machine}）" in progress.text
    (chart,) = progress.last.attachments
    assert chart.kind == "photo" and (png_pixels(chart.data).min(axis=-1) < 0.9).mean() > 0.01


def test_a_typed_score_outside_0_to_100_is_asked_again(service):
    asked = open_first_answer(service).press("重新评分")
    again = asked.send("250")
    assert "你给几分" in again.text
    assert "你的评分：<b>85</b>" in again.send("85").last.text


def test_calibration_report_counts_agreement_per_check(service, storage, db, capsys):
    rescore(service, "30", disagree_with=0)
    rescore(service, "40", disagree_with=None)
    checks = [c["id"] for c in json.loads(storage.scores(user_row(storage, REP_A).id)[0]["checks"])]
    assert main(["report", "--calibration", "--db", str(db), "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert "2 answer(s)" in out
    disputed = next(line for line in out.splitlines() if f" {checks[0]} " in line)
    assert re.search(r"│\s+2\s+│\s+1\s+│\s+50%", disputed)
    undisputed = next(line for line in out.splitlines() if f" {checks[1]} " in line)
    assert re.search(r"│\s+2\s+│\s+2\s+│\s+100%", undisputed)


async def test_datasette_shows_the_override_beside_the_machine_score(service, storage, db):
    rescore(service, "30", disagree_with=None)
    machine = storage.scores(user_row(storage, REP_A).id)[0]["score"]
    datasette = build_datasette(db)
    await datasette.invoke_startup()
    response = await datasette.client.get("/coach/manager_overrides.json?_shape=array")
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["rep"], row["manager"], row["machine_score"], row["manager_score"]) == (
        REP_A.name, MANAGER_A.name, machine, 30)  # fmt: skip


# --- exports, /forget_me, retention, the console -----------------------------------------------------


def test_export_sends_the_teams_log_as_csv_with_the_right_rows(service, storage):
    sent = as_(service, MANAGER_A).send("/export csv")
    (document,) = sent.last.attachments
    assert document.kind == "document" and document.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(document.data.decode("utf-8-sig"))))
    members = [user_row(storage, p).id for p in (REP_A, PARTNER_A)]
    expected = [t["id"] for t in storage.turns() if t["user_id"] in members]
    assert [int(r["turn_id"]) for r in rows] == expected
    assert f"{len(expected)} 行" in sent.text


def test_coach_export_of_one_team(service, storage, db, tmp_path):
    out = tmp_path / "b.csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", str(db), "--team", MANAGER_B.name]) == 0
    with out.open(encoding="utf-8-sig") as handle:
        names = {row["name"] for row in csv.DictReader(handle)}
    assert names == {MANAGER_B.name, REP_B.name}
    assert main(["export", "--format", "csv", "--out", str(out), "--db", str(db), "--team", "nobody"]) == 2


def forget(service, person: Person) -> None:
    asked = as_(service, person).send("/forget_me")
    asked.press_trigger("confirm")


def test_forget_me_removes_overrides_invites_and_team_membership(service, storage):
    rescore(service, "30", disagree_with=None)
    team_log.invite_code(as_(service, MANAGER_A), "rep")
    rep_id = user_row(storage, REP_A).id
    forget(service, REP_A)
    assert storage.db.execute("SELECT COUNT(*) FROM score_overrides WHERE user_id = ?", [rep_id]).fetchone()[0] == 0
    assert storage.db.execute("SELECT COUNT(*) FROM invites WHERE used_by = ?", [rep_id]).fetchone()[0] == 0
    forget(service, MANAGER_A)
    counts = [storage.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("score_overrides", "invites")]
    assert counts == [0, 1]  # only team B's invite is left
    assert team_of(storage, PARTNER_A) is None  # the team went with its manager; the member stays, teamless
    assert storage.db.execute("SELECT COUNT(*) FROM teams").fetchone()[0] == 1


def test_retention_deletes_only_turns_older_than_the_limit(service, storage):
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="milliseconds")
    total = len(storage.turns())
    storage.db.execute("UPDATE turns SET created_at = ? WHERE id IN (SELECT id FROM turns ORDER BY id LIMIT 5)", [old])
    assert service.prune_turns(30) == 5
    assert len(storage.turns()) == total - 5
    assert service.prune_turns(30) == 0


def test_the_console_saves_a_chart_beside_the_database_and_prints_where(service, tmp_path, pack):
    out = io.StringIO()
    chat = ConsoleChat(service, MANAGER_A.identity, PlainScreen(out), files=tmp_path / "coach.db.files")
    chat.show(service.handle(MANAGER_A.identity, chat.event_for("/team")))
    (saved,) = (tmp_path / "coach.db.files").iterdir()
    assert saved.suffix == ".png" and saved.read_bytes().startswith(b"\x89PNG")
    assert str(saved) in out.getvalue()


def test_console_invites_are_shown_as_a_start_command(tmp_path, pack):
    storage = Storage(tmp_path / "c.db")
    try:
        console = CoachService(storage, Engine(pack, rng=random.Random(1)),
                               staff=team_log.Staff(manager_ids=frozenset({"boss"}), channel="console"))  # fmt: skip
        made = Learner(console, Identity("console", "boss", "Boss")).send("/invite rep")
        code = re.search(r"/start ([A-Za-z0-9_-]+)", made.text).group(1)
        assert "t.me" not in made.text
        joined = Learner(console, Identity("console", "amy", "Amy")).send(f"/start {code}")
        assert "Boss" in joined.text
    finally:
        storage.close()


# --- the weekly digest, menus by role, and manager flows under fuzzing ----------------------------------


def test_the_weekly_digest_goes_to_opted_in_managers_with_their_own_team_only(service, storage):
    assert weekly_digests(service, "telegram") == []  # nobody opted in yet
    opted = as_(service, MANAGER_A).send("/team").press("每周一发我团队周报")
    assert "已订阅每周团队周报" in opted.text and "不再发团队周报" in opted.labels
    ((chat, text),) = weekly_digests(service, "telegram")
    assert chat == str(MANAGER_A.telegram_id)
    assert REP_A.name in text and PARTNER_A.name in text and REP_B.name not in text
    assert "2/2 人练习过" in text
    as_(service, MANAGER_A).send("/team digest off")
    assert weekly_digests(service, "telegram") == []


async def test_a_configured_manager_gets_the_manager_menu_on_first_contact(storage, pack):
    service = team_log.service_over(storage, pack)
    async with recorded_application(service) as (app, api):
        await feed(app, message_update(4444, "/start"))  # a rep: no menu of their own
        service.staff = team_log.Staff(manager_ids=frozenset({"4445"}))
        await feed(app, message_update(4445, "/start"))
        scoped = [p for m, p in api.calls if m == "setMyCommands" and p.get("scope")]
        assert [p["scope"] for p in scoped] == [{"type": "chat", "chat_id": 4445}]
        assert "team" in {c["command"] for c in scoped[0]["commands"]}
        assert user_row(storage, Person("", 4445)).role == "manager"


async def test_a_manager_taken_off_the_list_loses_the_manager_menu_at_start_up(storage, pack):
    service = CoachService(storage, Engine(pack), staff=team_log.Staff(manager_ids=frozenset({"900"})))
    async with recorded_application(service) as (app, api):
        await register_commands(app)
        removed = [p["scope"]["chat_id"] for m, p in api.calls if m == "deleteMyCommands"]
        given = [p["scope"]["chat_id"] for m, p in api.calls if m == "setMyCommands" and p.get("scope")]
    assert sorted(removed) == [800, 901] and given == [900]


MANAGER_MOVES = st.lists(
    st.one_of(
        st.sampled_from(["/team", "/rep", "/rep 王小明", "/rep 2", "/export", "/invite", "/progress", "/rep Zhao"]),
        st.text(max_size=30),
        st.tuples(st.just("press"), st.integers(min_value=0, max_value=30)),
    ),
    max_size=15,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=MANAGER_MOVES)
def test_a_manager_pressing_and_typing_anything_always_gets_valid_replies(service, moves):
    buttons = ()
    for move in moves:
        if isinstance(move, tuple):
            if not buttons:
                continue
            event = Event.press(buttons[move[1] % len(buttons)])
        else:
            event = Event.from_text(move)
        replies = service.handle(MANAGER_A.identity, event)
        assert replies and all(r.text.strip() for r in replies)
        for reply in replies:
            assert_telegram_html(reply.text)
            assert REP_B.name not in reply.text.replace(
                f"「{REP_B.name}」", ""
            )  # only ever as typed: "no member 「Zhao」"
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), buttons)


def test_a_forgotten_rep_leaves_no_copy_of_their_answers_in_the_managers_log(service, storage, team_db):
    page = open_first_answer(service)
    first_answer = team_log.answers_of(team_db, REP_A)[0]
    assert first_answer[:20] in page.text  # the manager saw it
    forget(service, REP_A)
    logged = "\n".join(t["text"] for t in storage.turns(user_row(storage, MANAGER_A).id))
    assert "[/rep transcript]" in logged  # where the manager was is kept, not what they saw
    assert first_answer[:20] not in logged and REP_A.name not in logged.replace(f"/rep {REP_A.name}", "")


def test_report_prints_a_table_per_team(db, capsys):
    assert main(["report", "--db", str(db), "--width", "220"]) == 0
    out = capsys.readouterr().out
    titles = ["Team Bob (1)", "Team 经理甲 (2)", "Learners in no team (3)"]  # by name; no team last
    starts = [out.index(title) for title in titles]
    assert starts == sorted(starts)
    bob, team_a, none = (out[a:b] for a, b in zip(starts, [*starts[1:], len(out)], strict=True))
    assert REP_A.name in team_a and PARTNER_A.name in team_a and REP_B.name not in team_a
    assert REP_B.name in bob and REP_A.name not in bob
    assert all(p.name in none for p in (ADMIN, MANAGER_A, MANAGER_B))


def test_the_team_chart_through_the_flow_draws_every_chinese_glyph(service):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for an empty box
        (chart,) = as_(service, MANAGER_A).send("/team").last.attachments
        (progress,) = as_(service, REP_A).send("/progress").last.attachments
    for png in (chart.data, progress.data):
        assert (png_pixels(png).min(axis=-1) < 0.9).mean() > 0.01


async def test_a_manager_menu_telegram_refuses_is_set_on_their_first_message(storage, pack):
    service = team_log.service_over(storage, pack)
    async with recorded_application(service) as (app, api):
        api.fail_next("setMyCommands", {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        assert await menus.set_manager_menu(app, user_row(storage, MANAGER_A)) is False
        await feed(app, message_update(MANAGER_A.telegram_id, "/help", name=MANAGER_A.name))
        scoped = [p for m, p in api.calls if m == "setMyCommands" and p.get("scope")]
        assert [p["scope"]["chat_id"] for p in scoped] == [MANAGER_A.telegram_id] * 2  # refused, then set
        assert "/team" in api.sent(MANAGER_A.telegram_id)[-1]["text"]


def test_two_people_opening_the_same_link_at_once_only_one_joins(service, storage):
    code = team_log.invite_code(as_(service, MANAGER_A), "rep")
    people = [Person(f"Racer {i}", 3100 + i) for i in range(4)]
    start = threading.Barrier(len(people))
    answers: dict[str, str] = {}

    def open_link(person: Person) -> None:
        start.wait()
        answers[person.name] = as_(service, person).send(f"/start {code}").text

    threads = [threading.Thread(target=open_link, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    joined = [p for p in people if team_of(storage, p) is not None]
    assert len(joined) == 1 and answers[joined[0].name].startswith("欢迎")
    assert all("已经被使用过" in answers[p.name] for p in people if p not in joined)


def test_the_digest_and_the_retention_sweep_are_scheduled_on_the_job_queue(service):
    from bot.config import Settings
    from bot.telegram.app import build_application
    from tests.fake_telegram import TOKEN, RecordingRequest

    def jobs(settings) -> set[str]:
        app = build_application(settings, service, request=RecordingRequest())
        return {job.name for job in app.job_queue.jobs()}

    assert {"weekly-digest", "drill-reminders"} <= jobs(Settings(token=TOKEN))
    assert "retention" not in jobs(Settings(token=TOKEN))
    assert "retention" in jobs(Settings(token=TOKEN, retention_days=30))


@pytest.mark.parametrize("value", ["0", "-3", "a week", "1.5"])
def test_a_wrong_retention_setting_says_what_to_fix(value):
    from bot.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="COACH_RETENTION_DAYS must be a whole number of days"):
        Settings.from_env({"COACH_RETENTION_DAYS": value})
    assert Settings.from_env({"COACH_RETENTION_DAYS": "90"}).retention_days == 90
    assert Settings.from_env({}).retention_days is None
