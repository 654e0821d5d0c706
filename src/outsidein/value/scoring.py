"""Scoring maths: the models evaluated on distinct histories, and the join back to customers.

:func:`score_triples` and :func:`spend_line` evaluate fitted models on the
distinct ``(frequency, recency, T)`` rows and distinct frequencies of a
customer summary; :func:`join_scores` is the Ibis expression that carries
those results back to every customer.  Running it (and writing the
``customer_value`` table) is the value service's job
(:mod:`outsidein.services.value.scoring`).

>>> import numpy as np
>>> from outsidein.value import model_from_params, score_triples
>>> m = model_from_params("BetaGeo", {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259})
>>> out = score_triples(m, np.array([2.0]), np.array([30.43]), np.array([38.86]),
...                     horizon_weeks=39, discount_rate=0.0, unit_days=7)
>>> round(float(out["expected_purchases"][0]), 3)
1.226
"""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from outsidein.value._bgnbd import BetaGeo, ModifiedBetaGeo
from outsidein.value._pareto import ParetoNBD
from outsidein.value.spend import GammaGamma

log = logging.getLogger(__name__)

__all__ = ["MODEL_CLASSES", "SUMMARY_COLUMNS", "join_scores", "model_from_params", "new_model",
           "score_triples", "spend_line"]

#: The per-customer summary columns a scorer reads (lifetimes' names).
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
#: Model class names (as stored with a fit) -> classes.
MODEL_CLASSES: dict[str, type] = {"BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo,
                                  "ParetoNBD": ParetoNBD, "GammaGamma": GammaGamma}


def new_model(class_name: str) -> Any:
    """An unfitted model of class *class_name* (a key of :data:`MODEL_CLASSES`).

    >>> new_model("GammaGamma")
    GammaGamma()
    """
    return MODEL_CLASSES[class_name]()


def model_from_params(class_name: str, params: dict[str, float]) -> Any:
    """A model of class *class_name* ready to predict with the given fitted *params*.

    Examples
    --------
    >>> m = model_from_params("GammaGamma", {"p": 6.2488, "q": 3.7446, "gamma": 15.4477})
    >>> round(float(m.expected_spend(0, 0)[0]), 2)
    35.17
    """
    model = new_model(class_name)
    model.params_ = dict(params)
    return model


def score_triples(model: Any, f: np.ndarray, r: np.ndarray, T: np.ndarray, *,
                  horizon_weeks: float, discount_rate: float, unit_days: float
                  ) -> dict[str, np.ndarray]:
    """P(alive), expected purchases over the horizon and discounted expected purchases.

    For BG/NBD, MBG/NBD and Pareto/NBD the conditional expectation factors
    as ``P(alive | x, t_x, T) * g(t; x, T)``: given that a customer is alive,
    the future depends on the history only through ``x`` and ``T``.  So the
    expensive hypergeometric part runs once per distinct ``(x, T)`` pair and
    per weekly step, and only the cheap ``P(alive)`` per distinct triple.  The
    factorisation is checked on a sample; a model without it is evaluated
    directly.  Weekly discounting: the purchases expected in week *k* count
    ``1 / (1 + discount_rate) ** k``.

    Examples
    --------
    >>> import numpy as np
    >>> m = model_from_params("BetaGeo", {"r": 0.2426, "alpha": 4.4136, "a": 0.7929,
    ...                                   "b": 2.4259})
    >>> out = score_triples(m, np.array([0.0, 2.0]), np.array([0.0, 30.43]),
    ...                     np.array([38.86, 38.86]), horizon_weeks=52, discount_rate=0.01,
    ...                     unit_days=7)
    >>> sorted(out)
    ['discounted_purchases', 'expected_purchases', 'prob_alive']
    >>> bool((out["discounted_purchases"] < out["expected_purchases"]).all())
    True
    """
    step = 7.0 / unit_days  # one week in model time units
    n_steps = int(np.ceil(horizon_weeks - 1e-9))
    weeks = np.minimum(np.arange(1, n_steps + 1, dtype=float), horizon_weeks)
    t = weeks * step
    disc = (1.0 + discount_rate) ** -np.arange(1, n_steps + 1, dtype=float)
    pa = model.prob_alive(f, r, T)
    t_codes, t_values = pd.factorize(T, sort=False)
    x_codes, x_values = pd.factorize(f, sort=False)
    codes, pair_keys = pd.factorize(x_codes.astype(np.int64) * len(t_values) + t_codes,
                                    sort=False)
    xu = np.asarray(x_values, dtype=float)[pair_keys // len(t_values)]
    Tu = np.asarray(t_values, dtype=float)[pair_keys % len(t_values)]
    ru = np.where(xu > 0, Tu, 0.0)
    pa_u = model.prob_alive(xu, ru, Tu)
    sample = np.random.default_rng(0).choice(f.size, size=min(f.size, 256), replace=False)
    if np.all(pa_u > 1e-200):
        g = model.expected_purchases(t[None, :], xu[:, None], ru[:, None], Tu[:, None])
        g = g / pa_u[:, None]
        direct = model.expected_purchases(t[-1], f[sample], r[sample], T[sample])
        if np.allclose(direct, pa[sample] * g[codes[sample], -1], rtol=1e-7, atol=1e-12):
            inc = np.diff(g, axis=1, prepend=0.0)
            return {"prob_alive": pa, "expected_purchases": pa * g[codes, -1],
                    "discounted_purchases": pa * (inc @ disc)[codes]}
    log.info("model %s does not factor; scoring %d rows directly", type(model).__name__, f.size)
    ep = np.zeros((f.size, n_steps))
    for k in range(n_steps):
        ep[:, k] = model.expected_purchases(t[k], f, r, T)
    inc = np.diff(ep, axis=1, prepend=0.0)
    return {"prob_alive": pa, "expected_purchases": ep[:, -1], "discounted_purchases": inc @ disc}


def spend_line(model: Any, frequencies: np.ndarray) -> dict[str, np.ndarray]:
    """Gamma-Gamma's expected spend as ``base + weight * mean_spend`` per distinct frequency.

    The conditional expectation is linear in the observed mean spend (a
    weighted average of it and the population mean), so two evaluations per
    frequency give it exactly; with no repeat purchase the weight is 0 and
    the base is the population mean.

    Examples
    --------
    >>> import numpy as np
    >>> gg = model_from_params("GammaGamma", {"p": 6.2488, "q": 3.7446, "gamma": 15.4477})
    >>> line = spend_line(gg, np.array([0.0, 2.0]))
    >>> line["base"].round(2).tolist(), line["weight"].round(3).tolist()
    ([35.17, 6.33], [0.0, 0.82])
    """
    freqs = np.asarray(frequencies, dtype=float)
    at0 = model.expected_spend(freqs, np.zeros_like(freqs))
    at1 = model.expected_spend(freqs, np.ones_like(freqs))
    return {"frequency": freqs, "base": at0, "weight": at1 - at0}


def join_scores(base: ir.Table, scores: ir.Table, spend: ir.Table, margin: float) -> ir.Table:
    """Every customer of *base* with the scores of its history row and its CLV.

    *scores* holds one row per distinct ``(frequency, recency, T)`` (from
    :func:`score_triples`, with the ``_cadence`` and ``_tail`` reason parts) and
    *spend* one row per frequency (``spend_base``, ``spend_weight`` from
    :func:`spend_line`); CLV = margin x expected spend x discounted purchases.

    Examples
    --------
    >>> import ibis
    >>> base = ibis.memtable({"customer_id": ["c1"], "frequency": [2.0], "recency": [30.0],
    ...                       "T": [38.0], "monetary_value": [40.0]})
    >>> scores = ibis.memtable({"frequency": [2.0], "recency": [30.0], "T": [38.0],
    ...                         "expected_purchases": [1.2], "prob_alive": [0.7],
    ...                         "discounted_purchases": [1.0], "_cadence": ["c"], "_tail": ["t"]})
    >>> spend = ibis.memtable({"frequency": [2.0], "spend_base": [10.0], "spend_weight": [0.5]})
    >>> out = join_scores(base, scores, spend, margin=0.3).execute()
    >>> out.loc[0, ["expected_spend", "clv"]].tolist()
    [30.0, 9.0]
    """
    joined = base.join(scores, ["frequency", "recency", "T"]).join(spend, "frequency")
    money = joined.monetary_value.cast("float64").fill_null(0)
    expected_spend = joined.spend_base + joined.spend_weight * money
    return joined.select(
        *SUMMARY_COLUMNS,
        expected_purchases=joined.expected_purchases,
        prob_alive=joined.prob_alive,
        expected_spend=expected_spend,
        clv=float(margin) * expected_spend * joined.discounted_purchases,
        _cadence=joined._cadence, _tail=joined._tail,
    )
