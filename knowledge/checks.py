"""Cross-checks of a content pack: what the schema alone cannot see.

Templates must render with every product and dealer within Telegram's limit; ids
must be unique and every reference must resolve; interface strings must exist and
use only the variables the bot provides (knowledge/ui_contract.py); drill rating
thresholds must rise; every module of the course outline must be taught by a lesson,
every lesson's pages must fit a phone screen, its quiz Telegram's poll limits and its
practice name something that exists; a persona or product must not be told two ways
(knowledge/consistency.py). `check_parts` runs them all over what the loader read.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError

from knowledge import templates
from knowledge.consistency import check_consistency
from knowledge.loader import Parts
from knowledge.phone_screen import COLUMNS, PAGE_LINES, screen_lines
from knowledge.schema import (
    LOCALES,
    POLL_EXPLANATION_LIMIT,
    POLL_OPTION_LIMIT,
    POLL_QUESTION_LIMIT,
    QUIZ_NUMBER_RESERVE,
    STEP_IDS,
    TELEGRAM_MESSAGE_LIMIT,
    Problem,
    Text,
    template_context,
)
from knowledge.ui_contract import UI_VARIABLES


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
        ("dealers", "*", "profile", "LOCALE"),
        ("dealers", "*", "temperament", "LOCALE"),
        ("dealers", "*", "opening_lines", "*", "LOCALE"),
        ("dealers", "*", "reactions", "*", "*", "LOCALE"),
    ],
    "objections.yaml": [("objections", "*", field, "LOCALE") for field in ("context", "text", "model_answer")],
    "roleplay.yaml": [("plan", "*", "LOCALE")],
    "reactions.yaml": [("reactions", "*", kind, "*", "LOCALE") for kind in ("harm", "passed", "missed")],
}


def _check_templates(parts: Parts, problems: list[Problem]) -> None:
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


def _check_ids(parts: Parts, problems: list[Problem]) -> None:
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


def check_ui_texts(ui: dict[str, Text], rel: str, problems: list[Problem]) -> None:
    """Every string must parse; a string in the contract may use only the variables the contract lists.

    Strings a flow names but the contract does not list are checked for existence by the flow
    check (dialogs/flow_check.py), which also reports strings nothing uses.
    """
    for key, text in ui.items():
        for locale in LOCALES:
            try:
                names = templates.undeclared_variables(text[locale])
            except TemplateError as exc:
                problems.append(Problem(rel, f"{key}.{locale}", f"template error: {exc}"))
                continue
            if key not in UI_VARIABLES:
                continue
            for name in sorted(names - UI_VARIABLES[key]):
                allowed = ", ".join(sorted(UI_VARIABLES[key])) or "none"
                problems.append(Problem(rel, f"{key}.{locale}", f"undefined variable {name!r} (allowed: {allowed})"))


def _check_ui(ui: dict[str, Text], problems: list[Problem]) -> None:
    for key in sorted(set(UI_VARIABLES) - set(ui)):
        problems.append(Problem("ui.yaml", key, "missing interface string"))
    check_ui_texts(ui, "ui.yaml", problems)


def _check_drill(parts: Parts, problems: list[Problem]) -> None:
    if parts.drill is None:
        return
    ratings = parts.drill.ratings
    if not ratings.again_below < ratings.hard_below < ratings.good_below:
        problems.append(Problem("drill.yaml", "ratings", "thresholds must rise: again_below < hard_below < good_below"))
    try:
        ZoneInfo(parts.drill.reminder.timezone)
    except (KeyError, ValueError, OSError):
        problems.append(
            Problem("drill.yaml", "reminder.timezone", f"unknown time zone {parts.drill.reminder.timezone!r}")
        )


def _check_reactions(parts: Parts, problems: list[Problem]) -> None:
    """Reactions belong to known personas and answer known checks: harm lines a negative check,
    passed and missed lines a rubric check of some step. A persona without a line for some harm
    is warned about (the dealer would not react to that move in their own words)."""
    if parts.reactions is None:
        return
    dealer_ids = {d.id for d in parts.dealers}
    rubric_ids = {c.id for _, step in parts.steps for c in step.rubric}
    harm_ids = {n.id for n in parts.scoring.negative_checks} if parts.scoring else set()
    for persona, reactions in parts.reactions.reactions.items():
        if dealer_ids and persona not in dealer_ids:
            problems.append(Problem("reactions.yaml", f"reactions.{persona}", f"no dealer persona {persona!r}"))
        for kind, known in (("harm", harm_ids), ("passed", rubric_ids), ("missed", rubric_ids)):
            for check_id in getattr(reactions, kind):
                if known and check_id not in known:
                    where = "negative check in scoring.yaml" if kind == "harm" else "rubric check of any step"
                    problems.append(
                        Problem("reactions.yaml", f"reactions.{persona}.{kind}.{check_id}", f"no {where} {check_id!r}")
                    )
        for harm_id in sorted(harm_ids - set(reactions.harm)):
            message = f"no line for the harm {harm_id!r}: this dealer answers it with the step's poor reaction"
            problems.append(Problem("reactions.yaml", f"reactions.{persona}.harm", message, warning=True))


def _check_rubric_exemplars(parts: Parts, problems: list[Problem]) -> None:
    """scoring.yaml's extra exemplars name a step and one of its rubric checks."""
    if parts.scoring is None:
        return
    known = {step.id: {c.id for c in step.rubric} for _, step in parts.steps}
    for step_id, checks in parts.scoring.rubric_exemplars.items():
        for check_id in checks:
            if check_id not in known.get(step_id, set()):
                problems.append(
                    Problem(
                        "scoring.yaml",
                        f"rubric_exemplars.{step_id}.{check_id}",
                        f"no check {check_id!r} in step {step_id!r}",
                    )
                )


def _check_lesson(rel: str, lesson, module_ids: set[str], practice_ids: dict[str, set[str]], problems) -> None:
    stem = rel.rsplit("/", 1)[-1].removesuffix(".yaml")
    if stem.partition("-")[2] != lesson.id or not stem.partition("-")[0].isdigit():
        problems.append(Problem(rel, "id", f"the file must be named NN-{lesson.id}.yaml"))
    for i, module in enumerate(lesson.modules):
        if module_ids and module not in module_ids:
            problems.append(Problem(rel, f"modules[{i}]", f"no module {module!r} in outline.yaml"))
    for i, page in enumerate(lesson.pages):
        for locale in LOCALES:
            lines = screen_lines(page[locale].strip())
            if lines > PAGE_LINES:
                message = f"fills {lines} lines of {COLUMNS} columns, over a page's {PAGE_LINES}"
                problems.append(Problem(rel, f"pages[{i}].{locale}", message))
    limits = (("question", POLL_QUESTION_LIMIT - QUIZ_NUMBER_RESERVE), ("explanation", POLL_EXPLANATION_LIMIT))
    for i, question in enumerate(lesson.quiz):
        if question.correct >= len(question.options):
            problems.append(Problem(rel, f"quiz[{i}].correct", f"no option {question.correct} (counted from 0)"))
        for locale in LOCALES:
            for name, limit in limits:
                text = getattr(question, name)[locale]
                if len(text) > limit:
                    problems.append(Problem(rel, f"quiz[{i}].{name}.{locale}", f"{len(text)} characters, over {limit}"))
            if question.explanation[locale].count("\n") > 2:
                problems.append(Problem(rel, f"quiz[{i}].explanation.{locale}", "Telegram allows 2 line breaks"))
            for j, option in enumerate(question.options):
                if len(option[locale]) > POLL_OPTION_LIMIT:
                    message = f"{len(option[locale])} characters, over {POLL_OPTION_LIMIT}"
                    problems.append(Problem(rel, f"quiz[{i}].options[{j}].{locale}", message))
    for i, practice in enumerate(lesson.practice):
        known = practice_ids[practice.kind]
        if known and practice.id not in known:
            problems.append(Problem(rel, f"practice[{i}].id", f"no {practice.kind} {practice.id!r} in the pack"))


def _check_lessons(parts: Parts, problems: list[Problem]) -> None:
    """Lessons name outline modules and practice that exist, fit their limits, and cover the whole outline."""
    module_ids = [m.id for m in parts.outline.modules] if parts.outline else []
    for i, module_id in enumerate(module_ids):
        if module_ids.index(module_id) != i:
            problems.append(Problem("outline.yaml", f"modules[{i}].id", f"duplicate module id {module_id!r}"))
    practice_ids = {
        "train": set(STEP_IDS),
        "roleplay": {d.id for d in parts.dealers},
        "drill": {o.deck for o in parts.objections},
    }
    seen: dict[str, str] = {}
    for rel, lesson in parts.lessons:
        if lesson.id in seen:
            problems.append(Problem(rel, "id", f"lesson {lesson.id!r} is also defined in {seen[lesson.id]}"))
        seen[lesson.id] = rel
        _check_lesson(rel, lesson, set(module_ids), practice_ids, problems)
    unreadable = sum(rel.startswith("lessons/") for rel in parts.raw) - len(parts.lessons)
    if parts.lessons and not unreadable:  # a lesson with a schema error is reported already, not also here
        covered = {module for _, lesson in parts.lessons for module in lesson.modules}
        for module_id in module_ids:
            if module_id not in covered:
                problems.append(Problem("outline.yaml", module_id, "no lesson covers this module"))


# --- the visit toolkit (toolkit.yaml) -----------------------------------------------------------

# Sample answers with the variables dialogs/cards.py gives each toolkit template (user text is a plain string).
_ITEMS = {part: [f"<{part}> & co"] for part in ("strengths", "weaknesses", "opportunities", "threats")}
TOOLKIT_SAMPLES: dict[tuple, list[dict]] = {
    ("man", "card"): [
        {"title": "<b>A&B</b>", "code": "MaN", "class_name": "x", "strategy": "y", "find_out": ["z"],
         "dimensions": [{"name": "Money", "high": True, "unsure": 0}, {"name": "Need", "high": False, "unsure": 1}]}
    ],
    ("swot", "quadrants", "*", "prompt"): [{"subject": "<A&B>", "kind": kind} for kind in ("market", "dealer")],
    ("swot", "strategies", "*", "prompt"): [{"subject": "<A&B>", "kind": "dealer", **_ITEMS}],
    ("swot", "card"): [
        {"title": "<A&B>", "kind_name": "k", "quadrants": [{"title": "S", "lines": ["<i>"]}],
         "strategies": [{"title": "SO", "text": "t"}]}
    ],
    ("pitch", "script"): [
        {"product": "<P>", "target": "<T>", "scenario": "<S>", "thinking": "<K>", "feature": "<F>",
         "selling_point": "<V&>"}
    ],
    ("pitch", "card"): [
        {"title": "<P>", "product": "<P>", "target": "<T>", "scenario": "<S>", "thinking": "<K>", "feature": "<F>",
         "selling_point": "<V&>", "script": "s", "stages": {"feature": "1", "scenario": "2", "selling_point": "3",
                                                            "script": "4"}}
    ],
}  # fmt: skip


def _check_toolkit(parts: Parts, problems: list[Problem]) -> None:
    """Every MAN class has next steps and every dimension questions; ids are unique; templates render."""
    toolkit, rel = parts.toolkit, "toolkit.yaml"
    if toolkit is None:
        return
    expected = {a + b + c for a in "Mm" for b in "Aa" for c in "Nn"}
    for code in sorted(expected - set(toolkit.man.next_steps)):
        problems.append(Problem(rel, "man.next_steps", f"no next steps for MAN class {code!r}"))
    for code in sorted(set(toolkit.man.next_steps) - expected):
        problems.append(Problem(rel, f"man.next_steps.{code}", "not a MAN class (three letters of M/m, A/a, N/n)"))
    for code, steps in toolkit.man.next_steps.items():
        if not steps:
            problems.append(Problem(rel, f"man.next_steps.{code}", "needs at least one line"))
    for dimension in ("money", "authority", "need"):
        if dimension not in toolkit.man.dimensions:
            problems.append(Problem(rel, f"man.dimensions.{dimension}", "missing"))
        if not any(q.dimension == dimension for q in toolkit.man.questions):
            problems.append(Problem(rel, "man.questions", f"no question on {dimension}"))
    for field, values in (
        ("man.questions", [q.id for q in toolkit.man.questions]),
        ("man.scale", [o.value for o in toolkit.man.scale]),
        ("swot.quadrants", [q.id for q in toolkit.swot.quadrants]),
        ("swot.strategies", [s.id for s in toolkit.swot.strategies]),
    ):
        for i, value in enumerate(values):
            if values.index(value) != i:
                problems.append(Problem(rel, f"{field}[{i}]", f"duplicate {value!r}"))
    data = parts.raw.get(rel)
    for locale in LOCALES:
        for pattern, samples in TOOLKIT_SAMPLES.items():
            for field, source in _templates_in(data, (*pattern, locale)):
                _check_template(source, [(f"sample answers {i + 1}", c) for i, c in enumerate(samples)], rel, field,
                                problems)  # fmt: skip


def check_parts(parts: Parts, problems: list[Problem]) -> None:
    """Every cross-check over a read pack; problems are appended to `problems`."""
    _check_ids(parts, problems)
    if parts.products and parts.dealers:
        _check_templates(parts, problems)
    _check_ui(parts.ui, problems)
    _check_drill(parts, problems)
    _check_reactions(parts, problems)
    _check_rubric_exemplars(parts, problems)
    _check_lessons(parts, problems)
    _check_toolkit(parts, problems)
    check_consistency(parts, problems)
