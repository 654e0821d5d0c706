"""Customer value use cases: fit the BTYD models in the warehouse, score every customer.

``fit_value`` summarises the order lines in the engine, chooses the transaction
model on a holdout and fits it on the distinct histories (:mod:`outsidein.value`
holds the maths); ``score_value`` writes ``customer_value``; ``run`` is the
pipeline's value step, which keeps the user's last ``value fit``.  The web app
reads the results through :func:`top_customer_value` and :func:`customer_value`
without taking the DuckDB write lock.

>>> from outsidein.services.value import fit_value, score_value
>>> fit = fit_value(ws, holdout_weeks=26)       # doctest: +SKIP
>>> score_value(ws, horizon_weeks=52)           # doctest: +SKIP
"""

from __future__ import annotations

from outsidein.services.value.choice import MODEL_TITLES, ModelChoice, ModelScore, load_choice
from outsidein.services.value.fit import DEFAULT_MODEL, MODELS, ValueFit, fit_value, load_fit
from outsidein.services.value.holdout import (
    CRITERION,
    HoldoutReport,
    bucket_figure,
    load_holdout,
    load_holdout_models,
    tracking_figure,
)
from outsidein.services.value.margin import Margin, company_margin
from outsidein.services.value.scoring import (
    ALIVE_BY_CONSTRUCTION,
    CUSTOMER_VALUE,
    ScoreReport,
    decile_table,
    load_scoring,
    run,
    score_summary,
    score_value,
    top_customers,
)
from outsidein.services.value.views import (
    HOW_TO_VALUE,
    customer_value,
    top_customer_value,
    value_columns,
)

__all__ = [
    "ALIVE_BY_CONSTRUCTION", "CRITERION", "CUSTOMER_VALUE", "DEFAULT_MODEL", "HOW_TO_VALUE",
    "MODELS", "MODEL_TITLES", "HoldoutReport", "Margin", "ModelChoice", "ModelScore",
    "ScoreReport", "ValueFit",
    "bucket_figure", "company_margin", "customer_value", "decile_table", "fit_value",
    "load_choice", "load_fit", "load_holdout", "load_holdout_models", "load_scoring", "run",
    "score_summary", "score_value", "top_customer_value", "top_customers", "tracking_figure",
    "value_columns",
]
