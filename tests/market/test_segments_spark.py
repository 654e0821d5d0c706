"""``run_segments`` on a local-mode Spark warehouse gives DuckDB's segments: the same
Ibis expressions, unchanged, on a small demo company."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from outsidein.demo.company import generate_demo
from outsidein.services.data import load_frame
from outsidein.services.market.segments import SEGMENTS_TABLE, run_segments
from outsidein.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TABLES = ("customers", "products", "order_lines", "interactions", "availability")


def _segments(ws: Workspace) -> pd.DataFrame:
    t = ws.warehouse().table(SEGMENTS_TABLE).to_pandas()
    return t.sort_values("customer_id").reset_index(drop=True)


def test_spark_and_duckdb_give_the_same_segments(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    duck = Workspace.init(tmp_path / "duck")
    generate_demo(duck, customers=400, days=240, seed=3)
    frames = {t: duck.warehouse().table(t).to_pandas().drop(columns=["load_id"])
              for t in TABLES}
    d_res = run_segments(duck)
    d_seg = _segments(duck)
    duck.close()
    # the Spark session is shared by the test run; closing the workspace would stop it
    spark = Workspace.init(tmp_path / "spark", backend="pyspark")
    for name in TABLES:
        load_frame(spark, name, frames[name], source=f"test:{name}")
    s_res = run_segments(spark)
    assert spark.warehouse().backend == "pyspark"
    s_seg = _segments(spark)

    assert list(s_seg.customer_id) == list(d_seg.customer_id)
    for col in ("segment", "rfm", "recency_days", "orders", "cluster", "cluster_name"):
        assert list(s_seg[col]) == list(d_seg[col]), col
    assert [c["profile"] for c in s_res.clusters] == [c["profile"] for c in d_res.clusters]
    assert [s["customers"] for s in s_res.segments] == [s["customers"] for s in d_res.segments]
    d_av = {(a["segment"], a["outcome"]): a for a in d_res.availability}
    for a in s_res.availability:
        b = d_av[(a["segment"], a["outcome"])]
        assert a["customers"] == b["customers"]
        if a["effect"] is not None:
            assert a["effect"] == pytest.approx(b["effect"], rel=1e-6)
    left = [t for t in spark.warehouse().list_tables() if t.startswith(("_oi_market", "ibis_"))]
    assert left == []
