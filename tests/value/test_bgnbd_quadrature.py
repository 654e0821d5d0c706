"""The BG/NBD conditional expectation where scipy's hyp2f1 fails, against mpmath's exact value."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from outsidein.value import BetaGeo, ModifiedBetaGeo
from outsidein.value._bgnbd import _given_alive_by_quadrature


def exact_given_alive(t: float, x: float, big_t: float, r: float, alpha: float,
                      a: float | str, b: float, k: int = 0) -> float:
    """E[purchases in t | alive] from the Euler-transformed closed form at 40 digits."""
    with mpmath.workdps(40):
        t, x, big_t, r, alpha, a, b = map(mpmath.mpf, (t, x, big_t, r, alpha, a, b))
        z = t / (alpha + big_t + t)
        c = a + b + x + k - 1
        f = mpmath.hyp2f1(a + b + k - 1 - r, a - 1, c, z)
        return float(c / (a - 1) * (1 - (1 - z) ** (a - 1) * f))


def quadrature(t, x, big_t, r, alpha, a, b, k=0) -> float:
    one = np.array([float(t)]), np.array([float(x)]), np.array([float(big_t)])
    return float(_given_alive_by_quadrature(*one, r, alpha, a, b + k)[0])


# the corner that broke the Gauss-Legendre rule used before (a >> 1, alpha small, long horizon)
CORNERS = [
    (52.0, 0, 0.0, 11.5, 0.25, 18.0, 163.0),
    (52.0, 3, 10.0, 11.5, 0.25, 18.0, 163.0),
    (1e4, 40, 100.0, 0.24, 4.41, 0.79, 2.43),      # CDNOW fit, a 200-year horizon
    (39.0, 2, 38.86, 0.24, 4.41, 0.79, 2.43),
    (5.0, 10_000, 500.0, 2.0, 1.0, 0.05, 0.3),     # tiny a: a slow left tail
    (5.0, 0, 1.0, 0.1, 50.0, 40.0, 0.2),           # tiny b: mass near p = 1
    (1e6, 1, 2.0, 3.0, 0.01, 2.5, 9000.0),
]


@pytest.mark.parametrize("case", CORNERS)
def test_quadrature_matches_the_exact_value_in_corners(case):
    exact = exact_given_alive(*case)
    assert quadrature(*case) == pytest.approx(exact, rel=1e-12)


def test_quadrature_matches_the_exact_value_across_parameters():
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(150):
        r, alpha, a, b = np.exp(rng.uniform(np.log([0.05, 0.05, 0.05, 0.05]),
                                            np.log([20, 200, 60, 500])))
        x = int(rng.choice([0, 1, 3, 20, 300]))
        big_t = float(rng.uniform(0, 200))
        t = float(np.exp(rng.uniform(np.log(0.1), np.log(5000))))
        k = int(rng.integers(0, 2))
        if abs(a - 1) < 1e-3:
            continue
        exact = exact_given_alive(t, x, big_t, r, alpha, a, b, k)
        worst = max(worst, abs(quadrature(t, x, big_t, r, alpha, a, b, k) - exact) / exact)
    assert worst < 1e-12


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo])
def test_expected_purchases_in_the_corner_are_exact_and_grow_with_the_horizon(model):
    m = model()
    m.params_ = {"r": 11.5, "alpha": 0.25, "a": 18.0, "b": 163.0}
    horizons = np.array([52.0, 52.0 + 1e-6, 104.0])
    e = m.expected_purchases(horizons, 3, 10.0, 10.0)
    assert np.all(np.diff(e) > 0)
    alive = m.prob_alive(3, 10.0, 10.0)[0]
    k = 1 if model is ModifiedBetaGeo else 0
    assert e[2] == pytest.approx(alive * exact_given_alive(104.0, 3, 10.0, 11.5, 0.25, 18.0,
                                                           163.0, k), rel=1e-10)


@pytest.mark.parametrize("a", [1.0, 1 + 1e-7, 1 - 1e-5, 1 + 5e-4])
def test_expected_purchases_are_exact_where_a_is_near_one(a):
    """a = 1 is a removable singularity of the closed form: it cancelled to 1e-5 there."""
    m = BetaGeo()
    m.params_ = {"r": 0.0625, "alpha": 152.0, "a": a, "b": 139.0}
    e = m.expected_purchases([34.0, 34.0625], 0, 0.0, 1.0)
    assert e[1] > e[0]  # the horizon grows: so must the expectation (Hypothesis found a drop)
    alive = m.prob_alive(0, 0.0, 1.0)[0]
    at = a if a != 1.0 else "1.0000000000000000000000001"  # the limit, at 40 digits
    assert e[0] == pytest.approx(alive * exact_given_alive(34.0, 0, 1.0, 0.0625, 152.0, at,
                                                           139.0), rel=1e-11)
