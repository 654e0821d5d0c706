"""The BTYD and spend models reproduce the published CDNOW results (Fader, Hardie & Lee)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.value import BetaGeo, GammaGamma, ParetoNBD, clv

pytestmark = pytest.mark.validation

REL = 1e-3


@pytest.fixture(scope="module")
def cdnow(reference_data: Path) -> pd.DataFrame:
    return pd.read_csv(reference_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")


def assert_params(params: dict[str, float], published: dict[str, float]) -> None:
    for name, value in published.items():
        assert params[name] == pytest.approx(value, rel=REL), name


def test_bgnbd_reproduces_counting_your_customers_the_easy_way(cdnow):
    model = BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert_params(model.params_, {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259})
    assert model.log_likelihood_ == pytest.approx(-9582.43, rel=REL)
    assert round(float(model.expected_purchases(39, 2, 30.43, 38.86)[0]), 3) == 1.226
    # standard errors agree with lifetimes 0.11.3's on the same data (no published SEs)
    assert_params(model.standard_errors_,
                  {"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345})


def test_bgnbd_fit_on_compressed_rows_equals_fit_on_customers(cdnow):
    rows = cdnow.groupby(["x", "t_x", "T"], as_index=False).size()
    a = BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    b = BetaGeo().fit(rows["x"], rows["t_x"], rows["T"], weights=rows["size"])
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_, rel=1e-9)
    for k in a.params_:
        assert b.params_[k] == pytest.approx(a.params_[k], rel=1e-5)


def test_gamma_gamma_reproduces_rfm_and_clv(cdnow):
    repeat = cdnow[cdnow["x"] > 0]
    assert len(repeat) == 946
    model = GammaGamma().fit(repeat["x"], repeat["zbar"])
    assert_params(model.params_, {"p": 6.2488, "q": 3.7446, "gamma": 15.4477})
    assert model.log_likelihood_ == pytest.approx(-4055.92, rel=REL)
    assert_params(model.standard_errors_, {"p": 1.189687, "q": 0.290166, "gamma": 4.159994})
    # customers with no repeat purchase are ignored, so fitting on everyone is the same
    everyone = GammaGamma().fit(cdnow["x"], cdnow["zbar"])
    assert everyone.params_ == pytest.approx(model.params_)


def test_pareto_nbd_reproduces_the_fader_hardie_note(cdnow):
    model = ParetoNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert_params(model.params_, {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6650})
    assert model.log_likelihood_ == pytest.approx(-9594.98, rel=REL)
    alive = model.prob_alive(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert np.all((alive >= 0) & (alive <= 1))


def test_clv_ranks_the_cdnow_sample(cdnow):
    bg = BetaGeo().fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    repeat = cdnow[cdnow["x"] > 0]
    gg = GammaGamma().fit(repeat["x"], repeat["zbar"])
    value = clv(bg, gg, cdnow["x"], cdnow["t_x"], cdnow["T"], cdnow["zbar"], horizon=52,
                discount_rate=0.01)
    assert np.all(np.isfinite(value)) and np.all(value > 0)
    # a frequent, recent buyer is worth more than a one-off buyer of long ago
    best = value[(cdnow["x"] >= 10) & (cdnow["T"] - cdnow["t_x"] < 2)].mean()
    once = value[(cdnow["x"] == 0)].mean()
    assert best > 10 * once
