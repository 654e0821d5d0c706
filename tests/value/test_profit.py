"""Customer profit, cost to serve and the whale curve on small hand-made frames."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outsidein.value import (
    analyse_cost_to_serve,
    customer_profit,
    money,
    whale_curve,
)


def _t(df: pd.DataFrame) -> ibis.Table:
    return ibis.memtable(pa.Table.from_pandas(df, preserve_index=False))


def _run(expr: ibis.Table) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas().set_index("customer_id").sort_index()


@pytest.fixture
def tables() -> tuple[ibis.Table, ibis.Table, ibis.Table]:
    ts = pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-01", "2024-03-01", "2024-06-01"])
    lines = pd.DataFrame({
        "order_id": ["o1", "o2", "o2", "o3", "o4"],
        "customer_id": ["a", "b", "b", "b", "a"],
        "product_id": ["p1", "p1", "p2", "p1", "p2"],
        "ts": ts,
        "quantity": [2, 1, 1, -1, 1],
        "revenue": [100.0, 50.0, 30.0, -50.0, 40.0],
        "discount": [10.0, 0.0, 0.0, 0.0, None],
        "is_return": [False, False, False, True, False],
    })
    products = pd.DataFrame({"product_id": ["p1", "p2"], "unit_cost": [20.0, 5.0]})
    costs = pd.DataFrame({
        "customer_id": ["b", "b", "b", "c"],
        "ts": pd.to_datetime(["2024-02-02", "2024-02-03", "2024-03-02", "2024-01-01"]),
        "kind": ["support", "support", "return", "delivery"],
        "amount": [40.0, 15.0, 10.0, 5.0],
    })
    return _t(lines), _t(products), _t(costs)


def test_margin_nets_returns_and_costs_by_kind(tables) -> None:
    lines, products, costs = tables
    df = _run(customer_profit(lines, products, costs))
    # a: (100 - 10 - 2*20) + (40 - 0 - 5) = 85; b: (50-20) + (30-5) - (50-20) = 25
    assert df.loc["a", "margin"] == pytest.approx(85.0)
    assert df.loc["b", "margin"] == pytest.approx(25.0)
    assert df.loc["b", "return_lines"] == 1 and df.loc["b", "orders"] == 1
    assert df.loc["b", "cost_support"] == pytest.approx(55.0) and df.loc["b", "n_support"] == 2
    assert df.loc["b", "profit"] == pytest.approx(25.0 - 65.0)
    # a customer with costs and no orders still appears, losing the cost
    assert df.loc["c", "orders"] == 0 and df.loc["c", "profit"] == pytest.approx(-5.0)


def test_period_filters_orders_and_costs(tables) -> None:
    lines, products, costs = tables
    df = _run(customer_profit(lines, products, costs,
                              period_start=pd.Timestamp("2024-02-01").to_pydatetime(),
                              period_end=pd.Timestamp("2024-03-01").to_pydatetime()))
    assert set(df.index) == {"b"}
    assert df.loc["b", "margin"] == pytest.approx(55.0)  # the March return is outside
    assert df.loc["b", "cost_return"] == 0.0


def test_without_service_costs_profit_is_margin(tables) -> None:
    lines, products, _ = tables
    df = _run(customer_profit(lines, products))
    assert (df["profit"] == df["margin"]).all() and (df["cost_to_serve"] == 0).all()


def test_unprofitable_customers_ranked_with_reasons_and_whatif(tables) -> None:
    lines, products, costs = tables
    profit = customer_profit(lines, products, costs).to_pyarrow().to_pandas()
    attrs = pd.DataFrame({"customer_id": ["a", "b", "c"], "region": ["west", "east", "east"]})
    res = analyse_cost_to_serve(profit, attrs)
    ranked = res.ranked
    assert ranked["customer_id"].tolist() == ["b", "c"]
    assert ranked.loc[0, "main_cost"] == "support"
    assert ranked.loc[0, "reason"].startswith("costs $65 to serve: support $55 (2 contacts)")
    # median cost to serve of (0, 65, 5) is 5: b would make 25 - 5 = 20
    assert ranked.loc[0, "profit_at_median_cost"] == pytest.approx(20.0)
    assert res.figures["whatif_profit_gain"] == pytest.approx((20 + 40) + (-5 + 5))
    seg = res.segments.set_index(["segment", "value"])
    assert seg.loc[("region", "east"), "profit"] == pytest.approx(-45.0)
    assert "2 unprofitable customers" in repr(res)


def test_whale_curve_peak_and_tail() -> None:
    profit = np.array([100.0, 50.0, 10.0, -20.0, -40.0] + [0.0] * 5)
    w = whale_curve(profit)
    f = w.figures
    assert f["total_profit"] == pytest.approx(100.0)
    assert f["peak_profit"] == pytest.approx(160.0)
    assert f["peak_pct_of_total"] == pytest.approx(160.0)
    assert f["tail_destroys"] == pytest.approx(60.0)
    assert f["top_decile_share"] == pytest.approx(1.0)  # the best of 10 customers: 100 of 100
    assert w.y[-1] == pytest.approx(100.0) and w.x[-1] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=300))
def test_whale_curve_is_finite_and_peak_bounds_total(values: list[float]) -> None:
    w = whale_curve(np.array(values))
    f = w.figures
    assert all(np.isfinite(v) for v in f.values())
    assert f["peak_profit"] >= f["total_profit"] - 1e-6
    assert f["tail_destroys"] >= -1e-6
    assert np.all(np.diff(w.x) > 0)


def test_money_words() -> None:
    assert money(48210) == "$48k"
    assert money(-1500) == "-$1.5k"
    assert money(2_300_000) == "$2.3M"
    assert money(12.4) == "$12"
