"""Scores: reverse-keying, 0-100 component scores, missing answers, bad answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.culture import (
    aggregate_scores,
    build_instrument,
    item_scores,
    key_items,
    score_respondents,
)
from outsidein.errors import DataValidationError

INST = build_instrument({"version": "t", "items": [
    {"id": "c1", "component": "customer_orientation", "text": "t"},
    {"id": "c2", "component": "customer_orientation", "text": "t", "reverse": True},
    {"id": "c3", "component": "customer_orientation", "text": "t"},
    {"id": "r1", "component": "responsiveness", "text": "t", "scale_max": 7},
    {"id": "r2", "component": "responsiveness", "text": "t", "scale_max": 7},
    {"id": "r3", "component": "responsiveness", "text": "t", "scale_max": 7, "reverse": True},
]})


def frame(**cols):
    base = {"org": ["a"], "department": ["Sales"], "role": ["Staff"], "c1": [3], "c2": [3],
            "c3": [3], "r1": [4], "r2": [4], "r3": [4]}
    base.update(cols)
    return pd.DataFrame(base)


def test_reverse_keyed_item_is_reversed_on_its_own_scale():
    k = key_items(frame(c2=[1], r3=[2]), INST)
    assert k.loc[0, "c2"] == 5  # 1 + 5 - 1
    assert k.loc[0, "r3"] == 6  # 1 + 7 - 2


def test_scores_are_percent_of_scale_range_and_mix_5_and_7_points():
    s = score_respondents(frame(c1=[5], c2=[1], c3=[5], r1=[7], r2=[1], r3=[4]), INST)
    assert s.loc[0, "customer_orientation"] == 100.0
    assert s.loc[0, "responsiveness"] == pytest.approx((100 + 0 + 50) / 3)
    assert s.loc[0, "market_orientation"] == pytest.approx((100 + 50) / 2)
    assert list(s.columns[:3]) == ["org", "department", "role"]
    assert item_scores(frame(r3=[7]), INST).loc[0, "r3"] == 0.0


def test_component_needs_half_its_items_answered():
    s = score_respondents(frame(c1=[5], c2=[np.nan], c3=[np.nan]), INST)
    assert np.isnan(s.loc[0, "customer_orientation"])
    assert np.isnan(s.loc[0, "market_orientation"])
    s = score_respondents(frame(c1=[5], c2=[1], c3=[np.nan]), INST)
    assert s.loc[0, "customer_orientation"] == 100.0


def test_answer_outside_scale_or_missing_item_is_refused():
    with pytest.raises(DataValidationError, match="item c1: answer 6 in row 0 is outside"):
        score_respondents(frame(c1=[6]), INST)
    with pytest.raises(DataValidationError, match="no column for item.*r3"):
        score_respondents(frame().drop(columns="r3"), INST)
    with pytest.raises(DataValidationError, match="must be numbers"):
        score_respondents(frame(c1=["agree"]), INST)


def test_group_means_count_respondents():
    s = pd.DataFrame({"org": ["a", "a", "b"], "market_orientation": [40.0, 60.0, 10.0]})
    g = aggregate_scores(s).set_index("org")
    assert g.loc["a", "n"] == 2 and g.loc["a", "market_orientation"] == 50.0
