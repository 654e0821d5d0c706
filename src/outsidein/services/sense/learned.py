"""What the live engine has learned, and how its choices moved as it learned.

- :func:`learned_rates`: per (stage, message), the responses and non-responses every
  server process has counted (``sense_posteriors``), the estimated response rate (the
  Beta posterior mean from a uniform prior) and its 90% credible interval;
- :func:`choice_curve`: week by week, each message's share of the messages the engine
  chose (the learning curve a marketing engineer watches: a message that works takes a
  growing share), as a Plotly figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy.stats import beta
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.sense.stages import STAGE_LABELS, STAGES
from outsidein.store.models.sense import Decision, Posterior, SenseEvent

__all__ = ["choice_curve", "learned_rates"]


def learned_rates(session: Session) -> list[dict[str, Any]]:
    """Every (stage, message) with an outcome counted, in cycle order, best first."""
    order = {s: i for i, s in enumerate(STAGES)}
    rows = []
    for p in session.scalars(select(Posterior)):
        a, b = 1.0 + p.responses, 1.0 + p.non_responses
        rows.append({"stage": p.stage, "stage_label": STAGE_LABELS.get(p.stage, p.stage),
                     "action": p.action, "responses": int(round(p.responses)),
                     "outcomes": int(round(p.responses + p.non_responses)),
                     "response_rate": a / (a + b), "ci_low": float(beta.ppf(0.05, a, b)),
                     "ci_high": float(beta.ppf(0.95, a, b))})
    return sorted(rows, key=lambda r: (order.get(r["stage"], 99), -r["response_rate"]))


def choice_curve(session: Session, *, top: int = 6) -> dict[str, Any] | None:
    """Weekly share of each message among the messages chosen (the *top* most sent; the
    rest as "other"); ``None`` before two weeks of decisions."""
    rows = session.execute(
        select(SenseEvent.ts, Decision.action)
        .join(SenseEvent, SenseEvent.id == Decision.event_pk)
        .where(Decision.action.is_not(None), Decision.control.is_(False))).all()
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["ts", "action"])
    frame["week"] = pd.to_datetime(frame["ts"]).dt.to_period("W").dt.start_time
    if frame["week"].nunique() < 2:
        return None
    keep = frame["action"].value_counts().index[:top]
    frame.loc[~frame["action"].isin(keep), "action"] = "other"
    share = pd.crosstab(frame["week"], frame["action"], normalize="index")
    x = [d.strftime("%Y-%m-%d") for d in share.index]
    return {"data": [{"type": "scatter", "mode": "lines", "name": str(action), "x": x,
                      "y": [round(float(v), 4) for v in share[action]]}
                     for action in share.columns],
            "layout": {"title": {"text": "Share of each message among those sent, by week"},
                       "yaxis": {"title": {"text": "share of messages"}, "tickformat": ".0%",
                                 "rangemode": "tozero"},
                       "xaxis": {"title": {"text": "week"}},
                       "margin": {"t": 48, "r": 16, "b": 48, "l": 64}, "height": 320}}
