"""/my (flows/my.yaml): the result cards a rep keeps: list, open, send again, delete.

Only the rep's own cards are read (the flow context's reader asks storage for this user's
cards only), so a card id from someone else, an old keyboard or forged callback data opens
nothing: the list comes back with a notice. Deleting asks first; the `DeleteResultCard`
effect deletes only a card of this user.

Session data: card (the id of the card open), notice.
"""

from __future__ import annotations

from typing import Any

from dialogs.cards import render_card
from dialogs.effects import DeleteResultCard
from dialogs.flow_session import Choice
from dialogs.result_cards import ResultCard
from dialogs.toolkit_session import ToolkitSession

LISTED = 30  # the most cards offered as buttons, the ones updated last


class MyCardsSession(ToolkitSession):
    _deleted: int | None = None  # deleted in this event: storage still lists it until the turn is saved

    def _cards(self) -> list[ResultCard]:
        return [c for c in self.ctx.result_cards() if c.id != self._deleted]

    def _card(self, card_id: Any) -> ResultCard | None:
        """One of this user's cards, or None (unknown, someone else's, malformed)."""
        return next((c for c in self._cards() if str(c.id) == str(card_id)), None)

    # --- callbacks and conditions (named in flows/my.yaml) ---------------------------------------

    def card_exists(self, arg: str = "", **_) -> bool:
        return self._card(arg) is not None

    def open_card(self, arg: str = "", **_):
        self.data["card"] = int(arg)

    def card_missing(self, **_):
        self.notify("my.not_found")

    def delete_card(self, **_):
        card = self._card(self.data.get("card"))
        if card is not None:
            self.effects.append(DeleteResultCard(card.id))
            self._deleted = card.id
            self.notify("my.deleted", title=card.title)
        self.data.pop("card", None)

    # --- getters ---------------------------------------------------------------------------------

    def card_choices(self) -> list[Choice]:
        """One button per card; its label is plain text (a button shows no HTML), so the title goes in as typed."""
        return [
            Choice(str(c.id), f"{self.ctx.ui(f'my.kind_{c.kind}')} · {c.title} · {c.updated_at[:10]}")
            for c in self._cards()[:LISTED]
        ]

    def reassess_choices(self) -> list[Choice]:
        """A MAN card can be reassessed: /man started with the card's id offers that dealer."""
        card = self._card(self.data.get("card"))
        return [Choice(str(card.id))] if card is not None and card.kind == "man" else []

    def list_view(self) -> dict[str, Any]:
        return self.view(count=len(self._cards()))

    def card_view(self) -> dict[str, Any]:
        card = self._card(self.data.get("card"))
        if card is None:
            return self.view(card="", title="")
        return self.view(card=render_card(self.ctx.pack, card.kind, card.title, card.data, self.ctx.locale),
                         title=card.title)  # fmt: skip
