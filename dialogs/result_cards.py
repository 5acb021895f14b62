"""A result card as stored: a finished MAN assessment, SWOT or pitch script a rep keeps (/my).

Cards are saved by the `SaveResultCard` effect (dialogs/effects.py) and read back through the
flow context's reader. A card is identified for updating by its kind and its title, compared
without regard to case or spacing (`title_key`), so assessing "王老板" again updates that card.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

CARD_KINDS = ("man", "swot", "pitch")


def title_key(title: str) -> str:
    """The form two titles are compared in: NFKC, case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


@dataclass(frozen=True)
class ResultCard:
    """One stored card: its id, kind (man, swot or pitch), title, data, and when it was made and last updated."""

    id: int
    kind: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    session_id: int | None = None
