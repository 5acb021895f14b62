"""Facts on screen that were wrong: the deck /settings names, "1 minutes", a missing pack folder,
and a button's label typed where its screen belongs to no practice (/lang, /settings, the menu)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.service import Identity
from tests.helpers import Learner


def test_settings_name_the_deck_drill_uses_before_a_role_is_chosen(service, storage):
    learner = Learner(service, Identity("console", "new", "New"))
    learner.send("/settings")
    assert "还没选" in learner.text and "异议卡片：经销商异议" in learner.text
    learner.send("/drill")
    assert "经销商异议" in learner.text  # what /settings said is what /drill uses
    learner.send("/cancel").send("/settings").press("渠道商")
    learner.send("/settings")
    assert "异议卡片：顾客异议" in learner.text
    learner.send("/drill")
    assert "顾客异议" in learner.text


@pytest.mark.parametrize("unit", ["minutes", "hours", "days"])
def test_one_minute_is_singular_in_english(engine, unit):
    ui = engine.ui("en")
    card = {"deck": "dealer", "context": "", "text": "", "model_answer": "", "score": 40, "passed": False,
            "pass_mark": 60, "checks": []}  # fmt: skip
    for value, expected in ((1, f"in about 1 {unit[:-1]}."), (3, f"in about 3 {unit}.")):
        assert expected in ui("drill.feedback", **card, next_review={"value": value, "unit": unit})
        menu = ui("drill.menu", due=0, total=5, new=0, deck="dealer", reminder=False,
                  next_due={"value": value, "unit": unit})  # fmt: skip
        assert expected in menu


def test_kb_check_of_a_missing_folder_says_so_once(tmp_path):
    missing = tmp_path / "nonexistent"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "kb", "check", str(missing)], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{missing}: content pack folder not found (give the folder that holds ui.yaml and steps/)"
    ]
    assert f"{missing}/{missing}" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "command, typed, shows",
    [
        ("/lang", "English", "I'll speak English"),
        ("/lang", "english", "I'll speak English"),
        ("/settings", "我是渠道商 / 门店员工（接待顾客）", "渠道商"),
        ("/settings", "我是渠道商 / 门店员工", "渠道商"),  # without its bracket
        ("/start", "模拟拜访（PESOS 角色扮演）", "模拟拜访"),
        ("/cancel", "异议卡片练习", "异议卡片"),
    ],
)
def test_a_label_typed_at_a_screen_of_no_practice_presses_it(service, command, typed, shows):
    learner = Learner(service, Identity("console", "typist", "T")).send(command)
    learner.send(typed)
    assert shows in learner.text and "没有进行中的练习" not in learner.text


def test_a_typed_label_of_the_shell_does_not_take_an_answer_away(service):
    """In a practice, an answer that is not exactly a label is scored as an answer."""
    learner = Learner(service, Identity("console", "answering", "A")).send("/train").press_trigger("begin")
    learner.press_trigger("practise")
    learner.send("English 我会先问问王老板最近店里怎么样")
    assert learner.last.score is not None
