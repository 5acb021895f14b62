"""/forget_me (flows/forget.yaml): a confirmation bound to one offer, then `ForgetUser`.

Session data: offer, a random token made when the flow starts and carried by the
confirm button; a press confirms only if it carries the same token.
"""

from __future__ import annotations

import secrets

from dialogs.effects import ForgetUser
from dialogs.flow_session import Choice, FlowSession


class ForgetSession(FlowSession):
    def make_offer(self, **_):
        self.data["offer"] = secrets.token_hex(4)

    def offer(self) -> list[Choice]:
        return [Choice(self.data.get("offer", ""))]

    def offer_matches(self, arg: str = "", **_) -> bool:
        return bool(arg) and secrets.compare_digest(arg, self.data.get("offer", ""))

    def forget_user(self, **_):
        self.effects.append(ForgetUser())
