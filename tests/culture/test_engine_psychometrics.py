"""Simulated waves with a known factor structure: the engine recovers what was planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import semopy

from outsidein.culture import (
    ComponentCFA,
    MeasurementInvariance,
    aggregation,
    cronbach_alpha,
    icc,
    key_items,
    reliability,
    rwg_j,
    score_respondents,
    simulate_survey,
)
from outsidein.errors import NotFittedError
from outsidein.services.culture.instrument import load_instrument

INST = load_instrument()


@pytest.fixture(scope="module")
def flat():
    """4,000 respondents, no organisation effect (independent rows), continuous answers."""
    return simulate_survey(INST, n_orgs=40, mean_size=100, icc=0.0, discrete=False, seed=11)


@pytest.fixture(scope="module")
def clustered():
    """120 organisations with 15% of the factor variance between them."""
    return simulate_survey(INST, n_orgs=120, mean_size=40, icc=0.15, discrete=False, seed=5)


def test_cfa_recovers_planted_loadings_within_their_standard_errors(flat):
    keyed = key_items(flat.responses, INST)
    cfa = ComponentCFA(INST.factors()).fit(keyed)
    truth = flat.truth["loadings"]
    est = cfa.loadings_.dropna(subset=["se"])  # the first item of each factor is fixed at 1
    z = np.array([(r.estimate - truth[r.item]) / r.se for r in est.itertuples()])
    assert len(z) == 24
    assert np.all(np.abs(z) < 3.5), dict(zip(est["item"], z.round(2), strict=True))
    assert np.mean(np.abs(z) < 2) >= 0.8
    std = cfa.loadings_.set_index("item")["std"]
    for item, lam in flat.truth["std_loadings"].items():
        if item in std.index:
            assert std[item] == pytest.approx(lam, abs=0.05), item
    assert cfa.fit_.verdict == "good"


def test_alpha_and_omega_within_002_of_the_generators_reliability(flat):
    keyed = key_items(flat.responses, INST)
    cfa = ComponentCFA(INST.factors()).fit(keyed)
    rel = reliability(keyed, INST, cfa=cfa)
    for comp in INST.mo_components:
        assert rel.components[comp].alpha == pytest.approx(flat.truth["alpha"][comp], abs=0.02)
        assert rel.components[comp].omega == pytest.approx(flat.truth["omega"][comp], abs=0.02)
    eng = [it.id for it in INST.items_for("engagement")]
    assert cronbach_alpha(keyed[eng]) == pytest.approx(flat.truth["alpha"]["engagement"],
                                                       abs=0.02)


def test_a_noise_item_is_flagged_weak(flat):
    keyed = key_items(flat.responses, INST).copy()
    keyed["cus3"] = np.random.default_rng(0).permutation(keyed["cus3"].to_numpy())
    rel = reliability(keyed, INST)
    assert rel.components["customer_orientation"].weak_items == ("cus3",)
    assert all(not r.weak_items for c, r in rel.components.items()
               if c != "customer_orientation")
    assert any("cus3" in w for w in rel.words())


def test_icc_intervals_contain_the_planted_values(clustered):
    scores = score_respondents(clustered.responses, INST)
    for comp in INST.mo_components:
        r = icc(scores[comp], scores["org"])
        true1 = clustered.truth["icc1"][comp]
        assert r.icc1_ci[0] < true1 < r.icc1_ci[1], (comp, r, true1)
        true2 = r.k0 * true1 / (1 + (r.k0 - 1) * true1)
        assert r.icc2_ci[0] < true2 < r.icc2_ci[1], (comp, r, true2)


def test_no_organisation_effect_gives_icc_near_zero(flat):
    scores = score_respondents(flat.responses, INST)
    r = icc(scores["customer_orientation"], scores["org"])
    assert r.icc1_ci[0] < 0 < r.icc1_ci[1]
    assert r.pvalue > 0.001


def test_icc_by_hand_on_an_unbalanced_example():
    # groups of 2 and 3: MSB = 2*(1.5-3.4)^2 + 3*(4.667-3.4)^2 = 12.033 (1 df);
    # MSW = (0.5 + 0.6667) / 3 = 0.38889; k0 = (5 - 13/5) / 1 = 2.4
    r = icc([1, 2, 4, 5, 5], ["a", "a", "b", "b", "b"])
    msb, msw, k0 = 12.0333333, 0.3888889, 2.4
    assert r.icc1 == pytest.approx((msb - msw) / (msb + (k0 - 1) * msw), rel=1e-6)
    assert r.icc2 == pytest.approx((msb - msw) / msb, rel=1e-6)


def test_rwg_full_agreement_is_one_and_uniform_spread_is_zero():
    agree = pd.DataFrame({"a": [4, 4, 4, 4], "b": [2, 2, 2, 2]})
    assert rwg_j(agree, ["g"] * 4, [5, 5]).iloc[0] == 1.0
    spread = pd.DataFrame({"a": [1, 2, 3, 4, 5] * 4, "b": [5, 4, 3, 2, 1] * 4})
    # variance of a uniform 1..5 answer (ddof=1 on 20) ~ 2.1 > null 2.0: no agreement
    assert rwg_j(spread, ["g"] * 20, [5, 5]).iloc[0] == 0.0


def test_aggregation_marks_a_disagreeing_organisation_unsupported(clustered):
    resp = clustered.responses.copy()
    rng = np.random.default_rng(1)
    odd = resp["org"] == "org001"
    for it in INST.items_for("customer_orientation"):
        resp.loc[odd, it.id] = rng.choice([1.0, 5.0], size=int(odd.sum()))
    keyed = key_items(resp, INST)
    agg = aggregation(keyed, score_respondents(resp, INST), INST)
    assert not agg.supported("org001", "customer_orientation")
    assert agg.supported("org002", "customer_orientation")
    assert set(agg.to_dict()["components"]["customer_orientation"]) >= {"icc1", "icc2",
                                                                        "mean_rwg"}


def test_invariance_holds_without_bias_and_names_planted_items():
    fair = simulate_survey(INST, n_orgs=120, mean_size=60, seed=3)
    df = key_items(fair.responses, INST).assign(
        industry=fair.responses["org"].map(fair.orgs.set_index("org")["industry"]))
    mi = MeasurementInvariance(INST.factors(), group="industry").fit(df)
    assert mi.holds_ == {"configural": True, "metric": True, "scalar": True}
    assert mi.non_invariant_items_ == {"metric": [], "scalar": []}
    biased = simulate_survey(INST, n_orgs=120, mean_size=60, seed=3,
                             intercept_shift={"cus2": 1.2, "ing3": 1.2})
    df = key_items(biased.responses, INST).assign(
        industry=biased.responses["org"].map(biased.orgs.set_index("org")["industry"]))
    mi = MeasurementInvariance(INST.factors(), group="industry").fit(df)
    assert mi.holds_["metric"] and not mi.holds_["scalar"]
    assert sorted(mi.non_invariant_items_["scalar"]) == ["cus2", "ing3"]
    assert "cus2" in mi.words() and mi.to_dict()["comparable"] is False


def test_configural_model_equals_separate_semopy_fits_per_group():
    sim = simulate_survey(INST, n_orgs=30, mean_size=80, seed=8)
    keyed = key_items(sim.responses, INST)
    keyed["half"] = np.where(sim.responses["org"] < "org016", "first", "second")
    factors = {c: INST.factors()[c] for c in INST.mo_components[:3]}
    mi = MeasurementInvariance(factors, group="half").fit(keyed)
    total = 0.0
    for _, part in keyed.groupby("half"):
        model = semopy.Model("\n".join(f"{f} =~ {' + '.join(i)}" for f, i in factors.items()))
        model.fit(part)
        total += float(semopy.calc_stats(model).T["Value"]["chi2"])
    assert mi.levels_["configural"].chi2 == pytest.approx(total, rel=2e-3)


def test_unfitted_models_say_so():
    with pytest.raises(NotFittedError):
        ComponentCFA({"a": ["x", "y", "z"]}).to_dict()
    with pytest.raises(NotFittedError):
        MeasurementInvariance({"a": ["x", "y", "z"]}).words()
