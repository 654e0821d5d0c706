"""The KPI watch's warehouse expressions give the same KPIs on Spark as on DuckDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from outsidein.services.market.kpis import compute_kpis
from outsidein.services.market.watch import watch_kpis
from outsidein.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CUSTOMERS, SEED, DAYS = 800, 11, 240


TABLES = ("customers", "order_lines", "interactions", "availability", "prospects")


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """One small demo in DuckDB, its canonical tables copied as they are into Spark."""
    pytest.importorskip("pyspark")
    from outsidein.demo.company import generate_demo

    extra = {"market": {"kpis": {"units": {"sql": "avg(quantity)"}}}}
    duck = Workspace.init(tmp_path_factory.mktemp("duckdb") / "ws")
    generate_demo(duck, customers=CUSTOMERS, seed=SEED, days=DAYS)
    spark = Workspace.init(tmp_path_factory.mktemp("pyspark") / "ws", backend="pyspark")
    out = {}
    try:
        with duck.reader() as con:
            out["duckdb"] = compute_kpis(con, extra=extra).frame
            for name in TABLES:
                spark.warehouse().write_table(name, con.table(name).to_pyarrow())
        with spark.reader() as con:
            out["pyspark"] = compute_kpis(con, extra=extra).frame
        out["watch"] = pd.DataFrame(watch_kpis(spark).to_dict()["kpis"])
    finally:
        duck.close()
        spark.close()
    return out


def test_the_same_kpis_on_both_engines(frames):
    key = ["kpi", "segment", "period"]
    d = frames["duckdb"].sort_values(key).reset_index(drop=True)
    s = frames["pyspark"].sort_values(key).reset_index(drop=True)
    assert len(d) > 1000 and d[key].equals(s[key])
    for col in ("num", "den", "events"):
        np.testing.assert_allclose(d[col].astype(float), s[col].astype(float), rtol=1e-9)


def test_the_watch_runs_on_spark(frames):
    assert {"repeat_rate", "churn", "aov", "complaints", "delivery_days", "conversion",
            "nps"} <= set(frames["watch"]["kpi"])
