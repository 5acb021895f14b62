"""What the visit toolkit's flows (/man, /swot, /pitch, /my) share: a one-turn notice and length limits.

A typed answer that is too long is refused with a notice (the window's `notice` variable) and the
same question again; nothing typed before is lost. The notice is cleared before every event
(the flow files name `clear_notice` as the machine's `prepare_event`). Empty text never arrives:
the engine answers it.
"""

from __future__ import annotations

from typing import Any

from dialogs.flow_session import FlowSession


class ToolkitSession(FlowSession):
    def clear_notice(self, **_):
        self.data.pop("notice", None)

    def notify(self, key: str, **variables) -> None:
        """Show the flow's interface string `key` above the next window."""
        self.data["notice"] = str(self.ctx.ui(key, **variables))

    def notice(self) -> str:
        return self.data.get("notice", "")

    def limit(self, name: str) -> int:
        """The longest free text of this kind (toolkit.yaml `limits`: title or item)."""
        return getattr(self.ctx.pack.toolkit.limits, name)

    def fits(self, text: str, name: str) -> bool:
        return len(text.strip()) <= self.limit(name)

    def refuse_long(self, text: str, name: str) -> None:
        self.notify("toolkit.too_long", length=len(text.strip()), limit=self.limit(name))

    def view(self, **variables: Any) -> dict[str, Any]:
        """A window's variables, with the notice."""
        return {"notice": self.notice(), **variables}
