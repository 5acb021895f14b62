"""Scores a learner's answer against a rubric (a step's, or an objection card's) by meaning.

See scorer.py for how a score is made. Modules: clauses (segmentation), embedding (the model
and its caches), exemplars (the pack's exemplar vectors), phrases (exact matching), structure
(open questions, check-backs, concrete steps), guards (keyword lists, copies, repeats),
results (what a score holds), scorer (the facade).
"""

from dialogs.scoring.clauses import MAX_SCORED_CHARS, normalize
from dialogs.scoring.embedding import ScorerUnavailable
from dialogs.scoring.results import CheckResult, ScoreResult
from dialogs.scoring.scorer import MODES, Scorer, rep_lines

__all__ = [
    "MAX_SCORED_CHARS",
    "MODES",
    "CheckResult",
    "ScoreResult",
    "Scorer",
    "ScorerUnavailable",
    "normalize",
    "rep_lines",
]
