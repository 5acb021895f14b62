"""The app shell's commands (/start /help /settings /lang /cancel), declared in commands.yaml.

Each handler takes a `Shell` (the user, their sessions and what the engine can show)
and the command's argument, and returns an `Outcome`: replies, and effects such as
`ChangeSetting` or `SetLocale` for the service to apply. /forget_me is a flow
(flows/forget.yaml), so its confirmation is a button bound to one offer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from dialogs.effects import ChangeSetting, SetLocale
from dialogs.flow_session import Button, Reader, User
from dialogs.turn import Outcome, Reply, SessionRecord
from knowledge.pack import LOCALES, Problem

if TYPE_CHECKING:
    from dialogs.engine import Engine

COMMANDS_FILE = Path(__file__).parent / "commands.yaml"
LEARNER_ROLES = ("rep", "partner")


@dataclass(frozen=True)
class Shell:
    """What a command may use: the user, their current and paused sessions, and the engine's views."""

    engine: Engine
    user: User
    session: SessionRecord | None
    paused: tuple[SessionRecord, ...]
    reader: Reader | None = None  # stored facts, read on demand (the service's; None in engine-only tests)

    def ui(self, key: str, **variables) -> str:
        return self.engine.ui(self.user.locale)(key, **variables)

    def menu(self, locale: str | None = None) -> tuple[Button, ...]:
        return self.engine.menu(locale or self.user.locale, self.user.is_manager)

    def reply(self, text: str, buttons: tuple[Button, ...] = ()) -> Reply:
        return Reply(text, buttons)

    def outcome(self, *replies: Reply, session: SessionRecord | None = None, effects=()) -> Outcome:
        return Outcome(list(replies), session, list(effects))


Handler = Callable[[Shell, str], Outcome]


def load_commands(path: Path = COMMANDS_FILE) -> tuple[dict[str, Handler], list[Problem]]:
    """The declared commands in menu order, each with its handler, and every problem resolving them."""
    problems: list[Problem] = []
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    handlers: dict[str, Handler] = {}
    for i, entry in enumerate(spec.get("commands", [])):
        where = f"commands[{i}]"
        name, ref = str(entry.get("name", "")), str(entry.get("handler", ""))
        module_name, _, function = ref.partition(":")
        try:
            handler = getattr(importlib.import_module(module_name), function, None)
        except ImportError as exc:
            handler, problems = None, [*problems, Problem(str(path), f"{where}.handler", f"cannot import: {exc}")]
        if not callable(handler):
            problems.append(Problem(str(path), f"{where}.handler", f"no function {ref!r}"))
            continue
        handlers[name] = handler
    return handlers, problems


# --- the handlers ---------------------------------------------------------------------------


def start(shell: Shell, arg: str) -> Outcome:
    """The welcome; on first contact, the question of who the learner is. `/start <code>` (a manager's
    invite link) joins their team first."""
    if arg.strip():
        from dialogs.team import join_team

        return join_team(shell, arg.strip())
    text = shell.ui("common.welcome", name=shell.user.name)
    if shell.user.learner is None:  # which deck they drill depends on who they are
        return shell.outcome(shell.reply(f"{text}\n\n{shell.ui('common.ask_role')}", role_buttons(shell)))
    if shell.session is not None:
        text += "\n\n" + shell.ui("common.has_session", command=shell.engine.flows[shell.session.flow].command)
    return shell.outcome(shell.reply(text, shell.menu()))


def show_help(shell: Shell, arg: str) -> Outcome:
    """Every command with its description, then where the user is."""
    names = shell.engine.commands(managers=shell.user.is_manager)
    commands = [{"name": name, "description": shell.ui(f"command.{name}")} for name in names]
    replies = [shell.reply(shell.ui("common.help", commands=commands))]
    if shell.session is not None:
        replies.append(shell.engine.current_screen(shell.user, shell.session, reader=shell.reader))
    return shell.outcome(*replies)


def cancel(shell: Shell, arg: str) -> Outcome:
    """End the current practice (paused ones stay)."""
    if shell.session is None:
        return shell.outcome(shell.reply(shell.ui("common.nothing_to_cancel"), shell.menu()))
    return shell.outcome(
        shell.reply(shell.ui("common.cancelled"), shell.menu()), session=replace(shell.session, status="cancelled")
    )


def role_buttons(shell: Shell) -> tuple[Button, ...]:
    return tuple(Button("/settings", shell.ui(f"button.role_{role}"), f"role:{role}") for role in LEARNER_ROLES)


def settings(shell: Shell, arg: str) -> Outcome:
    """/settings shows who you are and your language; `role:rep`, `lang:en`, ... change them."""
    setting, _, value = arg.strip().partition(":")
    if setting == "lang":
        return lang(shell, value)
    if setting == "role" and value in LEARNER_ROLES:
        reply = shell.reply(shell.ui("common.role_set", role=value), shell.menu())
        return shell.outcome(reply, effects=[ChangeSetting("learner", value)])
    buttons = role_buttons(shell) + tuple(
        Button("/settings", shell.ui(f"button.lang_{locale}"), f"lang:{locale}") for locale in LOCALES
    )
    user = shell.user
    text = shell.ui("common.settings", role=user.learner or "", locale=user.locale, reminder=user.reminder,
                    deck=user.deck)  # fmt: skip
    return shell.outcome(shell.reply(text, buttons))


def lang(shell: Shell, arg: str) -> Outcome:
    """Switch language (`/lang en`), or offer the choice."""
    wanted = arg.strip().lower()
    if wanted in LOCALES:
        text = shell.engine.ui(wanted)("common.lang_switched")
        return shell.outcome(shell.reply(text, shell.menu(wanted)), effects=[SetLocale(wanted)])
    buttons = tuple(Button("/lang", shell.ui(f"button.lang_{locale}"), locale) for locale in LOCALES)
    return shell.outcome(shell.reply(shell.ui("common.lang_choose"), buttons))
