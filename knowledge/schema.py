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
    dealers: list[Slug] = []  # written for these personas only; empty: for every persona without its own


class Scenario(Text):
    """A practice prompt (a template), for every persona or, with `dealers`, only for those named."""

    dealers: list[Slug] = []


def for_persona(items: list, dealer_id: str) -> list:
    """The items written for this persona if there are any, else the generic ones (no `dealers`)."""
    own = [item for item in items if dealer_id in item.dealers]
    return own or [item for item in items if not item.dealers]


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
    scenarios: list[Scenario] = Field(min_length=2)
    rubric: list[Check] = Field(min_length=4)

    def scripts_for(self, dealer_id: str) -> list[ModelScript]:
        return for_persona(self.model_scripts, dealer_id)

    def scenarios_for(self, dealer_id: str) -> list[Scenario]:
        return for_persona(self.scenarios, dealer_id)


class Feature(Strict):
    id: Slug  # named by the tiers that include it and the promises that need it
    name: Text
    detail: Text


class Tier(Text):
    """A pricing line; a tier (not a note on terms) lists the features it includes."""

    includes: list[Slug] = []


class Promise(Text):
    """A selling point, and the features it holds only with (a tier without them must not promise it)."""

    needs: list[Slug] = []


class ProductScenario(Strict):
    people: Text
    situation: Text
    customer_thinking: Text


class Product(Strict):
    id: Slug
    name: Text
    tagline: Text
    features: list[Feature] = Field(min_length=2)
    pricing: list[Tier] = Field(min_length=1)
    scenarios: list[ProductScenario] = Field(min_length=1)
    selling_points: list[Promise] = Field(min_length=2)


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


class PersonaFacts(Strict):
    """What is true of a persona, declared once: templates read these (`dealer.facts.age`) instead of
    retyping them, and `coach kb check` finds a text that contradicts one (knowledge/consistency.py)."""

    gender: Literal["female", "male"]
    age: int | None = Field(default=None, ge=16, le=99)
    shop_area_m2: int | None = Field(default=None, ge=1)  # one shop or stall, in square metres
    staff: int | None = Field(default=None, ge=0)  # people working for the persona in the shop
    meeting_minutes: int | None = Field(default=None, ge=1)  # the longest meeting the persona grants


PRONOUNS = {  # English pronouns by declared gender, for templates: {{ dealer.he }}, {{ dealer.his }}
    "female": {"he": "she", "him": "her", "his": "her", "He": "She", "His": "Her", "ta": "她"},
    "male": {"he": "he", "him": "him", "his": "his", "He": "He", "His": "His", "ta": "他"},
}


class Dealer(Strict):
    id: Slug
    name: Text
    shop: Text
    facts: PersonaFacts
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


class PoliteEmpty(Guard):
    """Courtesy with nothing in it: most of the answer means the same as these `exemplars` (pleasantries, vague
    promises, praise without a fact) more than any check, and too little of it shows anything concrete."""

    exemplars: Signals
    similarity: float = Field(
        gt=0, le=1
    )  # a clause this close to the exemplars (and closer than to any check) is empty
    max_substance: float = Field(ge=0, le=1)  # at most this share of the answer (in characters) has substance
    min_empty: float = Field(ge=0, le=1)  # ... and at least this share reads as empty courtesy


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
    wrong_step_share: float = Field(default=0.0, ge=0, le=1)  # ... and this share of the answer does only its job
    token_budget: int = Field(default=256, ge=32, le=4096)  # most tokens an answer of budget_length is read with
    budget_length: int = Field(default=300, ge=1)  # ... a longer answer gets a budget in proportion to its length ...
    token_budget_max: int = Field(default=4096, ge=32, le=4096)  # ... up to this many tokens
    # phone shorthand -> the full words ("u": "you"); a shorthand is one word, no spaces
    spoken_forms: dict[Annotated[str, StringConstraints(pattern=r"^\S+$")], NonEmpty] = Field(default_factory=dict)
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
    polite_empty: PoliteEmpty | None = None  # optional: a pack without it never applies the guard
    rubric_exemplars: dict[Slug, dict[Slug, Signals]] = {}  # more exemplars for a step's check: step -> check -> lines
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


# --- the visit toolkit (toolkit.yaml): /man, /swot, /pitch and the cards /my shows ----------

ManDimension = Literal["money", "authority", "need"]
SwotPart = Literal["strengths", "weaknesses", "opportunities", "threats"]
SwotStrategyId = Literal["so", "st", "wo", "wt"]


class ScaleOption(Strict):
    """One answer of the MAN scale: 0 means "not sure yet" (it goes to what to find out next)."""

    value: int = Field(ge=0, le=4)
    label: Text


class ManQuestion(Strict):
    id: Slug
    dimension: ManDimension
    text: Text  # the question, with what to look for
    find_out: Text  # what to find out next when the answer is "not sure" or on the line


class ManTool(Strict):
    dimensions: dict[ManDimension, Text]  # the name of each dimension (Money 购买力, ...)
    questions: list[ManQuestion] = Field(min_length=3)
    scale: list[ScaleOption] = Field(min_length=3)
    high_from: float = Field(gt=0, le=4)  # a dimension whose mean answer reaches this is high
    next_steps: dict[str, list[Text]]  # per MAN class code: what to find out on the next visit
    card: Text  # template of the MAN card


class SwotQuadrant(Strict):
    id: SwotPart
    title: Text
    prompt: Text  # what to write, for a market or a dealer (template: subject, kind)
    hint: Text  # an example line, so the rep sees the size of one item


class SwotStrategy(Strict):
    id: SwotStrategyId
    title: Text
    prompt: Text  # template over the rep's items (strengths, weaknesses, opportunities, threats, subject)


class SwotTool(Strict):
    subject_kinds: dict[Literal["market", "dealer"], Text]
    quadrants: list[SwotQuadrant] = Field(min_length=4, max_length=4)
    strategies: list[SwotStrategy] = Field(min_length=4, max_length=4)
    max_items: int = Field(ge=1, le=10)
    done_words: Signals  # typed instead of pressing Done, in either language
    card: Text


class PitchJudge(Strict):
    """How a selling point is told from a restated feature, by meaning (centred cosine similarity).

    A clause shows value when it is at least `value_floor` close to the value exemplars and no more
    than `margin` further from them than from the feature (its own text or the feature exemplars).
    """

    value_floor: float = Field(ge=0, le=1)
    margin: float = Field(ge=0, le=1)
    keyword_overlap: float = Field(gt=0, le=1)  # keyword mode (no model): share of the feature's words repeated


class PitchTool(Strict):
    stages: dict[Literal["feature", "scenario", "selling_point", "script"], Text]  # the four stages' names
    feature_exemplars: Signals  # sentences that only say what a product is or has
    value_exemplars: Signals  # sentences that say what it is worth to one customer
    judge: PitchJudge
    script: Text  # template: the script, from the four stages
    card: Text


class Limits(Strict):
    """The longest free text each toolkit input takes (characters)."""

    title: int = Field(ge=10, le=200)  # a dealer's name, a SWOT subject, a product described
    item: int = Field(ge=20, le=1000)  # a SWOT item, a target group, a scenario, a selling point


class Toolkit(Strict):
    man: ManTool
    swot: SwotTool
    pitch: PitchTool
    limits: Limits


class Products(Strict):
    products: list[Product] = Field(min_length=1)


class Dealers(Strict):
    dealers: list[Dealer] = Field(min_length=1)


# --- the course outline and its lessons (outline.yaml, lessons/*.yaml); read by /learn ---------

POLL_QUESTION_LIMIT = 300  # Telegram's sendPoll limits, in characters
POLL_OPTION_LIMIT = 100
POLL_EXPLANATION_LIMIT = 200
QUIZ_NUMBER_RESERVE = 8  # "10/10 · " put in front of a question when it is asked
PRACTICE_KINDS = ("train", "roleplay", "drill")  # a /train step, a role-play persona, a drill deck


class OutlineModule(Strict):
    """One module of the course outline; every module is taught by at least one lesson."""

    id: Slug
    part: Text  # the outline's heading it sits under
    title: Text


class Outline(Strict):
    modules: list[OutlineModule] = Field(min_length=1)


class QuizQuestion(Strict):
    """One question closing a lesson: a Telegram quiz poll, or numbered choices in the console."""

    question: Text
    options: list[Text] = Field(min_length=2, max_length=4)
    correct: int = Field(ge=0, le=3)  # index into options
    explanation: Text  # shown after the answer, right or wrong


class Practice(Strict):
    """Where a lesson is practised: a /train step id, a role-play persona (dealer) id or a drill deck id."""

    kind: Literal[PRACTICE_KINDS]  # type: ignore[valid-type]
    id: Slug


class Lesson(Strict):
    id: Slug
    modules: list[Slug] = Field(min_length=1)  # outline module ids it covers
    title: Text
    pages: list[Text] = Field(min_length=1, max_length=6)  # phone-sized pages
    quiz: list[QuizQuestion] = Field(min_length=2, max_length=3)
    practice: list[Practice] = Field(min_length=1)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack, located by file and field."""

    file: str
    field: str
    message: str
    warning: bool = False  # reported by `coach kb check`, but the pack still loads

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {'warning: ' if self.warning else ''}{self.message}"


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
        if set(LOCALES) <= set(value) and all(isinstance(value[k], str) for k in LOCALES):
            return value[locale]  # a text (its other keys, such as a tier's `includes`, are not for reading)
        return {k: localize(v, locale) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [localize(v, locale) for v in value]
    return value


# A persona's own texts that may read its facts ({{ dealer.facts.age }}): rendered before other templates see them.
PERSONA_TEMPLATES = ("profile", "temperament")


def persona_context(dealer: Dealer, locale: str) -> dict[str, Any]:
    """A persona as templates see it: its fields in one locale, its pronouns, its own texts rendered."""
    from knowledge.templates import render  # templates.py imports nothing from here; the import is local

    plain = {**localize(dealer, locale), **PRONOUNS[dealer.facts.gender]}
    return plain | {field: str(render(plain[field], dealer=plain)) for field in PERSONA_TEMPLATES}


def template_context(product: Product, dealer: Dealer, locale: str) -> dict[str, Any]:
    """The variables every step template (model script, practice prompt) may use."""
    return {"product": localize(product, locale), "dealer": persona_context(dealer, locale)}
