"""Result cards as a rep reads them: MAN, SWOT and pitch cards rendered from toolkit.yaml.

A card stores what the rep answered (dialogs/result_cards.py); everything else is worked out
again when it is shown, in the reader's language: the MAN class and its strategy, the SWOT
strategy prompts, the pitch script. The flows show their result with these functions, and /my
opens stored cards with the same ones, so a card always reads the same.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from knowledge.pack import Pack
from knowledge.templates import render

_TRAILING = " \t\n。.！!；;，,、：:"


def phrase(text: str) -> str:
    """User text as a phrase for a template: trimmed, without a final full stop or comma."""
    return text.strip().rstrip(_TRAILING).strip()


# --- MAN --------------------------------------------------------------------------------------


def man_levels(pack: Pack, answers: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Per dimension: high or not, and how many of its questions were answered "not sure yet" (0)."""
    tool = pack.toolkit.man
    levels = {}
    for dimension in ("money", "authority", "need"):
        values = [answers.get(q.id, 0) for q in tool.questions if q.dimension == dimension]
        known = [v for v in values if v > 0]
        mean = sum(known) / len(known) if known else 0.0
        levels[dimension] = {"high": mean >= tool.high_from, "unsure": len(values) - len(known)}
    return levels


def man_code(levels: dict[str, dict[str, Any]]) -> str:
    """The class code: an upper-case letter for a high dimension (MAN, MaN, ..., man)."""
    return "".join(
        letter.upper() if levels[d]["high"] else letter.lower()
        for letter, d in zip("MAN", ("money", "authority", "need"), strict=True)
    )


def man_class(pack: Pack, code: str):
    return next(c for c in pack.roleplay.man_classes if c.code == code)


def man_context(pack: Pack, title: str, data: dict, locale: str) -> dict[str, Any]:
    tool = pack.toolkit.man
    answers = data.get("answers", {})
    levels = man_levels(pack, answers)
    code = man_code(levels)
    chosen = man_class(pack, code)
    unsure = [q.find_out[locale] for q in tool.questions if answers.get(q.id, 0) == 0]
    return {
        "title": title,
        "code": code,
        "class_name": chosen.name[locale],
        "strategy": chosen.strategy[locale],
        "dimensions": [{"name": tool.dimensions[d][locale], **levels[d]} for d in ("money", "authority", "need")],
        "find_out": unsure + [line[locale] for line in tool.next_steps[code]],
    }


# --- SWOT -------------------------------------------------------------------------------------


def swot_context(pack: Pack, title: str, data: dict, locale: str) -> dict[str, Any]:
    tool = pack.toolkit.swot
    items = {q.id: list(data.get("items", {}).get(q.id, [])) for q in tool.quadrants}
    kind = data.get("kind", "market")
    variables = {"subject": title, "kind": kind, **items}
    return {
        "title": title,
        "kind_name": tool.subject_kinds[kind][locale],
        "quadrants": [{"title": q.title[locale], "lines": items[q.id]} for q in tool.quadrants],
        "strategies": [
            {"title": s.title[locale], "text": render(s.prompt[locale], **variables)} for s in tool.strategies
        ],
    }


# --- pitch ------------------------------------------------------------------------------------


def pitch_parts(pack: Pack, data: dict, locale: str) -> dict[str, str]:
    """The product and feature in the reader's language (a pack product) or as typed (a described one)."""
    product = data.get("product", {})
    if product.get("id") and any(p.id == product["id"] for p in pack.products):
        chosen = pack.product(product["id"])
        name = chosen.name[locale]
        feature = data.get("feature", {})
        index = feature.get("index")
        if isinstance(index, int) and 0 <= index < len(chosen.features):
            feature_text = chosen.features[index].name[locale]
        else:
            feature_text = feature.get("text", "")
    else:
        name, feature_text = product.get("name", ""), data.get("feature", {}).get("text", "")
    return {"product": name, "feature": feature_text}


def pitch_context(pack: Pack, title: str, data: dict, locale: str) -> dict[str, Any]:
    tool = pack.toolkit.pitch
    parts = {
        **pitch_parts(pack, data, locale),
        **{key: data.get(key, "") for key in ("target", "scenario", "thinking", "selling_point")},
    }
    return {
        "title": title,
        **parts,
        "script": render(tool.script[locale], **parts),
        "stages": {stage: name[locale] for stage, name in tool.stages.items()},
    }


_CONTEXTS = {"man": man_context, "swot": swot_context, "pitch": pitch_context}
_TEMPLATES = {
    "man": lambda pack: pack.toolkit.man.card,
    "swot": lambda pack: pack.toolkit.swot.card,
    "pitch": lambda pack: pack.toolkit.pitch.card,
}


def render_card(pack: Pack, kind: str, title: str, data: dict, locale: str) -> Markup:
    """A stored card as the text a rep reads (Telegram HTML, their own words escaped)."""
    context = _CONTEXTS[kind](pack, title, data, locale)
    return render(_TEMPLATES[kind](pack)[locale], **context)
