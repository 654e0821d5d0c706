"""On the demo company, the value service finds the planted truths.

The demo generates purchases from a latent BG/NBD process (per week) and
knows each customer's true expected revenue in the year after the data end
(``truth_customers.expected_revenue_52w``).  Checks:

* the fitted BG/NBD parameters are within 3 standard errors of the
  generator's (3 000 customers, seed 7: r 1.4, alpha 0.3, a 2.2, b 2.2 SE);
* the CLV ranking agrees with the true value: Spearman >= 0.65 on every
  customer, and as good (within 0.03) as the ranking the same model gives
  with the *true* parameters.  The issue's target of 0.8 is out of reach for
  any method on this data: 45% of the customers have truly dropped out
  (true value exactly 0), which no purchase history reveals with certainty;
  even the true parameters reach only ~0.70 (we measure 0.71).  Among the
  customers still alive the Spearman is ~0.83;
* the predicted top decile holds most of the true future value (>= 45%,
  against ~64% for a perfect ranking; we measure 57%) and >= 80% of its
  customers are in the true top 20% (89%).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from outsidein.value.scoring import model_from_params
from outsidein.value.service import fit_value, score_value
from outsidein.workspace import Workspace

pytestmark = pytest.mark.validation


@pytest.fixture(scope="module")
def demo(demo_ws: Workspace):
    """The shared demo company (3,000 customers, seed 7), fitted and scored."""
    fit = fit_value(demo_ws)
    score_value(demo_ws)
    wh = demo_ws.warehouse()
    truth = wh.table("truth_params").execute()
    merged = (wh.table("customer_value").execute()
              .merge(wh.table("truth_customers").execute(), on="customer_id"))
    return fit, truth, merged


def _truth(truth, model: str) -> dict[str, float]:
    rows = truth[truth.model == model]
    return dict(zip(rows.param, rows.value.astype(float), strict=True))


def test_bgnbd_parameters_recovered_within_three_standard_errors(demo) -> None:
    fit, truth, _ = demo
    planted = _truth(truth, "bgnbd")
    for k in ("r", "alpha", "a", "b"):
        gap = abs(fit.params[k] - planted[k]) / fit.standard_errors[k]
        assert gap <= 3, f"{k}: fitted {fit.params[k]:.4g}, planted {planted[k]}, {gap:.1f} SE"


def test_clv_ranking_agrees_with_the_true_value(demo) -> None:
    _, truth, m = demo
    true_value = m.expected_revenue_52w.to_numpy(float)
    ours = spearmanr(m.clv, true_value).statistic
    f, r, T, mv = (m[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = model_from_params("BetaGeo", {k: v for k, v in _truth(truth, "bgnbd").items()
                                       if k in ("r", "alpha", "a", "b")})
    gg = model_from_params("GammaGamma", _truth(truth, "gamma_gamma"))
    oracle = spearmanr(bg.expected_purchases(52, f, r, T) * gg.expected_spend(f, mv),
                       true_value).statistic
    assert ours >= 0.65, ours
    assert ours >= oracle - 0.03, (ours, oracle)
    alive = true_value > 0
    assert spearmanr(m.clv[alive], true_value[alive]).statistic >= 0.75


def test_top_decile_holds_most_of_the_true_future_value(demo) -> None:
    _, _, m = demo
    top = m[m.value_decile == 1]
    share = top.expected_revenue_52w.sum() / m.expected_revenue_52w.sum()
    assert share >= 0.45, share
    assert (top.true_value_decile >= 9).mean() >= 0.8  # truth: 10 = most valuable
    assert np.all(np.diff(m.groupby("value_decile").expected_revenue_52w.mean()) < 0)
