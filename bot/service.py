"""Load the session, step the engine, save the outcome: what every front end calls.

A turn is a short read, the engine (pure, and it may score for ~100 ms, so it
runs outside any lock or transaction), then a short write. The write is one
transaction: the incoming turn, the session's new state, the outgoing turns,
the scores and (for front ends that deliver later, like Telegram) the replies
to send go together, so a crash at any point leaves either all of them or
none. Before writing, the turn checks that the user's sessions are still the
ones it read (their versions); if not, it reads and steps again.

Every method here blocks on SQLite (another process may hold the write lock
for seconds): async front ends call them from worker threads.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.effects import StorageReader, apply_turn
from bot.storage import Inbox, StaleSession, Storage, UserRow
from bot.teams import CoachReader
from dialogs.engine import Button, Engine, Event, Outcome, Quiz, Reply, SessionRecord, User
from dialogs.paging import FOLD_TRIGGER, MORE_TRIGGER
from dialogs.turn import Attachment
from knowledge.pack import LOCALES

SAME_SCREEN = (MORE_TRIGGER, FOLD_TRIGGER)  # buttons that show more of the screen they are on
MAX_ATTEMPTS = 5  # reads and steps again when the sessions changed meanwhile (another front end, same user)


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


@dataclass(frozen=True)
class Staff:
    """Who is an admin or a manager from the configuration: external ids on one channel (Telegram user ids)."""

    admin_ids: frozenset[str] = frozenset()
    manager_ids: frozenset[str] = frozenset()
    channel: str = "telegram"

    def role_of(self, channel: str, external_id: str) -> str | None:
        if channel != self.channel:
            return None
        return "admin" if external_id in self.admin_ids else "manager" if external_id in self.manager_ids else None

    def roles(self) -> dict[str, str]:
        return {**{i: "manager" for i in self.manager_ids}, **{i: "admin" for i in self.admin_ids}}


@dataclass(frozen=True)
class _Snapshot:
    """What a turn read before stepping the engine; the write checks it is still true."""

    row: UserRow
    user: User  # the row as the engine sees it (its drill deck is read only when a flow asks, see `_reader`)
    sessions: list[SessionRecord]

    @property
    def versions(self) -> list[tuple[int, int]]:
        return sorted((s.id, s.version) for s in self.sessions)


class CoachService:
    def __init__(self, storage: Storage, engine: Engine, default_locale: str = "zh", inbox: Inbox | None = None,
                 staff: Staff | None = None):  # fmt: skip
        self.storage = storage
        self.engine = engine
        self.default_locale = default_locale
        self.inbox = inbox  # the front end's inbox, if it has one: /forget_me empties it too
        self.staff = staff or Staff()  # admins and first managers (COACH_ADMIN_IDS, COACH_MANAGER_IDS)
        self.deep_link: Callable[[str], str] | None = None  # invite code -> link, set by a front end that has one
        self._lock = threading.Lock()  # one thread at a time on the shared connection (never held by the engine)

    def handle(self, who: Identity, event: Event, update_id: int | None = None, *, queue: bool = False) -> list[Reply]:
        """Answer one event and log it; a redelivered update (same update_id) gets no second answer.

        With `queue`, the replies are also stored in the outbox in the turn's transaction, for the
        front end to send and then mark (`queued_replies`, `reply_sent`).
        """
        for _ in range(MAX_ATTEMPTS):
            snapshot = self._read(who, update_id)
            if snapshot is None:
                return []
            user = snapshot.user
            session, *paused = snapshot.sessions or [None]
            if (finished := self._finished_screen(user, event, snapshot.sessions)) is not None:
                session, paused = finished, snapshot.sessions
            outcome = self.engine.handle(user, session, event, tuple(paused), self._reader(user.id))
            try:
                return self._write(who, snapshot, user, session, event, outcome, update_id, queue)
            except StaleSession:
                continue
        raise StaleSession(f"the sessions of user {who.channel}:{who.external_id} kept changing during a turn")

    def _finished_screen(self, user: User, event: Event, active: list[SessionRecord]) -> SessionRecord | None:
        """The finished session whose last screen a "more" or fold button was pressed on (a review read
        after the practice ended), or None."""
        if event.kind != "button" or event.name not in SAME_SCREEN or event.session_id is None:
            return None
        if any(s.id == event.session_id for s in active):
            return None
        with self._lock:
            return self.storage.finished_session(user.id, event.session_id)

    def look(self, who: Identity, event: Event) -> list[Reply]:
        """The replies to an event that changes nothing (the next page of a screen), neither logged nor
        saved: for a front end that shows every page at once (the console)."""
        snapshot = self._read(who, None)
        session, *paused = snapshot.sessions or [None]
        if (finished := self._finished_screen(snapshot.user, event, snapshot.sessions)) is not None:
            session, paused = finished, snapshot.sessions
        outcome = self.engine.handle(snapshot.user, session, event, tuple(paused), self._reader(snapshot.user.id))
        if outcome.effects or (outcome.session is not None and outcome.session != session):
            raise ValueError(f"{event.describe()} changes the session: it must go through handle()")
        return _offered_by(session, session.id if session else None, outcome.replies)

    def _read(self, who: Identity, update_id: int | None) -> _Snapshot | None:
        """The user (created on first contact) and their active sessions; None if the update was handled."""
        with self._lock:
            if update_id is not None and self.storage.update_seen(update_id, who.channel):
                return None
            row = self.storage.find_user(who.channel, who.external_id)
            if row is None:
                with self.storage.transaction():
                    row = self._ensure_user(who)
            # everything is read here, under the lock: a thread touching the connection while another one
            # waits in SQLite's busy handler blocks on the connection's mutex, and was seen to freeze the process
            return _Snapshot(row, self._learner(row, with_cards=False), self.storage.active_sessions(row.id))

    def _write(self, who, snapshot, user, session, event, outcome, update_id, queue) -> list[Reply]:
        with self._lock:
            with self.storage.transaction():
                if update_id is not None and self.storage.update_seen(update_id, who.channel):
                    return []  # handled meanwhile (the same update, delivered twice at once)
                row = self._ensure_user(who)  # keeps the display name current
                if replace(row, name=snapshot.row.name) != snapshot.row or (
                    self.storage.session_versions(row.id) != snapshot.versions
                ):
                    raise StaleSession
                if update_id is not None:
                    self.storage.mark_update_handled(update_id, who.channel)
                if outcome.forget:
                    self.storage.forget_user(user.id)
                    replies = outcome.replies
                else:
                    outcome = _next_version(outcome, snapshot.sessions)
                    session_id = self._save(user, session, event, outcome, update_id)
                    replies = _offered_by(outcome.session, session_id, outcome.replies)
                if queue:
                    for reply in replies:
                        self.storage.queue_reply(
                            channel=who.channel, chat=who.external_id, user_id=None if outcome.forget else user.id,
                            update_id=update_id, reply=reply_to_json(reply),
                        )  # fmt: skip
            if outcome.forget:  # no WAL frame or free page may keep what was deleted
                self.storage.checkpoint()
        if outcome.forget and self.inbox is not None:
            self.inbox.forget(who.channel, who.external_id, update_id)
        return replies

    def _ensure_user(self, who: Identity) -> UserRow:
        locale = default_locale(who.language_code, self.default_locale)
        row = self.storage.ensure_user(who.channel, who.external_id, who.name, who.language_code, locale)
        staff_role = self.staff.role_of(who.channel, who.external_id)
        if staff_role and row.role != staff_role:  # first contact of a configured admin or manager
            self.storage.set_role(row.id, staff_role)
            row = replace(row, role=staff_role)
        return row

    def sync_staff(self) -> list[UserRow]:
        """Give the configured admins and managers their role, and take it from those no longer configured
        (at start-up); returns the users whose role changed (their command menu changes too)."""
        with self._lock, self.storage.transaction():
            return self.storage.sync_staff(self.staff.channel, self.staff.roles())

    def prune_turns(self, days: int) -> int:
        """Delete the turns older than `days` days (COACH_RETENTION_DAYS); returns how many."""
        before = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
        with self._lock:
            with self.storage.transaction():
                deleted = self.storage.prune_turns(before)
            if deleted:
                self.storage.checkpoint()  # no WAL frame keeps the deleted text
        return deleted

    def digest_managers(self, channel: str) -> list[UserRow]:
        """The managers and admins of a channel who opted in to the weekly digest."""
        with self._lock:
            return [row for row in self.storage.digest_managers() if row.channel == channel]

    def managers(self, channel: str) -> list[UserRow]:
        """Every manager and admin of a channel (to give them their command menu)."""
        with self._lock:
            return [row for row in self.storage.staff_users() if row.channel == channel]

    # --- the outbox (front ends that send later) ---------------------------------------

    def queued_replies(self, channel: str, chat: str) -> list[tuple[int, Reply, int]]:
        """(outbox id, reply, parts already sent) of a chat's unsent replies, oldest first."""
        with self._lock:
            rows = self.storage.queued_replies(channel, chat)
        return [(outbox_id, reply_from_json(data), parts) for outbox_id, data, parts in rows]

    def chats_with_queued_replies(self, channel: str) -> list[str]:
        with self._lock:
            return self.storage.chats_with_queued_replies(channel)

    def reply_parts_sent(self, outbox_id: int, parts: int) -> None:
        with self._lock:
            self.storage.reply_parts_sent(outbox_id, parts)

    def reply_sent(self, outbox_id: int) -> None:
        with self._lock:
            self.storage.reply_sent(outbox_id)

    # --- quiz polls (front ends that ask a Quiz as a poll: Telegram) --------------------------

    def quiz_poll_sent(self, outbox_id: int, who: Identity, poll_id: str, reply: Reply) -> None:
        """The poll asking `reply.quiz` was accepted: remember what it asks, for whom, and mark the reply sent
        (together, so a crash between them cannot leave a poll whose answer would not be understood)."""
        with self._lock, self.storage.transaction():
            row = self.storage.find_user(who.channel, who.external_id)
            if row is not None and reply.session_id is not None and reply.quiz is not None:
                presses = [(b.trigger, b.arg) for b in reply.buttons[: len(reply.quiz.options)]]
                self.storage.save_quiz_poll(
                    poll_id=poll_id, user_id=row.id, session_id=reply.session_id, version=reply.version,
                    quiz_key=reply.quiz.key, chat=who.external_id, presses=presses,
                )  # fmt: skip
            self.storage.reply_sent(outbox_id)

    def quiz_poll_event(self, who: Identity, poll_id: str, option_ids: list[int]) -> Event | None:
        """A poll answer as the press of that option in the session that asked it; None when the poll is not
        one we sent, was sent to someone else (a forwarded poll), or the answer is a retracted vote."""
        with self._lock:
            poll = self.storage.quiz_poll(poll_id)
            row = self.storage.find_user(who.channel, who.external_id)
        if poll is None or row is None or poll["user_id"] != row.id or len(option_ids) != 1:
            return None
        if not 0 <= option_ids[0] < len(poll["presses"]):
            return None
        trigger, arg = poll["presses"][option_ids[0]]
        return Event("button", trigger, arg, session_id=poll["session_id"], version=poll["version"])

    def set_locale(self, who: Identity, locale: str) -> None:
        """Set a user's language (e.g. from `coach chat --locale`)."""
        with self._lock, self.storage.transaction():
            row = self.storage.ensure_user(who.channel, who.external_id, who.name, who.language_code, locale)
            self.storage.set_locale(row.id, locale)

    def ui_text(self, who: Identity, key: str, **variables) -> str:
        """An interface string in the user's language."""
        with self._lock:
            row = self.storage.find_user(who.channel, who.external_id)
        locale = row.locale if row else default_locale(who.language_code, self.default_locale)
        return self.engine.ui(locale)(key, **variables)

    def due_reminders(self, channel: str) -> list[tuple[str, str]]:
        """(external id, message) for every opted-in user of `channel` who has drill cards due now."""
        reminders = []
        with self._lock:
            rows = self.storage.reminder_users()
        for row in rows:
            if row.channel != channel:
                continue
            with self._lock:
                learner = self._learner(row)
            due = self.engine.due_count(learner)
            if due:
                reminders.append((row.external_id, self.engine.ui(row.locale)("drill.reminder", due=due)))
        return reminders

    def _learner(self, row: UserRow, with_cards: bool = True) -> User:
        """A stored user as the engine sees them, with their drill deck unless told not to load it."""
        cards = tuple(self.storage.drill_cards(row.id)) if with_cards else ()
        return User(row.id, row.locale, row.name, row.learner, row.reminder, cards, row.role)

    def _reader(self, user_id: int) -> StorageReader:
        """What a flow may read while the engine runs: lazily, under the lock like every other read of the
        shared connection; another user's data only as far as the user's role allows (bot/teams.py)."""
        return CoachReader(self.storage, user_id, self._lock, self.deep_link)

    def _save(self, user: User, before, event: Event, outcome: Outcome, update_id: int | None) -> int | None:
        """The turn and its effects, written by the one dispatcher (bot/effects.py), inside the turn's
        transaction (see `_write`), with the session's next version already set."""
        return apply_turn(self.storage, user, before, event, outcome, update_id, _describe_press)


def _next_version(outcome: Outcome, stored: list[SessionRecord]) -> Outcome:
    """The outcome with its session one version on from the stored one, whether or not the engine bumped it."""
    after = outcome.session
    if after is None:
        return outcome
    was = next((s.version for s in stored if s.id == after.id), None) if after.id is not None else None
    version = after.version if was is None else max(after.version, was + 1)
    return replace(outcome, session=replace(after, version=version))


def _offered_by(session: SessionRecord | None, session_id: int | None, replies: list[Reply]) -> list[Reply]:
    """Replies marked with the session (id, state, version) their buttons belong to (a finished session's
    too: its last screen may have pages and folded parts to show)."""
    if session is None or session.status not in ("active", "finished"):
        return replies
    return [replace(r, session_id=session_id, state=session.state, version=session.version) for r in replies]


def reply_to_json(reply: Reply) -> str:
    """A reply as stored in the outbox."""
    buttons = [[b.trigger, b.label, b.arg] for b in reply.buttons]
    return json.dumps(
        {"text": reply.text, "buttons": buttons, "score": reply.score, "session_id": reply.session_id,
         "state": reply.state, "version": reply.version, **_placement(reply),
         **_attachments_to_json(reply.attachments), **_quiz_to_json(reply.quiz)},
        ensure_ascii=False,
    )  # fmt: skip


def _placement(reply: Reply) -> dict:
    """Where a front end places the reply (replaces, answers, quote, typing), as stored in the outbox."""
    return {"replaces": reply.replaces, "answers": reply.answers, "quote": reply.quote, "typing": reply.typing}


def reply_from_json(data: str) -> Reply:
    fields = json.loads(data)
    buttons = tuple(Button(trigger, label, arg) for trigger, label, arg in fields.pop("buttons"))
    attachments = _attachments_from_json(fields.pop("attachments", []))
    quiz = _quiz_from_json(fields.pop("quiz", None))
    return Reply(buttons=buttons, attachments=attachments, quiz=quiz, **fields)


def _attachments_to_json(attachments: tuple[Attachment, ...]) -> dict:
    """A reply's files for the outbox row, their bytes in base64 (no key at all for a reply without files)."""
    if not attachments:
        return {}
    return {"attachments": [{"kind": a.kind, "filename": a.filename, "caption": a.caption,
                             "data": base64.b64encode(a.data).decode("ascii")} for a in attachments]}  # fmt: skip


def _attachments_from_json(items: list[dict]) -> tuple[Attachment, ...]:
    return tuple(Attachment(i["kind"], i["filename"], base64.b64decode(i["data"]), i.get("caption", "")) for i in items)


def _quiz_to_json(quiz: Quiz | None) -> dict:
    """A reply's quiz in the outbox JSON (no key at all without one: older rows read the same)."""
    if quiz is None:
        return {}
    return {"quiz": {"key": quiz.key, "question": quiz.question, "options": list(quiz.options),
                     "correct": quiz.correct, "explanation": quiz.explanation}}  # fmt: skip


def _quiz_from_json(fields: dict | None) -> Quiz | None:
    return None if fields is None else Quiz(**{**fields, "options": tuple(fields["options"])})


def _describe_press(event: Event) -> str:
    """What to log as the text of an event that carried none (a pressed button)."""
    return f"/{event.name} {event.arg}".strip() if event.kind == "command" else f"[{event.name} {event.arg}]".strip()
