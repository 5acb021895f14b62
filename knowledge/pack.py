"""The runtime content pack: what the engine reads, loaded once and validated.

A pack is a folder of YAML files (see knowledge/content/ for the shipped one, and
docs/content-spec.md). The code is in parts:

    knowledge/schema.py   the pydantic models and fixed ids (steps, stages, locales)
    knowledge/loader.py   the table of files, each parsed once, validated against its model
    knowledge/checks.py   cross-checks: templates, ids, references, interface strings
    knowledge/pack.py     this file: the `Pack` the engine reads, `load_pack`, `check_pack`

Every name the other modules import from here (`load_pack`, `Pack`, `LOCALES`,
`STEP_IDS`, `STAGE_IDS`, `template_context`, `localize`, the schema models) still is.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from knowledge.checks import check_parts
from knowledge.loader import FILES, Parts, read_parts
from knowledge.schema import (  # noqa: F401 - re-exported for the rest of the code
    LOCALES,
    STAGE_IDS,
    STEP_IDS,
    TELEGRAM_MESSAGE_LIMIT,
    Band,
    ByKey,
    Check,
    Dealer,
    Drill,
    Goal,
    Guard,
    Lesson,
    ManClass,
    NegativeCheck,
    Objection,
    ObjectionChecks,
    Outline,
    OutlineModule,
    PersonaReactions,
    Practice,
    Problem,
    Product,
    QuizQuestion,
    Reaction,
    Roleplay,
    Scoring,
    Semantic,
    ShortAnswer,
    Signals,
    StageCheck,
    Step,
    StructureRule,
    StructureWords,
    Text,
    Toolkit,
    localize,
    template_context,
)

DEFAULT_DIR = Path(__file__).parent / "content"
__all__ = ["DEFAULT_DIR", "FILES", "LOCALES", "STAGE_IDS", "STEP_IDS", "Pack", "PackError", "Problem"]


class PackError(Exception):
    """The pack cannot be used; `problems` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Pack:
    """A loaded, validated content pack."""

    root: Path
    steps: tuple[Step, ...]
    products: tuple[Product, ...]
    dealers: tuple[Dealer, ...]
    objections: tuple[Objection, ...]
    roleplay: Roleplay
    scoring: Scoring
    ui: dict[str, Text]
    drill: Drill
    reactions: dict[str, PersonaReactions]
    toolkit: Toolkit
    outline: tuple[OutlineModule, ...] = ()  # the course outline's modules, in the outline's order
    lessons: tuple[Lesson, ...] = ()  # in file order (the NN- prefix)

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def objection(self, objection_id: str) -> Objection:
        return next(o for o in self.objections if o.id == objection_id)

    def has_objection(self, objection_id: str) -> bool:
        return any(o.id == objection_id for o in self.objections)

    def deck(self, deck: str) -> tuple[Objection, ...]:
        return tuple(o for o in self.objections if o.deck == deck)

    def man_class(self, dealer: Dealer) -> ManClass:
        code = "".join(
            letter.upper() if level == "high" else letter.lower()
            for letter, level in zip("MAN", (dealer.man.money, dealer.man.authority, dealer.man.need), strict=True)
        )
        return next(c for c in self.roleplay.man_classes if c.code == code)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def product(self, product_id: str) -> Product:
        return next(p for p in self.products if p.id == product_id)

    def dealer(self, dealer_id: str) -> Dealer:
        return next(d for d in self.dealers if d.id == dealer_id)

    @property
    def reminder_time(self) -> datetime.time:
        """When the daily drill reminder goes out (drill.yaml), with its time zone."""
        hour, minute = (int(part) for part in self.drill.reminder.time.split(":"))
        return datetime.time(hour=hour, minute=minute, tzinfo=ZoneInfo(self.drill.reminder.timezone))


def _read(root: Path) -> tuple[Parts | None, list[Problem]]:
    if not root.is_dir():
        return None, [Problem(str(root), "", "content pack folder not found")]
    problems: list[Problem] = []
    parts = read_parts(root, problems)
    check_parts(parts, problems)
    return parts, problems


def check_pack(root: Path | str) -> list[Problem]:
    """Every problem with the pack at `root`; an empty list means it is usable."""
    return _read(Path(root))[1]


def load_pack(root: Path | str | None = None) -> Pack:
    """Load and validate a pack (default: COACH_KNOWLEDGE_DIR or the shipped one); raises PackError."""
    root = Path(root or os.environ.get("COACH_KNOWLEDGE_DIR") or DEFAULT_DIR)
    parts, problems = _read(root)
    if any(not p.warning for p in problems):
        raise PackError([p for p in problems if not p.warning])
    order = {step_id: i for i, step_id in enumerate(STEP_IDS)}
    return Pack(
        root=root,
        steps=tuple(sorted((s for _, s in parts.steps), key=lambda s: order[s.id])),
        products=parts.products,
        dealers=parts.dealers,
        objections=parts.objections,
        roleplay=parts.roleplay,
        scoring=parts.scoring,
        ui=parts.ui,
        drill=parts.drill,
        reactions=dict(parts.reactions.reactions),
        outline=tuple(parts.outline.modules),
        lessons=tuple(lesson for _, lesson in parts.lessons),
        toolkit=parts.toolkit,
    )
