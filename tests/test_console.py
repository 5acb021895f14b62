"""`coach chat` as a real subprocess: piped courses, kill -9 and resume, bad input."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from knowledge.pack import STEP_IDS
from tests.helpers import load_labelled, wait_until

LABELLED = load_labelled()


def coach_chat(db, *args, stdin_text=None, **popen):
    cmd = [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), *args]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if stdin_text is None:
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return subprocess.run(cmd, input=stdin_text.encode("utf-8"), capture_output=True, env=env, timeout=60, **popen)


def course_script(locale: str) -> list[str]:
    """/train, pick the second product, then per step: practise, answer, next."""
    lines = ["/train", "2"]
    for step in STEP_IDS:
        answer = next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == 3)
        lines += ["2", answer.replace("\n", " ") + " 👍", "2"]
    return lines


def rows(db, sql, *args):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.mark.parametrize("locale, done", [("zh", "课程完成"), ("en", "Course complete")])
def test_a_piped_course_completes_and_every_typed_line_is_logged(tmp_path, locale, done):
    db = tmp_path / "coach.db"
    script = course_script(locale)
    result = coach_chat(db, "--user", f"pipe-{locale}", "--locale", locale, stdin_text="\n".join(script) + "\n")
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()
    assert done in out
    logged = [text for (text,) in rows(db, "SELECT text FROM turns WHERE direction = 'in' ORDER BY id")]
    assert logged == script  # every line typed, text intact (Chinese, emoji)
    scores = rows(db, "SELECT step, score FROM scores ORDER BY id")
    assert [step for step, _ in scores] == list(STEP_IDS)
    feedback = rows(db, "SELECT score FROM turns WHERE direction = 'out' AND score IS NOT NULL ORDER BY id")
    assert [s for (s,) in feedback] == [s for _, s in scores]


def test_kill_9_mid_course_then_restart_resumes_at_the_same_step(tmp_path):
    db = tmp_path / "coach.db"
    script = course_script("zh")[:6]  # through step 1, then "practise" on step 2
    proc = coach_chat(db, "--user", "killed")
    for line in script:
        proc.stdin.write((line + "\n").encode("utf-8"))
    proc.stdin.flush()

    def all_lines_logged():
        try:
            return rows(db, "SELECT count(*) FROM turns WHERE direction = 'in'")[0][0] == len(script)
        except sqlite3.OperationalError:
            return False

    assert wait_until(all_lines_logged)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close(), proc.stderr.close(), proc.stdin.close()

    result = coach_chat(db, "--user", "killed", stdin_text="")
    out = result.stdout.decode("utf-8")
    assert "欢迎回来" in out and "第 2/5 步" in out and "练习" in out
    state = rows(db, "SELECT state FROM sessions WHERE status = 'active'")
    assert state == [("practice",)]


def test_bad_console_input_gets_clear_replies_and_nothing_crashes(tmp_path):
    db = tmp_path / "coach.db"
    lines = [
        "",
        "/train",
        "1",
        "2",
        "",
        "x" * 20_000,
        "\x00\x07\x1b[2J",
        "<b>王老板</b> & 您好，最近生意怎么样？今天想听听您的想法",
        "99",
        "/nonsense",
    ]
    result = coach_chat(db, "--user", "<b>&", stdin_text="\n".join(lines) + "\n")
    out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert result.returncode == 0 and "Traceback" not in err
    assert "超过了 4096" in out and "没有收到文字" in out and "不认识 /nonsense" in out
    assert "\x1b" not in out and "\x07" not in out  # control characters never reach the terminal
    logged = [text for (text,) in rows(db, "SELECT text FROM turns WHERE direction = 'in' ORDER BY id")]
    assert logged == lines
    assert rows(db, "SELECT count(*) FROM scores")[0][0] == 1  # only the real answer was scored


@pytest.mark.parametrize("locale, done", [("zh", "教练点评"), ("en", "Coach's review")])
def test_a_piped_role_play_runs_from_prepare_to_supervise(tmp_path, locale, done):
    db = tmp_path / "coach.db"
    lines = ["/roleplay", "1", "1", "1", "1", "1", "2"]  # product, dealer, goal, plan, model, skip to my turn
    for step in STEP_IDS:
        lines.append(
            next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == locale and a["label"] == 3)
        )
    lines = [line.replace("\n", " ") for line in lines]
    result = coach_chat(db, "--user", f"rp-{locale}", "--locale", locale, stdin_text="\n".join(lines) + "\n")
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()
    assert done in out
    scores = rows(db, "SELECT step, score FROM scores ORDER BY id")
    assert [step for step, _ in scores] == list(STEP_IDS)
    assert rows(db, "SELECT status FROM sessions") == [("finished",)]
