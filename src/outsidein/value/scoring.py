"""Model maths for scoring, run on distinct rows only (pure NumPy, no I/O).

The value service (:mod:`outsidein.value.service`) pulls the distinct
``(frequency, recency, T)`` rows and distinct frequencies from the warehouse,
calls these functions and sends the results back to the engine.

>>> from outsidein.value.scoring import model_from_params, score_triples
>>> m = model_from_params("BetaGeo", {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259})
>>> out = score_triples(m, np.array([2.0]), np.array([30.43]), np.array([38.86]),
...                     horizon_weeks=39, discount_rate=0.0, unit_days=7)
>>> round(float(out["expected_purchases"][0]), 3)
1.226
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["model_from_params", "new_model", "score_triples", "spend_line"]

_MODEL_MODULES = {"BetaGeo": "btyd", "ModifiedBetaGeo": "btyd", "ParetoNBD": "btyd",
                  "GammaGamma": "spend"}


def new_model(class_name: str) -> Any:
    module = importlib.import_module(f"outsidein.value.{_MODEL_MODULES[class_name]}")
    return getattr(module, class_name)()


def model_from_params(class_name: str, params: dict[str, float]) -> Any:
    """A model of class *class_name* ready to predict with the given fitted *params*."""
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
    """
    freqs = np.asarray(frequencies, dtype=float)
    at0 = model.expected_spend(freqs, np.zeros_like(freqs))
    at1 = model.expected_spend(freqs, np.ones_like(freqs))
    return {"frequency": freqs, "base": at0, "weight": at1 - at0}
