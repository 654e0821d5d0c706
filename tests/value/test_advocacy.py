"""The referral graph: trees, discounted levels, loops and the advocate comparison."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outsidein.errors import DataValidationError, NotFittedError
from outsidein.value import ReferralNetwork, compare_advocates


@pytest.fixture
def customers() -> pd.DataFrame:
    ids = list("abcdefgh")
    return pd.DataFrame({"customer_id": ids, "revenue": [10.0 * (i + 1) for i in range(8)],
                         "clv": [100.0] * 8, "nps": [10, None, 3, 4, 5, 6, 7, 8]})


def test_tree_counts_depth_and_discounted_value(customers: pd.DataFrame) -> None:
    # a -> b, c ; b -> d ; d -> e   (e is three levels below a)
    refs = pd.DataFrame({"referrer_id": ["a", "a", "b", "d"], "referred_id": ["b", "c", "d", "e"]})
    s = ReferralNetwork(decay=0.5).fit(refs, customers).scores_.set_index("customer_id")
    assert s.loc["a", "direct"] == 2 and s.loc["a", "tree_size"] == 4 and s.loc["a", "depth"] == 3
    # value: b, c at full (200), d at half (50), e at a quarter (25)
    assert s.loc["a", "advocacy_value"] == pytest.approx(275.0)
    assert s.loc["a", "referral_score"] == pytest.approx(2 + 0.5 + 0.25)
    assert s.loc["a", "direct_revenue"] == pytest.approx(20.0 + 30.0)
    assert s.loc["a", "tree_revenue"] == pytest.approx(20 + 30 + 40 + 50)
    assert s.loc["a", "rank"] == 1 and s.loc["a", "nps"] == 10
    assert "e" not in s.index  # referred nobody


def test_a_customer_referred_twice_counts_once_for_the_first_referrer(customers) -> None:
    refs = pd.DataFrame({"referrer_id": ["a", "b"], "referred_id": ["c", "c"],
                         "ts": pd.to_datetime(["2024-02-01", "2024-01-01"])})
    s = ReferralNetwork().fit(refs, customers).scores_
    assert s["customer_id"].tolist() == ["b"]


def test_loops_and_self_referrals_do_not_hang(customers) -> None:
    refs = pd.DataFrame({"referrer_id": ["a", "b", "c", "f"], "referred_id": ["b", "c", "a", "f"]})
    s = ReferralNetwork().fit(refs, customers).scores_
    assert s["tree_size"].max() == 2 and len(s) == 2


def test_reasons_in_words(customers) -> None:
    refs = pd.DataFrame({"referrer_id": ["a", "a", "b"], "referred_id": ["b", "c", "d"]})
    top = ReferralNetwork().fit(refs, customers).top(1)
    assert top.loc[0, "reason"] == ("referred 2 customers (revenue $50, predicted value $200), "
                                    "who brought 1 more over 1 further level; NPS 10")


def test_revenue_used_when_no_clv(customers) -> None:
    refs = pd.DataFrame({"referrer_id": ["a"], "referred_id": ["b"]})
    m = ReferralNetwork().fit(refs, customers.drop(columns=["clv"]))
    assert m.value_column_ == "revenue"
    assert m.scores_.loc[0, "advocacy_value"] == pytest.approx(20.0)


def test_errors_say_what_is_wrong(customers) -> None:
    with pytest.raises(NotFittedError):
        ReferralNetwork().top()
    with pytest.raises(DataValidationError, match="referred_id"):
        ReferralNetwork().fit(pd.DataFrame({"referrer_id": ["a"]}), customers)
    with pytest.raises(DataValidationError, match="decay"):
        ReferralNetwork(decay=0).fit(pd.DataFrame({"referrer_id": ["a"], "referred_id": ["b"]}),
                                     customers)


def test_compare_advocates_means(customers) -> None:
    t = compare_advocates(["a"], customers).table.set_index("measure")
    assert t.loc["revenue", "advocates"] == pytest.approx(10.0)
    assert t.loc["revenue", "others"] == pytest.approx(sum(10.0 * i for i in range(2, 9)) / 7)
    assert t.loc["nps", "advocates"] == 10


def test_long_chain_and_the_graph_are_kept(customers) -> None:
    ids = [f"x{i}" for i in range(100)]
    refs = pd.DataFrame({"referrer_id": ids[:-1], "referred_id": ids[1:]})
    m = ReferralNetwork().fit(refs, customers)
    s = m.scores_.set_index("customer_id")
    assert s.loc["x0", "depth"] == 99 and s.loc["x0", "tree_size"] == 99
    assert m.graph_.number_of_edges() == 99 and len(m.referred_) == 99


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-1, 40), min_size=2, max_size=40), st.floats(0.1, 1.0))
def test_tree_scores_agree_with_networkx(parents: list[int], decay: float) -> None:
    """Random forests (and loops): counts match networkx descendants, limits hold."""
    n = len(parents)
    edges = [(f"c{p}", f"c{i}") for i, p in enumerate(parents) if 0 <= p < n and p != i]
    refs = pd.DataFrame(edges, columns=["referrer_id", "referred_id"])
    if refs.empty:
        return
    value = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "revenue": 1.0,
                          "clv": 2.0})
    m = ReferralNetwork(decay=decay).fit(refs, value)
    g = m.graph_
    assert nx.is_directed_acyclic_graph(g)
    s = m.scores_.set_index("customer_id")
    for node, row in s.iterrows():
        assert row["tree_size"] == len(nx.descendants(g, node))
        assert row["direct"] == g.out_degree(node)
        assert row["direct"] <= row["referral_score"] <= row["tree_size"] + 1e-9
        assert row["advocacy_value"] == pytest.approx(2.0 * row["referral_score"])
        assert row["tree_revenue"] == pytest.approx(row["tree_size"])
