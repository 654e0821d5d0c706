"""The availability estimator on simulated strata: a planted rate ratio inside its interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.errors import NotFittedError
from outsidein.market import AvailabilityEffect


def _side(rng: np.random.Generator, n: int, rate: np.ndarray, days: np.ndarray,
          strata: np.ndarray) -> pd.DataFrame:
    """Per-customer gamma-Poisson counts over *days*, summed per stratum with squares."""
    lam = rate * rng.gamma(2.0, 0.5, n)  # heterogeneous customers (overdispersed)
    count = rng.poisson(lam * days).astype(float)
    d = pd.DataFrame({"stratum": strata, "count": count, "exposure": days})
    d["count_sq"] = d["count"] ** 2
    d["count_exposure"] = d["count"] * d["exposure"]
    d["exposure_sq"] = d["exposure"] ** 2
    out = d.groupby("stratum", as_index=False).sum()
    out["customers"] = d.groupby("stratum").size().to_numpy()
    return out


def _simulate(ratio: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    base = {"s1": 0.01, "s2": 0.05, "s3": 0.1}  # strata with different baseline rates
    ctrl_s = rng.choice(list(base), 6000)
    tr_s = rng.choice(list(base), 400, p=[0.2, 0.3, 0.5])  # treated lean to busy strata
    rate_c = np.array([base[s] for s in ctrl_s])
    rate_t = np.array([base[s] for s in tr_s]) * ratio
    control = _side(rng, 6000, rate_c, rng.uniform(50, 300, 6000), ctrl_s)
    treated = _side(rng, 400, rate_t, rng.uniform(50, 300, 400), tr_s).assign(group="all")
    return treated, control


def test_planted_ratio_is_inside_the_interval_about_95_percent_of_the_time() -> None:
    inside = 0
    for seed in range(60):
        e = AvailabilityEffect().fit(*_simulate(0.5, seed)).effect("all")
        inside += e["ci_low"] <= 0.5 <= e["ci_high"]
        assert e["customers"] == 400
    assert inside >= 52  # 95% nominal: 57 of 60 expected, 52 is ~3 sd below


def test_no_effect_gives_an_interval_around_one() -> None:
    e = AvailabilityEffect().fit(*_simulate(1.0, 3)).effect("all")
    assert e["ci_low"] < 1.0 < e["ci_high"] and e["p_value"] > 0.05


def test_few_treated_customers_get_no_estimate_and_unfitted_says_so() -> None:
    treated, control = _simulate(0.5, 1)
    e = AvailabilityEffect(min_treated=1000).fit(treated, control).effect("all")
    assert np.isnan(e["effect"])
    with pytest.raises(NotFittedError):
        AvailabilityEffect().effect("all")
