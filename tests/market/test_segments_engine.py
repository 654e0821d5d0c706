"""The stratification engine: RFM scores and segments, clusters, profiles, the cross-sell gap."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.market import (
    RFM_SEGMENTS,
    BehaviourClusters,
    ClusterProfile,
    cross_sell_matrix,
    describe,
    quintile_scores,
    rfm_segment,
)


def test_every_score_pair_has_exactly_one_named_segment() -> None:
    r, f = np.array(list(itertools.product(range(1, 6), repeat=2))).T
    names = rfm_segment(r, f, f)
    assert all(n in {s.key for s in RFM_SEGMENTS} for n in names)
    # the corners a marketer knows
    assert rfm_segment(np.array([5]), np.array([5]), np.array([5]))[0] == "champions"
    assert rfm_segment(np.array([1]), np.array([5]), np.array([5]))[0] == "cant_lose"
    assert rfm_segment(np.array([1]), np.array([1]), np.array([1]))[0] == "lost"
    assert rfm_segment(np.array([5]), np.array([1]), np.array([1]))[0] == "new"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=200))
def test_quintile_scores_share_ties_and_follow_the_order(values: list[int]) -> None:
    v = np.array(values, dtype=float)
    s = quintile_scores(v)
    assert s.min() >= 1 and s.max() <= 5
    for a, b in itertools.islice(itertools.combinations(range(len(v)), 2), 400):
        if v[a] == v[b]:
            assert s[a] == s[b]
        elif v[a] < v[b]:
            assert s[a] <= s[b]


def test_quintiles_of_distinct_values_are_fifths() -> None:
    assert np.bincount(quintile_scores(np.arange(100.0)))[1:].tolist() == [20] * 5


def _blobs(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [4, 0, 1], [0, 4, 2], [4, 4, 3]], dtype=float)
    labels = np.repeat(np.arange(4), [300, 200, 150, 100])
    return centres[labels] + rng.normal(0, 0.5, (len(labels), 3)), labels


def test_clusters_recover_planted_groups_and_their_number() -> None:
    X, truth = _blobs()
    model = BehaviourClusters(k_range=(2, 7)).fit(X, ["a", "b", "c"])
    assert model.k_ == 4
    assert max(model.silhouettes_, key=model.silhouettes_.get) == 4
    pred = model.predict(X)
    # each planted group maps to one cluster, the largest first
    for g in range(4):
        assert np.bincount(pred[truth == g]).max() == (truth == g).sum()
    assert pred[truth == 0][0] == 0 and model.sizes_.tolist() == [300, 200, 150, 100]


def test_unfitted_and_too_few_customers_say_so() -> None:
    with pytest.raises(NotFittedError):
        BehaviourClusters().predict(np.zeros((2, 2)))
    with pytest.raises(DataValidationError, match="too few"):
        BehaviourClusters().fit(np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(DataValidationError, match="missing or infinite"):
        BehaviourClusters().fit(np.full((20, 1), np.nan), ["a"])


def test_profile_words_name_what_stands_out() -> None:
    base = ClusterProfile(customers=1000, revenue=400.0, orders_per_year=5.0,
                          type_share={"baby": 0.1, "fresh_food": 0.2, "tools": 0.7},
                          channel_share={"web": 0.4, "store": 0.6}, contacts=1.0,
                          business_share=0.3)
    families = ClusterProfile(customers=150, revenue=900.0, orders_per_year=50.0,
                              type_share={"baby": 0.4, "fresh_food": 0.5, "tools": 0.1},
                              channel_share={"web": 0.9, "store": 0.1}, contacts=1.0,
                              business_share=0.0)
    assert describe(families, base) == ("consumers buying baby and fresh food, online, weekly, "
                                        "high value")


def _matrix_inputs(under: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segments a and b share cluster 0 and band 3; a buys tools at *under* x b's rate."""
    groups = pd.DataFrame({"segment": ["a", "b", "a", "b"], "cluster": [0, 0, 1, 1],
                           "band": [3, 3, 3, 3], "customers": [400, 400, 100, 100]})
    rows = []
    for seg in ("a", "b"):
        rows.append((seg, 0, 3, "tools", int(400 * 0.5 * (under if seg == "a" else 1.0))))
        rows.append((seg, 0, 3, "food", 200))
        rows.append((seg, 1, 3, "tools", 50))
        rows.append((seg, 1, 3, "food", 50))
    cells = pd.DataFrame(rows, columns=["segment", "cluster", "band", "product_type",
                                        "buyers"])
    cells["revenue"] = cells["buyers"] * 30.0
    cells["margin"] = cells["buyers"] * 9.0
    return cells, groups


def test_cross_sell_gap_found_where_planted_and_nowhere_else() -> None:
    cells, groups = _matrix_inputs(under=0.4)
    m = cross_sell_matrix(cells, groups)
    gaps = m[m.cross_sell_gap]
    assert gaps[["segment", "product_type"]].values.tolist() == [["a", "tools"]]
    row = gaps.iloc[0]
    # a: 80 + 50 buyers of 500; expected: 200/400 in cluster 0 and 50/100 in cluster 1
    assert row.penetration == pytest.approx(130 / 500)
    assert row.expected_penetration == pytest.approx(0.5)
    assert row.gap_customers == 120 and row.gap_revenue == pytest.approx(120 * 30.0)
    assert m.loc[m.segment == "a", "margin_rate"].tolist() == pytest.approx([0.3, 0.3])


def test_no_gap_when_the_segment_buys_like_its_lookalikes_or_is_not_targeted() -> None:
    cells, groups = _matrix_inputs(under=1.0)
    assert not cross_sell_matrix(cells, groups).cross_sell_gap.any()
    cells, groups = _matrix_inputs(under=0.4)
    assert not cross_sell_matrix(cells, groups, not_targeted=["a"]).cross_sell_gap.any()
