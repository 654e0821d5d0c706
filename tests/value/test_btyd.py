"""Contract of the BTYD models: estimator API, errors that say what to do, exact gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.errors import ConvergenceError, DataValidationError, NotFittedError
from outsidein.value import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_pareto,
)
from outsidein.value._bgbb import _make_loglik as bgbb_loglik  # white-box: exact gradients
from outsidein.value._bgnbd import _Compressed
from outsidein.value._pareto import _ParetoData
from outsidein.value.spend import _make_loglik as gg_loglik

CONTINUOUS = [BetaGeo, ModifiedBetaGeo, ParetoNBD]
NAMES = {BetaGeo: ["r", "alpha", "a", "b"], ModifiedBetaGeo: ["r", "alpha", "a", "b"],
         ParetoNBD: ["r", "alpha", "s", "beta"]}


@pytest.fixture(scope="module")
def rfm():
    return simulate_bgnbd(2000, r=0.3, alpha=5.0, a=0.8, b=2.5, T=np.linspace(20, 40, 2000),
                          seed=7)


@pytest.fixture(scope="module")
def rfm_pareto():
    return simulate_pareto(2000, r=0.5, alpha=10.0, s=0.6, beta=12.0,
                           T=np.linspace(20, 40, 2000), seed=7)


@pytest.mark.parametrize("cls", CONTINUOUS)
def test_fit_returns_self_with_the_papers_parameter_names(cls, rfm, rfm_pareto):
    model = cls()
    assert model.fit(*(rfm_pareto if cls is ParetoNBD else rfm)) is model
    assert list(model.params_) == NAMES[cls]
    assert list(model.standard_errors_) == NAMES[cls]
    assert all(v > 0 and np.isfinite(v) for v in model.params_.values())
    assert all(v > 0 and np.isfinite(v) for v in model.standard_errors_.values())
    assert model.log_likelihood_ < 0
    summary = model.summary
    assert list(summary.columns) == ["estimate", "se", "lower 95%", "upper 95%"]
    assert summary.index.name == "param" and list(summary.index) == NAMES[cls]
    assert (summary["lower 95%"] < summary["estimate"]).all()
    assert "log-likelihood" in repr(model) and "<table" in model._repr_html_()


@pytest.mark.parametrize("cls", [*CONTINUOUS, BetaGeoBetaBinom, GammaGamma])
def test_unfitted_model_says_to_fit_first(cls):
    model = cls()
    assert repr(model) == f"{cls.__name__}()"
    with pytest.raises(NotFittedError, match="fit"):
        model.summary  # noqa: B018
    with pytest.raises(AttributeError):  # NotFittedError is an AttributeError too
        model.summary  # noqa: B018


def test_settings_are_stored_as_given():
    model = ParetoNBD(penalizer_coef=0.1)
    assert model.penalizer_coef == 0.1 and "penalizer_coef=0.1" in repr(model)


@pytest.mark.parametrize("cls", CONTINUOUS)
def test_weights_give_the_same_fit_as_repeated_rows(cls, rfm, rfm_pareto):
    x, tx, big_t = (v[:300] for v in (rfm_pareto if cls is ParetoNBD else rfm))
    rows = pd.DataFrame({"x": x, "tx": tx, "T": big_t})
    doubled = pd.concat([rows, rows, rows.iloc[:100]])
    weights = np.r_[np.full(100, 3.0), np.full(200, 2.0)]
    a = cls().fit(doubled["x"], doubled["tx"], doubled["T"])
    b = cls().fit(x, tx, big_t, weights=weights)
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_, rel=1e-8)
    assert b.params_ == pytest.approx(a.params_, rel=1e-4)


def test_penalizer_shrinks_the_parameters(rfm):
    free = BetaGeo().fit(*rfm)
    shrunk = BetaGeo(penalizer_coef=0.1).fit(*rfm)
    assert sum(v**2 for v in shrunk.params_.values()) < sum(v**2 for v in free.params_.values())


@pytest.mark.parametrize(("args", "words"), [
    (([1, 2], [0.5, 3.0], [2.0, 2.0]), "recency 3.0 is after the end"),
    (([0, 1], [1.0, 1.0], [2.0, 2.0]), "frequency 0 with recency 1.0"),
    (([1.5], [1.0], [2.0]), "whole number"),
    (([1, np.nan], [1.0, 1.0], [2.0, 2.0]), "finite number"),
    (([-1], [0.0], [2.0]), ">= 0"),
    (([1, 2], [1.0], [2.0, 2.0]), "same length"),
    (([0, 0], [0.0, 0.0], [2.0, 3.0]), "none of the 2 customers has a repeat purchase"),
])
def test_bad_input_is_rejected_with_what_to_do(args, words):
    with pytest.raises(DataValidationError, match=words):
        BetaGeo().fit(*args)


def test_bgbb_rejects_more_purchases_than_opportunities():
    with pytest.raises(DataValidationError, match="at most one purchase per opportunity"):
        BetaGeoBetaBinom().fit([3], [2], [5])


def test_convergence_failure_names_what_to_try(monkeypatch, rfm):
    def broken(self, *args, **kwargs):
        return 0.0, np.full(4, np.nan)

    monkeypatch.setattr(_Compressed, "loglik_grad", broken)
    with pytest.raises(ConvergenceError) as err:
        BetaGeo().fit(*rfm)
    message = str(err.value)
    assert "rescale the time unit" in message and "penalizer_coef" in message
    assert "check the data" in message


def _numeric_gradient(f, p, h=1e-6):
    out = []
    for j in range(p.size):
        up, dn = p.copy(), p.copy()
        up[j] *= 1 + h
        dn[j] *= 1 - h
        out.append((f(up)[0] - f(dn)[0]) / (2 * h * p[j]))
    return np.array(out)


def test_analytic_gradients_match_finite_differences():
    x, tx, big_t = simulate_bgnbd(500, r=0.3, alpha=5.0, a=0.8, b=2.5, T=30.0, seed=1)
    w = np.ones_like(x)
    p = np.array([0.35, 4.0, 0.9, 2.0])
    for shift in (0, 1):
        f = _Compressed(x, tx, big_t, w, shift).loglik_grad
        assert f(p)[1] == pytest.approx(_numeric_gradient(f, p), rel=1e-5)
    x, tx, big_t = simulate_pareto(500, r=0.5, alpha=10.0, s=0.6, beta=12.0, T=30.0, seed=1)
    for q in (np.array([0.5, 10.0, 0.6, 12.0]), np.array([0.5, 14.0, 0.6, 9.0])):
        f = _ParetoData(x, tx, big_t, w).loglik_grad
        assert f(q)[1] == pytest.approx(_numeric_gradient(f, q), rel=1e-5)
    x, tx, n = simulate_bgbb(500, alpha=1.2, beta=0.8, gamma=0.7, delta=2.8, n_periods=8, seed=1)
    f = bgbb_loglik([x, tx, n], w)
    assert f(p)[1] == pytest.approx(_numeric_gradient(f, p), rel=1e-5)
    spend = np.random.default_rng(0).gamma(5, 10, 500)
    f = gg_loglik([x + 1, spend], w)
    p3 = np.array([6.0, 3.7, 15.0])
    assert f(p3)[1] == pytest.approx(_numeric_gradient(f, p3), rel=1e-5)


def test_predictions_are_vectorised_and_broadcast(rfm):
    model = BetaGeo().fit(*rfm)
    x, tx, big_t = (v[:5] for v in rfm)
    assert model.expected_purchases(10, x, tx, big_t).shape == (5,)
    assert model.expected_purchases(np.arange(1, 6), x, tx, big_t).shape == (5,)
    assert model.prob_alive(x, tx, big_t).shape == (5,)
    assert model.prob_purchases(np.arange(4), 10).shape == (4,)
    assert model.expected_purchases_new([1, 2, 3]).shape == (3,)


def test_scipy_hyp2f1_corners_fall_back_to_quadrature():
    # scipy returns nan/inf for these (integer c-a-b, z near 1); the answer must not
    bg = BetaGeo()
    bg.params_ = {"r": 0.05, "alpha": 1.0, "a": 0.05, "b": 1.0}
    e = bg.expected_purchases([1.0, 19.0, 19.5], 99, 1.0, 1.0)
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) >= 0)
    pareto = ParetoNBD()
    pareto.params_ = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 11.0}
    alive = pareto.prob_alive(98, 0.0, [0.5, 1.0, 2.0])
    assert np.all(np.isfinite(alive)) and np.all(np.diff(alive) <= 0)
