"""Flow files: read them, build one `transitions.Machine` per flow, discover every flow.

A flow file (dialogs/flows/*.yaml, or any directory in COACH_FLOW_DIRS) is the whole
declaration of one dialog; docs/adding-a-flow.md walks through one:

    name, command       the flow's name (stored with its sessions) and the command that starts it
    menu_order, menu    its place in the start menu, and whether it is listed there at all
    session             `module:Class`, the session model with the flow's callbacks and getters
                        (a module next to the flow file is found there first)
    on_start            optional: a method run when a new session starts, given the command's
                        argument; it may return a trigger to fire at once (or None)
    argument            optional: the trigger a command's words fire, as typed text (`/search 利润`), in the
                        user's session of this flow or a new one
    machine             the keyword arguments of `transitions.Machine` (states, transitions, initial)
    windows             per state, ONE window: `text` (ui key), `getter` (method returning the
                        template variables), `buttons`, `free_text` (the trigger typed text fires)
                        and `final` (the session ends there); `quiz` (optional) names a method
                        returning the `dialogs.turn.Quiz` the window asks (a poll on Telegram)
    texts               optional: the flow's own interface strings ({key: {zh, en}}), for a flow
                        shipped outside the content pack; the pack's ui.yaml wins on a clash
    fresh               optional: the command always starts afresh (a browsing flow like /rep), and
                        `on_start` gets the command's argument (`arg`)
    audience, refusal   optional: `managers` lets only managers and admins start it; anyone else
                        gets the ui string `refusal` and nothing is read
    log_replies         optional: false keeps only "[/command state]" of its replies in the log, for a
                        flow that shows other people's data (forgetting them must not leave copies)

A button is a trigger name (label `button.<trigger>`), or a mapping: `trigger` or `command`,
`arg` (a command button's argument), `label` (a ui key, rendered with the window's
variables), `choices` (a getter returning `Choice` items: one button each), `when` / `unless`
(a condition method: shown only if true / false).

Sessions are not added to the machine; an event is fired with
`machine.events[trigger].trigger(session_model, ...)`, so ten thousand sessions
cost no more than one. Loading collects problems (file and field) instead of raising
on the first; dialogs/flow_check.py then checks every name a flow uses.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from transitions import Machine

from knowledge.pack import Problem, Text

FLOWS_DIR = Path(__file__).parent / "flows"
FLOW_DIRS_ENV = "COACH_FLOW_DIRS"  # extra flow directories, separated by os.pathsep
FLOW_KEYS = {"name", "command", "menu_order", "menu", "session", "on_start", "machine", "windows", "texts", "fresh",
             "argument", "audience", "refusal", "log_replies"}  # fmt: skip
WINDOW_KEYS = {"text", "getter", "buttons", "free_text", "final", "attachment", "takes", "quiz"}
TAKES = ("text", "number")  # what a window's free text is: words (an answer), or a number (a score)
AUDIENCES = ("everyone", "managers")  # managers: managers and admins only (users.role)
BUTTON_KEYS = {"trigger", "command", "arg", "label", "choices", "when", "unless"}
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FlowError(Exception):
    """The flows cannot be used; `problems` says every reason, each with its file and field."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class ButtonSpec:
    """One declared button (or, with `choices`, one per item the getter returns)."""

    trigger: str = ""  # a machine trigger; empty for a command button
    command: str = ""  # a command to run, without the slash
    label: str = ""  # ui key
    choices: str | None = None
    when: str | None = None
    unless: str | None = None
    arg: str = ""  # for a command button: the command's argument (`/train weak`)

    @property
    def pressed(self) -> str:
        """What pressing it fires: the trigger, or `/command`."""
        return self.trigger or f"/{self.command}"


@dataclass(frozen=True)
class Window:
    """What one state shows and accepts."""

    text: str
    getter: str | None = None
    buttons: tuple[ButtonSpec, ...] = ()
    free_text: str | None = None
    final: bool = False
    attachment: str | None = None  # a getter returning the files (dialogs.turn.Attachment) sent with the text
    takes: str = "text"  # "number": digits are accepted as free text (the flow's condition checks the range)
    quiz: str | None = None  # a method returning the window's Quiz (a poll on Telegram), or None

    @property
    def button_triggers(self) -> set[str]:
        """The machine triggers a press on this window may fire."""
        return {b.trigger for b in self.buttons if b.trigger}


@dataclass(frozen=True)
class Flow:
    name: str
    command: str
    menu_order: int
    machine: Machine
    windows: dict[str, Window]
    session_class: type
    path: Path
    spec: dict[str, Any] = field(repr=False)  # the file as read, for the start-up check
    in_menu: bool = True
    on_start: str | None = None
    texts: dict[str, Text] = field(default_factory=dict)
    fresh: bool = False
    audience: str = "everyone"
    refusal: str | None = None  # ui key shown to a user outside the audience
    log_replies: bool = True  # false: the log keeps "[/command state]", not what was shown (others' data)
    argument: str | None = None  # the trigger `/command words` fires with the words as text

    def triggers(self, state: str) -> set[str]:
        return set(self.machine.get_triggers(state))


def _button(raw: Any, where: str, rel: str, problems: list[Problem]) -> ButtonSpec | None:
    if isinstance(raw, str):
        return ButtonSpec(trigger=raw, label=f"button.{raw}")
    if not isinstance(raw, dict):
        problems.append(Problem(rel, where, "a button is a trigger name or a mapping"))
        return None
    for key in sorted(set(raw) - BUTTON_KEYS):
        problems.append(
            Problem(rel, f"{where}.{key}", f"unknown button field (known: {', '.join(sorted(BUTTON_KEYS))})")
        )
    trigger, command = str(raw.get("trigger") or ""), str(raw.get("command") or "").lstrip("/")
    if bool(trigger) == bool(command):
        problems.append(Problem(rel, where, "a button names exactly one of `trigger` or `command`"))
        return None
    label = raw.get("label") or (f"button.{trigger}" if trigger else f"button.menu_{command}")
    if raw.get("choices") and "label" not in raw:
        label = ""  # each choice brings its own label
    arg = str(raw.get("arg") or "")
    return ButtonSpec(trigger, command, label, raw.get("choices"), raw.get("when"), raw.get("unless"), arg)


def _window(raw: Any, where: str, rel: str, problems: list[Problem]) -> Window | None:
    if not isinstance(raw, dict) or not raw.get("text"):
        problems.append(Problem(rel, where, "a window is a mapping with at least `text` (a ui key)"))
        return None
    for key in sorted(set(raw) - WINDOW_KEYS):
        problems.append(
            Problem(rel, f"{where}.{key}", f"unknown window field (known: {', '.join(sorted(WINDOW_KEYS))})")
        )
    if raw.get("takes", "text") not in TAKES:
        problems.append(Problem(rel, f"{where}.takes", f"must be one of {', '.join(TAKES)}"))
    buttons = [_button(b, f"{where}.buttons[{i}]", rel, problems) for i, b in enumerate(raw.get("buttons") or [])]
    return Window(
        text=raw["text"],
        getter=raw.get("getter"),
        buttons=tuple(b for b in buttons if b),
        free_text=raw.get("free_text"),
        final=bool(raw.get("final", False)),
        attachment=raw.get("attachment"),
        takes=raw.get("takes", "text") if raw.get("takes", "text") in TAKES else "text",
        quiz=raw.get("quiz"),
    )


def _module_for(module_name: str, directory: Path):
    """A session module: the file next to the flow file if there is one, else an importable module."""
    local = directory / (module_name.replace(".", "/") + ".py")
    if local.is_file():
        unique = f"coach_flows.{abs(hash(str(local)))}.{module_name}"
        if unique in sys.modules:
            return sys.modules[unique]
        spec = importlib.util.spec_from_file_location(unique, local)
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(module_name)


def _session_class(ref: Any, path: Path, problems: list[Problem]) -> type | None:
    rel = str(path)
    if not isinstance(ref, str) or ":" not in ref:
        problems.append(Problem(rel, "session", "expected `module:Class`, e.g. dialogs.course:CourseSession"))
        return None
    module_name, _, class_name = ref.partition(":")
    try:
        module = _module_for(module_name, path.parent)
    except Exception as exc:  # any failure importing a plug-in is reported, with the flow file
        problems.append(Problem(rel, "session", f"cannot import {module_name!r}: {exc!r}"))
        return None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        problems.append(Problem(rel, "session", f"{module_name!r} has no class {class_name!r}"))
        return None
    return cls


def _texts(raw: Any, rel: str, problems: list[Problem]) -> dict[str, Text]:
    from knowledge.loader import validate

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(rel, "texts", "must be a mapping of ui keys to {zh, en}"))
        return {}
    texts = {}
    for key, value in raw.items():
        text = validate(Text, value, rel, problems, ("texts", str(key)))
        if text is not None:
            texts[str(key)] = text
    return texts


def load_flow(path: Path, problems: list[Problem]) -> Flow | None:
    """Read one flow file and build its machine; problems go to `problems` (None if unusable)."""
    rel = str(path)
    try:
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=YamlLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem(rel, "", f"cannot read the flow file: {exc}"))
        return None
    if not isinstance(spec, dict):
        problems.append(Problem(rel, "", "a flow file is a mapping (name, command, session, machine, windows)"))
        return None
    before = len(problems)
    for key in ("name", "command", "session", "machine", "windows"):
        if not spec.get(key):
            problems.append(Problem(rel, key, "missing"))
    for key in sorted(set(spec) - FLOW_KEYS):
        problems.append(Problem(rel, key, f"unknown flow field (known: {', '.join(sorted(FLOW_KEYS))})"))
    if spec.get("audience", "everyone") not in AUDIENCES:
        problems.append(Problem(rel, "audience", f"must be one of {', '.join(AUDIENCES)}"))
    if spec.get("audience") == "managers" and not spec.get("refusal"):
        problems.append(Problem(rel, "refusal", "a flow for managers names the ui string everyone else gets"))
    if len(problems) > before:
        return None
    machine_args = dict(spec["machine"])
    machine_args.setdefault("auto_transitions", False)
    if machine_args["auto_transitions"]:
        problems.append(Problem(rel, "machine.auto_transitions", "must be false"))
        return None
    try:
        machine = Machine(model=None, **machine_args)
    except Exception as exc:  # transitions raises several kinds for a malformed machine
        problems.append(Problem(rel, "machine", f"not a valid state machine: {exc}"))
        return None
    raw_windows = spec["windows"] if isinstance(spec["windows"], dict) else {}
    windows = {}
    for state, raw in raw_windows.items():
        window = _window(raw, f"windows.{state}", rel, problems)
        if window:
            windows[str(state)] = window
    session_class = _session_class(spec["session"], path, problems)
    texts = _texts(spec.get("texts"), rel, problems)
    if session_class is None or len(problems) > before:
        return None
    return Flow(
        name=str(spec["name"]),
        command=str(spec["command"]).lstrip("/"),
        menu_order=int(spec.get("menu_order", 99)),
        machine=machine,
        windows=windows,
        session_class=session_class,
        path=path,
        spec=spec,
        in_menu=bool(spec.get("menu", True)),
        on_start=spec.get("on_start"),
        texts=texts,
        fresh=bool(spec.get("fresh", False)),
        audience=str(spec.get("audience", "everyone")),
        refusal=spec.get("refusal"),
        log_replies=bool(spec.get("log_replies", True)),
        argument=spec.get("argument"),
    )


def flow_dirs(extra: tuple[Path | str, ...] = ()) -> list[Path]:
    """The shipped flows, the directories given, and those in COACH_FLOW_DIRS."""
    from_env = [Path(d) for d in os.environ.get(FLOW_DIRS_ENV, "").split(os.pathsep) if d.strip()]
    return [FLOWS_DIR, *(Path(d) for d in extra), *from_env]


def load_flows(*extra_dirs: Path | str) -> tuple[dict[str, Flow], list[Problem]]:
    """Every flow found, by name in menu order, and every problem reading them."""
    problems: list[Problem] = []
    flows: list[Flow] = []
    for directory in flow_dirs(tuple(extra_dirs)):
        if not directory.is_dir():
            problems.append(Problem(str(directory), "", "flow directory not found"))
            continue
        flows += [f for p in sorted(directory.glob("*.yaml")) if (f := load_flow(p, problems))]
    by_name: dict[str, Flow] = {}
    by_command: dict[str, Flow] = {}
    for flow in sorted(flows, key=lambda f: (f.menu_order, f.name)):
        if flow.name in by_name:
            problems.append(
                Problem(str(flow.path), "name", f"flow {flow.name!r} is also defined in {by_name[flow.name].path}")
            )
            continue
        if flow.command in by_command:
            problems.append(
                Problem(
                    str(flow.path), "command", f"/{flow.command} is also the command of {by_command[flow.command].path}"
                )
            )
            continue
        by_name[flow.name] = by_command[flow.command] = flow
    return by_name, problems
