"""`coach chat` through a pipe: terminal wording, numbers only for the options on screen, plain text."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def chat(tmp_path, lines: list[str], locale: str) -> str:
    db = tmp_path / "coach.db"
    cmd = [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "w", "--locale", locale]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(cmd, input="\n".join(lines).encode() + b"\n", capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode("utf-8")
    assert "\x1b" not in out  # a pipe gets plain text: no colour, no cursor movement
    return out


ROLEPLAY_TO_MY_TURN = ["/roleplay", "1", "1", "1", "1", "1", "2"]  # product, dealer, goal, plan, model, skip


@pytest.mark.parametrize(
    "locale, empty, expired", [("en", "didn't get any words", "expired"), ("zh", "没有收到文字", "过期")]
)
def test_a_number_typed_where_the_screen_has_no_options_is_an_answer_not_an_old_button(
    tmp_path, locale, empty, expired
):
    out = chat(tmp_path, [*ROLEPLAY_TO_MY_TURN, "1"], locale)  # "1" where the dealer waits for my line
    assert empty in out  # read as text (with no words to score), not as an option of an earlier screen
    assert expired not in out


@pytest.mark.parametrize(
    "locale, telegram, terminal",
    [
        ("en", "Press a button to change", "Type a number to change"),
        ("zh", "点下面的按钮修改", "输入编号修改"),
    ],
)
def test_settings_say_type_the_number_in_the_terminal(tmp_path, locale, telegram, terminal):
    out = chat(tmp_path, ["/settings"], locale)
    assert terminal in out and telegram not in out


@pytest.mark.parametrize(
    "locale, telegram, terminal",
    [("en", "use one of the buttons", "type the number"), ("zh", "点下面的按钮", "输入下面选项的编号")],
)
def test_typing_text_where_options_are_expected_asks_for_a_number(tmp_path, locale, telegram, terminal):
    out = chat(tmp_path, ["/train", "hello there"], locale)
    assert terminal in out and telegram not in out


@pytest.mark.parametrize("locale, quit_line", [("en", "/quit — leave the terminal"), ("zh", "/quit — 退出终端")])
def test_help_lists_quit(tmp_path, locale, quit_line):
    out = chat(tmp_path, ["/help"], locale)
    help_reply = out.split(quit_line)
    assert len(help_reply) == 2 and "/forget_me" in help_reply[0]  # listed with the other commands


@pytest.mark.parametrize(
    "locale, label, note",
    [("en", "Turn on the daily reminder", "sent on Telegram only"), ("zh", "开启每日提醒", "只在 Telegram 上发送")],
)
def test_the_daily_reminder_option_says_it_only_reaches_telegram(tmp_path, locale, label, note):
    out = chat(tmp_path, ["/drill", "1"], locale)  # the drill asks for the role first
    reminder = next(line for line in out.splitlines() if line.startswith("  [") and label in line)
    assert note in reminder
