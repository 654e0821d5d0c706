"""Customer lifetime value: discounted expected residual transactions x expected spend.

CLV = margin x E[spend] x sum_k (E[X(t_k)] - E[X(t_{k-1})]) / (1 + d)^k, with
t_k = k x step (the last step ends at the horizon), E[X(t)] the transaction
model's conditional expected purchases and d the discount rate per step.
:func:`periodic_rate` turns a yearly rate (how finance states it) into that
rate per step.
"""

from __future__ import annotations

import math

import numpy as np

from outsidein.errors import DataValidationError
from outsidein.value._base import ArrayLike, SpendModel, TransactionModel

__all__ = ["PERIODS_PER_YEAR", "clv", "periodic_rate"]

#: discounting steps in a year, per time unit
PERIODS_PER_YEAR: dict[str, float] = {"weeks": 52.0, "days": 365.0}


def periodic_rate(yearly_rate: float, periods_per_year: float = 52.0) -> float:
    """The rate per period equivalent to *yearly_rate*: ``(1 + r) ** (1 / n) - 1``.

    Compounded over *periods_per_year* periods it gives the yearly rate back,
    so 10% a year is about 0.18% a week (not 10% / 52, and not 1% a week,
    which is about 68% a year).

    Examples
    --------
    >>> round(periodic_rate(0.10, 52), 6)
    0.001835
    >>> round((1 + periodic_rate(0.10, 365)) ** 365 - 1, 12)
    0.1
    >>> periodic_rate(1.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: yearly discount rate 1.5: expected a rate like 0.10 ...
    """
    if not 0 <= yearly_rate < 1:
        raise DataValidationError(
            f"yearly discount rate {yearly_rate:g}: expected a rate like 0.10 (10% a year), "
            "from 0 to below 1")
    if periods_per_year <= 0:
        raise DataValidationError(f"periods per year must be > 0, got {periods_per_year}")
    return float((1.0 + yearly_rate) ** (1.0 / periods_per_year) - 1.0)


def clv(transaction_model: TransactionModel, spend_model: SpendModel, frequency: ArrayLike,
        recency: ArrayLike, T: ArrayLike, mean_spend: ArrayLike, *, horizon: float = 52,
        discount_rate: float = 0.01, margin: float = 1.0, step: float = 1.0) -> np.ndarray:
    """Discounted expected value of each customer's purchases over the next *horizon*.

    Parameters
    ----------
    transaction_model : BetaGeo, ModifiedBetaGeo, ParetoNBD or BetaGeoBetaBinom
        A fitted model (for BG/BB, *T* is the number of opportunities and
        *horizon*, *step* count opportunities).
    spend_model : GammaGamma
        A fitted spend model (anything with ``expected_spend(frequency, mean_spend)``).
    frequency, recency, T, mean_spend : array_like
        Each customer's history, in the transaction model's time unit.
    horizon : float, default 52
        How far ahead to count purchases, in the model's time unit.
    discount_rate : float, default 0.01
        Discount rate per step (0.01 per week is about 68% a year; for a
        yearly rate use ``periodic_rate(0.10, 52)``, about 0.0018 a week).
    margin : float, default 1.0
        Share of spend that is profit.
    step : float, default 1.0
        Length of a discounting step.

    Returns
    -------
    numpy.ndarray
        CLV per customer, in the currency of *mean_spend*.

    Examples
    --------
    >>> from outsidein.value import BetaGeo, GammaGamma
    >>> bg = BetaGeo()
    >>> bg.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    >>> gg = GammaGamma()
    >>> gg.params_ = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
    >>> v = clv(bg, gg, [0, 2], [0, 30.43], [38.86, 38.86], [0, 22.35])
    >>> bool(v[1] > v[0] > 0)
    True
    """
    if not (horizon > 0 and step > 0):
        raise DataValidationError(f"horizon and step must be > 0, got horizon={horizon}, "
                                  f"step={step}")
    if discount_rate <= -1:
        raise DataValidationError(f"discount_rate must be > -1, got {discount_rate}")
    x, tx, big_t, mx = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, T, mean_spend)))
    n_steps = max(1, math.ceil(horizon / step - 1e-9))
    previous = np.zeros(x.shape)
    total = np.zeros(x.shape)
    for k in range(1, n_steps + 1):
        now = transaction_model.expected_purchases(min(k * step, horizon), x, tx, big_t)
        total += (now - previous) / (1 + discount_rate) ** k
        previous = now
    return total * spend_model.expected_spend(x, mx) * margin
