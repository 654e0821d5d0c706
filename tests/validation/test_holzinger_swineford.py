"""The culture engine's CFA and invariance code reproduce lavaan on Holzinger & Swineford (1939).

Same code path as the product: :class:`outsidein.culture.ComponentCFA` (what
:func:`outsidein.culture.analyse_wave` fits to a wave) and
:class:`outsidein.culture.MeasurementInvariance` (what it fits across industries).

Published numbers:
- the classic three-factor CFA (``../shared/data/README.md``, lavaan's ``cfa()`` example):
  chi-square 85.306 on 24 df, CFI 0.931, TLI 0.896, RMSEA 0.092, SRMR 0.065;
- measurement invariance by school (lavaan tutorial, "Measurement invariance", the
  ``lavTestLRT(fit1, fit2, fit3)`` table): configural 115.85 on 48 df, metric (equal
  loadings) 124.04 on 54 df, scalar (equal loadings and intercepts) 164.10 on 60 df.
"""

from __future__ import annotations

import pandas as pd
import pytest
import semopy

from outsidein.culture import ComponentCFA, MeasurementInvariance

pytestmark = pytest.mark.validation

FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
           "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return semopy.examples.holzinger39.get_data()


def test_cfa_reproduces_lavaan_fit(hs):
    fit = ComponentCFA(FACTORS).fit(hs).fit_
    assert fit.n == 301
    assert fit.df == 24
    assert round(fit.chi2, 3) == 85.306
    assert round(fit.cfi, 3) == 0.931
    assert round(fit.tli, 3) == 0.896
    assert round(fit.rmsea, 3) == 0.092
    assert round(fit.srmr, 3) == 0.065


def test_cfa_loadings_match_lavaan(hs):
    # lavaan's cfa(HS.model, data = HolzingerSwineford1939) estimates (summary output)
    published = {"x2": (0.554, 0.100), "x3": (0.729, 0.109), "x5": (1.113, 0.065),
                 "x6": (0.926, 0.055), "x8": (1.180, 0.165), "x9": (1.082, 0.151)}
    got = ComponentCFA(FACTORS).fit(hs).loadings_.set_index("item")
    for item, (est, se) in published.items():
        assert got.loc[item, "estimate"] == pytest.approx(est, abs=2e-3), item
        assert got.loc[item, "se"] == pytest.approx(se, abs=2e-3), item


def test_invariance_by_school_reproduces_lavaan(hs):
    mi = MeasurementInvariance(FACTORS, group="school").fit(hs)
    levels = mi.levels_
    assert (levels["configural"].df, levels["metric"].df, levels["scalar"].df) == (48, 54, 60)
    assert round(levels["configural"].chi2, 2) == 115.85
    assert round(levels["metric"].chi2, 2) == 124.04
    assert round(levels["scalar"].chi2, 2) == 164.10
    # lavaan's chi-square difference tests: metric 8.192 on 6 df, scalar 40.059 on 6 df
    assert levels["metric"].chi2 - levels["configural"].chi2 == pytest.approx(8.192, abs=2e-3)
    assert levels["scalar"].chi2 - levels["metric"].chi2 == pytest.approx(40.059, abs=2e-3)
    # scalar invariance fails between the two schools: the product says so
    assert not mi.holds_["scalar"]
    assert not mi.comparable
