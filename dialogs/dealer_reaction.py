"""Which line the role-play dealer answers a move with: the one about what the rep actually did.

A harmful move (an instant discount, pressure, blame, ...) is answered first, since a real
dealer would not let it pass; otherwise a good move is answered by the strongest thing the rep
did, a poor one by the most important thing the rep left out. The lines themselves are content
(knowledge/content/reactions.yaml, per persona); a persona without a line for that check falls
back to its general good or poor reaction for the step (dealers.yaml).
"""

from __future__ import annotations

from dialogs.scoring import ScoreResult
from knowledge.pack import Text
from knowledge.schema import Dealer, PersonaReactions


def choose_reaction(result: ScoreResult, good: bool) -> tuple[str, str] | None:
    """(kind, check id) the dealer reacts to: ("harm", id), ("passed", id) or ("missed", id)."""
    if result.harms:
        return "harm", result.harms[0].id  # the worst harm the answer fired
    check = result.strongest if good else result.weakest
    if check is None:
        return None
    return ("passed" if good else "missed"), check.id


def reaction_line(
    dealer: Dealer, lines: PersonaReactions | None, step_id: str, chosen: tuple[str, str] | None, good: bool
) -> Text:
    """The text the dealer says: the line for what was chosen, else the step's good or poor reaction."""
    if lines is not None and chosen is not None:
        kind, check_id = chosen
        line = getattr(lines, kind).get(check_id)
        if line is not None:
            return line
    reaction = dealer.reactions[step_id]
    return reaction.good if good else reaction.poor
