"""Builds one `transitions.Machine` per flow file, shared by every user's session.

A flow file (dialogs/flows/*.yaml) names the flow, the command that starts it and
its place in the menu, then has two parts:

    machine:  the keyword arguments of `transitions.Machine` (states, transitions, initial)
    views:    per state, the buttons (triggers) it offers and which trigger typed text fires

Sessions are not added to the machine; an event is fired with
`machine.events[trigger].trigger(session_model, ...)`, so ten thousand sessions
cost no more than one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from transitions import Machine

FLOWS_DIR = Path(__file__).parent / "flows"


@dataclass(frozen=True)
class View:
    """What a state offers: its buttons in order, and the trigger free text fires (if any)."""

    buttons: tuple[str, ...] = ()
    text: str | None = None
    final: bool = False


@dataclass(frozen=True)
class Flow:
    name: str
    command: str
    menu_order: int
    machine: Machine
    views: dict[str, View]

    def triggers(self, state: str) -> set[str]:
        return set(self.machine.get_triggers(state))


def load_flow(path: Path) -> Flow:
    """Read a flow file and build its machine; every state must have a view."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    machine_args = dict(spec["machine"])
    machine_args.setdefault("auto_transitions", False)
    if machine_args["auto_transitions"]:
        raise ValueError(f"{path.name}: auto_transitions must be false")
    machine = Machine(model=None, **machine_args)
    views = {name: View(**{**v, "buttons": tuple(v.get("buttons", ()))}) for name, v in spec["views"].items()}
    missing = set(machine.states) - set(views)
    if missing:
        raise ValueError(f"{path.name}: states without a view: {', '.join(sorted(missing))}")
    for state, view in views.items():
        if not (view.final or view.buttons or view.text):
            raise ValueError(f"{path.name}: state {state!r} offers no buttons and takes no text: a user would be stuck")
        offered = set(view.buttons) | ({view.text} if view.text else set())
        unknown = offered - set(machine.get_triggers(state))
        if unknown:
            raise ValueError(f"{path.name}: state {state!r} offers triggers it has no transition for: {unknown}")
    return Flow(spec["name"], spec["command"], spec.get("menu_order", 99), machine, views)


def load_flows(directory: Path = FLOWS_DIR) -> dict[str, Flow]:
    """All flows by name, in menu order."""
    flows = sorted((load_flow(p) for p in directory.glob("*.yaml")), key=lambda f: (f.menu_order, f.name))
    return {flow.name: flow for flow in flows}
