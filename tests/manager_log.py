"""A real session log for the manager tests: known reps play the course and the drill through CoachService."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bot.service import CoachService, Identity
from bot.storage import Storage
from dialogs.engine import Engine
from knowledge.pack import STEP_IDS
from tests.helpers import Learner, load_labelled

LABELLED = load_labelled()
WEAK_STEP = "value_presentation"  # the known rep answers this step poorly, every other step well


@dataclass(frozen=True)
class KnownRep:
    name: str
    external_id: str
    weak_step: str | None  # the one step answered poorly, or None


STRONG = KnownRep("王小明", "tg-1001", WEAK_STEP)
OTHER = KnownRep("Li Lei", "tg-1002", None)


def answer(step: str, label: int) -> str:
    return next(a["text"] for a in LABELLED if a["step"] == step and a["locale"] == "zh" and a["label"] == label)


def play_course(service: CoachService, pack, rep: KnownRep) -> Learner:
    """/train through all five steps: the best labelled answer, a poor one at the rep's weak step."""
    learner = Learner(service, Identity("telegram", rep.external_id, rep.name)).send("/train")
    learner.press(pack.products[0].name["zh"])
    for step in STEP_IDS:
        learner.press("我来练习")
        learner.send(answer(step, 0 if step == rep.weak_step else 3))
        learner.press("完成课程" if step == STEP_IDS[-1] else "下一步")
    return learner


def play_poor_drill_card(service: CoachService, rep: KnownRep) -> Learner:
    """One drill card answered badly."""
    learner = Learner(service, Identity("telegram", rep.external_id, rep.name)).send("/start")
    if any("渠道经理" in label for label in learner.labels):
        learner.press("渠道经理")
    learner.send("/drill").press_trigger("start")
    return learner.send("不知道，你自己看着办吧。")


def fill_log(path: Path, pack) -> Storage:
    """The log at `path` with both known reps' course and one failed drill card; returns the open storage."""
    storage = Storage(path)
    service = CoachService(storage, Engine(pack, rng=random.Random(7)), default_locale="zh")
    play_course(service, pack, STRONG)
    play_course(service, pack, OTHER)
    play_poor_drill_card(service, STRONG)
    return storage
