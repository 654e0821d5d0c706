"""Hypothesis properties of the BTYD predictions: finite, bounded, monotone, normalised."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outsidein.errors import ConvergenceError
from outsidein.value import BetaGeo, BetaGeoBetaBinom, ModifiedBetaGeo, ParetoNBD, simulate_bgnbd

#: OUTSIDEIN_PROPERTY_EXAMPLES=3000 for a long hunt (a run of that size found the a = 1 defect)
SETTINGS = settings(max_examples=int(os.environ.get("OUTSIDEIN_PROPERTY_EXAMPLES", "60")),
                    deadline=None)

pos = st.floats(0.05, 20.0)
scale = st.floats(0.1, 200.0)
freq = st.one_of(st.integers(0, 30), st.integers(0, 10_000))
share = st.one_of(st.just(1.0), st.just(0.0), st.floats(0.0, 1.0))
horizon = st.floats(0.1, 1000.0)


def continuous_model(kind: str, p1: float, p2: float, p3: float, p4: float):
    if kind == "pareto":
        m = ParetoNBD()
        m.params_ = {"r": p1, "alpha": p2, "s": p3, "beta": p4}
    else:
        m = BetaGeo() if kind == "bg" else ModifiedBetaGeo()
        m.params_ = {"r": p1, "alpha": p2, "a": p3, "b": p4}
    return m


models = st.builds(continuous_model, st.sampled_from(["bg", "mbg", "pareto"]), pos, scale, pos,
                   scale)


def history(x: int, frac: float, big_t: float) -> tuple[float, float, float]:
    return float(x), (frac * big_t if x > 0 else 0.0), big_t


@SETTINGS
@given(models, freq, share, horizon, st.floats(0.0, 500.0))
def test_predictions_are_finite_and_bounded(model, x, frac, big_t, t):
    x, tx, big_t = history(x, frac, big_t)
    alive = model.prob_alive(x, tx, big_t)
    expected = model.expected_purchases(t, x, tx, big_t)
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    new = model.expected_purchases_new(t)
    assert np.all(np.isfinite(new)) and np.all(new >= 0)


@SETTINGS
@given(models, freq, share, horizon, st.floats(0.0, 200.0), st.floats(0.01, 200.0))
def test_expected_purchases_grow_with_the_horizon(model, x, frac, big_t, t, dt):
    x, tx, big_t = history(x, frac, big_t)
    e1, e2 = model.expected_purchases([t, t + dt], x, tx, big_t)
    assert e2 >= e1 * (1 - 1e-9) - 1e-12
    n1, n2 = model.expected_purchases_new([t, t + dt])
    assert n2 >= n1 * (1 - 1e-9) - 1e-12


@SETTINGS
@given(models, st.integers(1, 10_000), st.floats(0.0, 500.0), st.floats(0.0, 100.0),
       st.floats(0.01, 100.0))
def test_prob_alive_falls_as_silence_lengthens(model, x, tx, gap, more):
    p1, p2 = model.prob_alive(x, tx, [tx + gap, tx + gap + more])
    assert p2 <= p1 * (1 + 1e-9) + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["bg", "mbg", "pareto"]), st.floats(0.1, 3.0), st.floats(1.0, 50.0),
       st.floats(0.1, 3.0), st.floats(1.0, 50.0), st.floats(0.0, 40.0))
def test_prob_purchases_is_a_distribution(kind, p1, p2, p3, p4, t):
    model = continuous_model(kind, p1, p2, p3, p4)
    p = model.prob_purchases(np.arange(5000), t)
    assert np.all(np.isfinite(p)) and np.all(p >= -1e-12)
    assert abs(p.sum() - 1) < 1e-4


bgbb = st.builds(lambda a, b, g, d: _bgbb(a, b, g, d), pos, pos, pos, pos)


def _bgbb(a: float, b: float, g: float, d: float) -> BetaGeoBetaBinom:
    m = BetaGeoBetaBinom()
    m.params_ = {"alpha": a, "beta": b, "gamma": g, "delta": d}
    return m


@SETTINGS
@given(bgbb, st.integers(1, 200), st.data())
def test_bgbb_predictions_are_finite_bounded_and_monotone(model, n, data):
    tx = data.draw(st.integers(0, n))
    x = data.draw(st.integers(min(tx, 1), tx)) if tx else 0
    alive = model.prob_alive(x, tx, [n, n + 5])
    assert np.all((alive >= 0) & (alive <= 1))
    if x > 0:
        assert alive[1] <= alive[0] + 1e-12
    e = model.expected_purchases([0, 1, 5, 50], x, tx, n)
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) >= -1e-12) and e[0] == 0
    p = model.prob_purchases(np.arange(n + 1), n)
    assert abs(p.sum() - 1) < 1e-8
    assert np.isclose(np.dot(np.arange(n + 1), p), model.expected_purchases_new(n)[0],
                      rtol=1e-6, atol=1e-9)


@settings(max_examples=12, deadline=None)
@given(st.floats(0.1, 3.0), st.floats(0.5, 50.0), st.floats(0.2, 5.0), st.floats(0.2, 10.0),
       st.integers(0, 2**16), st.sampled_from([BetaGeo, ModifiedBetaGeo]))
def test_fitting_gives_finite_estimates_or_says_what_to_try(r, alpha, a, b, seed, cls):
    data = simulate_bgnbd(400, r=r, alpha=alpha, a=a, b=b, T=np.linspace(10, 40, 400),
                          modified=cls is ModifiedBetaGeo, seed=seed)
    if not np.any(data[0] > 0):
        return
    try:
        model = cls().fit(*data)
    except ConvergenceError as err:
        assert "penalizer_coef" in str(err)
        return
    assert all(np.isfinite(v) and v > 0 for v in model.params_.values())
    assert np.isfinite(model.log_likelihood_)
    alive = model.prob_alive(*data)
    assert np.all((alive >= 0) & (alive <= 1))
