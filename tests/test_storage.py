"""The session log: schema version, WAL, and one transaction per turn."""

from __future__ import annotations

import sqlite3

import pytest

from bot.storage import SCHEMA_VERSION, Storage, StorageError
from tests.helpers import Learner


def test_a_new_database_is_migrated_and_in_wal_mode(tmp_path):
    store = Storage(tmp_path / "new.db")
    assert store.schema_version == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"users", "sessions", "turns", "scores"} <= set(store.db.table_names())
    store.close()
    Storage(tmp_path / "new.db").close()  # opening again migrates nothing and fails nothing


def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this code"):
        Storage(path)


def test_an_unwritable_location_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="cannot open database"):
        Storage(tmp_path / "no-such-dir" / "coach.db")


def test_a_failure_while_saving_leaves_neither_the_turn_nor_the_new_state(service, storage, rep, monkeypatch):
    learner = Learner(service, rep).send("/train").press_trigger("begin").press_trigger("practise")
    turns_before = len(storage.turns())
    state_before = storage.active_session(1).state

    def disk_full(**_):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(storage, "add_score", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        learner.send("王老板您好，最近生意怎么样？")
    assert len(storage.turns()) == turns_before
    assert storage.active_session(1).state == state_before == "practice"


def test_a_redelivered_update_is_answered_once(service, storage, rep):
    from dialogs.engine import Event

    first = service.handle(rep, Event.from_text("/train"), update_id=1001)
    again = service.handle(rep, Event.from_text("/train"), update_id=1001)
    assert first and again == []
    assert [t["update_id"] for t in storage.turns() if t["direction"] == "in"] == [1001]


def old_database(path, schema: int, sessions: list[tuple[str, str, str]]) -> None:
    """A database left at schema version `schema` with one user and these (flow, state, updated_at) sessions."""
    import sqlite_utils

    from bot.storage import MIGRATIONS

    old = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    for number, migration in enumerate(MIGRATIONS[:schema], start=1):
        migration(old)
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO users (channel, external_id, name, locale, role, created_at)"
                " VALUES ('telegram', '5', 'Li', 'zh', 'rep', 'now')")  # fmt: skip
    for flow, state, updated in sessions:
        old.execute("INSERT INTO sessions (user_id, flow, state, data, status, created_at, updated_at)"
                    " VALUES (1, ?, ?, '{}', 'active', 'then', ?)", [flow, state, updated])  # fmt: skip
    old.conn.close()


def test_a_database_of_schema_2_gains_session_versions_the_outbox_and_handled_updates(tmp_path):
    path = tmp_path / "old.db"
    old_database(path, 2, [("course", "explain", "now")])
    store = Storage(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.active_session(1).version == 0 and store.active_session(1).state == "explain"
    assert {"outbox", "handled_updates"} <= set(store.db.table_names())
    store.close()


def test_a_sent_replys_outbox_id_is_never_given_to_a_later_reply(storage):
    first = storage.queue_reply(channel="telegram", chat="5", user_id=None, update_id=None, reply="{}")
    storage.reply_sent(first)  # the newest row is deleted: a plain rowid would be handed out again
    second = storage.queue_reply(channel="telegram", chat="5", user_id=None, update_id=None, reply="{}")
    assert second > first


def test_sessions_saved_in_the_same_millisecond_keep_the_order_they_were_used_in(tmp_path, monkeypatch):
    import bot.storage as storage_module
    from dialogs.engine import SessionRecord

    monkeypatch.setattr(storage_module, "now", lambda: "2026-12-01T09:00:00.000+00:00")  # one frozen millisecond
    store = Storage(tmp_path / "same-ms.db")
    user = store.ensure_user("console", "u", "U", "", "zh")
    course = store.save_session(user.id, SessionRecord(None, "course", "explain", {}))
    drill = store.save_session(user.id, SessionRecord(None, "drill", "menu", {}))
    assert [s.id for s in store.active_sessions(user.id)] == [drill, course]  # the drill paused the course
    store.save_session(user.id, SessionRecord(course, "course", "model", {}, version=1))  # /train continues it
    assert [s.id for s in store.active_sessions(user.id)] == [course, drill]
    store.close()


def test_a_schema_3_database_keeps_its_sessions_in_the_order_they_were_last_used(tmp_path):
    path = tmp_path / "v3.db"
    old_database(path, 3, [("course", "x", "2026-12-01T09:00:02"), ("drill", "x", "2026-12-01T09:00:01")])
    store = Storage(path)
    assert [s.flow for s in store.active_sessions(1)] == ["course", "drill"]  # the later-used one first
    store.close()
