"""BG/BB (Fader, Hardie & Shang 2010): discrete transaction opportunities.

At each of *n* opportunities a living customer buys with probability
p ~ Beta(alpha, beta), and becomes inactive at the start of an opportunity
with probability theta ~ Beta(gamma, delta).  ``frequency`` counts the
opportunities with a purchase, ``recency`` is the opportunity of the last
one (0 when none) and ``n_periods`` the number of opportunities observed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp, polygamma

from outsidein.errors import DataValidationError
from outsidein.value._base import (
    ArrayLike,
    BaseModel,
    LogLikGrad,
    check_rfm,
    check_weights,
    compress,
)
from outsidein.value._bgnbd import _broadcast


def _terms(x: np.ndarray, tx: np.ndarray, n: np.ndarray, a: float, b: float, g: float,
           d: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log-terms of the likelihood (rows x terms, -inf where absent) and their arguments."""
    gap = (n - tx).astype(np.int64)
    width = 1 + int(gap.max(initial=0))
    i = np.arange(width - 1, dtype=float)[None, :]
    present = np.concatenate([np.ones((x.size, 1), bool), i < gap[:, None]], axis=1)
    # y: the beta's second argument offset for p; zz: for theta; e: 0 (alive) or 1 (died)
    y = np.concatenate([(n - x)[:, None], tx[:, None] - x[:, None] + i], axis=1)
    zz = np.concatenate([n[:, None], tx[:, None] + i], axis=1)
    e = np.concatenate([np.zeros((x.size, 1)), np.ones((x.size, width - 1))], axis=1)
    y, zz = np.where(present, y, 0.0), np.where(present, zz, 0.0)
    xx = x[:, None]
    logs = (betaln(a + xx, b + y) - betaln(a, b) + betaln(g + e, d + zz) - betaln(g, d))
    return np.where(present, logs, -np.inf), y, zz, e, present


def _survival_ratio(g: float, d: float, k0: np.ndarray, k1: np.ndarray) -> np.ndarray:
    """(1 - exp(G(k1) - G(k0))) / (g - 1), G(k) = lgamma(1+d+k) - lgamma(g+d+k); > 0.

    Near g = 1 the differences of lgamma lose all precision, so there G is
    expanded to second order in g - 1 with digamma and trigamma.
    """
    eps = g - 1
    if abs(eps) < 1e-4:
        delta = (-eps * (digamma(1 + d + k1) - digamma(1 + d + k0))
                 - eps**2 / 2 * (polygamma(1, 1 + d + k1) - polygamma(1, 1 + d + k0)))
        if eps == 0:
            return digamma(1 + d + k1) - digamma(1 + d + k0)
    else:
        delta = (gammaln(1 + d + k1) - gammaln(g + d + k1)) - (gammaln(1 + d + k0)
                                                                - gammaln(g + d + k0))
    return np.maximum(-np.expm1(delta) / eps, 0.0)


def _loglik_rows(x: np.ndarray, tx: np.ndarray, n: np.ndarray, params: np.ndarray) -> np.ndarray:
    logs = _terms(x, tx, n, *params)[0]
    return logsumexp(logs, axis=1)


def _make_loglik(cols: list[np.ndarray], w: np.ndarray) -> LogLikGrad:
    """Log-likelihood and its analytic gradient on distinct (x, t_x, n) rows."""
    x, tx, n = cols

    def loglik_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        a, b, g, d = (float(v) for v in params)
        logs, y, zz, e, present = _terms(x, tx, n, a, b, g, d)
        lse = logsumexp(logs, axis=1)
        soft = np.where(present, np.exp(logs - lse[:, None]), 0.0) * w[:, None]
        xx = x[:, None]
        pab, pgd = digamma(a + b), digamma(g + d)
        d_a = digamma(a + xx) - digamma(a + b + xx + y) - digamma(a) + pab
        d_b = digamma(b + y) - digamma(a + b + xx + y) - digamma(b) + pab
        d_g = digamma(g + e) - digamma(g + d + e + zz) - digamma(g) + pgd
        d_d = digamma(d + zz) - digamma(g + d + e + zz) - digamma(d) + pgd
        grad = np.array([np.sum(soft * np.where(present, v, 0.0))
                         for v in (d_a, d_b, d_g, d_d)])
        return float(np.dot(w, lse)), grad

    return loglik_grad


class BetaGeoBetaBinom(BaseModel):
    """BG/BB model for discrete opportunities (Fader, Hardie & Shang 2010).

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters (as in ``lifetimes``).

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta`` (purchase probability), ``gamma``, ``delta`` (drop-out).
    log_likelihood_ : float
        Total log-likelihood.
    standard_errors_ : dict
        From the inverse Hessian of the log-likelihood.

    Examples
    --------
    >>> from outsidein.value import BetaGeoBetaBinom
    >>> m = BetaGeoBetaBinom().fit([0, 1, 3, 6, 2, 4], [0, 2, 5, 6, 3, 6], [6, 6, 6, 6, 6, 6])
    >>> sorted(m.params_)
    ['alpha', 'beta', 'delta', 'gamma']
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _paper = "BG/BB"

    def fit(self, frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike,
            weights: ArrayLike | None = None) -> BetaGeoBetaBinom:
        """Fit by maximum likelihood on the distinct (frequency, recency, n_periods) rows.

        Parameters
        ----------
        frequency : array_like
            Number of opportunities with a purchase.
        recency : array_like
            Opportunity of the last purchase (0 when there is none).
        n_periods : array_like
            Number of opportunities observed.
        weights : array_like, optional
            How many customers each row stands for.

        Returns
        -------
        self

        Examples
        --------
        >>> from outsidein.value import simulate_bgbb
        >>> x, tx, n = simulate_bgbb(500, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8,
        ...                          n_periods=6, seed=1)
        >>> BetaGeoBetaBinom().fit(x, tx, n).n_rows_ <= 22  # distinct (x, t_x, n) rows
        True
        """
        x, tx, n = check_rfm(frequency, recency, n_periods, t_name="n_periods",
                             integer_times=True)
        if np.any(x > tx):
            bad = int(np.flatnonzero(x > tx)[0])
            raise DataValidationError(f"row {bad}: frequency {x[bad]:g} is more than the "
                                      f"opportunity of the last purchase (recency {tx[bad]:g}); "
                                      "BG/BB allows at most one purchase per opportunity")
        w = check_weights(weights, x.size)
        cols, w = compress([x, tx, n], w)
        self._maximise(_make_loglik, cols, w, np.array([1.0, 1.0, 1.0, 1.0]))
        return self

    def _loglik(self, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
        flat = [v.ravel() for v in (x, tx, n)]
        return _loglik_rows(flat[0], flat[1], flat[2], self._vec()).reshape(x.shape)

    def prob_alive(self, frequency: ArrayLike, recency: ArrayLike,
                   n_periods: ArrayLike) -> np.ndarray:
        """P(customer alive at the next opportunity, n_periods + 1 | history).

        Examples
        --------
        >>> m = BetaGeoBetaBinom()
        >>> m.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(float(m.prob_alive(6, 6, 6)[0]), 3)
        0.93
        """
        a, b, g, d = self._vec()
        x, tx, n = _broadcast(frequency, recency, n_periods)
        log_alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
        return np.clip(np.exp(log_alive - self._loglik(x, tx, n)), 0.0, 1.0)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           n_periods: ArrayLike) -> np.ndarray:
        """Expected purchases in the next *t* opportunities, given the history.

        Examples
        --------
        >>> m = BetaGeoBetaBinom()
        >>> m.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(float(m.expected_purchases(5, 6, 6, 6)[0]), 2)
        3.75
        """
        a, b, g, d = self._vec()
        t, x, tx, n = _broadcast(t, frequency, recency, n_periods)
        log_g = gammaln(1 + d + n) - gammaln(g + d + n)
        ratio = _survival_ratio(g, d, n, n + t)
        with np.errstate(divide="ignore"):
            log_val = (betaln(a + x + 1, b + n - x) - betaln(a, b) + np.log(d)
                       + gammaln(g + d) - gammaln(1 + d) + log_g - self._loglik(x, tx, n))
        return np.where(t > 0, np.exp(log_val) * np.maximum(ratio, 0.0), 0.0)

    def expected_purchases_new(self, t: ArrayLike) -> np.ndarray:
        """Expected purchases in the first *t* opportunities of a new customer.

        Examples
        --------
        >>> m = BetaGeoBetaBinom()
        >>> m.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(float(m.expected_purchases_new(6)[0]), 2)
        2.22
        """
        a, b, g, d = self._vec()
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return a / (a + b) * d * _survival_ratio(g, d, np.zeros_like(t), t)

    def prob_purchases(self, x: ArrayLike, t: ArrayLike) -> np.ndarray:
        """P(X(t) = x): probability of *x* purchases in the first *t* opportunities.

        Examples
        --------
        >>> m = BetaGeoBetaBinom()
        >>> m.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(float(m.prob_purchases(range(7), 6).sum()), 6)
        1.0
        """
        a, b, g, d = self._vec()
        xs, n = _broadcast(x, t)
        shape = xs.shape
        xs, n = xs.ravel(), n.ravel()
        ok = xs <= n
        xs = np.where(ok, xs, 0.0)
        log_choose = gammaln(n + 1) - gammaln(xs + 1) - gammaln(n - xs + 1)
        alive = np.exp(log_choose + betaln(a + xs, b + n - xs) - betaln(a, b)
                       + betaln(g, d + n) - betaln(g, d))
        width = int(n.max(initial=0))
        i = np.arange(width, dtype=float)[None, :]
        present = (i >= xs[:, None]) & (i < n[:, None])
        ii = np.where(present, i, xs[:, None])
        xx = xs[:, None]
        died = np.where(present, np.exp(
            gammaln(ii + 1) - gammaln(xx + 1) - gammaln(ii - xx + 1)
            + betaln(a + xx, b + ii - xx) - betaln(a, b) + betaln(g + 1, d + ii) - betaln(g, d)),
            0.0).sum(axis=1)
        return np.where(ok, alive + died, 0.0).reshape(shape)
