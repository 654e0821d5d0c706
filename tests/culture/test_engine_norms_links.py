"""Norms (percentiles, cuts, illustrative set, gaps in words) and links (planted effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.culture import (
    NORM_MODEL,
    aggregate_scores,
    cross_lagged,
    engagement_link,
    illustrative_norms,
    item_scores,
    percentile_ranks,
    performance_link,
    score_respondents,
    simulate_survey,
    size_band,
    top_quartile_gaps,
)
from outsidein.services.culture.instrument import load_instrument

INST = load_instrument()

NORMS = pd.DataFrame({
    "org": ["a", "b", "c", "d", "e", "me"],
    "industry": ["Retail", "Retail", "Retail", "Software", "Software", "Retail"],
    "employees": [20, 300, 400, 30, 5000, 350],
    "market_orientation": [40.0, 50.0, 60.0, 70.0, 80.0, 65.0],
})


def test_percentile_rank_by_hand_with_cuts_and_counts():
    me = NORMS[NORMS["org"] == "me"]
    r = percentile_ranks(me, NORMS, ["market_orientation"]).set_index("cut")
    # all others: 40 50 60 70 80 -> 3 below 65 of 5
    assert r.loc["all", "percentile"] == pytest.approx(60.0)
    assert r.loc["all", "n_orgs"] == 5  # itself left out
    # Retail others: 40 50 60 -> all below
    assert r.loc["industry: Retail", "percentile"] == 100.0
    assert r.loc["industry: Retail", "n_orgs"] == 3
    # 250-999 band: 300 (50), 400 (60) -> both below
    assert r.loc["size: 250-999", "n_orgs"] == 2
    assert not r["illustrative"].any()


def test_size_bands():
    assert list(size_band([1, 49, 50, 249, 250, 999, 1000])) == [
        "1-49", "1-49", "50-249", "50-249", "250-999", "250-999", "1000+"]


def test_illustrative_norms_follow_the_stated_model_and_say_so():
    n = illustrative_norms(INST, n_orgs=3000, seed=4)
    assert n["illustrative"].all() and "ILLUSTRATIVE" in NORM_MODEL
    mo = list(INST.mo_components)
    assert n[mo].mean().mean() == pytest.approx(62, abs=1.0)
    corr = n[mo].corr().to_numpy()[np.triu_indices(len(mo), 1)]
    assert corr.mean() == pytest.approx(0.6, abs=0.05)
    assert n.loc[n["employees"] >= 1000, "market_orientation"].mean() < \
        n.loc[n["employees"] < 1000, "market_orientation"].mean()
    r = percentile_ranks(n.head(1), n, ["market_orientation"])
    assert r["illustrative"].all()


def test_gap_to_top_quartile_names_the_weakest_items_in_words():
    norms = illustrative_norms(INST, n_orgs=500, seed=2)
    mine = norms.iloc[0][[it.id for it in INST.items]].astype(float).copy()
    mine[:] = 90.0
    mine["dis3"] = 10.0  # far below any top quartile
    mine["rsp2"] = 30.0
    g = top_quartile_gaps(mine, norms, INST, top=2)
    assert list(g.gaps["item"]) == ["dis3", "rsp2"]
    words = g.words()
    assert INST["dis3"].text in words[0] and "Intelligence dissemination" in words[0]
    assert "illustrative" in words[0]


def test_planted_performance_link_found_and_absent_one_not():
    sim = simulate_survey(INST, n_orgs=150, mean_size=30, performance_effect=0.5, seed=9)
    org = aggregate_scores(score_respondents(sim.responses, INST))
    r = performance_link(org)
    assert r.slope_ci[0] > 0 and 0.2 < r.r < 0.8
    assert "organisations" in r.words
    sim0 = simulate_survey(INST, n_orgs=150, mean_size=30, performance_effect=0.0, seed=9)
    r0 = performance_link(aggregate_scores(score_respondents(sim0.responses, INST)))
    assert r0.slope_ci[0] < 0 < r0.slope_ci[1]
    assert engagement_link(org).r > 0


@pytest.mark.parametrize("effect", [0.4, 0.0])
def test_planted_lagged_effect_of_customer_focus_on_engagement(effect):
    sim = simulate_survey(INST, n_orgs=150, mean_size=40, waves=3, lagged_effect=effect,
                          seed=21)
    cl = cross_lagged(score_respondents(sim.responses, INST))
    assert cl.n_pairs == 300
    if effect:
        assert cl.x_to_y_ci[0] > 0
        assert cl.x_to_y > cl.y_to_x
        assert cl.words.startswith("A rise in customer orientation is followed by a rise")
    else:
        assert cl.x_to_y_ci[0] < 0 < cl.x_to_y_ci[1]
        assert "no clear sign" in cl.words


def test_item_scores_average_to_org_item_means():
    sim = simulate_survey(INST, n_orgs=3, mean_size=20, seed=1)
    it = item_scores(sim.responses, INST).groupby(sim.responses["org"]).mean()
    assert it.shape == (3, len(INST.items))
    assert ((it >= 0) & (it <= 100)).all().all()
