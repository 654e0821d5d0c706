"""Customer value use cases: fit the BTYD models in the warehouse, score every customer.

``fit_value`` summarises the order lines in the engine and fits the models on
the distinct histories (:mod:`outsidein.value` holds the maths); ``score_value``
writes ``customer_value``; ``run`` is the pipeline's value step.  The web app
reads the results through :func:`top_customer_value` and :func:`customer_value`
without taking the DuckDB write lock.

>>> from outsidein.services.value import fit_value, score_value
>>> fit = fit_value(ws, holdout_weeks=26)       # doctest: +SKIP
>>> score_value(ws, horizon_weeks=52)           # doctest: +SKIP
"""

from __future__ import annotations

from outsidein.services.value.fit import MODELS, ValueFit, fit_value, load_fit
from outsidein.services.value.holdout import (
    HoldoutReport,
    bucket_figure,
    load_holdout,
    tracking_figure,
)
from outsidein.services.value.margin import Margin, company_margin
from outsidein.services.value.scoring import (
    CUSTOMER_VALUE,
    ScoreReport,
    decile_table,
    run,
    score_summary,
    score_value,
    top_customers,
)
from outsidein.services.value.views import HOW_TO_VALUE, customer_value, top_customer_value

__all__ = [
    "CUSTOMER_VALUE", "HOW_TO_VALUE", "MODELS", "HoldoutReport", "Margin", "ScoreReport",
    "ValueFit",
    "bucket_figure", "company_margin", "customer_value", "decile_table", "fit_value",
    "load_fit", "load_holdout", "run", "score_summary", "score_value", "top_customer_value",
    "top_customers", "tracking_figure",
]
