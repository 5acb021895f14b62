"""Flows as plug-ins: a flow added from outside the code base (its YAML and module only) is
reachable by its command through the service and `coach chat`; a flow naming anything that
does not exist is refused at start, naming the file and the field."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.service import CoachService, Identity
from dialogs.engine import Engine, FlowError
from tests.helpers import Learner

FIXTURES = Path(__file__).parent / "fixtures"
WARMUP_DIR = FIXTURES / "flows"
BROKEN_DIR = FIXTURES / "broken_flows"


@pytest.fixture
def plugin_service(storage, pack):
    return CoachService(storage, Engine(pack, flow_dirs=(WARMUP_DIR,)), default_locale="zh")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_plug_in_flow_is_reached_by_its_command_and_runs_to_its_end(plugin_service, storage, locale):
    who = Identity("console", f"warm-{locale}", "W")
    plugin_service.set_locale(who, locale)
    learner = Learner(plugin_service, who).send("/start").press("渠道经理" if locale == "zh" else "channel rep")
    assert ("热身一下" if locale == "zh" else "Warm up") in learner.labels  # listed in the start menu
    learner.send("/help")
    assert "/warmup" in learner.text  # and in /help, with its description
    learner.send("/warmup")
    assert ("第 1 轮" if locale == "zh" else "round 1") in learner.text
    learner.send("Visited <b>Wang</b> & his shop")
    assert "Visited <b>Wang</b> & his shop" in learner.text and "5" in learner.text  # user text shown, escaped
    learner.press("再来一轮" if locale == "zh" else "Another round")
    assert ("第 2 轮" if locale == "zh" else "round 2") in learner.text
    learner.send("Met a new dealer")
    learner.press("🙂")
    assert ("热身完成" if locale == "zh" else "Warm-up done") in learner.text
    sessions = storage.db.execute("SELECT flow, status, state FROM sessions").fetchall()
    assert sessions == [("warmup", "finished", "done")]


def test_a_plug_in_flow_pauses_and_resumes_like_the_shipped_ones(plugin_service, rep):
    learner = Learner(plugin_service, rep).send("/settings role:rep").send("/warmup").send("/roleplay")
    assert "/warmup" in learner.replies[0].text  # "your warm-up is paused; send /warmup to continue"
    learner.send("/start")
    assert "/roleplay" in learner.text  # the hint names the flow in progress
    learner.send("/warmup")
    assert "第 1 轮" in learner.text


def coach(*args, flow_dirs: list[Path] = (), stdin_text: str = "", db: Path | None = None):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COACH_FLOW_DIRS": os.pathsep.join(map(str, flow_dirs))}
    if db:
        env["COACH_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin_text, capture_output=True, text=True, env=env, timeout=60
    )


def test_coach_chat_finds_a_plug_in_flow_through_coach_flow_dirs(tmp_path):
    lines = ["/warmup", "Visited two dealers before lunch", "2"]  # [1] another round, [2] the first mood
    result = coach("chat", "--user", "plug", "--locale", "en", flow_dirs=[WARMUP_DIR], db=tmp_path / "c.db",
                   stdin_text="\n".join(lines) + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "round 1" in result.stdout and "(5 words)" in result.stdout and "Warm-up done" in result.stdout
    without = coach("chat", "--user", "plug2", db=tmp_path / "d.db", stdin_text="/warmup\n")
    assert "/warmup" in without.stdout and "不认识" in without.stdout  # not shipped: unknown without the setting


def test_a_flow_naming_a_missing_callback_is_refused_at_start_with_file_and_field(pack, tmp_path):
    expected = f"{BROKEN_DIR / 'broken.yaml'}: machine.transitions[0].before: BrokenSession has no method 'save_answr'"
    with pytest.raises(FlowError) as refused:
        Engine(pack, flow_dirs=(BROKEN_DIR,))
    assert [str(p) for p in refused.value.problems] == [expected]
    chat = coach("chat", "--user", "x", flow_dirs=[BROKEN_DIR], db=tmp_path / "c.db", stdin_text="/start\n")
    assert chat.returncode == 2 and expected in chat.stderr and "Traceback" not in chat.stderr
    check = coach("kb", "check", flow_dirs=[BROKEN_DIR])
    assert check.returncode == 1 and expected in check.stdout
    assert coach("kb", "check", flow_dirs=[WARMUP_DIR]).returncode == 0


@pytest.fixture
def broken_copy(tmp_path):
    """A copy of the warm-up flow, and a way to break its YAML."""
    directory = tmp_path / "flows"
    shutil.copytree(WARMUP_DIR, directory)
    path = directory / "warmup.yaml"

    def edit(change) -> str:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(spec)
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        return str(path)

    return directory, edit


BREAKAGES = {
    "getter": (lambda s: s["windows"]["ask"].update(getter="ask_veiw"), "windows.ask.getter", "no getter 'ask_veiw'"),
    "choices": (
        lambda s: s["windows"]["echo"]["buttons"][1].update(choices="modes"),
        "windows.echo.buttons[1].choices",
        "no getter 'modes'",
    ),
    "condition": (
        lambda s: s["windows"]["echo"]["buttons"][0].update(when="is_happy"),
        "windows.echo.buttons[0].when",
        "no condition 'is_happy'",
    ),
    "button trigger": (
        lambda s: s["windows"]["echo"]["buttons"][0].update(trigger="agian"),
        "windows.echo.buttons[0]",
        "no transition 'agian' from 'echo'",
    ),
    "label": (
        lambda s: s["windows"]["echo"]["buttons"][0].update(label="warmup.agian"),
        "windows.echo.buttons[0].label",
        "no interface string 'warmup.agian'",
    ),
    "window text": (lambda s: s["windows"]["ask"].update(text="warmup.aks"), "windows.ask.text", "'warmup.aks'"),
    "command button": (
        lambda s: s["windows"]["done"]["buttons"][0].update(command="warmpu"),
        "windows.done.buttons[0]",
        "no command /warmpu",
    ),
    "condition in machine": (
        lambda s: s["machine"]["transitions"][1].update(conditions="has_time"),
        "machine.transitions[1].conditions",
        "no method 'has_time'",
    ),
    "state without window": (lambda s: s["windows"].pop("done"), "windows.done", "this state has no window"),
    "free text": (lambda s: s["windows"]["ask"].update(free_text="reply"), "windows.ask.free_text", "no transition"),
    "session class": (lambda s: s.update(session="warmup:WarmUp"), "session", "has no class 'WarmUp'"),
    "text trigger as a button": (
        lambda s: s["windows"]["ask"].update(buttons=["answer"]),
        "windows.ask.buttons[0]",
        "'answer' is the free-text trigger",
    ),
    "stuck": (lambda s: s["windows"]["ask"].pop("free_text"), "windows.ask", "a user would be stuck"),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_every_name_a_flow_uses_is_checked_at_start(pack, broken_copy, name):
    directory, edit = broken_copy
    change, field, message = BREAKAGES[name]
    path = edit(change)
    with pytest.raises(FlowError) as refused:
        Engine(pack, flow_dirs=(directory,))
    problems = [str(p) for p in refused.value.problems]
    assert any(p.startswith(f"{path}: {field}: ") and message in p for p in problems), problems
