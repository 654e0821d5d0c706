"""Newton steps with the exact Hessian: the right curvature, and the optimum L-BFGS-B finds."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.errors import ConvergenceError
from outsidein.value import BetaGeo, ModifiedBetaGeo, simulate_bgnbd
from outsidein.value._bgnbd import _Compressed
from outsidein.value._newton import newton_exact


def whole_days(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    big_t = (546 - np.random.default_rng(seed).integers(0, 365, n)) / 7.0
    x, tx, big_t = simulate_bgnbd(n, r=0.25, alpha=4.4, a=0.8, b=2.4, T=big_t, seed=seed)
    return x, np.round(tx * 7) / 7, big_t


@pytest.mark.parametrize("shift", [0, 1])
def test_exact_hessian_matches_differences_of_the_gradient(shift):
    x, tx, big_t = whole_days(3000, seed=1)
    w = np.random.default_rng(0).integers(1, 4, x.size).astype(float)
    loglik = _Compressed(x, tx, big_t, w, shift).loglik_grad
    p = np.array([0.35, 4.0, 0.9, 2.0])
    ll, grad, hess = loglik(p, hessian=True)
    assert (ll, *grad) == pytest.approx((loglik(p)[0], *loglik(p)[1]), rel=1e-12)
    numeric = np.empty((4, 4))
    for j in range(4):
        h = 1e-5 * p[j]
        up, dn = p.copy(), p.copy()
        up[j] += h
        dn[j] -= h
        numeric[:, j] = (loglik(up)[1] - loglik(dn)[1]) / (2 * h)
    assert np.max(np.abs(hess - numeric)) <= 1e-6 * np.max(np.abs(numeric))


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
def test_newton_fit_reaches_the_optimum_of_lbfgs(cls):
    data = whole_days(120_000, seed=2)  # enough distinct rows to start from a sample
    fast = cls().fit(*data)
    slow = cls()
    slow._exact_hessian = False  # the L-BFGS-B path, with standard errors by differences
    slow.fit(*data)
    assert fast.n_rows_ > 20_000 and fast.n_iter_ <= 6
    assert fast.params_ == pytest.approx(slow.params_, rel=1e-6)
    assert fast.log_likelihood_ == pytest.approx(slow.log_likelihood_, rel=1e-12)
    assert fast.standard_errors_ == pytest.approx(slow.standard_errors_, rel=1e-3)


def test_newton_crosses_a_region_that_is_not_convex():
    # f = (t0^2 - 1)^2 + t1^2: a hump at 0 (negative curvature), minima at t0 = +-1
    def f(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return (float((t[0] ** 2 - 1) ** 2 + t[1] ** 2),
                np.array([4 * t[0] * (t[0] ** 2 - 1), 2 * t[1]]),
                np.diag([12 * t[0] ** 2 - 4, 2.0]))

    theta, _ = newton_exact(f, np.array([0.1, 3.0]))
    assert theta == pytest.approx([1.0, 0.0], abs=1e-9)
    with pytest.raises(ConvergenceError):
        newton_exact(lambda t: (float(-t @ t), -2 * t, -2 * np.eye(2)), np.array([0.5, 0.5]))
