"""Each model finds the parameters of data drawn from its own story (within 3 standard errors)."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.value import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_pareto,
    simulate_spend,
)

N = 8000
T = np.random.default_rng(11).uniform(26, 39, N)  # a 13-week cohort seen for 39 weeks


def assert_recovered(model, truth: dict[str, float]) -> None:
    for name, value in truth.items():
        est, se = model.params_[name], model.standard_errors_[name]
        assert abs(est - value) <= 3 * se, f"{name}: {est:.4g} +- {se:.3g}, truth {value}"
        lo, hi = model.summary.loc[name, ["lower 95%", "upper 95%"]]
        assert lo < est < hi


@pytest.mark.parametrize(("cls", "modified"), [(BetaGeo, False), (ModifiedBetaGeo, True)])
def test_beta_geo_models_recover_their_parameters(cls, modified):
    truth = {"r": 0.4, "alpha": 6.0, "a": 0.9, "b": 3.0}
    data = simulate_bgnbd(N, **truth, T=T, modified=modified, seed=3)
    assert_recovered(cls().fit(*data), truth)


def test_pareto_nbd_recovers_its_parameters():
    truth = {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}
    assert_recovered(ParetoNBD().fit(*simulate_pareto(N, **truth, T=T, seed=4)), truth)


def test_bgbb_recovers_its_parameters():
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    assert_recovered(BetaGeoBetaBinom().fit(*simulate_bgbb(N, **truth, n_periods=8, seed=5)),
                     truth)


def test_gamma_gamma_recovers_its_parameters():
    truth = {"p": 6.0, "q": 3.7, "gamma": 15.0}
    x = np.random.default_rng(6).integers(0, 12, N)
    assert_recovered(GammaGamma().fit(x, simulate_spend(x, **truth, seed=7)), truth)


def test_a_million_customers_fit_on_their_distinct_rows():
    n = 1_000_000
    big_t = (273 - np.random.default_rng(1).integers(0, 84, n)) / 7.0
    x, tx, big_t = simulate_bgnbd(n, r=0.25, alpha=4.4, a=0.8, b=2.4, T=big_t, seed=2)
    tx = np.round(tx * 7) / 7  # times recorded to the day
    model = BetaGeo().fit(x, tx, big_t)
    assert model.n_customers_ == n and model.n_rows_ < n / 5
    assert_recovered(model, {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4})
