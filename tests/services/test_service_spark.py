"""The value service on a local-mode Spark warehouse gives DuckDB's results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oi_testkit as helpers
from outsidein.services.value import fit_value, score_value
from outsidein.workspace import Workspace

pytestmark = pytest.mark.spark



def _run(ws: Workspace, data: dict[str, pd.DataFrame]) -> tuple[object, pd.DataFrame]:
    helpers.fill(ws, data)
    holdout = fit_value(ws, holdout_weeks=20).holdout
    fit = fit_value(ws)
    score_value(ws)
    cv = ws.warehouse().table("customer_value").execute()
    return (fit, holdout), cv.sort_values("customer_id").reset_index(drop=True)


def test_spark_and_duckdb_give_the_same_customer_values(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    data = helpers.simulate_company(n=300, seed=4)
    duck = Workspace.init(tmp_path / "duck")
    (dfit, dhold), dcv = _run(duck, data)
    duck.close()
    # the Spark session is shared by the test run (engine.spark_session); closing this
    # workspace would stop it, so it stays open
    spark = Workspace.init(tmp_path / "spark", backend="pyspark")
    (sfit, shold), scv = _run(spark, data)
    assert spark.warehouse().backend == "pyspark"

    assert sfit.params == pytest.approx(dfit.params, rel=1e-6)
    # Gamma-Gamma's likelihood is flat along p x gamma: the last bits of the mean spends
    # (float sums differ across engines) move the optimum by ~1e-6
    assert sfit.spend_params == pytest.approx(dfit.spend_params, rel=1e-4)
    assert shold.actual_total == dhold.actual_total
    assert shold.predicted_total == pytest.approx(dhold.predicted_total, rel=1e-6)
    assert [b["customers"] for b in shold.buckets] == [b["customers"] for b in dhold.buckets]
    assert list(scv.customer_id) == list(dcv.customer_id)
    for col in ("frequency", "value_decile", "reason"):
        assert list(scv[col]) == list(dcv[col]), col
    for col in ("recency", "T", "monetary_value", "expected_purchases", "prob_alive",
                "expected_spend", "clv"):
        np.testing.assert_allclose(scv[col], dcv[col], rtol=1e-4, err_msg=col)
    left = [t for t in spark.warehouse().list_tables() if t.startswith(("_", "ibis_"))]
    assert left == []
