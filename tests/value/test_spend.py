"""Gamma-Gamma spend model: shrinkage toward the population mean, inputs it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.errors import DataValidationError
from outsidein.value import GammaGamma, simulate_spend

PUBLISHED = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}


def published() -> GammaGamma:
    model = GammaGamma()
    model.params_ = dict(PUBLISHED)
    return model


def test_expected_spend_shrinks_less_as_purchases_accumulate():
    model = published()
    population = PUBLISHED["p"] * PUBLISHED["gamma"] / (PUBLISHED["q"] - 1)
    assert model.expected_spend(0, 0)[0] == pytest.approx(population)
    spends = model.expected_spend([1, 5, 50, 5000], 100.0)
    # a big spender's estimate moves from the population mean toward their own average
    assert np.all(np.diff(spends) > 0) and population < spends[0] and spends[-1] < 100
    assert spends[-1] == pytest.approx(100, rel=1e-2)
    low = model.expected_spend([1, 50], 5.0)
    assert low[0] > low[1] > 5


def test_fit_ignores_customers_without_repeat_purchases():
    x = np.random.default_rng(1).integers(0, 8, 3000)
    spend = simulate_spend(x, p=6, q=3.7, gamma=15, seed=2)
    a = GammaGamma().fit(x, spend)
    b = GammaGamma().fit(x[x > 0], spend[x > 0])
    assert a.params_ == pytest.approx(b.params_)
    assert a.n_customers_ == (x > 0).sum()


@pytest.mark.parametrize(("x", "m", "words"), [
    ([1, 2, 3], [10.0, 0.0, 5.0], "expected an amount > 0"),
    ([0, 0, 1], [0.0, 0.0, 5.0], "at least two customers"),
    ([1, 2], [10.0], "same length"),
    ([1, 2], [10.0, -3.0], ">= 0"),
])
def test_bad_spend_data_is_rejected_with_what_to_do(x, m, words):
    with pytest.raises(DataValidationError, match=words):
        GammaGamma().fit(x, m)


def test_infinite_mean_spend_is_refused():
    model = GammaGamma()
    model.params_ = {"p": 2.0, "q": 0.8, "gamma": 10.0}
    with pytest.raises(DataValidationError, match="q=0.8 <= 1"):
        model.expected_spend(1, 10.0)
