"""The one door to group scores and comments: every page, API answer, export and report of
the culture survey goes through these two functions, which call the engine's anonymity rules
(:mod:`outsidein.culture.anonymity`: no score under 5 respondents, no comments under 10,
complementary suppression across departments *and* roles, and across organisations).

>>> RULES.min_scores, RULES.min_comments
(5, 10)
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from outsidein.culture.anonymity import AnonymityRules, disclosed_comments, disclosed_scores

__all__ = ["DIMENSIONS", "RULES", "group_comments", "group_scores"]

#: The anonymity rules every view applies (the engine's: 5 for scores, 10 for comments).
RULES = AnonymityRules()
#: The groupings inside an organisation that any view may show.
DIMENSIONS = ("department", "role")


def group_scores(scores: pd.DataFrame, columns: Sequence[str], *,
                 rules: AnonymityRules = RULES) -> pd.DataFrame:
    """Per organisation, department and role: n, whether shown, why not, the mean scores
    (NaN where hidden); plus the overall row ``(all)``."""
    return disclosed_scores(scores, list(columns), unit="org", dimensions=DIMENSIONS,
                            rules=rules)


def group_comments(respondents: pd.DataFrame, *, by: str | None = None,
                   rules: AnonymityRules = RULES) -> pd.DataFrame:
    """The comments that may be shown, per organisation (and per group of *by*)."""
    return disclosed_comments(respondents, unit="org", by=by, dimensions=DIMENSIONS,
                              rules=rules)
