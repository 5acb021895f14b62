"""Content consistency: what a machine can catch of a persona or a product told two ways.

Each persona's facts are declared once (dealers.yaml `facts`) and each product tier says
which features it includes (products.yaml `pricing[].includes`). `check_consistency` renders
every text that is shown for a persona, with that persona, and reports:

- a text naming another persona than the one it is shown for;
- a number in a persona's text that contradicts a declared fact (shop size, age, staff,
  a visit longer than the meeting the persona grants);
- an English pronoun of the other gender in a text about the persona (scenarios, card
  contexts, plans, profiles; quoted speech is left out, since a persona may talk of others);
  in an objection card's tips (generic text shared by personas) it is reported as a warning;
- a template that presents a tier together with a promise (a selling point) that needs a
  feature the tier does not include;
- a model visit whose parts disagree: the first agreement model a persona sees sums up a worry
  (`dealer.concerns[n]`) that the objection model before it never handled.

knowledge/checks.py runs it with the other cross-checks (`coach kb check`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from jinja2 import TemplateError

from knowledge import templates
from knowledge.loader import Parts
from knowledge.schema import LOCALES, Dealer, Problem, template_context

# --- numbers as they are written -----------------------------------------------------------------

ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EN_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
EN_UNITS += " seventeen eighteen nineteen"
EN_NUMBERS = {word: i for i, word in enumerate(EN_UNITS.split())}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}

ZH_NUMBER = r"(\d+|[零一二两三四五六七八九十百]+)"
_EN_WORD = "|".join(sorted([*EN_TENS, *EN_NUMBERS], key=len, reverse=True))
EN_NUMBER = rf"\b(\d+|(?:{_EN_WORD})(?:[- ](?:{'|'.join(list(EN_NUMBERS)[1:10])}))?)"


def zh_number(text: str) -> int | None:
    """二十六 → 26, 十五 → 15, 三百 → 300, 26 → 26."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in ZH_DIGITS:
            current = ZH_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
    return total + current


def en_number(text: str) -> int | None:
    """twenty-six → 26, fifteen → 15, 26 → 26."""
    if text.isdigit():
        return int(text)
    total = 0
    for word in re.split(r"[- ]", text.lower()):
        total += EN_TENS.get(word, EN_NUMBERS.get(word, 0))
    return total


@dataclass(frozen=True)
class FactPattern:
    """Where a fact shows in a text: a pattern per locale around a number, and how the number must relate."""

    fact: str
    zh: str
    en: str
    relation: str  # "equal", or "at_most" (a meeting the persona grants, staff of whom some are named)
    what: str


FACT_PATTERNS = (
    FactPattern("shop_area_m2", rf"{ZH_NUMBER}\s*(?:平米|平方米)", rf"{EN_NUMBER}[- ]square[- ]met(?:re|er)", "equal",
                "shop size"),
    FactPattern("age", rf"{ZH_NUMBER}\s*岁", rf"{EN_NUMBER}[- ]years?[- ]old|\baged {EN_NUMBER}", "equal", "age"),
    FactPattern("staff", rf"{ZH_NUMBER}\s*(?:个|名)?(?:店员|员工|学徒)|店员就{ZH_NUMBER}个人",
                rf"{EN_NUMBER} (?:staff|assistants|shop assistants|employees|apprentices?)\b", "at_most", "staff"),
    FactPattern("meeting_minutes", rf"{ZH_NUMBER}\s*分钟", rf"{EN_NUMBER} minutes?\b", "at_most", "meeting length"),
)  # fmt: skip

# --- pronouns ------------------------------------------------------------------------------------

WRONG_PRONOUNS = {
    "female": re.compile(r"\b(he|him|his|himself)\b", re.IGNORECASE),
    "male": re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE),
}
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’")

# --- which texts are shown for which persona -------------------------------------------------------


@dataclass(frozen=True)
class PersonaText:
    """A template shown for some personas: where it is, and whether it speaks about the persona."""

    rel: str
    field: str
    source: dict[str, str]  # per locale
    dealers: tuple[str, ...]  # the personas it is shown for
    about: bool  # third person about the persona (pronouns are checked); else the persona's own speech


def _texts(parts: Parts) -> Iterator[PersonaText]:
    everyone = tuple(d.id for d in parts.dealers)
    for rel, step in parts.steps:
        for i, script in enumerate(step.model_scripts):
            yield PersonaText(rel, f"model_scripts[{i}].template", script.template, tuple(script.dealers) or everyone,
                              False)  # fmt: skip
        for i, scenario in enumerate(step.scenarios):
            yield PersonaText(rel, f"scenarios[{i}]", scenario, tuple(scenario.dealers) or everyone, True)
    for i, dealer in enumerate(parts.dealers):
        own = (dealer.id,)
        where = f"dealers[{i}]"
        yield PersonaText("dealers.yaml", f"{where}.profile", dealer.profile, own, True)
        yield PersonaText("dealers.yaml", f"{where}.temperament", dealer.temperament, own, True)
        for j, line in enumerate(dealer.opening_lines):
            yield PersonaText("dealers.yaml", f"{where}.opening_lines[{j}]", line, own, False)
        for step_id in type(dealer.reactions).model_fields:
            for kind in ("good", "poor"):
                yield PersonaText("dealers.yaml", f"{where}.reactions.{step_id}.{kind}",
                                  getattr(dealer.reactions[step_id], kind), own, False)  # fmt: skip
    for i, card in enumerate(parts.objections):
        raisers = tuple(d.id for d in parts.dealers if card.id in d.objections)
        where = f"objections[{i}]"
        yield PersonaText("objections.yaml", f"{where}.context", card.context, raisers, True)
        yield PersonaText("objections.yaml", f"{where}.text", card.text, raisers, False)
        yield PersonaText("objections.yaml", f"{where}.model_answer", card.model_answer, raisers, False)
    if parts.roleplay:
        for step_id, plan in parts.roleplay.plan.items():
            yield PersonaText("roleplay.yaml", f"plan.{step_id}", plan, everyone, True)
    if parts.reactions:
        for persona, lines in parts.reactions.reactions.items():
            for kind in ("harm", "passed", "missed"):
                for check_id, line in getattr(lines, kind).items():
                    yield PersonaText("reactions.yaml", f"reactions.{persona}.{kind}.{check_id}", line, (persona,),
                                      False)  # fmt: skip


def _rendered(text: PersonaText, dealer: Dealer, parts: Parts, locale: str) -> str | None:
    """The text as shown for this persona, without the product's own lines (their numbers are the product's)."""
    product = parts.products[0]
    try:
        rendered = str(templates.render(text.source[locale], **template_context(product, dealer, locale)))
    except (TemplateError, TypeError, KeyError):
        return None  # the template checks report it
    for line in _product_lines(product.model_dump(), locale):
        rendered = rendered.replace(line, "")
    return rendered


def _product_lines(value, locale: str) -> Iterator[str]:
    if isinstance(value, dict):
        if locale in value and isinstance(value[locale], str):
            yield str(templates.render("{{ line }}", line=value[locale]))  # as escaped in the rendered text
        else:
            for item in value.values():
                yield from _product_lines(item, locale)
    elif isinstance(value, list):
        for item in value:
            yield from _product_lines(item, locale)


# --- the checks ------------------------------------------------------------------------------------


def _other_personas(rendered: str, dealer: Dealer, dealers: tuple[Dealer, ...], locale: str) -> list[str]:
    return [d.name[locale] for d in dealers if d.id != dealer.id and d.name[locale] in rendered]


def _contradicted_facts(rendered: str, dealer: Dealer, locale: str) -> list[str]:
    found = []
    for pattern in FACT_PATTERNS:
        declared = getattr(dealer.facts, pattern.fact)
        if declared is None:
            continue
        parse = zh_number if locale == "zh" else en_number
        for match in re.finditer(getattr(pattern, locale), rendered, flags=re.IGNORECASE):
            number_text = next(g for g in match.groups() if g)
            number = parse(number_text)
            wrong = number != declared if pattern.relation == "equal" else number > declared
            if number is not None and wrong:
                found.append(f"says {match.group(0)!r} but the declared {pattern.what} is {declared}")
    return found


def _wrong_pronouns(text: str, dealer: Dealer) -> list[str]:
    return sorted({m.group(0) for m in WRONG_PRONOUNS[dealer.facts.gender].finditer(QUOTED.sub("", text))})


def _persona_problems(parts: Parts, problems: list[Problem]) -> None:
    by_id = {d.id: d for d in parts.dealers}
    for text in _texts(parts):
        reported: set[str] = set()
        for dealer_id in text.dealers:
            dealer = by_id.get(dealer_id)
            if dealer is None:
                continue
            for locale in LOCALES:
                rendered = _rendered(text, dealer, parts, locale)
                if rendered is None:
                    continue
                messages = [
                    f"shown for {dealer.id!r} but names {name!r}"
                    for name in _other_personas(rendered, dealer, parts.dealers, locale)
                ]
                messages += [f"shown for {dealer.id!r}: {m}" for m in _contradicted_facts(rendered, dealer, locale)]
                if locale == "en" and text.about:
                    wrong = _wrong_pronouns(rendered, dealer)
                    if wrong:
                        messages.append(f"about {dealer.id!r} ({dealer.facts.gender}) but says {', '.join(wrong)}")
                for message in messages:
                    if message not in reported:
                        reported.add(message)
                        problems.append(Problem(text.rel, f"{text.field}.{locale}", message))


def _tip_warnings(parts: Parts, problems: list[Problem]) -> None:
    """A card's tips are one text for every persona who raises it: a gendered pronoun is wrong for some."""
    for i, card in enumerate(parts.objections):
        raisers = [d for d in parts.dealers if card.id in d.objections]
        for stage in type(card.checks).model_fields:
            tip = card.checks[stage].tip.en
            for dealer in raisers:
                wrong = _wrong_pronouns(tip, dealer)
                if wrong:
                    field = f"objections[{i}].checks.{stage}.tip.en"
                    message = f"shown for {dealer.id!r} ({dealer.facts.gender}) but says {', '.join(wrong)}"
                    problems.append(Problem("objections.yaml", field, message, warning=True))
                    break


REFERENCE = re.compile(r"product\.(pricing|selling_points)\[(\d+)\]")


def _template_sources(parts: Parts) -> Iterator[tuple[str, str, str]]:
    for text in _texts(parts):
        for locale in LOCALES:
            yield text.rel, f"{text.field}.{locale}", text.source[locale]


def _tier_problems(parts: Parts, problems: list[Problem]) -> None:
    """A template presenting tier T with promise P, where P needs a feature T does not include."""
    for rel, field, source in _template_sources(parts):
        references: dict[str, set[int]] = {"pricing": set(), "selling_points": set()}
        for kind, index in REFERENCE.findall(source):
            references[kind].add(int(index))
        if not references["pricing"] or not references["selling_points"]:
            continue
        for product in parts.products:
            for t in sorted(references["pricing"]):
                if t >= len(product.pricing) or not product.pricing[t].includes:
                    continue
                for s in sorted(references["selling_points"]):
                    if s >= len(product.selling_points):
                        continue
                    missing = set(product.selling_points[s].needs) - set(product.pricing[t].includes)
                    if missing:
                        message = (
                            f"with product {product.id!r}, presents pricing[{t}] with selling_points[{s}], "
                            f"which needs {', '.join(sorted(missing))}: not in that tier"
                        )
                        problems.append(Problem(rel, field, message))


def _feature_references(parts: Parts, problems: list[Problem]) -> None:
    for i, product in enumerate(parts.products):
        ids = {f.id for f in product.features}
        for j, tier in enumerate(product.pricing):
            for feature in sorted(set(tier.includes) - ids):
                problems.append(
                    Problem("products.yaml", f"products[{i}].pricing[{j}].includes", f"no feature {feature!r}")
                )
        for j, point in enumerate(product.selling_points):
            for feature in sorted(set(point.needs) - ids):
                problems.append(
                    Problem("products.yaml", f"products[{i}].selling_points[{j}].needs", f"no feature {feature!r}")
                )


CONCERN = re.compile(r"dealer\.concerns\[(\d+)\]")


def _story_problems(parts: Parts, problems: list[Problem]) -> None:
    """The model visit is one story (the role-play shows each step's first model in turn)."""
    steps = {step.id: (rel, step) for rel, step in parts.steps}
    if "objection_handling" not in steps or "agreement" not in steps:
        return
    for dealer in parts.dealers:
        handled = steps["objection_handling"][1].scripts_for(dealer.id)[0].template
        rel, agreement = steps["agreement"]
        summed_up = agreement.scripts_for(dealer.id)[0]
        index = agreement.model_scripts.index(summed_up)
        for locale in LOCALES:
            unhandled = set(CONCERN.findall(summed_up.template[locale])) - set(CONCERN.findall(handled[locale]))
            for n in sorted(unhandled):
                message = f"for {dealer.id!r}, sums up concerns[{n}], which the objection model before it never handles"
                problems.append(Problem(rel, f"model_scripts[{index}].template.{locale}", message))


def check_consistency(parts: Parts, problems: list[Problem]) -> None:
    """Every consistency check over a read pack; problems are appended to `problems`."""
    if not parts.products or not parts.dealers:
        return
    _feature_references(parts, problems)
    _persona_problems(parts, problems)
    _tip_warnings(parts, problems)
    _tier_problems(parts, problems)
    _story_problems(parts, problems)
