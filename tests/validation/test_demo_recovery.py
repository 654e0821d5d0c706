"""On the demo company, the value service finds the planted truths.

The demo generates purchases from a latent BG/NBD process (per week) and
knows each customer's true expected revenue in the year after the data end
(``truth_customers.expected_revenue_52w``).  Checks:

* the fitted BG/NBD parameters are within 3 standard errors of the
  generator's (3 000 customers, seed 7), and so are the Gamma-Gamma spend
  parameters (fitted on purchases, returns excluded);
* the CLV ranking agrees with the true value on customers with history
  (a repeat purchase): Spearman >= 0.8 (the issue's target) between the
  predicted CLV and the true expected revenue of the next 52 weeks, on a
  20,000-customer demo (seed 42, as ``make demo``), and the ranking is as good
  (within 0.03) as the one the same model gives with the *true* parameters.
  The ceiling is set by dropout, which no purchase history reveals with
  certainty: with the demo's latent process (about 20% truly gone by the
  end) the true parameters reach ~0.83;
* the predicted top decile holds nearly as much of the true future value as
  a perfect ranking would (>= 85% of it; we measure 92% at 20,000 customers)
  and >= 80% of its customers are in the true top 20%.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from outsidein.services.value import fit_value, score_value
from outsidein.value import model_from_params
from outsidein.workspace import Workspace

pytestmark = pytest.mark.validation


@pytest.fixture(scope="module")
def demo_20k(tmp_path_factory):
    """The default demo company (20,000 customers, seed 42), fitted and scored."""
    from outsidein.demo.company import generate_demo

    ws = Workspace.init(tmp_path_factory.mktemp("recovery") / "ws")
    generate_demo(ws, customers=20_000, seed=42)
    fit_value(ws, model="bgnbd")  # the generator's model, to compare with its true parameters
    score_value(ws)
    wh = ws.warehouse()
    truth = wh.table("truth_params").to_pyarrow().to_pandas()
    merged = (wh.table("customer_value").to_pyarrow().to_pandas()
              .merge(wh.table("truth_customers").to_pyarrow().to_pandas(), on="customer_id"))
    yield truth, merged
    ws.close()


@pytest.fixture(scope="module")
def demo(demo_ws: Workspace):
    """The shared demo company (3,000 customers, seed 7), fitted and scored."""
    fit = fit_value(demo_ws, model="bgnbd")
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


def test_spend_parameters_recovered_within_three_standard_errors(demo) -> None:
    fit, truth, _ = demo
    planted = _truth(truth, "gamma_gamma")
    for k in ("p", "q", "gamma"):
        gap = abs(fit.spend_params[k] - planted[k]) / fit.spend_standard_errors[k]
        assert gap <= 3, (
            f"{k}: fitted {fit.spend_params[k]:.4g}, planted {planted[k]}, {gap:.1f} SE")


def test_clv_ranking_agrees_with_the_true_value(demo_20k) -> None:
    truth, m = demo_20k
    m = m[m.frequency > 0]  # customers with history
    true_value = m.expected_revenue_52w.to_numpy(float)
    ours = spearmanr(m.clv, true_value).statistic
    f, r, T, mv = (m[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = model_from_params("BetaGeo", {k: v for k, v in _truth(truth, "bgnbd").items()
                                       if k in ("r", "alpha", "a", "b")})
    gg = model_from_params("GammaGamma", _truth(truth, "gamma_gamma"))
    oracle = spearmanr(bg.expected_purchases(52, f, r, T) * gg.expected_spend(f, mv),
                       true_value).statistic
    assert ours >= 0.8, ours
    assert ours >= oracle - 0.03, (ours, oracle)
    # the value deciles agree with the true deciles (10 = most valuable in the truth)
    assert spearmanr(-m.value_decile, m.true_value_decile).statistic >= 0.75


def test_top_decile_holds_most_of_the_true_future_value(demo) -> None:
    _, _, m = demo
    top = m[m.value_decile == 1]
    total = m.expected_revenue_52w.sum()
    share = top.expected_revenue_52w.sum() / total
    perfect = m.expected_revenue_52w.nlargest(len(top)).sum() / total
    assert share >= 0.85 * perfect, (share, perfect)
    assert (top.true_value_decile >= 9).mean() >= 0.8  # truth: 10 = most valuable
    assert np.all(np.diff(m.groupby("value_decile").expected_revenue_52w.mean()) < 0)
