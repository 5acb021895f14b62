"""Load the session, step the engine, save the outcome: what every front end calls.

One call is one transaction: the incoming turn, the session's new state, the
outgoing turns and the scores are committed together, so a crash at any point
leaves either all of them or none, and the user resumes where the log says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from bot.effects import StorageReader, apply_turn
from bot.storage import Storage, UserRow
from dialogs.engine import Engine, Event, Outcome, Reply, User
from knowledge.pack import LOCALES


@dataclass(frozen=True)
class Identity:
    """Who sent an event, as the front end knows them."""

    channel: str  # "console", "telegram", ...
    external_id: str
    name: str = ""
    language_code: str = ""


def default_locale(language_code: str, fallback: str) -> str:
    """The locale for a new user: their client's language if we have it, else the configured one."""
    code = (language_code or "").lower()
    for locale in LOCALES:
        if code == locale or code.startswith(locale + "-"):
            return locale
    return fallback


class CoachService:
    def __init__(self, storage: Storage, engine: Engine, default_locale: str = "zh"):
        self.storage = storage
        self.engine = engine
        self.default_locale = default_locale
        self._lock = threading.Lock()  # one writer at a time on the shared connection

    def handle(self, who: Identity, event: Event, update_id: int | None = None) -> list[Reply]:
        """Answer one event and log it; a redelivered update (same update_id) gets no second answer."""
        with self._lock, self.storage.transaction():
            if update_id is not None and self.storage.update_seen(update_id):
                return []
            locale = default_locale(who.language_code, self.default_locale)
            user = self._learner(
                self.storage.ensure_user(who.channel, who.external_id, who.name, who.language_code, locale),
                with_cards=False,  # a flow that needs them reads them through the reader
            )
            session, *paused = self.storage.active_sessions(user.id) or [None]
            outcome = self.engine.handle(user, session, event, tuple(paused), StorageReader(self.storage, user.id))
            if outcome.forget:
                self.storage.forget_user(user.id)
                return outcome.replies
            session_id = self._save(user, session, event, outcome, update_id)
        after = outcome.session
        if after is None or after.status != "active":
            return outcome.replies
        return [replace(r, session_id=session_id, state=after.state) for r in outcome.replies]

    def set_locale(self, who: Identity, locale: str) -> None:
        """Set a user's language (e.g. from `coach chat --locale`)."""
        with self._lock, self.storage.transaction():
            row = self.storage.ensure_user(who.channel, who.external_id, who.name, who.language_code, locale)
            self.storage.set_locale(row.id, locale)

    def ui_text(self, who: Identity, key: str, **variables) -> str:
        """An interface string in the user's language."""
        row = self.storage.find_user(who.channel, who.external_id)
        locale = row.locale if row else default_locale(who.language_code, self.default_locale)
        return self.engine.ui(locale)(key, **variables)

    def due_reminders(self, channel: str) -> list[tuple[str, str]]:
        """(external id, message) for every opted-in user of `channel` who has drill cards due now."""
        reminders = []
        for row in self.storage.reminder_users():
            if row.channel != channel:
                continue
            due = self.engine.due_count(self._learner(row))
            if due:
                reminders.append((row.external_id, self.engine.ui(row.locale)("drill.reminder", due=due)))
        return reminders

    def _learner(self, row: UserRow, with_cards: bool = True) -> User:
        """A stored user as the engine sees them, with their drill deck unless told not to load it."""
        cards = tuple(self.storage.drill_cards(row.id)) if with_cards else ()
        return User(row.id, row.locale, row.name, row.learner, row.reminder, cards)

    def _save(self, user: User, before, event: Event, outcome: Outcome, update_id: int | None) -> int | None:
        """The turn and its effects, written by the one dispatcher (bot/effects.py)."""
        return apply_turn(self.storage, user, before, event, outcome, update_id, _describe_press)


def _describe_press(event: Event) -> str:
    """What to log as the text of an event that carried none (a pressed button)."""
    return f"/{event.name} {event.arg}".strip() if event.kind == "command" else f"[{event.name} {event.arg}]".strip()
