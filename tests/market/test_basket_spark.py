"""Basket rules on a local-mode Spark warehouse give DuckDB's: the same Ibis expressions,
unchanged, on a small demo company, both for the rows counted in memory and for the
warehouse path (single items and pairs counted by the warehouse, as above
``IN_MEMORY_ROWS`` rows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from outsidein.demo.company import generate_demo
from outsidein.services.data import load_frame
from outsidein.services.market.basket import basket_items, basket_rules, frequent_itemsets
from outsidein.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TABLES = ("customers", "products", "order_lines")


def _itemsets(ws: Workspace, *, in_memory_rows: int, by: str) -> tuple[dict, int]:
    with ws.reader() as con:
        products = con.table("products") if by == "product_type" else None
        items = basket_items(con.table("order_lines"), products, by)
        found, n = frequent_itemsets(items, min_support=0.002, max_length=4,
                                     in_memory_rows=in_memory_rows)
    table = found.to_pandas()
    return {tuple(i): int(c) for i, c in zip(table["items"], table["count"], strict=True)}, n


def test_spark_and_duckdb_give_the_same_baskets(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    duck = Workspace.init(tmp_path / "duck")
    generate_demo(duck, customers=600, days=365, seed=5)
    frames = {t: duck.warehouse().table(t).to_pandas().drop(columns=["load_id"])
              for t in TABLES}
    runs = [(rows, by) for rows in (0, 10**9) for by in ("product", "product_type")]
    d_sets = {run: _itemsets(duck, in_memory_rows=run[0], by=run[1]) for run in runs}
    d_rules = basket_rules(duck, min_support=0.002, min_confidence=0.05, max_length=3)
    duck.close()
    # the Spark session is shared by the test run; closing the workspace would stop it
    spark = Workspace.init(tmp_path / "spark", backend="pyspark")
    for name in TABLES:
        load_frame(spark, name, frames[name], source=f"test:{name}")
    assert spark.warehouse().backend == "pyspark"

    for run in runs:
        s_found, s_n = _itemsets(spark, in_memory_rows=run[0], by=run[1])
        d_found, d_n = d_sets[run]
        assert s_n == d_n, run
        assert s_found == d_found, run
    # the warehouse path and the in-memory path agree, and found itemsets of 2+ items
    assert d_sets[(0, "product")] == d_sets[(10**9, "product")]
    assert max(len(k) for k in d_sets[(0, "product_type")][0]) >= 2

    s_rules = basket_rules(spark, min_support=0.002, min_confidence=0.05, max_length=3)
    assert s_rules.n_baskets == d_rules.n_baskets and s_rules.n_rules == d_rules.n_rules
    assert d_rules.n_rules > 0
    s_out, d_out = s_rules.to_dict(), d_rules.to_dict()
    key = lambda r: (tuple(r["antecedents"]), tuple(r["consequents"]))  # noqa: E731
    assert sorted(s_out["rules"], key=key) == sorted(d_out["rules"], key=key)
    assert s_out == d_out  # the same order too: ties in lift are broken by the items
