"""Reads a content pack folder: a declarative table of its files, each parsed once and validated.

`FILES` says, for every file of a pack, which schema model it holds and how:

    one      the whole file is one record (roleplay.yaml, scoring.yaml, drill.yaml, reactions.yaml, toolkit.yaml)
    each     every file matching a glob is one record (steps/*.yaml)
    items    a list under one key, each item validated on its own so one broken item
             does not hide the others from the cross-checks (products, dealers, objections)
    keyed    a mapping of string keys to records (ui.yaml)

The course outline (outline.yaml) is `one`; its lessons (lessons/*.yaml) are `each`.

YAML is parsed with libyaml's C loader when it is installed. Problems are collected,
never raised, each naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.schema import (
    LOCALES,
    STEP_IDS,
    Dealer,
    Dealers,
    Drill,
    Lesson,
    Objection,
    Objections,
    Outline,
    Problem,
    Product,
    Products,
    ReactionsFile,
    Roleplay,
    Scoring,
    Step,
    Text,
    Toolkit,
)

YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class PackFile:
    """One entry of the table: where a part of the pack lives and what it holds."""

    path: str  # relative to the pack root; a glob for `each`
    part: str  # the `Parts` field it fills
    model: type[BaseModel]
    shape: Literal["one", "each", "items", "keyed"] = "one"
    items_key: str = ""  # for `items`: the list's key
    wrapper: type[BaseModel] | None = None  # for `items`: the whole file's model, to explain a missing list


FILES: tuple[PackFile, ...] = (
    PackFile("steps/*.yaml", "steps", Step, "each"),
    PackFile("products.yaml", "products", Product, "items", "products", Products),
    PackFile("dealers.yaml", "dealers", Dealer, "items", "dealers", Dealers),
    PackFile("objections.yaml", "objections", Objection, "items", "objections", Objections),
    PackFile("roleplay.yaml", "roleplay", Roleplay),
    PackFile("scoring.yaml", "scoring", Scoring),
    PackFile("drill.yaml", "drill", Drill),
    PackFile("reactions.yaml", "reactions", ReactionsFile),
    PackFile("ui.yaml", "ui", Text, "keyed"),
    PackFile("outline.yaml", "outline", Outline),
    PackFile("lessons/*.yaml", "lessons", Lesson, "each"),
    PackFile("toolkit.yaml", "toolkit", Toolkit),
)


@dataclass
class Parts:
    """Everything read from a pack folder; a part is None (or empty) when its file has problems."""

    raw: dict[str, Any] = field(default_factory=dict)  # file -> parsed YAML, for template checks
    steps: list[tuple[str, Step]] = field(default_factory=list)  # (file, step)
    products: tuple[Product, ...] = ()
    dealers: tuple[Dealer, ...] = ()
    objections: tuple[Objection, ...] = ()
    roleplay: Roleplay | None = None
    scoring: Scoring | None = None
    drill: Drill | None = None
    reactions: ReactionsFile | None = None
    ui: dict[str, Text] = field(default_factory=dict)
    outline: Outline | None = None
    lessons: list[tuple[str, Lesson]] = field(default_factory=list)  # (file, lesson), in file order
    toolkit: Toolkit | None = None


def field_path(loc: tuple) -> str:
    """A pydantic error location as `a.b[2].c`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def read_yaml(path: Path, rel: str, problems: list[Problem]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=YamlLoader)
    except FileNotFoundError:
        problems.append(Problem(rel, "", "file is missing"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problems.append(Problem(rel, where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
    except UnicodeDecodeError:
        problems.append(Problem(rel, "", "not UTF-8 text"))
    return None


def validate(model: type[BaseModel], data: Any, rel: str, problems: list[Problem], prefix: tuple = ()):
    """`data` as a `model`, or None with every schema error added to `problems`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = prefix + tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "missing" and loc and loc[-1] in LOCALES:
                message = f"missing translation ({loc[-1]})"
            elif err["type"] == "literal_error" and loc and loc[-1] == "id":
                message = f"unknown step id {err.get('input')!r}; expected one of {', '.join(STEP_IDS)}"
            problems.append(Problem(rel, field_path(loc), message))
        return None


def _read_one(spec: PackFile, root: Path, parts: Parts, problems: list[Problem]):
    data = parts.raw[spec.path] = read_yaml(root / spec.path, spec.path, problems)
    return validate(spec.model, data, spec.path, problems) if data is not None else None


def _read_each(spec: PackFile, root: Path, parts: Parts, problems: list[Problem]):
    paths = sorted(root.glob(spec.path))
    if not paths:
        problems.append(Problem(spec.path.split("*")[0], "", f"no files match {spec.path}"))
    records = []
    for path in paths:
        rel = str(path.relative_to(root))
        data = parts.raw[rel] = read_yaml(path, rel, problems)
        record = validate(spec.model, data, rel, problems) if data is not None else None
        if record is not None:
            records.append((rel, record))
    return records


def _read_items(spec: PackFile, root: Path, parts: Parts, problems: list[Problem]):
    data = parts.raw[spec.path] = read_yaml(root / spec.path, spec.path, problems)
    items = data.get(spec.items_key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        if data is not None:  # missing, empty or not a list: let the schema say which
            validate(spec.wrapper, data, spec.path, problems)
        return ()
    for name in sorted(set(data) - {spec.items_key}):
        problems.append(Problem(spec.path, name, "Extra inputs are not permitted"))
    valid = (validate(spec.model, item, spec.path, problems, (spec.items_key, i)) for i, item in enumerate(items))
    return tuple(v for v in valid if v is not None)


def _read_keyed(spec: PackFile, root: Path, parts: Parts, problems: list[Problem]):
    data = parts.raw[spec.path] = read_yaml(root / spec.path, spec.path, problems)
    if data is not None and not isinstance(data, dict):
        problems.append(Problem(spec.path, "", "must be a mapping of string keys to texts"))
        return {}
    records = {}
    for key, value in (data or {}).items():
        record = validate(spec.model, value, f"{spec.path}: {key}", problems)
        if record is not None:
            records[str(key)] = record
    return records


_READERS = {"one": _read_one, "each": _read_each, "items": _read_items, "keyed": _read_keyed}


def read_parts(root: Path, problems: list[Problem]) -> Parts:
    """Every file in `FILES`, parsed once and validated; problems are appended to `problems`."""
    parts = Parts()
    for spec in FILES:
        setattr(parts, spec.part, _READERS[spec.shape](spec, root, parts, problems))
    return parts
