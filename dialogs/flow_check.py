"""The start-up check of every flow: each name a flow file uses must exist.

Run when the engine is built (a failing check stops the start) and by `coach kb check`.
For every flow it checks the callbacks and conditions of the machine (`before`,
`after`, `prepare`, `conditions`, `unless`, state `on_enter` / `on_exit`, machine-level
callbacks, `on_start`) are methods of the session class and `argument` is a trigger; that every state has one
window; that each window's getter, choice getters and button conditions are methods;
that each button's trigger has a transition from that state and each command button
names a command; that the free-text trigger has a transition and is no button; that no state leaves a
user stuck; and that every ui key named (texts, labels, `command.<name>`, the menu
label) exists. It also reports interface strings that nothing uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from dialogs.machines import Flow
from knowledge.pack import Problem, Text
from knowledge.ui_contract import UI_VARIABLES

TRANSITION_CALLBACKS = ("prepare", "conditions", "unless", "before", "after")
STATE_CALLBACKS = ("on_enter", "on_exit")
MACHINE_CALLBACKS = (
    "before_state_change",
    "after_state_change",
    "prepare_event",
    "finalize_event",
    "on_exception",
    "on_final",
)


def _names(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)]


def _method(flow: Flow, name: str | None, where: str, problems: list[Problem], what: str = "method") -> None:
    if name is None:
        return
    if not callable(getattr(flow.session_class, str(name), None)):
        cls = flow.session_class.__name__
        problems.append(Problem(str(flow.path), where, f"{cls} has no {what} {name!r}"))


def _check_machine(flow: Flow, problems: list[Problem]) -> None:
    machine = flow.spec["machine"]
    for i, transition in enumerate(machine.get("transitions") or []):
        if isinstance(transition, dict):
            for key in TRANSITION_CALLBACKS:
                for name in _names(transition.get(key)):
                    _method(flow, name, f"machine.transitions[{i}].{key}", problems)
    for i, state in enumerate(machine.get("states") or []):
        if isinstance(state, dict):
            for key in STATE_CALLBACKS:
                for name in _names(state.get(key)):
                    _method(flow, name, f"machine.states[{i}].{key}", problems)
    for key in MACHINE_CALLBACKS:
        for name in _names(machine.get(key)):
            _method(flow, name, f"machine.{key}", problems)
    _method(flow, flow.on_start, "on_start", problems)
    if flow.argument is not None and flow.argument not in flow.machine.events:
        problems.append(Problem(str(flow.path), "argument", f"no trigger {flow.argument!r} in the machine"))


def _check_windows(flow: Flow, commands: set[str], texts: set[str], problems: list[Problem]) -> None:
    rel = str(flow.path)
    states = set(flow.machine.states)
    for state in sorted(states - set(flow.windows)):
        problems.append(Problem(rel, f"windows.{state}", "this state has no window"))
    for state in sorted(set(flow.windows) - states):
        problems.append(Problem(rel, f"windows.{state}", "no such state in machine.states"))
    for state, window in flow.windows.items():
        if state not in states:
            continue
        where = f"windows.{state}"
        triggers = flow.triggers(state)
        if window.text not in texts:
            problems.append(Problem(rel, f"{where}.text", f"no interface string {window.text!r}"))
        _method(flow, window.getter, f"{where}.getter", problems, "getter")
        _method(flow, window.attachment, f"{where}.attachment", problems, "getter")
        _method(flow, window.quiz, f"{where}.quiz", problems, "getter")
        if window.free_text is not None and window.free_text not in triggers:
            problems.append(Problem(rel, f"{where}.free_text", f"no transition {window.free_text!r} from {state!r}"))
        if not (window.final or window.buttons or window.free_text):
            problems.append(Problem(rel, where, "offers no buttons and takes no text: a user would be stuck"))
        for i, button in enumerate(window.buttons):
            at = f"{where}.buttons[{i}]"
            if button.trigger and button.trigger not in triggers:
                problems.append(Problem(rel, at, f"no transition {button.trigger!r} from {state!r}"))
            if button.trigger and button.trigger == window.free_text:
                message = f"{button.trigger!r} is the free-text trigger: a press carries no text to take"
                problems.append(Problem(rel, at, message))
            if button.command and button.command not in commands:
                problems.append(Problem(rel, at, f"no command /{button.command}"))
            if button.label and button.label not in texts:
                problems.append(Problem(rel, f"{at}.label", f"no interface string {button.label!r}"))
            _method(flow, button.choices, f"{at}.choices", problems, "getter")
            _method(flow, button.when, f"{at}.when", problems, "condition")
            _method(flow, button.unless, f"{at}.unless", problems, "condition")


def flow_texts(flow: Flow) -> set[str]:
    """Every ui key a flow names."""
    keys = {f"command.{flow.command}"} | ({f"button.menu_{flow.command}"} if flow.in_menu else set())
    keys |= {flow.refusal} if flow.refusal else set()
    for window in flow.windows.values():
        keys.add(window.text)
        keys |= {b.label for b in window.buttons if b.label}
    return keys


def check_flows(flows: Iterable[Flow], commands: Iterable[str], ui: dict[str, Text]) -> list[Problem]:
    """Every problem with these flows, given the declared commands and the interface strings."""
    flows = list(flows)
    problems: list[Problem] = []
    texts = set(ui)
    for flow in flows:
        texts |= set(flow.texts)
    all_commands = {f.command for f in flows} | set(commands)
    for flow in flows:
        _check_machine(flow, problems)
        _check_windows(flow, all_commands, texts, problems)
        for key in (f"command.{flow.command}", f"button.menu_{flow.command}" if flow.in_menu else None, flow.refusal):
            if key and key not in texts:
                problems.append(Problem(str(flow.path), "command", f"no interface string {key!r}"))
    for name in commands:
        if f"command.{name}" not in texts:
            problems.append(Problem("dialogs/commands.yaml", name, f"no interface string 'command.{name}'"))
    used = set(UI_VARIABLES).union(*(flow_texts(f) for f in flows))
    for key in sorted(set(ui) - used):
        problems.append(Problem("ui.yaml", key, "unknown interface string (not used by the bot)"))
    return problems
