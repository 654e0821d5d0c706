"""``context_lift`` on a local-mode Spark warehouse gives DuckDB's findings: the same Ibis
expressions, unchanged, on a small demo company."""

from __future__ import annotations

from pathlib import Path

import pytest

from outsidein.demo.company import generate_demo
from outsidein.services.data import load_frame
from outsidein.services.market.context import context_lift
from outsidein.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TABLES = ("customers", "products", "order_lines", "context_events")


def test_spark_and_duckdb_give_the_same_findings(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    duck = Workspace.init(tmp_path / "duck")
    generate_demo(duck, customers=1000, days=365, seed=3)
    frames = {t: duck.warehouse().table(t).to_pandas().drop(columns=["load_id"])
              for t in TABLES}
    d_res = context_lift(duck).findings
    duck.close()
    # the Spark session is shared by the test run; closing the workspace would stop it
    spark = Workspace.init(tmp_path / "spark", backend="pyspark")
    for name in TABLES:
        load_frame(spark, name, frames[name], source=f"test:{name}")
    s_res = context_lift(spark).findings
    assert spark.warehouse().backend == "pyspark"

    assert d_res["significant"].sum() >= 1
    key = ["kind", "window", "product_id"]
    d, s = d_res.sort_values(key).reset_index(drop=True), s_res.sort_values(key)
    s = s.reset_index(drop=True)
    assert list(s["product_id"]) == list(d["product_id"])
    assert list(s["significant"]) == list(d["significant"])
    assert list(s["observed"]) == list(d["observed"])
    assert s["rate_ratio"].to_numpy() == pytest.approx(d["rate_ratio"].to_numpy(), rel=1e-9,
                                                       nan_ok=True)
