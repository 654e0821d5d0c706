"""When a silent customer's stage changes: the search behind the sweep of silence.

A customer's stage moves without any event: evidence decays (a purchase fades), and the
silence pull grows (at risk after a purchase, then lapsed; :class:`EvidenceScorer`).  The
stage under silence is a function of time alone, ``scorer.stage(state, t)``;
:func:`next_stage_change` finds the first time after a given one at which it differs.

Choices made here
-----------------
* **A step that cannot skip a change.**  From time ``t`` the top stage's score and any
  other's can close their gap no faster than the sum of their speeds
  (:meth:`EvidenceScorer.drift`: a decayed evidence moves fastest now; a ramp at its
  slope), so no change happens before ``t + gap / (speed_top + speed_other)``: the search
  steps by the smallest such time, never past a ramp's start or end, and at least
  :data:`FLOOR_S` (a change that reverts within a minute may be missed).  Near a change the
  steps shrink as Newton's do on a convex decay; far from one they are days long.
* **Exact to the second.**  Once a step lands on another stage, a bisection on whole
  seconds finds the first whole second at which the stage has changed: the returned time is
  at most 1 s after the change, and the stage there is already the new one (an event
  stored at that time is sensed in the new stage).
* **Never again.**  When the top score's lowest reach (all its decay still to come) stays
  above every other score's highest reach (all its pull still to come), the stage never
  changes again: the search ends early with ``None`` (a lapsed customer costs a few
  steps).

How it is wired: :mod:`outsidein.services.sense.silence` runs it for each customer due a
look and applies a ``"silence"`` event at the time found; the events API stores when to
look first.

>>> from outsidein.sense.evidence import EvidenceScorer
>>> sc = EvidenceScorer().fit()
>>> bought = sc.update(sc.new_state(), 0.0, "web", "checkout")
>>> t = next_stage_change(sc, bought, 0.0)
>>> round(t / 86400.0, 2), sc.stage(bought, t - 1), sc.stage(bought, t)
(30.07, 'purchased', 'at_risk')
>>> [round(x / 86400.0) for x in stage_changes(sc, bought, 0.0, 365 * 86400.0)]
[30, 120]
>>> again = sc.update(bought.copy(), 30 * 86400.0, "web", "checkout")  # a repeat buyer
>>> [(round(x / 86400.0), sc.stage(again, x))
...  for x in stage_changes(sc, again, 30 * 86400.0, 400 * 86400.0)]
[(42, 'loyal'), (64, 'at_risk'), (150, 'lapsed')]
>>> next_stage_change(sc, bought, 121 * 86400.0) is None  # lapsed for good
True
"""

from __future__ import annotations

import math

from outsidein.sense.evidence import EvidenceScorer, EvidenceState
from outsidein.sense.stages import SILENCE

__all__ = ["FIRST_LOOK_S", "FLOOR_S", "MAX_CHANGES", "MAX_STEPS", "SILENCE",
           "next_stage_change", "stage_changes"]

#: Seconds after a customer's latest evidence the sweep first looks at them (the events
#: path stores it as ``resense_at``).
FIRST_LOOK_S = 3600.0
#: The shortest step of the search (seconds).
FLOOR_S = 60.0
#: Steps after which the search gives up (a tie held between two moving scores).
MAX_STEPS = 10_000
#: Stage changes found in one call of :func:`stage_changes` at most (and applied per
#: customer in one look of the sweep): the scorer's stages change a few times under
#: silence (a purchase fades, at risk, lapsed).
MAX_CHANGES = 16
_FOREVER = 100 * 365.25 * 86400.0  # where the search stops without a horizon


def _top(scores: list[float]) -> int:
    return scores.index(max(scores))  # as the scorer picks: the first of equals


def next_stage_change(scorer: EvidenceScorer, state: EvidenceState, after: float,
                      horizon: float | None = None) -> float | None:
    """The first whole second after *after* at which the customer's stage under silence
    differs from the stage at *after*; ``None`` when it does not change by *horizon* (no
    horizon: ever).

    Parameters
    ----------
    scorer
        The fitted scorer whose stage is meant.
    state
        The customer's evidence after their last interaction (not changed).
    after, horizon
        Epoch seconds: the search starts at *after* (at the last interaction if that is
        later) and stops at *horizon*.

    The time returned is within 1 s after the change (see the module doc); a change that
    reverts within :data:`FLOOR_S` may be missed, and after :data:`MAX_STEPS` steps the
    search gives up (``None``).
    """
    if state.ts is None:  # no interaction: only the prior, which never moves
        return None
    t = max(float(after), state.ts)
    end = t + _FOREVER if horizon is None else float(horizon)
    scores = scorer.scores(state, t)
    ref = _top(scores)
    for _ in range(MAX_STEPS):
        if t >= end:
            return None
        speed, fall, rise, brk = scorer.drift(state, t)
        top, low = scores[ref], scores[ref] - fall[ref]
        step, may = math.inf, False
        for j, s in enumerate(scores):
            if j != ref and low <= s + rise[j]:  # j may still overtake
                may = True
                pace = speed[ref] + speed[j]
                step = min(step, (top - s) / pace if pace > 0 else math.inf)
        if not may or (step == math.inf and brk == math.inf):
            return None  # settled: no score can reach the top one any more
        step = max(step, FLOOR_S)
        nxt = min(math.ceil(t + min(step, brk - t if brk > t else step)), end)
        scores = scorer.scores(state, nxt)
        if _top(scores) != ref:
            return _bisect(scorer, state, ref, t, nxt)
        t = nxt
    return None


def _bisect(scorer: EvidenceScorer, state: EvidenceState, ref: int, lo: float,
            hi: float) -> float:
    """The first whole second in (lo, hi] whose stage is not *ref* (at *lo* it is; at
    *hi*, a whole second, it is not)."""
    while hi - lo > 1.0:
        mid = float(math.floor((lo + hi) / 2.0))
        if mid <= lo:
            break
        if _top(scorer.scores(state, mid)) == ref:
            lo = mid
        else:
            hi = mid
    return hi


def stage_changes(scorer: EvidenceScorer, state: EvidenceState, after: float, until: float,
                  *, limit: int = MAX_CHANGES) -> list[float]:
    """Every stage change under silence in (*after*, *until*], oldest first (at most
    *limit*); each as :func:`next_stage_change` gives it."""
    out: list[float] = []
    t: float | None = after
    while len(out) < limit:
        t = next_stage_change(scorer, state, t, until)  # type: ignore[arg-type]
        if t is None:
            break
        out.append(t)
    return out
