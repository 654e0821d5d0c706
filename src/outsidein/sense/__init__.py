"""The sense-and-respond engine: buying-stage sensing, next-message decisions, their proof.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.
"""

from outsidein.sense._bts import bernoulli_ts_action_dist
from outsidein.sense.bandit import ControlGroup, ThompsonBandit
from outsidein.sense.candidates import CANDIDATES, candidate_distribution, reward_model
from outsidein.sense.evidence import Clue, EvidenceConfig, EvidenceScorer, EvidenceState
from outsidein.sense.hmm import StageHMM, bayes_limit_accuracy, forward_filter
from outsidein.sense.ope import PolicyValue, dm, dr, ipw, snipw
from outsidein.sense.policy import (
    CatalogAction,
    ContactPolicy,
    CustomerContacts,
    PolicyResult,
    eligible_actions,
)
from outsidein.sense.sequence import StageClassifier, history_features
from outsidein.sense.silence import next_stage_change
from outsidein.sense.simulate import Market, simulate_market
from outsidein.sense.stages import MESSAGE_NEEDS, STAGE_NEED, STAGES, need_for, stage_info

__all__: list[str] = [
    "CANDIDATES", "PolicyValue", "bernoulli_ts_action_dist", "candidate_distribution", "dm",
    "dr", "ipw", "reward_model", "snipw",
    # stages, sensing, arbitration, contact policy, simulator
    "MESSAGE_NEEDS", "STAGES", "STAGE_NEED", "CatalogAction", "Clue", "ContactPolicy",
    "ControlGroup", "CustomerContacts", "EvidenceConfig", "EvidenceScorer", "EvidenceState",
    "Market", "PolicyResult", "StageHMM", "ThompsonBandit", "bayes_limit_accuracy",
    "StageClassifier", "eligible_actions", "forward_filter", "history_features", "need_for",
    "next_stage_change", "simulate_market", "stage_info",
]
