"""The content pack: its schema, the loader, and the checks behind `coach kb check`.

A pack is a folder of YAML files (see knowledge/content/ for the shipped one):

    steps/*.yaml   one file per communication step
    products.yaml  products the model scripts and prompts are rendered with
    dealers.yaml   dealer personas
    ui.yaml        every interface string, keyed as in knowledge/ui_contract.py

Every text is a mapping with one entry per locale (`zh`, `en`). Loading validates
the whole pack and reports each problem with its file and field path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from jinja2 import TemplateError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from knowledge import templates
from knowledge.ui_contract import UI_VARIABLES

LOCALES = ("zh", "en")
STEP_IDS = ("icebreaking", "need_guidance", "value_presentation", "objection_handling", "agreement")
TELEGRAM_MESSAGE_LIMIT = 4096
DEFAULT_DIR = Path(__file__).parent / "content"


def _compiles(pattern: str) -> str:
    try:  # a bad regular expression is reported as a pack problem, not at the first answer
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    return pattern


Pattern = Annotated[str, StringConstraints(min_length=1), AfterValidator(_compiles)]
StructureRule = Literal[
    "open_question", "summary_and_check_back", "concrete_step", "benefit"
]  # scoring.yaml `structure`

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


class Roleplay(Strict):
    man_classes: list[ManClass] = Field(min_length=8, max_length=8)
    goals: list[Goal] = Field(min_length=2)
    plan: dict[Literal[STEP_IDS], Text]  # type: ignore[valid-type]  # per step, a template: the plan for this dealer


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

    def objection(self, objection_id: str) -> Objection:
        return next(o for o in self.objections if o.id == objection_id)

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


# --- loading -----------------------------------------------------------------


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    rel = str(path.relative_to(root))
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        problems.append(Problem(rel, "", "file is missing"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problems.append(Problem(rel, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    except UnicodeDecodeError:
        problems.append(Problem(rel, "", "not UTF-8 text"))
    return None


def _validate(model: type[BaseModel], data: Any, rel: str, problems: list[Problem], prefix: tuple = ()):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            err["loc"] = prefix + tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "missing" and err["loc"] and err["loc"][-1] in LOCALES:
                message = f"missing translation ({err['loc'][-1]})"
            elif err["type"] == "literal_error" and err["loc"] and err["loc"][-1] == "id":
                message = f"unknown step id {err.get('input')!r}; expected one of {', '.join(STEP_IDS)}"
            problems.append(Problem(rel, _field_path(err["loc"]), message))
        return None


@dataclass
class _Parts:
    """Everything read from a pack folder; a part is None (or empty) when its file has problems."""

    steps: list[tuple[str, Step]]
    raw: dict[str, Any]  # file -> parsed YAML, for checking templates even where the schema failed
    products: tuple[Product, ...]
    dealers: tuple[Dealer, ...]
    objections: tuple[Objection, ...]
    roleplay: Roleplay | None
    scoring: Scoring | None
    ui: dict[str, Text]


def _load_parts(root: Path, problems: list[Problem]) -> _Parts:
    raw: dict[str, Any] = {}

    def load(rel: str, model: type[BaseModel]):
        raw[rel] = _read_yaml(root / rel, root, problems)
        return _validate(model, raw[rel], rel, problems) if raw[rel] is not None else None

    step_files = sorted((root / "steps").glob("*.yaml"))
    if not step_files:
        problems.append(Problem("steps/", "", "no step files found"))
    steps = [(str(path.relative_to(root)), load(str(path.relative_to(root)), Step)) for path in step_files]

    def load_list(rel: str, key: str, wrapper: type[BaseModel], item: type[BaseModel]) -> tuple:
        """Each item validated on its own, so one broken item does not hide the others from cross-checks."""
        raw[rel] = _read_yaml(root / rel, root, problems)
        items = raw[rel].get(key) if isinstance(raw[rel], dict) else None
        if not isinstance(items, list) or not items:
            if raw[rel] is not None:  # missing, empty or not a list: let the schema say which
                _validate(wrapper, raw[rel], rel, problems)
            return ()
        extra = set(raw[rel]) - {key}
        for name in sorted(extra):
            problems.append(Problem(rel, name, "Extra inputs are not permitted"))
        valid = (_validate(item, data, rel, problems, (key, i)) for i, data in enumerate(items))
        return tuple(v for v in valid if v is not None)

    products = load_list("products.yaml", "products", Products, Product)
    dealers = load_list("dealers.yaml", "dealers", Dealers, Dealer)
    objections = load_list("objections.yaml", "objections", Objections, Objection)
    roleplay = load("roleplay.yaml", Roleplay)
    scoring = load("scoring.yaml", Scoring)
    ui_raw = _read_yaml(root / "ui.yaml", root, problems)
    ui: dict[str, Text] = {}
    if ui_raw is not None and not isinstance(ui_raw, dict):
        problems.append(Problem("ui.yaml", "", "must be a mapping of string keys to texts"))
    elif ui_raw:
        for key, value in ui_raw.items():
            text = _validate(Text, value, f"ui.yaml: {key}", problems)
            if text is not None:
                ui[str(key)] = text
    return _Parts(
        steps=[(rel, step) for rel, step in steps if step],
        raw=raw,
        products=products,
        dealers=dealers,
        objections=objections,
        roleplay=roleplay,
        scoring=scoring,
        ui=ui,
    )


# --- cross-checks ------------------------------------------------------------


def _check_template(source: Any, contexts: list[tuple[str, dict]], rel: str, field: str, problems: list[Problem]):
    """A template must parse and render with every product and dealer, within Telegram's limit.

    Only the first failure of each template is reported, naming the product and dealer it failed with.
    """
    if not isinstance(source, str):
        return  # the schema check reports it
    try:
        templates.compile_template(source)
    except TemplateError as exc:
        problems.append(Problem(rel, field, f"template error: {exc}"))
        return
    for label, context in contexts:
        try:
            rendered = templates.render(source, **context)
        except TemplateError as exc:
            problems.append(Problem(rel, field, f"template error with {label}: {exc}"))
            return
        if len(rendered) > TELEGRAM_MESSAGE_LIMIT:
            message = f"renders to {len(rendered)} characters with {label}, over Telegram's {TELEGRAM_MESSAGE_LIMIT}"
            problems.append(Problem(rel, field, message))
            return


def _templates_in(data: Any, pattern: tuple, path: str = ""):
    """(field path, source) of every text in raw YAML `data` whose path matches `pattern`.

    A pattern is a tuple of keys; "*" matches every list item or mapping key.
    """
    if not pattern:
        if isinstance(data, str):
            yield path, data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*" and isinstance(data, list):
        for i, item in enumerate(data):
            yield from _templates_in(item, rest, f"{path}[{i}]")
    elif head == "*" and isinstance(data, dict):
        for key, item in data.items():
            yield from _templates_in(item, rest, f"{path}.{key}" if path else str(key))
    elif isinstance(data, dict) and head in data:
        yield from _templates_in(data[head], rest, f"{path}.{head}" if path else head)


# Where the templates are (rendered with every product and dealer): file pattern -> key patterns.
TEMPLATE_FIELDS: dict[str, list[tuple]] = {
    "steps/": [("model_scripts", "*", "template", "LOCALE"), ("scenarios", "*", "LOCALE")],
    "dealers.yaml": [
        ("dealers", "*", "opening_lines", "*", "LOCALE"),
        ("dealers", "*", "reactions", "*", "*", "LOCALE"),
    ],
    "objections.yaml": [("objections", "*", field, "LOCALE") for field in ("context", "text", "model_answer")],
    "roleplay.yaml": [("plan", "*", "LOCALE")],
}


def _check_templates(parts: _Parts, problems: list[Problem]) -> None:
    for locale in LOCALES:
        contexts = [
            (f"product {p.id!r} and dealer {d.id!r}", template_context(p, d, locale))
            for p in parts.products
            for d in parts.dealers
        ]
        for rel, data in parts.raw.items():
            prefix = "steps/" if rel.startswith("steps/") else rel
            for pattern in TEMPLATE_FIELDS.get(prefix, []):
                pattern = tuple(locale if key == "LOCALE" else key for key in pattern)
                for field, source in _templates_in(data, pattern):
                    _check_template(source, contexts, rel, field, problems)


def _check_ids(parts: _Parts, problems: list[Problem]) -> None:
    seen: dict[str, str] = {}
    for rel, step in parts.steps:
        if step.id in seen:
            problems.append(Problem(rel, "id", f"step {step.id!r} is also defined in {seen[step.id]}"))
        seen[step.id] = rel
        check_ids = [c.id for c in step.rubric]
        for i, check_id in enumerate(check_ids):
            if check_ids.index(check_id) != i:
                problems.append(Problem(rel, f"rubric[{i}].id", f"duplicate check id {check_id!r}"))
    for missing in (s for s in STEP_IDS if s not in seen):
        problems.append(Problem("steps/", "", f"no valid file defines step {missing!r}"))

    for kind, items, rel in (
        ("product", parts.products, "products.yaml"),
        ("dealer", parts.dealers, "dealers.yaml"),
        ("objection", parts.objections, "objections.yaml"),
    ):
        ids = [item.id for item in items]
        for i, item_id in enumerate(ids):
            if ids.index(item_id) != i:
                problems.append(Problem(rel, f"{kind}s[{i}].id", f"duplicate {kind} id {item_id!r}"))

    if parts.objections:
        dealer_deck = {o.id for o in parts.objections if o.deck == "dealer"}
        for i, dealer in enumerate(parts.dealers):
            for j, objection_id in enumerate(dealer.objections):
                if objection_id not in dealer_deck:
                    problems.append(
                        Problem(
                            "dealers.yaml",
                            f"dealers[{i}].objections[{j}]",
                            f"no dealer-deck objection {objection_id!r}",
                        )
                    )
        for deck in ("dealer", "customer"):
            if not any(o.deck == deck for o in parts.objections):
                problems.append(Problem("objections.yaml", "objections", f"the {deck} deck has no cards"))

    if parts.roleplay:
        codes = [c.code for c in parts.roleplay.man_classes]
        expected = {a + b + c for a in "Mm" for b in "Aa" for c in "Nn"}
        for code in sorted(expected - set(codes)):
            problems.append(Problem("roleplay.yaml", "man_classes", f"no entry for MAN class {code!r}"))
        for i, code in enumerate(codes):
            if codes.index(code) != i:
                problems.append(Problem("roleplay.yaml", f"man_classes[{i}].code", f"duplicate MAN class {code!r}"))
        for step_id in STEP_IDS:
            if step_id not in parts.roleplay.plan:
                problems.append(Problem("roleplay.yaml", f"plan.{step_id}", "missing plan for this step"))


def _check_ui(ui: dict[str, Text], problems: list[Problem]) -> None:
    for key in sorted(set(UI_VARIABLES) - set(ui)):
        problems.append(Problem("ui.yaml", key, "missing interface string"))
    for key, text in ui.items():
        if key not in UI_VARIABLES:
            problems.append(Problem("ui.yaml", key, "unknown interface string (not used by the bot)"))
            continue
        for locale in LOCALES:
            try:
                names = templates.undeclared_variables(text[locale])
            except TemplateError as exc:
                problems.append(Problem("ui.yaml", f"{key}.{locale}", f"template error: {exc}"))
                continue
            for name in sorted(names - UI_VARIABLES[key]):
                allowed = ", ".join(sorted(UI_VARIABLES[key])) or "none"
                problems.append(
                    Problem("ui.yaml", f"{key}.{locale}", f"undefined variable {name!r} (allowed: {allowed})")
                )


def check_pack(root: Path | str) -> list[Problem]:
    """Every problem with the pack at `root`; an empty list means it is usable."""
    root = Path(root)
    if not root.is_dir():
        return [Problem(str(root), "", "content pack folder not found")]
    problems: list[Problem] = []
    parts = _load_parts(root, problems)
    _check_ids(parts, problems)
    if parts.products and parts.dealers:
        _check_templates(parts, problems)
    _check_ui(parts.ui, problems)
    return problems


def load_pack(root: Path | str | None = None) -> Pack:
    """Load and validate a pack (default: COACH_KNOWLEDGE_DIR or the shipped one); raises PackError."""
    root = Path(root or os.environ.get("COACH_KNOWLEDGE_DIR") or DEFAULT_DIR)
    problems = check_pack(root)
    if problems:
        raise PackError(problems)
    parts = _load_parts(root, [])
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
    )
