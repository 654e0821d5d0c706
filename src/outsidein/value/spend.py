"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

A customer's transaction values are Gamma(p, nu) around a customer-level
mean, with nu ~ Gamma(q, gamma) across customers; the average of x
transactions is sufficient.  Customers without repeat purchases carry no
information on spend and are left out of the fit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from outsidein.errors import DataValidationError
from outsidein.value._base import (
    ArrayLike,
    BaseModel,
    LogLikGrad,
    TransactionModel,
    as_float_array,
    check_weights,
    compress,
)
from outsidein.value.clv import clv

__all__ = ["GammaGamma"]


def _make_loglik(cols: list[np.ndarray], w: np.ndarray) -> LogLikGrad:
    """Log-likelihood and its analytic gradient on distinct (x, mean spend) rows."""
    x, mx = cols
    log_mx, log_x = np.log(mx), np.log(x)
    xm = x * mx

    def loglik_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = (float(v) for v in params)
        px = p * x
        lgx = np.log(g + xm)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
              + (px - 1) * log_mx + px * log_x - (px + q) * lgx)
        dpq = digamma(px + q)
        g_p = x * (dpq - digamma(px) + log_mx + log_x - lgx)
        g_q = dpq - digamma(q) + np.log(g) - lgx
        g_g = q / g - (px + q) / (g + xm)
        return float(np.dot(w, ll)), np.array([np.dot(w, g_p), np.dot(w, g_q),
                                               np.dot(w, g_g)])

    return loglik_grad


class GammaGamma(BaseModel):
    """Gamma-Gamma spend model.

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters (as in ``lifetimes``).

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma``.
    log_likelihood_ : float
        Total log-likelihood over the repeat buyers (-4055.92 on CDNOW).
    standard_errors_ : dict
        From the inverse Hessian of the log-likelihood.

    Examples
    --------
    >>> from outsidein.value import GammaGamma
    >>> m = GammaGamma()
    >>> m.params_ = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
    >>> round(float(m.expected_spend(2, 22.35)[0]), 2)
    24.66
    """

    _param_names = ("p", "q", "gamma")
    _paper = "Gamma-Gamma"

    def fit(self, frequency: ArrayLike, mean_spend: ArrayLike,
            weights: ArrayLike | None = None) -> GammaGamma:
        """Fit on customers with at least one repeat purchase.

        Parameters
        ----------
        frequency : array_like
            Number of repeat purchases (rows with 0 are ignored).
        mean_spend : array_like
            Average value of those repeat purchases.
        weights : array_like, optional
            How many customers each row stands for.

        Returns
        -------
        self

        Examples
        --------
        >>> from outsidein.value import simulate_spend
        >>> frequency = [0, 1, 2, 3, 5, 8] * 50
        >>> m = GammaGamma().fit(frequency, simulate_spend(frequency, p=6.25, q=3.74,
        ...                                                gamma=15.4, seed=1))
        >>> m.n_customers_  # the 250 repeat buyers
        250.0
        """
        x = as_float_array("frequency", frequency, integer=True)
        mx = as_float_array("mean_spend", mean_spend)
        if x.size != mx.size:
            raise DataValidationError(f"frequency and mean_spend must have the same length, "
                                      f"got {x.size} and {mx.size}")
        w = check_weights(weights, x.size)
        keep = x > 0
        if np.any(keep & (mx <= 0)):
            bad = int(np.flatnonzero(keep & (mx <= 0))[0])
            raise DataValidationError(f"row {bad}: mean_spend {mx[bad]} for a repeat buyer; "
                                      "expected an amount > 0 (drop refunds-only customers)")
        if keep.sum() < 2:
            raise DataValidationError("GammaGamma needs at least two customers with repeat "
                                      f"purchases (frequency > 0), got {int(keep.sum())}")
        cols, w = compress([x[keep], mx[keep]], None if w is None else w[keep])
        mean = float(np.average(cols[1], weights=w))
        self._maximise(_make_loglik, cols, w, np.array([1.0, 2.0, mean]))
        return self

    def expected_spend(self, frequency: ArrayLike, mean_spend: ArrayLike) -> np.ndarray:
        """Expected value of a customer's future transactions, E[M | x, mean spend].

        Customers with frequency 0 get the population mean p*gamma/(q-1).

        Examples
        --------
        >>> m = GammaGamma()
        >>> m.params_ = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
        >>> round(float(m.expected_spend(0, 0)[0]), 2)
        35.17
        """
        self._check_fitted()
        p, q, g = (self.params_[k] for k in self._param_names)
        x, mx = np.broadcast_arrays(np.atleast_1d(np.asarray(frequency, dtype=float)),
                                    np.atleast_1d(np.asarray(mean_spend, dtype=float)))
        if q <= 1:
            raise DataValidationError(f"GammaGamma q={q:.4g} <= 1: the mean spend is "
                                      "infinite under these parameters; refit with "
                                      "penalizer_coef > 0 or check for extreme order values")
        return (p * g + p * x * mx) / (p * x + q - 1)

    def clv(self, transaction_model: TransactionModel, frequency: ArrayLike, recency: ArrayLike,
            T: ArrayLike, mean_spend: ArrayLike, *, horizon: float = 52,
            discount_rate: float = 0.01, margin: float = 1.0, step: float = 1.0) -> np.ndarray:
        """Customer lifetime value; see :func:`outsidein.value.clv`.

        Examples
        --------
        >>> from outsidein.value import BetaGeo
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> gg = GammaGamma()
        >>> gg.params_ = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
        >>> bool(gg.clv(bg, 2, 30.43, 38.86, 22.35)[0] > 0)
        True
        """
        return clv(transaction_model, self, frequency, recency, T, mean_spend, horizon=horizon,
                   discount_rate=discount_rate, margin=margin, step=step)
