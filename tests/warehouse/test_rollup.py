"""The ``purchase_days`` rollup: kept by the loader, identical to the lines, never used stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.domain import purchases
from outsidein.services.data import load_file
from outsidein.warehouse import rollup
from outsidein.warehouse.summary import customer_summary

COLS = ["order_id", "customer_id", "product_id", "ts", "quantity", "revenue", "is_return"]


def lines_file(tmp_path: Path, name: str, seed: int, n: int = 3000) -> Path:
    """Order lines over 60 days for 150 customers: several lines a day, some returns."""
    rng = np.random.default_rng(seed)
    ts = (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60 * 86400, n), "s"))
    ret = rng.random(n) < 0.05
    df = pd.DataFrame({
        "order_id": [f"{name}-{i // 2}" for i in range(n)],
        "customer_id": [f"c{k}" for k in rng.integers(0, 150, n)],
        "product_id": [f"p{i % 2}" for i in range(n)],
        "ts": ts.strftime("%Y-%m-%d %H:%M:%S"),
        "quantity": np.where(ret, -1, rng.integers(1, 4, n)),
        "revenue": np.round(rng.uniform(1, 80, n), 2),
        "is_return": ret,
    })
    path = tmp_path / f"{name}.csv"
    df[COLS].to_csv(path, index=False)
    return path


def frame(expr) -> pd.DataFrame:
    df = expr.to_pandas()
    return df.sort_values(list(df.columns[:2])).reset_index(drop=True)


def days_of_lines(wh) -> pd.DataFrame:
    return frame(rollup.days_expr(wh.table("order_lines")))


def summaries_agree(wh, **kw) -> None:
    assert rollup.is_current(wh)
    fast = frame(rollup.purchase_summary(wh, **kw))
    slow = frame(customer_summary(purchases(wh.table("order_lines")), **kw))
    assert len(fast) > 100
    pd.testing.assert_frame_equal(fast, slow)


def test_loads_keep_the_rollup_equal_to_the_lines(workspace, tmp_path):
    wh = workspace.warehouse()
    for seed, name in enumerate(["jan", "feb", "mar"]):  # same customers and days: merges
        load_file(workspace, "order_lines", lines_file(tmp_path, name, seed))
    days = frame(wh.table("purchase_days"))
    pd.testing.assert_frame_equal(days, days_of_lines(wh))
    # three files over the same 60 days: most customer-days hold lines of several loads
    assert wh.table("order_lines").count().execute() == 9000
    assert len(days) < 150 * 60
    summaries_agree(wh, observation_end="2024-03-01", time_unit="days")
    summaries_agree(wh, time_unit="weeks", freq="W")
    summaries_agree(wh, calibration_end="2024-02-10", holdout_end="2024-03-01")


def test_returns_are_not_purchases(workspace, tmp_path):
    load_file(workspace, "order_lines", lines_file(tmp_path, "a", 7))
    con = workspace.warehouse().duckdb
    returned = con.execute("SELECT sum(round(revenue * 100)) FROM order_lines "
                           "WHERE is_return").fetchone()[0]
    assert returned > 0
    bought, rolled = con.execute(
        "SELECT (SELECT sum(round(revenue * 100)) FROM order_lines WHERE NOT is_return), "
        "(SELECT sum(value_cents) FROM purchase_days)").fetchone()
    assert bought == rolled


def test_a_rollup_that_does_not_cover_the_lines_is_rebuilt_not_used(workspace, tmp_path):
    wh = workspace.warehouse()
    load_file(workspace, "order_lines", lines_file(tmp_path, "a", 1))
    wh.duckdb.execute("DELETE FROM order_lines WHERE customer_id = 'c3'")  # outside the loader
    assert not rollup.is_current(wh)
    stale = frame(wh.table("purchase_days"))
    assert (stale.customer_id == "c3").any()
    summary = rollup.purchase_summary(wh, time_unit="days").to_pandas()
    assert "c3" not in set(summary.customer_id)  # summarised from the lines meanwhile
    assert rollup.ensure_current(wh)
    pd.testing.assert_frame_equal(frame(wh.table("purchase_days")), days_of_lines(wh))
    summaries_agree(wh, time_unit="days")


def test_a_warehouse_without_the_rollup_gets_one_at_the_next_load(workspace, tmp_path):
    wh = workspace.warehouse()
    load_file(workspace, "order_lines", lines_file(tmp_path, "a", 2))
    wh.duckdb.execute("DROP TABLE purchase_days")  # as written by a version without it
    wh.duckdb.execute("DROP TABLE rollups")
    load_file(workspace, "order_lines", lines_file(tmp_path, "b", 3))
    assert rollup.is_current(wh)
    pd.testing.assert_frame_equal(frame(wh.table("purchase_days")), days_of_lines(wh))


def test_a_failed_load_leaves_the_rollup_as_it_was(workspace, tmp_path, monkeypatch):
    wh = workspace.warehouse()
    load_file(workspace, "order_lines", lines_file(tmp_path, "a", 4))
    before = frame(wh.table("purchase_days"))

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(rollup, "_record", boom)  # fails after the merge, before commit
    with pytest.raises(OSError, match="disk full"):
        load_file(workspace, "order_lines", lines_file(tmp_path, "b", 5))
    pd.testing.assert_frame_equal(frame(wh.table("purchase_days")), before)
    assert wh.table("order_lines").count().execute() == 3000
    assert rollup.is_current(wh)


def test_a_read_only_warehouse_with_a_stale_rollup_is_summarised_from_the_lines(tmp_path):
    import ibis

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    load_file(ws, "order_lines", lines_file(tmp_path, "a", 6))
    ws.warehouse().duckdb.execute("DELETE FROM order_lines WHERE customer_id = 'c5'")
    ws.close()
    con = ibis.duckdb.connect(str(ws.warehouse_path), read_only=True)
    wh = Warehouse(con=con, backend="duckdb", root=ws.root)
    try:
        assert not rollup.ensure_current(wh)  # cannot rebuild, and says so
        summary = rollup.purchase_summary(wh, time_unit="days").to_pandas()
        assert "c5" not in set(summary.customer_id) and len(summary) > 100
    finally:
        con.disconnect()
