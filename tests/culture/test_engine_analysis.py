"""One call per wave: the JSON the report prints, with anonymity and agreement applied."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from outsidein.culture import analyse_wave, simulate_survey
from outsidein.services.culture.instrument import load_instrument

INST = load_instrument()


@pytest.fixture(scope="module")
def wave():
    sim = simulate_survey(INST, n_orgs=12, mean_size=50, seed=4)
    r = sim.responses.merge(sim.orgs, on="org")
    # a tiny department in org001, and org002 answering customer items at random
    r.loc[r.index[:3], "department"] = "Legal"
    r.loc[r.index[:3], "org"] = "org001"
    rng = np.random.default_rng(0)
    odd = r["org"] == "org002"
    for it in INST.items_for("customer_orientation"):
        r.loc[odd, it.id] = rng.choice([1.0, 5.0], size=int(odd.sum()))
    return r


def test_report_json_has_the_documented_keys_and_is_strict_json(wave):
    a = analyse_wave(wave, INST, invariance_by="industry", min_group_n=20)
    d = a.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["n"] == len(wave)
    assert set(d["reliability"]["customer_orientation"]) >= {"alpha", "omega"}
    assert set(d["cfa"]) >= {"chi2", "df", "cfi", "tli", "rmsea", "srmr"}
    assert set(d["aggregation"]["components"]["engagement"]) >= {"icc1", "icc2", "mean_rwg"}
    assert d["invariance"] is not None and "levels" in d["invariance"]
    assert d["aggregation"]["unit"] == "org"


def test_groups_hide_small_departments_and_flag_weak_agreement(wave):
    a = analyse_wave(wave, INST)
    g = a.groups
    legal = g[(g["org"] == "org001") & (g["group"] == "Legal")].iloc[0]
    assert not legal["show_score"] and np.isnan(legal["market_orientation"])
    org2 = g[(g["org"] == "org002") & (g["dimension"] == "all")].iloc[0]
    assert "customer_orientation" in org2["not_supported"]
    org3 = g[(g["org"] == "org003") & (g["dimension"] == "all")].iloc[0]
    assert org3["not_supported"] == []
    for row in a.to_dict()["groups"]:
        if not row["show_score"]:
            assert row["market_orientation"] is None


def test_single_organisation_aggregates_to_departments():
    sim = simulate_survey(INST, n_orgs=1, mean_size=120, seed=2)
    a = analyse_wave(sim.responses, INST)
    assert a.aggregation.unit == "org/department"


def test_bad_wave_says_why():
    with pytest.raises(Exception, match="no responses"):
        analyse_wave(pd.DataFrame(), INST)
