"""``outsidein sense evaluate``: what a candidate policy would have earned, from the
engine's own decision log (offline policy evaluation).

The log's rounds are the decisions the engine arbitrated: a message chosen by Thompson
sampling, or the control group held out; each has the probability it was chosen with.
(Decisions where no message was allowed or needed are left out: every policy does the
same there.)  A round's reward is 1 when the customer clicked or bought
(:data:`~outsidein.sense.stages.OUTCOME_TYPES`) within ``[sense] attribution_days`` after
the event that triggered it, else 0.

The candidate (:mod:`outsidein.sense.candidates`) is scored with IPW, self-normalised IPW,
the direct method and doubly robust estimators (:mod:`outsidein.sense.ope`), each with a
bootstrap interval, next to what the logged policy earned and what the control group did.
The direct method's interval resamples the rounds with the reward model held fixed, so it
leaves out the model's own error: it is too narrow where a message was rarely sent (read
IPW and doubly robust there).

Against the control group, rounds are not a fair base: a held-out customer is never
messaged, so no cap or minimum gap ever stops their decisions, and they log many more
rounds per customer than a messaged one.  The comparison shown is therefore per customer,
from each one's first decision (:attr:`Evaluation.lift`, the Sense & respond page's own
figure, :func:`~outsidein.services.sense.analysis.sense_summary`); the per-round control
rate stays in the JSON.  :attr:`Evaluation.cautions` says, in words, when the figures
cannot be read at face value: few rounds, or an interval that leaves 0-100% (IPW and
doubly robust are unbounded on small samples; the self-normalised IPW is not).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import or_, select

from outsidein.errors import MissingDataError
from outsidein.sense import ope
from outsidein.sense.candidates import candidate_distribution, reward_model
from outsidein.sense.stages import ATTRIBUTION_DAYS, OUTCOME_TYPES, STAGE_INDEX, STAGES
from outsidein.services.sense.analysis import Lift, sense_summary
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Decision, SenseEvent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outsidein.workspace import Workspace

__all__ = ["ESTIMATOR_NAMES", "FEW_ROUNDS", "Evaluation", "cautions", "decision_log",
           "evaluate_policy"]

NO_MESSAGE = "(no message)"


def decision_log(session: Session, attribution_days: float = ATTRIBUTION_DAYS) -> pd.DataFrame:
    """The arbitrated decisions with their reward: one row per decision, columns
    ``customer_id``, ``ts``, ``stage``, ``action`` (:data:`NO_MESSAGE` for the control
    group), ``pscore``, ``control`` and ``reward``."""
    d, e = Decision, SenseEvent
    rows = session.execute(
        select(d.customer_id, e.ts, d.stage, d.action, d.probability, d.control)
        .join(e, e.id == d.event_pk)
        .where(or_(d.action.is_not(None), d.control.is_(True)))).all()
    log = pd.DataFrame(rows, columns=["customer_id", "ts", "stage", "action", "pscore",
                                      "control"])
    if log.empty:
        return log.assign(reward=pd.Series(dtype=float))
    outcomes = pd.DataFrame(session.execute(
        select(e.customer_id, e.ts.label("outcome_ts"))
        .where(e.type.in_(sorted(OUTCOME_TYPES)))).all(), columns=["customer_id", "outcome_ts"])
    log["action"] = log["action"].fillna(NO_MESSAGE)
    log["ts"] = pd.to_datetime(log["ts"])
    log = log.sort_values("ts", kind="stable").reset_index(drop=True)
    if outcomes.empty:
        return log.assign(reward=0.0)
    outcomes["outcome_ts"] = pd.to_datetime(outcomes["outcome_ts"])
    outcomes = outcomes.sort_values("outcome_ts", kind="stable")
    # the first outcome strictly after the decision's event, per customer
    nxt = pd.merge_asof(log, outcomes, left_on="ts", right_on="outcome_ts", by="customer_id",
                        direction="forward", allow_exact_matches=False)
    window = timedelta(days=attribution_days)
    log["reward"] = ((nxt["outcome_ts"] - nxt["ts"]) <= window).astype(float).to_numpy()
    return log


@dataclass(frozen=True)
class Evaluation:
    """A candidate policy's estimated value next to the logged policy's and the control's."""

    policy: str
    rounds: int
    logged_value: float
    control_value: float | None
    control_rounds: int
    estimates: dict[str, ope.PolicyValue]
    actions: tuple[str, ...]
    lift: Lift = field(default_factory=Lift)
    cautions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        lift = {**asdict(self.lift), "treated_rate": self.lift.treated_rate,
                "control_rate": self.lift.control_rate}
        return {"policy": self.policy, "rounds": self.rounds,
                "logged_value": self.logged_value, "control_value": self.control_value,
                "control_rounds": self.control_rounds, "actions": list(self.actions),
                "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
                "lift_per_customer": lift, "cautions": list(self.cautions)}


#: Below this many logged rounds, the estimates come with a caution.
FEW_ROUNDS = 1000


def cautions(rounds: int, estimates: dict[str, ope.PolicyValue]) -> tuple[str, ...]:
    """When the estimates cannot be read at face value, in words.

    >>> from outsidein.sense.ope import PolicyValue
    >>> v = PolicyValue("ipw", 0.71, 0.0, 2.14, 0.05, 28, 1000)
    >>> cautions(28, {"ipw": v})[1][:60]
    'inverse propensity (IPW): its interval, 0% to 214%, leaves 0'
    """
    out: list[str] = []
    if rounds < FEW_ROUNDS:
        out.append(f"only {rounds:,} logged decisions: the intervals are wide and the "
                   f"estimates move a lot with more data (read them from about {FEW_ROUNDS:,} "
                   "on)")
    for key, v in estimates.items():
        if v.ci_low < 0.0 or v.ci_high > 1.0:
            out.append(f"{ESTIMATOR_NAMES[key]}: its interval, {v.ci_low:.0%} to "
                       f"{v.ci_high:.0%}, leaves 0-100%: too few rounds of what the candidate "
                       "would do; read the self-normalised IPW, which stays in range")
    return tuple(out)


#: How each estimator is named to people.
ESTIMATOR_NAMES = {"ipw": "inverse propensity (IPW)", "snipw": "self-normalised IPW",
                   "dm": "direct method (reward model)", "dr": "doubly robust"}


def _arrays(log: pd.DataFrame) -> tuple[Any, ...]:
    actions = (NO_MESSAGE, *sorted(set(log["action"]) - {NO_MESSAGE}))
    index = {a: i for i, a in enumerate(actions)}
    stage = log["stage"].map(STAGE_INDEX).to_numpy(np.intp)
    action = log["action"].map(index).to_numpy(np.intp)
    available = np.zeros((len(STAGES), len(actions)), bool)
    available[stage, action] = True
    available[:, 0] = True
    return actions, stage, action, available


def evaluate_policy(ws: Workspace, policy: str, *, alpha: float = 0.05,
                    n_bootstrap: int = 1000, seed: int = 0) -> Evaluation:
    """Estimate what *policy* would have earned on the workspace's decision log."""
    days = float((ws.config.extra.get("sense") or {}).get("attribution_days",
                                                           ATTRIBUTION_DAYS))
    with session_scope(ws.store_url, write=False) as session:
        log = decision_log(session, days)
    if log.empty:
        raise MissingDataError(
            "no decisions to evaluate: the live engine logs one for each event sent to "
            "POST /api/v1/events (or a Segment source), with the message it chose; a replay of "
            "the history senses stages only. Send events, then run 'outsidein sense evaluate'")
    actions, stage, action, available = _arrays(log)
    reward = log["reward"].to_numpy(float)
    pscore = log["pscore"].to_numpy(float)
    q = reward_model(stage, action, reward, len(STAGES), len(actions))
    dist = candidate_distribution(policy, stage, available, q, actions)
    q_rounds = q[stage][:, :, None]
    common: dict[str, Any] = {"alpha": alpha, "n_bootstrap": n_bootstrap}
    logged: dict[str, Any] = {"reward": reward, "action": action, "pscore": pscore,
                              "action_dist": dist}
    estimates = {
        "ipw": ope.ipw(**logged, **common, random_state=seed),
        "snipw": ope.snipw(**logged, **common, random_state=seed),
        "dm": ope.dm(action_dist=dist, estimated_rewards_by_reg_model=q_rounds, **common,
                     random_state=seed),
        "dr": ope.dr(**logged, estimated_rewards_by_reg_model=q_rounds, **common,
                     random_state=seed),
    }
    control = log["control"].to_numpy(bool)
    return Evaluation(policy, len(log), float(reward.mean()),
                      float(reward[control].mean()) if control.any() else None,
                      int(control.sum()), estimates, actions,
                      lift=sense_summary(ws).lift, cautions=cautions(len(log), estimates))
