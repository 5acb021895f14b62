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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from jinja2 import TemplateError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from knowledge import templates
from knowledge.ui_contract import UI_VARIABLES

LOCALES = ("zh", "en")
STEP_IDS = ("icebreaking", "need_guidance", "value_presentation", "objection_handling", "agreement")
TELEGRAM_MESSAGE_LIMIT = 4096
DEFAULT_DIR = Path(__file__).parent / "content"

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Level = Literal["high", "low"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """One sentence or paragraph, in every locale."""

    zh: NonEmpty
    en: NonEmpty

    def __getitem__(self, locale: str) -> str:
        return getattr(self, locale)


class Signals(Strict):
    """Phrases that show a rubric check was met, per locale."""

    zh: list[NonEmpty] = Field(min_length=1)
    en: list[NonEmpty] = Field(min_length=1)

    def __getitem__(self, locale: str) -> list[str]:
        return getattr(self, locale)


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


class Dealer(Strict):
    id: Slug
    name: Text
    shop: Text
    man: ManProfile
    profile: Text
    temperament: Text
    concerns: list[Text] = Field(min_length=1)


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
    ui: dict[str, Text]

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


def _validate(model: type[BaseModel], data: Any, rel: str, problems: list[Problem]):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            message = err["msg"]
            if err["type"] == "missing" and err["loc"] and err["loc"][-1] in LOCALES:
                message = f"missing translation ({err['loc'][-1]})"
            elif err["type"] == "literal_error" and err["loc"] and err["loc"][-1] == "id":
                message = f"unknown step id {err.get('input')!r}; expected one of {', '.join(STEP_IDS)}"
            problems.append(Problem(rel, _field_path(err["loc"]), message))
        return None


def _load_parts(root: Path, problems: list[Problem]):
    steps: list[tuple[str, Step]] = []
    raw_steps: list[tuple[str, Any]] = []
    step_files = sorted((root / "steps").glob("*.yaml"))
    if not step_files:
        problems.append(Problem("steps/", "", "no step files found"))
    for path in step_files:
        rel = str(path.relative_to(root))
        raw = _read_yaml(path, root, problems)
        raw_steps.append((rel, raw))
        step = _validate(Step, raw, rel, problems)
        if step:
            steps.append((rel, step))
    products = _validate(Products, _read_yaml(root / "products.yaml", root, problems), "products.yaml", problems)
    dealers = _validate(Dealers, _read_yaml(root / "dealers.yaml", root, problems), "dealers.yaml", problems)
    ui_raw = _read_yaml(root / "ui.yaml", root, problems)
    ui: dict[str, Text] = {}
    if ui_raw is not None and not isinstance(ui_raw, dict):
        problems.append(Problem("ui.yaml", "", "must be a mapping of string keys to texts"))
    elif ui_raw:
        for key, value in ui_raw.items():
            text = _validate(Text, value, "ui.yaml", [])
            if text is None:
                _validate(Text, value, f"ui.yaml: {key}", problems)
            else:
                ui[str(key)] = text
    return steps, raw_steps, products, dealers, ui


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


def _items(data: Any, key: str) -> list:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _locale_text(data: Any, locale: str) -> Any:
    return data.get(locale) if isinstance(data, dict) else None


def _check_step_templates(raw_steps, products, dealers, problems: list[Problem]) -> None:
    """Render every model script and practice prompt (read from the raw YAML, so a step with
    schema errors still has its templates checked)."""
    for locale in LOCALES:
        contexts = [
            (f"product {p.id!r} and dealer {d.id!r}", template_context(p, d, locale)) for p in products for d in dealers
        ]
        for rel, raw in raw_steps:
            for i, script in enumerate(_items(raw, "model_scripts")):
                template = script.get("template") if isinstance(script, dict) else None
                field = f"model_scripts[{i}].template.{locale}"
                _check_template(_locale_text(template, locale), contexts, rel, field, problems)
            for i, scenario in enumerate(_items(raw, "scenarios")):
                field = f"scenarios[{i}].{locale}"
                _check_template(_locale_text(scenario, locale), contexts, rel, field, problems)


def _cross_check(steps, raw_steps, products, dealers, ui, problems: list[Problem]) -> None:
    seen: dict[str, str] = {}
    for rel, step in steps:
        if step.id in seen:
            problems.append(Problem(rel, "id", f"step {step.id!r} is also defined in {seen[step.id]}"))
        seen[step.id] = rel
        check_ids = [c.id for c in step.rubric]
        for i, check_id in enumerate(check_ids):
            if check_ids.index(check_id) != i:
                problems.append(Problem(rel, f"rubric[{i}].id", f"duplicate check id {check_id!r}"))
    for missing in (s for s in STEP_IDS if s not in seen):
        problems.append(Problem("steps/", "", f"no valid file defines step {missing!r}"))

    for kind, items, rel in (("product", products, "products.yaml"), ("dealer", dealers, "dealers.yaml")):
        ids = [item.id for item in items]
        for i, item_id in enumerate(ids):
            if ids.index(item_id) != i:
                problems.append(Problem(rel, f"{kind}s[{i}].id", f"duplicate {kind} id {item_id!r}"))

    if products and dealers:
        _check_step_templates(raw_steps, products, dealers, problems)

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
    steps, raw_steps, products, dealers, ui = _load_parts(root, problems)
    products = products.products if products else ()
    dealers = dealers.dealers if dealers else ()
    _cross_check(steps, raw_steps, products, dealers, ui, problems)
    return problems


def load_pack(root: Path | str | None = None) -> Pack:
    """Load and validate a pack (default: COACH_KNOWLEDGE_DIR or the shipped one); raises PackError."""
    root = Path(root or os.environ.get("COACH_KNOWLEDGE_DIR") or DEFAULT_DIR)
    problems = check_pack(root)
    if problems:
        raise PackError(problems)
    steps, _, products, dealers, ui = _load_parts(root, [])
    order = {step_id: i for i, step_id in enumerate(STEP_IDS)}
    return Pack(
        root=root,
        steps=tuple(sorted((s for _, s in steps), key=lambda s: order[s.id])),
        products=tuple(products.products),
        dealers=tuple(dealers.dealers),
        ui=ui,
    )
