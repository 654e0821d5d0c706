"""Draw customer histories from the BTYD models' own generative stories.

Used by the recovery tests and the benchmarks: fit a model to data drawn
from known parameters and check that it finds them.

>>> import numpy as np
>>> x, tx, T = simulate_bgnbd(1000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
>>> bool((tx <= T).all() and ((x == 0) == (tx == 0)).all())
True
"""

from __future__ import annotations

import numpy as np

from outsidein.value._base import ArrayLike


def _last_of(n: np.ndarray, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Time of the n-th (last counted) of Poisson events spread uniformly on (0, window)."""
    return np.where(n > 0, window * rng.beta(np.maximum(n, 1), 1.0), 0.0)


def simulate_bgnbd(n: int, *, r: float, alpha: float, a: float, b: float, T: ArrayLike,
                   modified: bool = False, seed: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of *n* customers under BG/NBD (or MBG/NBD if *modified*).

    Examples
    --------
    >>> from outsidein.value import simulate_bgnbd
    >>> x, tx, T = simulate_bgnbd(5, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> x.shape, float(T[0])
    ((5,), 39.0)
    """
    rng = np.random.default_rng(seed)
    big_t = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    # repeat purchases a customer makes before dropping out (BG: after >= 1, MBG: from 0)
    most = rng.geometric(p) - (1 if modified else 0)
    events = rng.poisson(lam * big_t)
    x = np.minimum(events, most)
    # the x-th of `events` uniform times on (0, T): T * Beta(x, events - x + 1)
    tx = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), np.maximum(events - x + 1, 1)), 0.0)
    return x.astype(float), tx, big_t


def simulate_pareto(n: int, *, r: float, alpha: float, s: float, beta: float, T: ArrayLike,
                    seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of *n* customers under Pareto/NBD.

    Examples
    --------
    >>> from outsidein.value import simulate_pareto
    >>> x, tx, T = simulate_pareto(1000, r=0.55, alpha=10.6, s=0.61, beta=11.7, T=39.0, seed=1)
    >>> bool((tx <= T).all() and ((x == 0) == (tx == 0)).all())
    True
    """
    rng = np.random.default_rng(seed)
    big_t = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    window = np.minimum(rng.exponential(1.0 / mu), big_t)
    x = rng.poisson(lam * window)
    return x.astype(float), _last_of(x, window, rng), big_t


def simulate_bgbb(n: int, *, alpha: float, beta: float, gamma: float, delta: float,
                  n_periods: int, seed: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, n_periods) of *n* customers under BG/BB.

    Examples
    --------
    >>> from outsidein.value import simulate_bgbb
    >>> x, tx, n = simulate_bgbb(1000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8,
    ...                          n_periods=6, seed=1)
    >>> bool((x <= tx).all() and (tx <= n).all())
    True
    """
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    alive = np.ones(n, dtype=bool)
    x = np.zeros(n)
    tx = np.zeros(n)
    for k in range(1, n_periods + 1):
        alive &= rng.random(n) >= theta  # drop out at the start of an opportunity
        buy = alive & (rng.random(n) < p)
        x += buy
        tx[buy] = k
    return x, tx, np.full(n, float(n_periods))


def simulate_spend(frequency: ArrayLike, *, p: float, q: float, gamma: float,
                   seed: int | None = None) -> np.ndarray:
    """Mean value of each customer's *frequency* transactions under Gamma-Gamma (0 if none).

    Examples
    --------
    >>> from outsidein.value import simulate_spend
    >>> spend = simulate_spend([0, 2, 5], p=6.25, q=3.74, gamma=15.4, seed=1)
    >>> float(spend[0]), bool((spend[1:] > 0).all())
    (0.0, True)
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    total = rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)
