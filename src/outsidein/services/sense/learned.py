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
from sqlalchemy import func, select
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
    # counted per day and message in the store (SQLite and PostgreSQL both know date()):
    # a page view reads days x messages rows, not the decision log
    day = func.date(SenseEvent.ts)
    rows = session.execute(
        select(day, Decision.action, func.count())
        .join(SenseEvent, SenseEvent.id == Decision.event_pk)
        .where(Decision.action.is_not(None), Decision.control.is_(False))
        .group_by(day, Decision.action)).all()
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["day", "action", "n"])
    frame["week"] = pd.to_datetime(frame["day"]).dt.to_period("W").dt.start_time
    if frame["week"].nunique() < 2:
        return None
    keep = frame.groupby("action")["n"].sum().sort_values(ascending=False).index[:top]
    frame.loc[~frame["action"].isin(keep), "action"] = "other"
    share = pd.crosstab(frame["week"], frame["action"], values=frame["n"], aggfunc="sum",
                        normalize="index").fillna(0.0)
    x = [d.strftime("%Y-%m-%d") for d in share.index]
    return {"data": [{"type": "scatter", "mode": "lines", "name": str(action), "x": x,
                      "y": [round(float(v), 4) for v in share[action]]}
                     for action in share.columns],
            "layout": {"title": {"text": "Share of each message among those sent, by week"},
                       "yaxis": {"title": {"text": "share of messages"}, "tickformat": ".0%",
                                 "rangemode": "tozero"},
                       "xaxis": {"title": {"text": "week"}},
                       "margin": {"t": 48, "r": 16, "b": 48, "l": 64}, "height": 320}}
