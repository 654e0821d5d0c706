"""CLV: discounted expected residual transactions x expected spend x margin."""

from __future__ import annotations

import numpy as np
import pytest

from outsidein.errors import DataValidationError
from outsidein.value import BetaGeo, BetaGeoBetaBinom, GammaGamma, ParetoNBD, clv


@pytest.fixture
def models():
    bg = BetaGeo()
    bg.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    gg = GammaGamma()
    gg.params_ = {"p": 6.2488, "q": 3.7446, "gamma": 15.4477}
    return bg, gg


CUSTOMERS = ([0, 2, 10, 10], [0.0, 30.43, 38.0, 5.0], [38.86] * 4, [0.0, 22.35, 40.0, 40.0])


def test_without_discount_clv_is_expected_purchases_times_spend(models):
    bg, gg = models
    value = clv(bg, gg, *CUSTOMERS, horizon=52, discount_rate=0.0)
    x, tx, big_t, m = CUSTOMERS
    expected = bg.expected_purchases(52, x, tx, big_t) * gg.expected_spend(x, m)
    assert value == pytest.approx(expected)


def test_clv_orders_customers_as_a_manager_would(models):
    value = clv(*models, *CUSTOMERS)
    # frequent and recent > frequent but silent for 34 weeks; any buyer > nobody
    assert value[2] > value[3] and value[2] > value[1] > value[0] > 0


def test_discount_margin_and_horizon_act_as_expected(models):
    base = clv(*models, *CUSTOMERS)
    assert np.all(clv(*models, *CUSTOMERS, discount_rate=0.05) < base)
    assert clv(*models, *CUSTOMERS, margin=0.3) == pytest.approx(0.3 * base)
    assert np.all(clv(*models, *CUSTOMERS, horizon=104) > base)
    # a finer step discounts within the horizon differently but stays close
    fine = clv(*models, *CUSTOMERS, step=0.5, discount_rate=0.005)
    assert fine == pytest.approx(base, rel=0.02)


def test_spend_model_method_is_the_same_function(models):
    bg, gg = models
    assert gg.clv(bg, *CUSTOMERS, horizon=26) == pytest.approx(
        clv(bg, gg, *CUSTOMERS, horizon=26))


def test_any_transaction_model_works(models):
    _, gg = models
    pareto = ParetoNBD()
    pareto.params_ = {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650}
    assert np.all(np.isfinite(clv(pareto, gg, *CUSTOMERS)))
    bgbb = BetaGeoBetaBinom()
    bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    value = clv(bgbb, gg, [0, 3, 6], [0, 4, 6], [6, 6, 6], [0, 20.0, 20.0], horizon=5,
                discount_rate=0.1)
    assert value[2] > value[1] > value[0] > 0


def test_bad_horizon_is_refused(models):
    with pytest.raises(DataValidationError, match="horizon and step must be > 0"):
        clv(*models, *CUSTOMERS, horizon=0)
