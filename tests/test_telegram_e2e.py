"""End to end: `coach run` as a real process, talking HTTP to a fake Bot API on 127.0.0.1.

A rep goes /start → /train → buttons → a typed answer; the bot is killed with
SIGKILL mid-course, restarted, and the course continues; a redelivered update
is not processed twice; the token never reaches the log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.fake_telegram import TOKEN, FakeBotApiServer, buttons_of, callback_update, message_update
from tests.helpers import wait_until

REP = 31337


@pytest.fixture
def server():
    with FakeBotApiServer() as srv:
        yield srv


def start_bot(server, db, log_path):
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "COACH_DB": str(db),
        "PYTHONUNBUFFERED": "1",
    }
    log = open(log_path, "ab")  # noqa: SIM115 (closed when the process is reaped)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=log)
    proc.log = log
    return proc


def stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()


def screens(api) -> int:
    """How many screens the rep has been shown (messages sent, and edits of them)."""
    return len(api.shown(REP))


def next_screen(api, before: int) -> str:
    """The text of the newest screen once one more than `before` was shown."""
    assert wait_until(lambda: screens(api) > before), [m["text"][:40] for m in api.shown(REP)]
    return api.shown(REP)[-1]["text"]


def press(api, label_part) -> int:
    """Press the button whose label contains `label_part` on the newest screen, reading a long screen on
    ("more") until its last page offers it; returns how many screens were shown before the press."""
    for _ in range(20):
        newest = api.messages[(REP, api.shown(REP)[-1]["message_id"])]
        for label, data in buttons_of(newest):
            if label_part in label:
                before = screens(api)
                api.push(callback_update(REP, data, message=dict(newest)))
                return before
        more = [data for label, data in buttons_of(newest) if label.startswith("更多")]
        assert more, f"no button {label_part!r} in {buttons_of(newest)}"
        before = screens(api)
        api.push(callback_update(REP, more[0], message=dict(newest)))
        next_screen(api, before)
    raise AssertionError(f"no button {label_part!r}")


def test_a_course_survives_kill_9_and_nothing_is_processed_twice(server, tmp_path):
    api = server.api
    db = tmp_path / "coach.db"
    log_path = tmp_path / "bot.log"
    bot = start_bot(server, db, log_path)
    try:
        assert wait_until(lambda: any(m == "setMyCommands" for m, _ in api.calls)), log_path.read_text()
        api.push(message_update(REP, "/start"))
        assert "渠道教练" in api.wait_for_sent(1, REP)[-1]["text"]
        before = screens(api)
        api.push(message_update(REP, "/train"))
        next_screen(api, before)
        assert "第 1/5 步" in next_screen(api, press(api, "千兆"))  # pick the product
        assert "练习" in next_screen(api, press(api, "我来练习"))  # (an answer may be typed on any page)
        answer = message_update(
            REP, "王老板您好！上次您说周末最忙，这周生意怎么样？您先忙，我等您。今天想听听您的想法，十分钟就够。"
        )
        sent = len(api.sent(REP))
        api.push(answer)
        feedback = api.wait_for_sent(sent + 1, REP)[-1]["text"]
        assert "破冰与同频" in feedback and "分" in feedback
        assert "第 2/5 步" in next_screen(api, press(api, "下一步"))
    finally:
        stop(bot, signal.SIGKILL)

    sent_before = [m["text"] for m in api.sent(REP)]
    commands_before = sum(1 for m, _ in api.calls if m == "setMyCommands")
    bot = start_bot(server, db, log_path)
    try:
        assert wait_until(lambda: sum(1 for m, _ in api.calls if m == "setMyCommands") > commands_before)
        api.push(answer)  # Telegram redelivers an update whose offset was never confirmed
        api.push(message_update(REP, "/train"))
        assert wait_until(lambda: any("欢迎回来" in m["text"] for m in api.sent(REP)[len(sent_before) :]))
        time.sleep(0.5)
        after = [m["text"] for m in api.sent(REP)[len(sent_before) :]]
        assert "欢迎回来" in after[-1] and "第 2/5 步" in after[-1]
        # the redelivered answer got no second reply; the reply in flight at the kill may be sent once more
        assert after[:-1] in ([], [sent_before[-1]])
    finally:
        stop(bot)

    with sqlite3.connect(db) as conn:
        update_ids = [r[0] for r in conn.execute("SELECT update_id FROM turns WHERE direction = 'in' ORDER BY id")]
        scores = conn.execute("SELECT step FROM scores").fetchall()
    assert len(update_ids) == len(set(update_ids))  # nothing twice: the redelivered answer was handled once
    assert set(update_ids) == set(api.pushed)  # nothing lost: every update pushed is a logged turn
    assert scores == [("icebreaking",)]
    log = log_path.read_text(errors="replace")
    assert "polling for updates" in log and TOKEN not in log and TOKEN.split(":")[1] not in log


def test_a_broken_start_says_what_to_fix(server, tmp_path):
    base = {**os.environ, "TELEGRAM_API_BASE_URL": server.base_url, "COACH_DB": str(tmp_path / "c.db")}
    cases = [
        ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "does not look like a bot token"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "COACH_DB": str(tmp_path / "missing" / "c.db")}, "COACH_DB"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "COACH_KNOWLEDGE_DIR": str(tmp_path)}, "coach kb check"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "COACH_LOCALE": "fr"}, "COACH_LOCALE"),
    ]
    for env, expected in cases:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run"], env={**base, **env}, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 2 and expected in result.stderr, (env, result.stderr)
        assert TOKEN not in result.stderr


def test_a_token_telegram_refuses_fails_the_start_in_one_line_without_the_token(server, tmp_path):
    refused = "987654:THIS-token-is-well-formed-but-unknown-xyz"  # the fake answers 401 for any other token
    env = {**os.environ, "TELEGRAM_API_BASE_URL": server.base_url, "COACH_DB": str(tmp_path / "c.db"),
           "TELEGRAM_BOT_TOKEN": refused}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in result.stderr
    lines = result.stderr.splitlines()
    assert len([line for line in lines if line.startswith("coach:")]) == 1  # one line says what to fix
    assert not [line for line in lines if " ERROR " in line or " WARNING " in line or "Traceback" in line]
    for output in (result.stdout, result.stderr):
        assert refused not in output and refused.split(":")[1] not in output


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_mode_registers_a_secret_and_refuses_requests_without_it(server, tmp_path):
    import json
    import urllib.error
    import urllib.request

    api = server.api
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "COACH_DB": str(tmp_path / "c.db"),
        "COACH_WEBHOOK_SECRET": "s3cret-For_Tests",
    }
    log = open(tmp_path / "bot.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--webhook-url", url, "--port", str(port), "--listen", "127.0.0.1"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    proc.log = log
    try:
        assert wait_until(lambda: any(m == "setWebhook" for m, _ in api.calls))
        registered = next(p for m, p in api.calls if m == "setWebhook")
        assert registered["url"] == url and registered["secret_token"] == "s3cret-For_Tests"

        def post(secret, update=None):
            body = json.dumps(update or message_update(REP, "/start")).encode()
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = secret
            request = urllib.request.Request(url, body, headers)
            try:
                return urllib.request.urlopen(request, timeout=10).status
            except urllib.error.HTTPError as exc:
                return exc.code
            except urllib.error.URLError:  # not listening yet
                return None

        assert wait_until(lambda: post("s3cret-For_Tests") == 200)
        with sqlite3.connect(tmp_path / "c.db-inbox") as conn:  # stored before the 200
            assert conn.execute("SELECT count(*) FROM inbox").fetchone() == (1,)
        assert "渠道教练" in api.wait_for_sent(1, REP)[-1]["text"]
        update = message_update(REP, "/help")
        assert post("s3cret-For_Tests", update) == 200 and post("s3cret-For_Tests", update) == 200  # redelivered
        assert wait_until(lambda: len(api.sent(REP)) >= 2)
        assert post("wrong") == 403 and post(None) == 403
        time.sleep(0.5)
        assert len(api.sent(REP)) == 2  # the redelivered /help answered once; nothing without the secret
    finally:
        stop(proc)
    assert "s3cret-For_Tests" not in (tmp_path / "bot.log").read_text()
