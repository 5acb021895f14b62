"""A real log with teams, for the manager and privacy tests: built through the service, the way people use it.

Team A: manager 经理甲 (Telegram 900), rep 王小明 (1001) and partner Li Lei (1002), both enrolled by
the invite links 经理甲 made, both through the five-step course. Team B: manager Bob (901) and rep
Zhao (2001), who only said hello. Admin Ada (800) leads no team. Everyone is on Telegram, with
numeric ids, so the same log serves the Telegram tests.
"""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.service import CoachService, Identity, Staff
from bot.storage import Storage
from dialogs.engine import Engine
from tests.helpers import Learner
from tests.manager_log import WEAK_STEP, KnownRep, play_course


@dataclass(frozen=True)
class Person:
    name: str
    telegram_id: int

    @property
    def identity(self) -> Identity:
        return Identity("telegram", str(self.telegram_id), self.name)


ADMIN = Person("Ada", 800)
MANAGER_A = Person("经理甲", 900)
MANAGER_B = Person("Bob", 901)
REP_A = Person("王小明", 1001)
PARTNER_A = Person("Li Lei", 1002)
REP_B = Person("Zhao", 2001)
STAFF = Staff(admin_ids=frozenset({"800"}), manager_ids=frozenset({"900", "901"}))
# What only team A's manager (and the admin) may see: the members' names and a sentence of each one's answers.
TEAM_A_SECRETS = (REP_A.name, PARTNER_A.name)


def service_over(storage: Storage, pack) -> CoachService:
    return CoachService(storage, Engine(pack, rng=random.Random(7)), default_locale="zh", staff=STAFF)


def invite_code(manager: Learner, role: str) -> str:
    manager.send(f"/invite {role}")
    return re.search(r"/start ([A-Za-z0-9_-]+)", manager.text).group(1)


def build(path: Path, pack) -> None:
    """Write the log described above to `path` (closed when done)."""
    storage = Storage(path)
    try:
        service = service_over(storage, pack)
        Learner(service, ADMIN.identity).send("/start")
        manager_a = Learner(service, MANAGER_A.identity).send("/start")
        manager_b = Learner(service, MANAGER_B.identity).send("/start")
        for person, role in ((REP_A, "rep"), (PARTNER_A, "partner")):
            Learner(service, person.identity).send(f"/start {invite_code(manager_a, role)}")
        Learner(service, REP_B.identity).send(f"/start {invite_code(manager_b, 'rep')}")
        play_course(service, pack, KnownRep(REP_A.name, str(REP_A.telegram_id), WEAK_STEP))
        play_course(service, pack, KnownRep(PARTNER_A.name, str(PARTNER_A.telegram_id), None))
    finally:
        storage.close()


def answers_of(path: Path, person: Person) -> list[str]:
    """The texts a learner typed that were scored (what must not leak)."""
    storage = Storage(path)
    try:
        user = storage.find_user("telegram", str(person.telegram_id))
        rows = storage.db.execute(
            "SELECT text FROM turns WHERE user_id = ? AND direction = 'in' AND event = 'text'", [user.id]
        ).fetchall()
        return [row[0] for row in rows]
    finally:
        storage.close()


def copy_of(built: Path, directory: Path) -> Path:
    target = directory / "coach.db"
    shutil.copy(built, target)
    return target
