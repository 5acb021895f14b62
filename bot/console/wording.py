"""Terminal wording: the content pack as `coach chat` shows it.

A ui string `console.<key>` is the terminal's variant of `<key>` ("type the
number" where Telegram says "press the button"). The console builds its engine
from a pack with those variants in place, so the flows stay the same for every
front end and the wording lives in ui.yaml beside the original.
"""

from __future__ import annotations

from dataclasses import replace

from knowledge.pack import Pack

PREFIX = "console."


def console_variants(ui: dict) -> dict:
    """`<key>: text` for every `console.<key>` whose `<key>` is another ui string."""
    return {
        key.removeprefix(PREFIX): text
        for key, text in ui.items()
        if key.startswith(PREFIX) and key.removeprefix(PREFIX) in ui
    }


def for_console(pack: Pack) -> Pack:
    """The pack with the terminal's wording in place of Telegram's."""
    return replace(pack, ui={**pack.ui, **console_variants(pack.ui)})
