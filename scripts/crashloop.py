"""Kill `coach run` again and again while many users practise, then audit what was lost or doubled.

    python -m scripts.crashloop [--users 50] [--kills 20] [--actions 30] [--seed 1]

Real parts only: `coach run` is a separate process talking HTTP to the fake Bot API
(tests/fake_telegram.py) on 127.0.0.1, over a real SQLite file. Each simulated user sends
/start, picks a role, starts a flow and then, like an impatient person, presses a button of
the newest keyboard or types an answer, waiting (a few seconds at most) for the bot's answer
before the next action. Meanwhile the bot is SIGKILLed after a random uptime and restarted,
`--kills` times; then the users finish, the bot drains and is stopped, and the audit compares
what the users sent (the fake's updates), what the bot committed (`turns`) and what Telegram
received (the fake's `sendMessage` calls):

- updates never processed: a user's update with no incoming turn;
- processed twice: an update with more than one incoming turn;
- lost replies: a committed outgoing turn (its message parts) Telegram never received;
- duplicate replies: parts Telegram received more often than they were committed, per kill (a
  chat has at most one message in flight, so a kill can repeat at most one per chat);
- presses never acknowledged: callback queries without an answerCallbackQuery;
- invalid sessions: a session whose state is not a state of its flow; and `PRAGMA integrity_check`.

Bounded: every wait has a timeout, the users have a fixed number of actions, and everything
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.telegram.render import split_message
from dialogs.machines import load_flows
from tests.fake_telegram import (
    TOKEN,
    FakeBotApi,
    FakeBotApiServer,
    _refusal,
    buttons_of,
    callback_update,
    message_update,
)
from tests.helpers import load_labelled

FIRST_USER = 700_000
FLOW_COMMANDS = ["/train", "/roleplay", "/drill"]
AVOID_IN_BUTTONS = ("forget_me", "/cancel")  # a user who deletes themselves leaves nothing to audit


class TimedFakeBotApi(FakeBotApi):
    """The fake Bot API, noting when each call arrived (to tell which restart a duplicate came from)."""

    def call(self, method: str, params: dict) -> dict:
        params["_at"] = time.time()  # wall clock, to compare with the bot's `created_at`
        return super().call(method, params)


@dataclass
class SimUser:
    uid: int
    actions_left: int
    rng: random.Random
    waiting_since: float = 0.0
    sent_before: int = 0  # messages the chat had when the user last acted
    step: int = 0


@dataclass
class Audit:
    users: int
    kills: int
    updates: int
    never_processed: int
    processed_twice: int
    committed_parts: int
    lost_replies: int
    duplicate_replies: int
    duplicates_per_kill: dict[int, int]
    most_duplicates_in_one_chat_per_kill: int
    unexpected_replies: int
    presses: int
    presses_never_acknowledged: int
    presses_acknowledged_never_processed: int
    invalid_sessions: list[str]
    integrity: str
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.never_processed == 0
            and self.processed_twice == 0
            and self.lost_replies == 0
            and self.most_duplicates_in_one_chat_per_kill <= 1
            and self.presses_never_acknowledged == 0
            and not self.invalid_sessions
            and self.integrity == "ok"
        )

    def report(self) -> str:
        per_kill = max(self.duplicates_per_kill.values(), default=0)
        return "\n".join(
            [
                f"users {self.users}, kills {self.kills}, updates sent {self.updates}, presses {self.presses}",
                f"updates never processed:              {self.never_processed}",
                f"updates processed twice:              {self.processed_twice}",
                f"committed message parts:              {self.committed_parts}",
                f"replies committed and never sent:     {self.lost_replies}",
                f"duplicate replies:                    {self.duplicate_replies} (most after one kill: {per_kill})",
                f"replies sent that were never committed (errors): {self.unexpected_replies}",
                f"presses never acknowledged:           {self.presses_never_acknowledged}",
                f"presses acknowledged, never processed: {self.presses_acknowledged_never_processed}",
                f"invalid sessions:                     {len(self.invalid_sessions)} {self.invalid_sessions[:5]}",
                f"PRAGMA integrity_check:               {self.integrity}",
                f"verdict: {'OK' if self.ok else 'FAILED'}",
            ]
        )


class Bot:
    """`coach run` as a child process that can be killed and started again."""

    def __init__(self, server: FakeBotApiServer, db: Path, log_path: Path, extra_env: dict | None = None):
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "COACH_DB": str(db),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=self.env, stdout=log, stderr=log)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


class Crowd:
    """The simulated users, driven from one thread."""

    def __init__(self, api: TimedFakeBotApi, users: int, actions: int, seed: int, patience: float):
        self.api = api
        self.patience = patience
        rng = random.Random(seed)
        self.users = [SimUser(FIRST_USER + i, actions, random.Random(rng.random())) for i in range(users)]
        self.answers = [a["text"] for a in load_labelled() if a["locale"] == "zh"] + [
            a["text"] for a in load_labelled("labelled_objection_answers.yaml") if a["locale"] == "zh"
        ]
        self.pushed: dict[int, dict] = {}  # update id -> update
        self.by_chat: dict[int, list[dict]] = defaultdict(list)  # messages sent to each chat
        self._seen_calls = 0
        self.done = threading.Event()

    def _collect(self) -> None:
        with self.api._changed:
            new = self.api.calls[self._seen_calls :]
            self._seen_calls = len(self.api.calls)
        for method, params in new:
            if method == "sendMessage":
                self.by_chat[int(params["chat_id"])].append(params)

    def _push(self, update: dict) -> None:
        self.pushed[update["update_id"]] = update
        self.api.push(update)

    def _act(self, user: SimUser) -> None:
        messages = self.by_chat[user.uid]
        if user.step == 0:
            update = message_update(user.uid, "/start", name=f"U{user.uid}")
        elif user.step == 1 or user.rng.random() < 0.05:
            update = message_update(user.uid, user.rng.choice(FLOW_COMMANDS), name=f"U{user.uid}")
        else:
            keyboard = next((m for m in reversed(messages) if m.get("reply_markup")), None)
            buttons = [
                (label, data)
                for label, data in (buttons_of(keyboard) if keyboard else [])
                if not any(word in data for word in AVOID_IN_BUTTONS)
            ]
            if buttons and (user.rng.random() < 0.7 or messages[-1] is keyboard):
                # mostly the newest keyboard; now and then an older one (a stale press)
                update = callback_update(user.uid, user.rng.choice(buttons)[1])
            else:
                update = message_update(user.uid, user.rng.choice(self.answers), name=f"U{user.uid}")
        user.step += 1
        user.actions_left -= 1
        user.sent_before = len(messages)
        user.waiting_since = time.monotonic()
        self._push(update)

    def run(self) -> None:
        while any(u.actions_left for u in self.users):
            self._collect()
            now = time.monotonic()
            for user in self.users:
                if not user.actions_left:
                    continue
                answered = len(self.by_chat[user.uid]) > user.sent_before
                if user.step == 0 or answered or now - user.waiting_since > self.patience:
                    self._act(user)
            time.sleep(0.02)
        self.done.set()


def _epoch(at: float, kill_times: list[float]) -> int:
    """How many kills happened before `at` (0: before the first kill)."""
    return sum(1 for k in kill_times if k <= at)


def audit(api: TimedFakeBotApi, crowd: Crowd, db: Path, kill_times: list[float]) -> Audit:
    flows, _ = load_flows()  # the flows and any problems reading them (none: coach run started)
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        incoming = Counter(
            r[0] for r in conn.execute("SELECT update_id FROM turns WHERE direction = 'in' AND update_id IS NOT NULL")
        )
        outgoing = conn.execute(
            "SELECT u.external_id, t.text, t.created_at FROM turns t JOIN users u ON u.id = t.user_id"
            " WHERE t.direction = 'out' AND u.channel = 'telegram'"
        ).fetchall()
        sessions = conn.execute("SELECT id, flow, state FROM sessions").fetchall()
    finally:
        conn.close()

    pushed = crowd.pushed
    never_processed = [uid for uid in pushed if uid not in incoming]
    processed_twice = sum(n - 1 for n in incoming.values() if n > 1)

    # Per chat and message part, in time order: a commit owes one send; a send nothing was owed for is a
    # duplicate (attributed to the restart it came after); what is still owed at the end was lost.
    events: dict[tuple[int, str], list[tuple[float, int]]] = defaultdict(list)
    for chat, text, created_at in outgoing:
        for part in split_message(text):
            events[int(chat), part].append((datetime.fromisoformat(created_at).timestamp(), 0))
    with api._changed:
        calls = list(api.calls)
    acknowledged = set()
    for method, params in calls:
        if method == "sendMessage" and _refusal(params) is None:
            events[int(params["chat_id"]), params["text"]].append((params["_at"], 1))
        elif method == "answerCallbackQuery":
            acknowledged.add(str(params.get("callback_query_id")))
    lost = duplicates = unexpected = committed = 0
    per_kill: Counter = Counter()
    per_kill_and_chat: Counter = Counter()
    for (chat, _), timeline in events.items():
        owed = 0
        for at, is_send in sorted(timeline):
            if not is_send:
                owed += 1
                committed += 1
            elif owed:
                owed -= 1
            elif not any(not s for _, s in timeline):
                unexpected += 1  # never committed at all: an error message
            else:
                duplicates += 1
                per_kill[_epoch(at, kill_times)] += 1
                per_kill_and_chat[_epoch(at, kill_times), chat] += 1
        lost += owed
    presses = {u["update_id"]: u["callback_query"]["id"] for u in pushed.values() if "callback_query" in u}
    invalid = [f"session {sid}: {flow}/{state}" for sid, flow, state in sessions
               if flow not in flows or state not in flows[flow].machine.states]  # fmt: skip
    return Audit(
        users=len(crowd.users),
        kills=len(kill_times),
        updates=len(pushed),
        never_processed=len(never_processed),
        processed_twice=processed_twice,
        committed_parts=committed,
        lost_replies=lost,
        duplicate_replies=duplicates,
        duplicates_per_kill=dict(per_kill),
        most_duplicates_in_one_chat_per_kill=max(per_kill_and_chat.values(), default=0),
        unexpected_replies=unexpected,
        presses=len(presses),
        presses_never_acknowledged=sum(1 for q in presses.values() if q not in acknowledged),
        presses_acknowledged_never_processed=sum(
            1 for uid, q in presses.items() if q in acknowledged and uid not in incoming
        ),
        invalid_sessions=invalid,
        integrity=integrity,
        details={"never_processed": never_processed[:20]},
    )


def _quiet(api: TimedFakeBotApi, seconds: float, limit: float) -> None:
    """Wait until the fake Bot API saw no sendMessage for `seconds` (at most `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with api._changed:
            last = max((p["_at"] for m, p in api.calls if m == "sendMessage"), default=0.0)
            pending = bool(api.updates)
        if not pending and time.time() - last > seconds:
            return
        time.sleep(0.2)


def crashloop(
    workdir: Path,
    *,
    users: int = 50,
    kills: int = 20,
    actions: int = 30,
    seed: int = 1,
    min_up: float = 1.0,
    max_up: float = 5.0,
    patience: float = 5.0,
    extra_env: dict | None = None,
) -> Audit:
    """Run the crash loop in `workdir` and return its audit."""
    rng = random.Random(seed)
    api = TimedFakeBotApi()
    db = workdir / "coach.db"
    with FakeBotApiServer(api) as server:
        bot = Bot(server, db, workdir / "bot.log", extra_env)
        crowd = Crowd(api, users, actions, seed, patience)
        driver = threading.Thread(target=crowd.run, daemon=True)
        bot.start()
        driver.start()
        kill_times: list[float] = []
        try:
            for _ in range(kills):
                time.sleep(rng.uniform(min_up, max_up))
                bot.kill()
                kill_times.append(time.time())
                bot.start()
            crowd.done.wait(timeout=actions * (patience + 1) + 60)
            _quiet(api, seconds=3.0, limit=60.0)
        finally:
            bot.stop()
    return audit(api, crowd, db, kill_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--actions", type=int, default=30, help="actions per user (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-up", type=float, default=1.0, help="shortest uptime before a kill, seconds")
    parser.add_argument("--max-up", type=float, default=5.0, help="longest uptime before a kill, seconds")
    parser.add_argument("--keep", help="keep the database and the bot's log in this folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = crashloop(workdir, users=args.users, kills=args.kills, actions=args.actions, seed=args.seed,
                           min_up=args.min_up, max_up=args.max_up)  # fmt: skip
    print(result.report())
    print(f"duplicates by restart: {json.dumps(dict(sorted(result.duplicates_per_kill.items())))}")
    print(f"took {time.monotonic() - started:.0f} s")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
