"""Customer value engine: models and maths for the five crucial questions (no I/O).

Everything public is imported from here (``from outsidein.value import X``):

* question 1, who is most valuable: the buy-till-you-die models
  (:class:`BetaGeo`, :class:`ModifiedBetaGeo`, :class:`ParetoNBD`,
  :class:`BetaGeoBetaBinom`), the :class:`GammaGamma` spend model, :func:`clv`,
  the scoring maths (:func:`score_triples`, :func:`join_scores` ...) and the
  plain-words reasons (:func:`reason_expr`);
* question 2, who costs more than they are worth: :func:`customer_profit`,
  :func:`analyse_cost_to_serve`, :func:`whale_curve`;
* question 3, advocates: :class:`ReferralNetwork`;
* question 4, ideal prospects: :func:`ideal_customer_profile`, :class:`LookalikeModel`;
* question 5, likely converts: :class:`ConversionModel`.

Every model is a scikit-learn estimator (``get_params``, ``set_params``,
``sklearn.base.clone``); reading from and writing to the warehouse is the
services' job (:mod:`outsidein.services.value`, :mod:`outsidein.services.questions`).

>>> from outsidein.value import BetaGeo, GammaGamma, clv
>>> BetaGeo()
BetaGeo()
"""

from __future__ import annotations

from outsidein.value._base import SpendModel, TransactionModel
from outsidein.value._bgbb import BetaGeoBetaBinom
from outsidein.value._bgnbd import BetaGeo, ModifiedBetaGeo
from outsidein.value._pareto import ParetoNBD
from outsidein.value._simulate import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_pareto,
    simulate_spend,
)
from outsidein.value.advocacy import (
    AdvocateComparison,
    ReferralNetwork,
    advocate_reason,
    advocates_figure,
    compare_advocates,
)
from outsidein.value.clv import PERIODS_PER_YEAR, clv, periodic_rate
from outsidein.value.conversion import (
    ConversionModel,
    calibration_figure,
    calibration_table,
)
from outsidein.value.profit import (
    COST_COLUMNS,
    COUNT_COLUMNS,
    CostToServeResult,
    ValueBasis,
    analyse_cost_to_serve,
    cost_coverage,
    customer_profit,
    drain_reason,
    money,
)
from outsidein.value.prospects import (
    PROFILE_ATTRIBUTES,
    LookalikeModel,
    feature_words,
    ideal_customer_profile,
    lookalike_figure,
    profile_reason,
    profile_reasons,
)
from outsidein.value.reasons import assemble_reason, days_per_unit, history_phrases, reason_expr
from outsidein.value.scoring import (
    MODEL_CLASSES,
    SUMMARY_COLUMNS,
    join_scores,
    model_from_params,
    new_model,
    score_triples,
    spend_line,
)
from outsidein.value.spend import GammaGamma
from outsidein.value.whale import (
    WhaleCurve,
    loss_causes,
    main_loss_cause,
    whale_curve,
    whale_figure,
    whale_words,
)

__all__ = [
    # question 1: transaction and spend models, CLV, scoring, reasons
    "BetaGeo",
    "BetaGeoBetaBinom",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "SpendModel",
    "TransactionModel",
    "clv",
    "PERIODS_PER_YEAR",
    "periodic_rate",
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_pareto",
    "simulate_spend",
    "MODEL_CLASSES",
    "SUMMARY_COLUMNS",
    "join_scores",
    "model_from_params",
    "new_model",
    "score_triples",
    "spend_line",
    "assemble_reason",
    "days_per_unit",
    "history_phrases",
    "reason_expr",
    # question 2: profit, cost to serve, whale curve
    "COST_COLUMNS",
    "COUNT_COLUMNS",
    "CostToServeResult",
    "ValueBasis",
    "WhaleCurve",
    "analyse_cost_to_serve",
    "cost_coverage",
    "customer_profit",
    "drain_reason",
    "loss_causes",
    "main_loss_cause",
    "money",
    "whale_curve",
    "whale_figure",
    "whale_words",
    # question 3: advocates
    "AdvocateComparison",
    "ReferralNetwork",
    "advocate_reason",
    "advocates_figure",
    "compare_advocates",
    # question 4: ideal prospects
    "PROFILE_ATTRIBUTES",
    "LookalikeModel",
    "feature_words",
    "ideal_customer_profile",
    "lookalike_figure",
    "profile_reason",
    "profile_reasons",
    # question 5: likely converts
    "ConversionModel",
    "calibration_figure",
    "calibration_table",
]
