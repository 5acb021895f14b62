"""`coach review`: the shipped Datasette metadata over a real log, the read-only guarantee, the password rule."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys

import pytest

from bot.review import PASSWORD_ENV, ReviewError, build_datasette, build_metadata, check_password
from bot.storage import Storage
from tests.manager_log import OTHER, STRONG, WEAK_STEP, fill_log


@pytest.fixture(scope="module")
def log(tmp_path_factory, pack):
    path = tmp_path_factory.mktemp("review") / "coach.db"
    fill_log(path, pack).close()
    return path


async def get_json(datasette, path: str):
    response = await datasette.client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_canned_queries_answer_about_the_known_reps(log):
    datasette = build_datasette(log)
    await datasette.invoke_startup()
    weakest = await get_json(datasette, "/coach/weakest_step_per_rep.json?_shape=array")
    assert {r["rep"]: r["weakest_step"] for r in weakest}[STRONG.name] == WEAK_STEP
    week = await get_json(datasette, "/coach/sessions_this_week.json?_shape=array")
    assert {(r["rep"], r["flow"]) for r in week} == {
        (STRONG.name, "course"),
        (STRONG.name, "drill"),
        (OTHER.name, "course"),
    }
    failed = await get_json(datasette, "/coach/objections_most_often_failed.json?_shape=array")
    assert len(failed) == 1 and failed[0]["failed"] == 1 and failed[0]["practised_in"] == "drill"
    transcript = await get_json(datasette, f"/coach/rep_transcript.json?_shape=array&_size=max&rep={STRONG.name}")
    assert {r["rep"] for r in transcript} == {STRONG.name}
    assert transcript[0]["text"] == "/train"
    by_id = await get_json(datasette, "/coach/rep_transcript.json?_shape=array&_size=max&rep=2")
    assert {r["rep"] for r in by_id} == {OTHER.name}


async def test_tables_and_columns_carry_the_shipped_descriptions(log):
    datasette = build_datasette(log)
    await datasette.invoke_startup()
    page = await datasette.client.get("/coach/scores")
    assert page.status_code == 200
    assert "One row per scored answer" in page.text and "60 or more passes" in page.text
    for table in ("teams", "score_overrides"):
        page = await datasette.client.get(f"/coach/{table}")
        assert page.status_code == 200 and "manager" in page.text


async def test_the_review_connection_cannot_write(log):
    """Datasette's own connection is opened mode=ro (not immutable): even a plug-in could not change the log."""
    datasette = build_datasette(log)
    await datasette.invoke_startup()
    database = datasette.get_database("coach")
    assert database.is_mutable  # re-reads the file, so it sees what the bot writes
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await database.execute_fn(lambda conn: conn.execute("DELETE FROM turns"))
    store = Storage(log)
    assert store.turns()  # nothing was deleted
    store.close()


async def test_the_review_sees_what_the_bot_writes_after_it_started(tmp_path, pack):
    log = tmp_path / "coach.db"
    store = fill_log(log, pack)
    datasette = build_datasette(log)
    await datasette.invoke_startup()
    before = await get_json(datasette, "/coach/turns.json?_shape=array&_size=max&_col=id")
    user = store.find_user("telegram", OTHER.external_id)
    store.add_turn(user_id=user.id, session_id=None, direction="in", text="新的一条")
    after = await get_json(datasette, "/coach/turns.json?_shape=array&_size=max&_col=text")
    store.close()
    assert len(after) == len(before) + 1 and after[-1]["text"] == "新的一条"


async def test_with_a_password_every_page_sends_you_to_the_login(log):
    datasette = build_datasette(log, password="correct horse")
    await datasette.invoke_startup()
    for path in ("/", "/coach/turns.json", "/-/dashboards/team", "/coach/rep_transcript?rep=1"):
        response = await datasette.client.get(path)
        assert response.status_code == 302 and response.headers["location"] == "/-/login", path
    login = await datasette.client.post("/-/login", data={"username": "manager", "password": "wrong"})
    assert "ds_actor" not in login.cookies
    login = await datasette.client.post("/-/login", data={"username": "manager", "password": "correct horse"})
    cookies = {"ds_actor": login.cookies["ds_actor"]}
    page = await datasette.client.get("/coach/users.json?_shape=array", cookies=cookies)
    assert page.status_code == 200 and STRONG.name in {r["name"] for r in page.json()}


def test_the_password_hash_is_the_plugins_own_and_not_the_password():
    settings = build_metadata("coach", "correct horse")["plugins"]["datasette-auth-passwords"]
    assert settings["manager_password_hash"].startswith("pbkdf2_sha256$")
    assert "correct horse" not in settings["manager_password_hash"]


def test_loopback_needs_no_password_and_any_other_address_does():
    for host in ("127.0.0.1", "localhost", "::1"):
        check_password(host, "")
    for host in ("0.0.0.0", "192.168.1.20", "::", "coach.example.com"):
        with pytest.raises(ReviewError, match=PASSWORD_ENV):
            check_password(host, "")
        check_password(host, "long enough")
    with pytest.raises(ReviewError, match="at least 8"):
        check_password("0.0.0.0", "short")


def test_coach_review_on_all_interfaces_without_a_password_refuses_to_start(log):
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "review", "--host", "0.0.0.0", "--port", "0", "--db", str(log)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and PASSWORD_ENV in lines[0] and "refusing" in lines[0]


def test_coach_review_of_a_missing_database_says_so_and_creates_nothing(tmp_path, capsys):
    from bot.cli import main

    assert main(["review", "--db", str(tmp_path / "none.db"), "--port", "0"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_a_taken_port_or_an_impossible_one_is_one_clear_line(log, capsys):
    from bot.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["review", "--db", str(log), "--port", str(port)]) == 2
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["review", "--db", str(log), "--port", "70000"]) == 2
    assert "--port must be between 0 and 65535" in capsys.readouterr().err


def take_first_lesson(service, who, pack, wrong: set[int]):
    """/learn's first lesson read to its quiz, answering the questions in `wrong` with a wrong option."""
    from tests.helpers import Learner

    lesson = pack.lessons[0]
    learner = Learner(service, who).send("/learn")
    learner.press("1. ")
    while "Next" in " ".join(learner.labels):
        learner.press("Next")
    learner.press("Take the quiz")
    for number, question in enumerate(lesson.quiz):
        pick = (question.correct + 1) % len(question.options) if number in wrong else question.correct
        learner.press(question.options[pick].en)
        learner.press("Next question" if "Next question" in " ".join(learner.labels) else "See the result")


async def test_quiz_queries_show_who_took_which_lesson_and_the_question_most_missed(tmp_path, pack):
    from bot.service import CoachService, Identity
    from dialogs.engine import Engine

    path = tmp_path / "coach.db"
    storage = Storage(path)
    service = CoachService(storage, Engine(pack))
    asked = len(pack.lessons[0].quiz)
    take_first_lesson(service, Identity("console", "q1", "Qian", "en"), pack, wrong={0})
    take_first_lesson(service, Identity("console", "q2", "Zhou", "en"), pack, wrong={0, 1})
    take_first_lesson(service, Identity("console", "q2", "Zhou", "en"), pack, wrong=set())  # retaken, all right
    storage.close()

    datasette = build_datasette(path)
    await datasette.invoke_startup()
    per_learner = await get_json(datasette, "/coach/lesson_quizzes_per_learner.json?_shape=array")
    assert {(r["learner"], r["questions_answered"], r["right_now"]) for r in per_learner} == {
        ("Qian", asked, asked - 1),
        ("Zhou", asked, asked),  # the latest answers count
    }
    missed = await get_json(datasette, "/coach/quiz_questions_most_often_missed.json?_shape=array")
    assert [(r["question_number"], r["wrong"], r["learners_who_missed"]) for r in missed] == [(1, 2, 2), (2, 1, 1)]
    assert {r["lesson"] for r in missed} == {pack.lessons[0].id}
