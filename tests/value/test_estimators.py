"""Every model keeps scikit-learn's estimator contract: params, clone, fitted state, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from outsidein.errors import NotFittedError
from outsidein.value import (
    BetaGeo,
    BetaGeoBetaBinom,
    ConversionModel,
    GammaGamma,
    LookalikeModel,
    ModifiedBetaGeo,
    ParetoNBD,
    ReferralNetwork,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_pareto,
    simulate_spend,
)


def _fit_bgnbd(model: Any) -> Any:
    return model.fit(*simulate_bgnbd(400, r=0.3, alpha=5.0, a=0.8, b=2.5, T=39.0, seed=3))


def _fit_pareto(model: Any) -> Any:
    return model.fit(*simulate_pareto(400, r=0.5, alpha=10.0, s=0.6, beta=12.0, T=39.0, seed=3))


def _fit_bgbb(model: Any) -> Any:
    return model.fit(*simulate_bgbb(400, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8,
                                    n_periods=6, seed=3))


def _fit_spend(model: Any) -> Any:
    x = np.tile([1.0, 2.0, 3.0, 5.0], 50)
    return model.fit(x, simulate_spend(x, p=6.0, q=3.7, gamma=15.0, seed=3))


def _fit_referrals(model: Any) -> Any:
    refs = pd.DataFrame({"referrer_id": ["a", "a", "b"], "referred_id": ["b", "c", "d"]})
    customers = pd.DataFrame({"customer_id": list("abcd"), "revenue": [1.0, 2.0, 3.0, 4.0]})
    return model.fit(refs, customers)


def _fit_lookalike(model: Any) -> Any:
    customers = pd.DataFrame({"region": ["north"] * 20 + ["south"] * 20,
                              "industry": ["software", "retail"] * 20})
    return model.fit(customers, np.arange(40) < 15)


def _fit_conversion(model: Any) -> Any:
    prospects = pd.DataFrame({"source": ["ads", "trade_show"] * 30,
                              "pricing_visits": np.arange(60) % 4,
                              "budget": np.arange(60) * 1000.0})
    return model.fit(prospects, prospects["pricing_visits"].to_numpy() >= 2)


#: (class, settings other than the defaults, a function that fits a model of that class)
CASES: list[tuple[type, dict[str, Any], Callable[[Any], Any]]] = [
    (BetaGeo, {"penalizer_coef": 0.01}, _fit_bgnbd),
    (ModifiedBetaGeo, {"penalizer_coef": 0.01}, _fit_bgnbd),
    (ParetoNBD, {"penalizer_coef": 0.01}, _fit_pareto),
    (BetaGeoBetaBinom, {"penalizer_coef": 0.01}, _fit_bgbb),
    (GammaGamma, {"penalizer_coef": 0.01}, _fit_spend),
    (ReferralNetwork, {"decay": 0.25, "value_column": "revenue"}, _fit_referrals),
    (LookalikeModel, {"attributes": ("region", "industry"), "max_rows": 1000,
                      "random_state": 7}, _fit_lookalike),
    (ConversionModel, {"calibration_share": 0.3, "calibration": "isotonic",
                       "n_estimators": 20, "learning_rate": 0.1, "num_leaves": 3,
                       "min_child_samples": 5, "monotone_engagement": False,
                       "attributes": ("budget",), "max_levels": 5, "num_threads": 1,
                       "random_state": 3}, _fit_conversion),
]
IDS = [cls.__name__ for cls, _, _ in CASES]


@pytest.mark.parametrize(("cls", "settings", "fit"), CASES, ids=IDS)
def test_settings_round_trip_through_get_params_set_params_and_clone(cls, settings, fit):
    model = cls(**settings)
    assert isinstance(model, BaseEstimator)
    assert model.get_params() == settings  # every setting, nothing else
    defaults = cls().get_params()
    assert set(defaults) == set(settings) and defaults != settings
    assert cls().set_params(**settings).get_params() == settings
    twin = clone(model)
    assert type(twin) is cls and twin is not model
    assert twin.get_params() == settings
    for name, value in settings.items():  # stored as given, not copied or converted
        assert getattr(model, name) is value


@pytest.mark.parametrize(("cls", "settings", "fit"), CASES, ids=IDS)
def test_clone_of_a_fitted_model_is_unfitted(cls, settings, fit):
    fitted = fit(cls(**settings))
    check_is_fitted(fitted)
    learned = {k for k in vars(fitted) if k.endswith("_") and not k.startswith("_")}
    assert learned, "fit leaves learned state ending in '_'"
    twin = clone(fitted)
    assert twin.get_params() == settings
    assert not learned & set(vars(twin))
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(twin)


@pytest.mark.parametrize(("cls", "settings", "fit"), CASES, ids=IDS)
def test_set_params_rejects_unknown_settings(cls, settings, fit):
    with pytest.raises(ValueError, match="Invalid parameter"):
        cls().set_params(no_such_setting=1)


@pytest.mark.parametrize("use", [
    lambda: BetaGeo().prob_alive(1, 1, 2),
    lambda: GammaGamma().expected_spend(1, 10.0),
    lambda: ReferralNetwork().top(),
    lambda: LookalikeModel().predict_proba(pd.DataFrame({"region": ["north"]})),
    lambda: ConversionModel().predict_proba(pd.DataFrame({"source": ["ads"]})),
], ids=["BetaGeo", "GammaGamma", "ReferralNetwork", "LookalikeModel", "ConversionModel"])
def test_not_fitted_is_a_value_error_and_an_attribute_error(use):
    """As scikit-learn's NotFittedError: callers catching either builtin keep working."""
    with pytest.raises(NotFittedError):
        use()
    try:
        use()
    except ValueError as err:
        assert isinstance(err, AttributeError) and "fit" in str(err)
    else:  # pragma: no cover - the call above raised
        pytest.fail("no error raised")


def test_reprs_stay_short_and_the_notebook_shows_the_estimates():
    assert repr(BetaGeo()) == "BetaGeo()"
    assert repr(ParetoNBD(penalizer_coef=0.1)) == "ParetoNBD(penalizer_coef=0.1)"
    fitted = _fit_bgnbd(BetaGeo())
    assert repr(fitted).startswith("<BetaGeo BG/NBD: r=")
    bundle = fitted._repr_mimebundle_()
    assert bundle["text/plain"] == repr(fitted)
    assert "<table" in bundle["text/html"] and "log-likelihood" in bundle["text/html"]
    assert repr(ReferralNetwork(decay=0.25)) == "ReferralNetwork(decay=0.25)"
