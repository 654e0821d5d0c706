"""Sense-and-respond use cases (:mod:`outsidein.sense` holds the maths).

:mod:`~outsidein.services.sense.obd` reads the Open Bandit Dataset and replays the Open
Bandit Pipeline's published offline evaluation of Bernoulli Thompson sampling.
:mod:`~outsidein.services.sense.analysis` sums up the sense tables (stage funnel, decisions,
control group, lift) for the page, the report and the insights, and runs the market
simulator for ``outsidein sense simulate``.
"""

from __future__ import annotations

from outsidein.services.sense.obd import (
    OBD_COLUMNS,
    ZOZOTOWN_BTS_PRIOR,
    BanditFeedback,
    OBDEvaluation,
    evaluate_bts,
    read_obd,
)

__all__ = ["OBD_COLUMNS", "ZOZOTOWN_BTS_PRIOR", "BanditFeedback", "OBDEvaluation",
           "evaluate_bts", "read_obd"]
