"""RFM: recency, frequency and monetary quintile scores, and the named segments they make.

Scores run from 1 to 5, 5 the best (the most recent, the most frequent, the biggest
spender).  A score is the quintile of the customer's rank: ``1 + (5 x rank) // n``, where
``rank`` counts the customers strictly worse (ties share a score, so a customer's score
never depends on the order ties happen to be read in: the warehouse gives the same
scores on DuckDB and on Spark).  The named segments read the recency score against the
mean of the frequency and monetary scores (``fm = (f + m + 1) // 2``, rounded half up),
the grid most RFM practice uses; :data:`RFM_SEGMENTS` holds it once, for the warehouse
expression (:mod:`outsidein.services.market.segments_data`) and for :func:`rfm_segment`.

>>> import numpy as np
>>> quintile_scores(np.array([10.0, 20.0, 20.0, 40.0, 50.0]))
array([1, 2, 2, 4, 5])
>>> rfm_segment(np.array([5, 1]), np.array([5, 1]), np.array([4, 2])).tolist()
['champions', 'lost']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RFM_SEGMENTS", "SEGMENT_KEYS", "RfmSegment", "fm_score", "quintile_scores",
           "rfm_segment", "segment_info"]

#: Quintiles: scores 1 to 5.
N_SCORES = 5


@dataclass(frozen=True)
class RfmSegment:
    """One named RFM segment: the recency and frequency-monetary score ranges it covers."""

    key: str
    label: str
    r_min: int
    r_max: int
    fm_min: int
    fm_max: int
    description: str
    action: str


#: The named segments, first match wins (every (r, fm) pair of 1..5 matches one).
RFM_SEGMENTS: tuple[RfmSegment, ...] = (
    RfmSegment("champions", "Champions", 4, 5, 4, 5,
               "bought recently, buy often and spend the most",
               "reward them; ask for reviews and referrals; early access to new products"),
    RfmSegment("loyal", "Loyal", 3, 5, 3, 5,
               "buy regularly and spend well",
               "offer the next product up and loyalty benefits"),
    RfmSegment("new", "New customers", 5, 5, 1, 1,
               "bought for the first time very recently",
               "welcome them and help them to a second purchase"),
    RfmSegment("potential_loyalists", "Potential loyalists", 4, 5, 1, 2,
               "bought recently, not yet often",
               "recommend what their look-alikes buy next; a membership offer"),
    RfmSegment("about_to_sleep", "About to sleep", 3, 3, 1, 2,
               "below average on all counts and drifting",
               "a reminder with a popular product, before they go quiet"),
    RfmSegment("cant_lose", "Can't lose them", 1, 2, 5, 5,
               "used to buy the most, often, but not lately",
               "win them back personally: call them, find out what went wrong"),
    RfmSegment("at_risk", "At risk", 1, 2, 3, 4,
               "spent well and often, but not for a long time",
               "a personal win-back offer and a service follow-up"),
    RfmSegment("hibernating", "Hibernating", 2, 2, 1, 2,
               "bought little and long ago",
               "a low-cost reactivation campaign; do not spend much"),
    RfmSegment("lost", "Lost", 1, 1, 1, 2,
               "the lowest recency, frequency and spend",
               "leave them out of paid campaigns"),
)
SEGMENT_KEYS: tuple[str, ...] = tuple(s.key for s in RFM_SEGMENTS)


def segment_info(key: str) -> RfmSegment:
    """The segment called *key*.

    >>> segment_info("at_risk").label
    'At risk'
    """
    for s in RFM_SEGMENTS:
        if s.key == key:
            return s
    raise KeyError(key)


def quintile_scores(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Quintile scores 1..5 of *values*: ``1 + (5 x customers strictly worse) // n``.

    >>> quintile_scores(np.array([3.0, 1.0, 2.0]), higher_is_better=False).tolist()
    [1, 4, 2]
    """
    v = np.asarray(values, dtype=float)
    if not higher_is_better:
        v = -v
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    worse = np.searchsorted(np.sort(v), v, side="left")
    return (1 + (N_SCORES * worse) // n).astype(np.int64)


def fm_score(f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The mean of the frequency and monetary scores, rounded half up.

    >>> fm_score(np.array([4, 5]), np.array([3, 5])).tolist()
    [4, 5]
    """
    return (np.asarray(f) + np.asarray(m) + 1) // 2


def rfm_segment(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """The named segment (its key) of each customer's recency, frequency and monetary scores.

    >>> rfm_segment(np.array([2, 5]), np.array([4, 1]), np.array([3, 1])).tolist()
    ['at_risk', 'new']
    """
    r = np.asarray(r)
    fm = fm_score(f, m)
    out = np.full(r.shape, "", dtype=object)
    for s in reversed(RFM_SEGMENTS):  # first match wins: the earlier rule writes last
        hit = (r >= s.r_min) & (r <= s.r_max) & (fm >= s.fm_min) & (fm <= s.fm_max)
        out[hit] = s.key
    return out
