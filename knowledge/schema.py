"""The content pack's schema: one pydantic model per kind of record, and the fixed ids.

Every text is a mapping with one entry per locale (`zh`, `en`); `ByKey` records are
also readable as `record[key]`. `localize` and `template_context` turn records into
the plain values templates read. The loader (knowledge/loader.py) validates YAML
against these models; knowledge/pack.py re-exports every name here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

LOCALES = ("zh", "en")
STEP_IDS = ("icebreaking", "need_guidance", "value_presentation", "objection_handling", "agreement")
TELEGRAM_MESSAGE_LIMIT = 4096


def _compiles(pattern: str) -> str:
    try:  # a bad regular expression is reported as a pack problem, not at the first answer
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return pattern


Pattern = Annotated[str, StringConstraints(min_length=1), AfterValidator(_compiles)]
StructureRule = Literal["open_question", "summary_and_check_back", "concrete_step", "benefit"]  # scoring.yaml

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Level = Literal["high", "low"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ByKey(Strict):
    """A record with one field per fixed key (locale, step id, stage), also readable as `record[key]`."""

    def __getitem__(self, key: str):
        return getattr(self, key)


class Text(ByKey):
    """One sentence or paragraph, in every locale."""

    zh: NonEmpty
    en: NonEmpty


class Signals(ByKey):
    """Phrases that show a rubric check was met, per locale."""

    zh: list[NonEmpty] = Field(min_length=1)
    en: list[NonEmpty] = Field(min_length=1)


class Technique(Strict):
    name: Text
    how: Text


class ModelScript(Strict):
    title: Text
    template: Text


class Check(Strict):
    """One named rubric check: what it looks for and the tip shown when it is missed."""

    id: Slug
    label: Text
    tip: Text
    signals: Signals
    weight: float = Field(default=1.0, gt=0, le=5)
    questions: int | None = Field(default=None, ge=1, le=5)  # open questions needed for full credit
    exemplars: Signals | None = None  # sentences that mean "this check is met" (scoring: semantic match)
    structure: StructureRule | None = None  # a shape the answer must also have (scoring.yaml `structure`)


class Step(Strict):
    id: Literal[STEP_IDS]  # type: ignore[valid-type]
    title: Text
    purpose: Text
    techniques: list[Technique] = Field(min_length=3)
    mistakes: list[Text] = Field(min_length=2)
    model_scripts: list[ModelScript] = Field(min_length=2)
    scenarios: list[Text] = Field(min_length=2)
    rubric: list[Check] = Field(min_length=4)


class Feature(Strict):
    name: Text
    detail: Text


class ProductScenario(Strict):
    people: Text
    situation: Text
    customer_thinking: Text


class Product(Strict):
    id: Slug
    name: Text
    tagline: Text
    features: list[Feature] = Field(min_length=2)
    pricing: list[Text] = Field(min_length=1)
    scenarios: list[ProductScenario] = Field(min_length=1)
    selling_points: list[Text] = Field(min_length=2)


class ManProfile(Strict):
    money: Level
    authority: Level
    need: Level


class Reaction(Strict):
    """How a dealer answers the rep's move at one step: after a good answer, and after a poor one."""

    good: Text
    poor: Text


class Reactions(ByKey):
    icebreaking: Reaction
    need_guidance: Reaction
    value_presentation: Reaction
    objection_handling: Reaction
    agreement: Reaction


class PersonaReactions(Strict):
    """What one persona says after the rep's move, chosen by what the rep did (reactions.yaml):
    `harm` by negative check id, `passed` (the strongest thing done) and `missed` (the most
    important thing not done) by rubric check id."""

    harm: dict[Slug, Text] = Field(default_factory=dict)
    passed: dict[Slug, Text] = Field(default_factory=dict)
    missed: dict[Slug, Text] = Field(default_factory=dict)


class ReactionsFile(Strict):
    reactions: dict[Slug, PersonaReactions]


class Dealer(Strict):
    id: Slug
    name: Text
    shop: Text
    man: ManProfile
    profile: Text
    temperament: Text
    concerns: list[Text] = Field(min_length=1)
    opening_lines: list[Text] = Field(min_length=2)
    objections: list[Slug] = Field(min_length=2)  # ids of dealer-deck objections this dealer raises
    reactions: Reactions


STAGE_IDS = ("acknowledge", "clarify", "respond_with_evidence", "confirm", "move_to_action")


class StageCheck(Strict):
    """One stage of handling this objection: the tip when it is missed, and phrases that show it."""

    tip: Text
    signals: Signals
    exemplars: Signals | None = None  # card-specific sentences that show this stage


class ObjectionChecks(ByKey):
    acknowledge: StageCheck
    clarify: StageCheck
    respond_with_evidence: StageCheck
    confirm: StageCheck
    move_to_action: StageCheck


class Objection(Strict):
    """A drill card: an objection a dealer (deck `dealer`) or an end customer (deck `customer`) raises."""

    id: Slug
    deck: Literal["dealer", "customer"]
    topic: Slug
    context: Text
    text: Text
    model_answer: Text
    checks: ObjectionChecks


class Objections(Strict):
    objections: list[Objection] = Field(min_length=1)


class ManClass(Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[Mm][Aa][Nn]$")]  # upper case = high
    name: Text
    strategy: Text
    priority: int = Field(ge=1, le=8)


class Goal(Strict):
    id: Slug
    title: Text
    description: Text


class NegativeCheck(Strict):
    """Something a good answer never does (arguing, blaming, ...): found, it costs `penalty` points."""

    id: Slug
    label: Text
    tip: Text
    penalty: int = Field(ge=1, le=100)
    signals: Signals  # exact phrases only (never fuzzy)
    exemplars: Signals | None = None  # sentences that mean the harm (semantic match)
    unlike: Signals | None = None  # harmless sentences that look alike: a clause closer to these does not fire
    cues: Signals | None = None  # a clause fires on meaning only when it also holds one of these words
    patterns: list[Pattern] = []  # regular expressions over the normalised answer


class ShortAnswer(Strict):
    """An answer shorter than this cannot show the skill, however well chosen its words: its score is capped."""

    id: Slug
    label: Text
    tip: Text
    min_chinese_characters: int = Field(ge=1)
    min_english_words: int = Field(ge=1)
    cap: int = Field(ge=0, le=100)


# --- scoring settings (scoring.yaml); read by dialogs/scoring ------------------


class Guard(Strict):
    """An anti-gaming rule: when it fires, the score is capped and its tip shown."""

    id: Slug
    label: Text
    tip: Text
    cap: int = Field(ge=0, le=100)


class Semantic(Strict):
    """Thresholds on centred cosine similarity between a clause and a check's exemplars."""

    pass_similarity: float = Field(gt=0, le=1)  # a clause this close shows the check fully
    partial_from: float = Field(ge=0, le=1)  # below this, no credit; in between, partial credit
    pass_credit: float = Field(gt=0, le=1)  # a check with at least this credit (0..1) is shown as passed
    harm_similarity: float = Field(gt=0, le=1)  # a clause this close to a harm exemplar fires it
    harm_margin: float = Field(ge=0, le=1)  # ... if it is this much closer to the harm than to its `unlike`
    phrase_credit: float = Field(ge=0, le=1)  # credit for an exact signal phrase inside a real sentence
    full_marks_at: float = Field(gt=0, le=1)  # weighted share of credit that already earns 100
    wrong_step_margin: float = Field(ge=0, le=1)  # another step's rubric fits this much better: wrong step
    token_budget: int = Field(default=256, ge=32, le=4096)  # the most model tokens one answer is read with
    background: Signals  # neutral lines: part of the centring mean


class StructureWords(Strict):
    """Word lists for the structure rules (open questions, check-backs, concrete steps)."""

    open_words: Signals
    closed_words: Signals
    check_back: Signals
    concrete: list[Pattern]  # regular expressions: a date, a time, a count
    function_words: Signals  # words every real sentence has one of (a keyword list has none)
    benefit_words: Signals  # a feature counts as value only with one of these in its sentence ("也就是说")


class Band(Strict):
    id: Slug
    min_score: int = Field(ge=0, le=100)
    label: Text


class Scoring(Strict):
    pass_mark: int = Field(default=60, ge=1, le=100)
    bands: list[Band] = []
    harm_cap: int = Field(default=100, ge=0, le=100)  # an answer with a harm scores at most this
    negative_checks: list[NegativeCheck] = Field(min_length=1)
    short_answer: ShortAnswer
    semantic: Semantic
    structure: StructureWords
    keyword_list: Guard
    copied_lesson: Guard
    copied_model: Guard
    wrong_step: Guard
    rep_line_prefixes: Signals  # a model script is a dialogue: the rep's lines start with one of these


class Roleplay(Strict):
    man_classes: list[ManClass] = Field(min_length=8, max_length=8)
    goals: list[Goal] = Field(min_length=2)
    plan: dict[Literal[STEP_IDS], Text]  # type: ignore[valid-type]  # per step, a template: the plan for this dealer


class Ratings(Strict):
    """How a drill answer's score becomes an FSRS rating: below `again_below` is Again, and so on; the rest Easy."""

    again_below: int = Field(ge=1, le=100)
    hard_below: int = Field(ge=1, le=100)
    good_below: int = Field(ge=1, le=100)


class Reminder(Strict):
    """When the daily drill reminder is sent: a wall-clock time in a time zone."""

    time: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    timezone: NonEmpty


class Drill(Strict):
    """Settings of the objection drill (drill.yaml)."""

    round_size: int = Field(ge=1, le=50)  # cards in one sitting
    extra_round_size: int = Field(ge=1, le=50)  # cards practised early when nothing is due
    ratings: Ratings
    reminder: Reminder


class Products(Strict):
    products: list[Product] = Field(min_length=1)


class Dealers(Strict):
    dealers: list[Dealer] = Field(min_length=1)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack, located by file and field."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class PackError(Exception):
    """The pack cannot be used; `problems` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def localize(value: Any, locale: str) -> Any:
    """Turn a pack object into plain dicts and strings in one locale (for templates)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        if set(value) == set(LOCALES):
            return value[locale]
        return {k: localize(v, locale) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [localize(v, locale) for v in value]
    return value


def template_context(product: Product, dealer: Dealer, locale: str) -> dict[str, Any]:
    """The variables every step template (model script, practice prompt) may use."""
    return {"product": localize(product, locale), "dealer": localize(dealer, locale)}
