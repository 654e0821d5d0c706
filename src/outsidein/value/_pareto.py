"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in Fader & Hardie's form.

The likelihood holds a difference of two Gaussian hypergeometric terms.  We
apply Euler's transformation so the only special function left is
``2F1(1, b; c; z)`` with ``0 <= z < 1`` and ``b < c`` (bounded by ``1/(1-z)``),
take the case split alpha >= beta / alpha < beta of Fader & Hardie (2005),
and combine everything in log space (``logaddexp`` and ``log(-expm1)`` for
the difference), so there is no overflow or NaN even at recency == T, zero
or very large frequency.

The hypergeometric function has no closed-form derivative in its
parameters; the gradient of that block is taken by central differences,
but only once per distinct (frequency, time) pair, which is few.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.integrate import IntegrationWarning, quad
from scipy.special import digamma, expit, gammaln, hyp2f1, roots_legendre

from outsidein.value._base import (
    ArrayLike,
    BaseModel,
    check_rfm,
    check_weights,
    compress,
    factor,
    group,
)
from outsidein.value._bgnbd import _broadcast, nbd_logpmf

_NODES, _WEIGHTS = roots_legendre(64)
_FIT_FALLBACK = 20  # distinct pairs per evaluation allowed the slow route while fitting


def _log_h(x: np.ndarray, t: np.ndarray, r: float, alpha: float, s: float,
           beta: float, max_fallback: int | None = None) -> np.ndarray:
    """log of 2F1(m, .; m+1; z(t)) / (rho + t)^m, m = r+s+x, the piece of A0 at time t.

    scipy's ``hyp2f1`` fails in corners (integer c-a-b, or z near 1 with
    large parameters): 2F1(1, b; c; z) with 0 < b < c must lie in
    [1, 1/(1-z)], and where it does not, the same quantity is computed as
    m times the tail integral of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) from t
    (adaptive quadrature, slow; while fitting, at most *max_fallback* pairs are
    computed that way and the rest left NaN, which the optimiser steps back from).
    """
    x, t = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(t, dtype=float))
    m = r + s + x
    la, lb = np.log(alpha + t), np.log(beta + t)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        f = hyp2f1(1.0, r + x, m + 1, z)
        rest = -s * lb - (r + x) * la
    else:
        z = (beta - alpha) / (beta + t)
        f = hyp2f1(1.0, s + 1, m + 1, z)
        rest = (1 - r - x) * la - (1 + s) * lb
    ok = np.isfinite(f) & (f >= 1 - 1e-12) & (f * (1 - z) <= 1 + 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ok, np.log(np.where(ok, f, 1.0)) + rest, np.nan)
    if not np.all(ok) and (max_fallback is None or int((~ok).sum()) <= max_fallback):
        bad = ~ok
        out[bad] = np.log(m[bad]) + _log_integral(x[bad], t[bad], np.full(int(bad.sum()),
                                                                          np.inf),
                                                  r, alpha, s, beta)
    return out


def _log_a0_term(x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, log_h_tx: np.ndarray,
                 log_h_t: np.ndarray, r: float, alpha: float, s: float,
                 beta: float) -> np.ndarray:
    """log( s/(r+s+x) * (H(t_x) - H(T)) ); -inf when t_x == T."""
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.log(-np.expm1(np.minimum(log_h_t - log_h_tx, 0.0)))
        out = np.log(s) - np.log(r + s + x) + log_h_tx + diff
    bad = np.isnan(out) & (tx < big_t)
    if np.any(bad):
        out[bad] = np.log(s) + _log_integral(x[bad], tx[bad], big_t[bad], r, alpha, s, beta)
    return np.where(tx < big_t, out, -np.inf)


def _log_integral(x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, r: float, alpha: float,
                  s: float, beta: float) -> np.ndarray:
    """log of the integral over t_x < tau < T of (alpha+tau)^-(r+x) (beta+tau)^-(s+1).

    The fallback for rows where the hypergeometric route fails (rare corners of
    the parameter space): adaptive quadrature in log-time, scaled by the
    integrand's value at t_x so nothing under- or overflows.
    """
    g0 = min(alpha, beta)
    out = np.empty(x.size)
    for i, (xi, lo, hi) in enumerate(zip(x.tolist(), tx.tolist(), big_t.tolist(), strict=True)):

        def log_f(y: float, xi: float = xi) -> float:
            tau = np.exp(y) - g0
            return -(r + xi) * np.log(alpha + tau) - (s + 1) * np.log(beta + tau) + y

        # in log-time the integrand decays like exp(-(r+s+x) y) once tau is past both
        # alpha and beta: stop where it is e^-80 of that
        y0 = np.log(g0 + lo)
        y_knee = np.log(g0 + max(lo, alpha, beta))
        y1 = min(np.log(g0 + hi), y_knee + 80.0 / (r + s + xi), 700.0)
        ref = log_f(y0)
        width = min(y1 - y0, 1.0 / (r + s + xi + 1))
        points = [y0 + width * k for k in (1, 4, 16, 64) if y0 + width * k < y1]
        points += [y_knee] if y0 < y_knee < y1 else []
        integrand = lambda y, ref=ref, log_f=log_f: np.exp(log_f(y) - ref)  # noqa: E731
        with warnings.catch_warnings():
            # asking 1e-10 relative: where roundoff stops quad short of it (SciPy >= 1.17
            # says so in a warning) the value is still good to ~1e-9, ample for a likelihood
            warnings.simplefilter("ignore", IntegrationWarning)
            val, _ = quad(integrand, y0, y1, points=points or None, limit=200, epsabs=0.0,
                          epsrel=1e-10)
        out[i] = ref + np.log(val) if val > 0 else -np.inf
    return out


class ParetoNBD(BaseModel):
    """Pareto/NBD model: Poisson purchases at rate lambda ~ Gamma(r, alpha) while alive,
    an exponential lifetime with rate mu ~ Gamma(s, beta).

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty on the parameters (as in ``lifetimes``).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
    log_likelihood_ : float
        Total log-likelihood (Fader & Hardie's note: -9594.98 on CDNOW).
    standard_errors_ : dict
        From the inverse Hessian of the log-likelihood.

    Examples
    --------
    >>> from outsidein.value import ParetoNBD
    >>> m = ParetoNBD()
    >>> m.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
    >>> round(float(m.prob_alive(0, 0, 38.86)[0]), 3)
    0.295
    """

    _param_names = ("r", "alpha", "s", "beta")
    _paper = "Pareto/NBD"
    _central_hessian = True

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> ParetoNBD:
        """Fit by maximum likelihood on the distinct (frequency, recency, T) rows.

        Parameters
        ----------
        frequency, recency, T : array_like
            Repeat purchases, time of the last purchase and length of observation,
            both times measured from the first purchase.
        weights : array_like, optional
            How many customers each row stands for.

        Returns
        -------
        self

        Examples
        --------
        >>> from outsidein.value import simulate_pareto
        >>> x, tx, T = simulate_pareto(500, r=0.55, alpha=10.6, s=0.61, beta=11.7, T=39.0,
        ...                            seed=1)
        >>> m = ParetoNBD().fit(x, tx, T)
        >>> m.n_customers_, list(m.params_)
        (500.0, ['r', 'alpha', 's', 'beta'])
        """
        x, tx, big_t = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        cols, w = compress([x, tx, big_t], w)
        mean_rate = float(np.sum(w * cols[0]) / max(np.sum(w * cols[2]), 1e-12))
        scale = 1.0 / max(mean_rate, 1e-6)
        start = np.array([1.0, scale, 1.0, float(np.average(cols[2], weights=w)) + 1.0])
        self._maximise(lambda c, wt: _ParetoData(c[0], c[1], c[2], wt).loglik_grad, cols, w, start)
        return self

    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._vec()
        log_first = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
        log_a0 = _log_a0_term(x, tx, big_t, _log_h(x, tx, r, alpha, s, beta),
                              _log_h(x, big_t, r, alpha, s, beta), r, alpha, s, beta)
        return log_a0 - log_first

    def prob_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """P(customer still active at the end of the period | frequency, recency, T).

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
        >>> p = m.prob_alive([0, 2, 10_000], [0, 30.43, 38.0], [38.86, 38.86, 38.86])
        >>> bool(((p >= 0) & (p <= 1)).all())
        True
        """
        x, tx, big_t = _broadcast(frequency, recency, T)
        return expit(-self._log_odds_dead(x, tx, big_t))

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> np.ndarray:
        """Expected number of purchases in the next *t* periods, given the history.

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
        >>> round(float(m.expected_purchases(39, 2, 30.43, 38.86)[0]), 2)
        1.46
        """
        r, alpha, s, beta = self._vec()
        t, x, tx, big_t = _broadcast(t, frequency, recency, T)
        span = np.log1p(t / (beta + big_t))
        rate = (r + x) * (beta + big_t) / (alpha + big_t)
        value = rate * _expm1_ratio(s - 1, span) * self.prob_alive(x, tx, big_t)
        return np.maximum(value, 0.0)

    def expected_purchases_new(self, t: ArrayLike) -> np.ndarray:
        """Expected purchases in (0, t] of a customer who has just made a first purchase.

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
        >>> bool(m.expected_purchases_new(78)[0] > m.expected_purchases_new(39)[0])
        True
        """
        r, alpha, s, beta = self._vec()
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return r * beta / alpha * _expm1_ratio(s - 1, np.log1p(t / beta))

    def prob_purchases(self, x: ArrayLike, t: ArrayLike) -> np.ndarray:
        """P(X(t) = x): probability of *x* repeat purchases in (0, t] for a new customer.

        Mixes the gamma-Poisson count over the lifetime distribution: customers
        alive at t, plus a 64-point Gauss-Legendre integral over the lifetime
        quantile for those who left before t.

        Examples
        --------
        >>> m = ParetoNBD()
        >>> m.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
        >>> round(float(m.prob_purchases(list(range(300)), 39).sum()), 6)
        1.0
        """
        r, alpha, s, beta = self._vec()
        xs, t = _broadcast(x, t)
        log_surv = -s * np.log1p(t / beta)
        alive = np.exp(log_surv + nbd_logpmf(xs, r, alpha, t))
        upper = -np.expm1(log_surv)  # P(lifetime < t)
        u = (upper[..., None] * (_NODES + 1) / 2)  # lifetime quantiles in (0, upper)
        tau = beta * np.expm1(-np.log1p(-u) / s)
        dead = upper / 2 * np.sum(_WEIGHTS * np.exp(nbd_logpmf(xs[..., None], r, alpha, tau)),
                                  axis=-1)
        return alive + dead


def _expm1_ratio(c: float, span: np.ndarray) -> np.ndarray:
    """(1 - exp(-c * span)) / c, with its limit ``span`` at c = 0."""
    if abs(c) < 1e-10:
        return span
    return -np.expm1(-c * span) / c


class _ParetoData:
    """Distinct rows arranged so the work is done once per distinct (x, time) pair.

    The first term depends on a row through (x, T); the hypergeometric pieces
    H(t) through (x, t_x) and (x, T).  Only the log-sum-exp and the difference
    H(t_x) - H(T) are per row; gradients are aggregated with ``bincount``.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, w: np.ndarray) -> None:
        self.w, self.n = w, float(w.sum())
        ix, self.ux = factor(x)
        self.wx = np.bincount(ix, weights=w, minlength=self.ux.size)
        self.ia, rep_a = group([x, big_t])
        self.a_x, self.a_t = x[rep_a], big_t[rep_a]
        self.w_a = np.bincount(self.ia, weights=w, minlength=rep_a.size)
        # H is needed at (x, t_x) and (x, T) for rows with t_x < T only
        op = tx < big_t
        self.op, self.w_op, self.ia_op, self.ix_op = op, w[op], self.ia[op], ix[op]
        n_open = int(op.sum())
        codes, rep = group([np.concatenate([x[op], x[op]]), np.concatenate([tx[op], big_t[op]])])
        self.px = np.concatenate([x[op], x[op]])[rep]
        self.pt = np.concatenate([tx[op], big_t[op]])[rep]
        self.i_tx, self.i_t = codes[:n_open], codes[n_open:]

    def _h_block(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log H at the distinct pairs, and its gradient by central differences."""
        def log_h(q: np.ndarray) -> np.ndarray:
            return _log_h(self.px, self.pt, float(q[0]), float(q[1]), float(q[2]), float(q[3]),
                          max_fallback=_FIT_FALLBACK)

        base = log_h(p)
        grad = np.empty((4, base.size))
        if np.isnan(base).any():
            return base, grad
        for j in range(4):
            h = 1e-6 * p[j]
            up, dn = p.copy(), p.copy()
            up[j] += h
            dn[j] -= h
            grad[j] = (log_h(up) - log_h(dn)) / (2 * h)
        return base, grad

    def loglik_grad(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = (float(v) for v in p)
        ux, n = self.ux, self.n
        # first term, per (x, T) pair: -(r+x) log(alpha+T) - s log(beta+T)
        la, lb = np.log(alpha + self.a_t), np.log(beta + self.a_t)
        big_a = -(r + self.a_x) * la - s * lb
        ll = (float(np.dot(self.wx, gammaln(r + ux))) + float(np.dot(self.w_a, big_a))
              + n * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta)))
        g_a = np.stack([-la, -(r + self.a_x) / (alpha + self.a_t), -lb,
                        -s / (beta + self.a_t)])
        grad = g_a @ self.w_a
        grad += np.array([float(np.dot(self.wx, digamma(r + ux))) + n * (np.log(alpha)
                          - digamma(r)), n * r / alpha, n * np.log(beta), n * s / beta])
        if not self.px.size:
            return ll, grad
        # second term on open rows: log(s/m) + log(H(t_x) - H(T)), m = r+s+x
        hb, hg = self._h_block(p)
        if not np.all(np.isfinite(hb)) or not np.all(np.isfinite(hg)):
            return -np.inf, np.full(4, np.nan)  # a corner we cannot evaluate quickly
        h_tx = hb[self.i_tx]
        d = np.minimum(hb[self.i_t] - h_tx, 0.0)
        with np.errstate(divide="ignore"):
            log_gap = np.log(-np.expm1(d))
        log_sm = np.log(s) - np.log(r + s + ux)
        big_d = log_sm[self.ix_op] + h_tx + log_gap - big_a[self.ia_op]
        soft = np.logaddexp(0.0, big_d)
        w2 = np.exp(big_d - soft) * self.w_op  # weight of the second term, per row
        ll += float(np.dot(self.w_op, soft))
        # switch those rows' weight from the first term's gradient to the second's
        grad -= g_a @ np.bincount(self.ia_op, weights=w2, minlength=big_a.size)
        # d log(H1 - H2) = g1 + (g1 - g2) e^d / (1 - e^d)
        ratio = w2 * np.exp(d) / np.where(d < 0, -np.expm1(d), np.inf)
        n_pairs = hb.size
        coef = (np.bincount(self.i_tx, weights=w2 + ratio, minlength=n_pairs)
                - np.bincount(self.i_t, weights=ratio, minlength=n_pairs))
        grad += hg @ coef
        w2x = np.bincount(self.ix_op, weights=w2, minlength=ux.size)
        g_m = -float(np.dot(w2x, 1.0 / (r + s + ux)))
        grad += np.array([g_m, 0.0, g_m + float(w2x.sum()) / s, 0.0])
        return ll, grad
