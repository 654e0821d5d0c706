"""The loader and the per-customer summary give identical results on DuckDB and on Spark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.services.data import load_file
from outsidein.warehouse import rollup
from outsidein.warehouse.summary import customer_summary
from outsidein.workspace import Workspace

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("spark_files")
    rng = np.random.default_rng(7)
    n = 3000
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(150)],
                              "region": rng.choice(["N", "S", "E"], 150)})
    customers.to_csv(folder / "customers.csv", index=False)
    days = rng.integers(0, 400, n)
    orders = pd.DataFrame({
        "order_id": [f"o{i // 2}" for i in range(n)],
        "customer_id": [f"c{i}" for i in rng.integers(0, 200, n)],  # c150+ become stubs
        "product_id": [f"p{i % 2}" for i in range(n)],
        "ts": (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D")
               + pd.to_timedelta(rng.integers(0, 86_400, n), "s")).astype(str),
        "quantity": rng.integers(1, 4, n).astype(str),
        "revenue": rng.gamma(2.0, 15.0, n).round(2).astype(str),
    })
    orders.loc[::97, "revenue"] = "n/a"
    orders.loc[::131, "ts"] = "yesterday"
    orders.iloc[:2000].to_csv(folder / "orders_a.csv", index=False)
    more = orders.iloc[1900:].copy()  # 100 rows overlap the first file
    more["quantity"] = more.quantity.astype(int)
    more["revenue"] = pd.to_numeric(more.revenue, errors="coerce")
    more["ts"] = pd.to_datetime(more.ts, errors="coerce")
    more.to_parquet(folder / "orders_b.parquet", index=False)
    with (folder / "costs.jsonl").open("w") as fh:
        for i in range(300):
            kind = ["support", "return", "delivery", "junk"][i % 4]
            fh.write(json.dumps({"customer_id": f"c{i % 180}", "ts": f"2023-0{1 + i % 9}-1{i % 10}",
                                 "kind": kind, "amount": round(float(rng.gamma(2, 5)), 2)}) + "\n")
    return {"customers": folder / "customers.csv", "orders_a": folder / "orders_a.csv",
            "orders_b": folder / "orders_b.parquet", "costs": folder / "costs.jsonl"}


PLAN = [("customers", "customers"), ("order_lines", "orders_a"), ("order_lines", "orders_b"),
        ("service_costs", "costs"), ("order_lines", "orders_a")]


def load_all(ws: Workspace, files: dict[str, Path]) -> list[dict]:
    out = []
    for table, name in PLAN:
        d = load_file(ws, table, files[name]).to_dict()
        out.append({k: v for k, v in d.items() if k not in ("load_id", "seconds")})
    return out


def table_frame(ws: Workspace, name: str, key: list[str]) -> pd.DataFrame:
    df = ws.warehouse().table(name).to_pandas()
    for col in df.columns:
        if df[col].dtype.kind == "f":
            df[col] = (df[col] * 100).round().astype("Int64")  # money at cents
        else:
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df.sort_values(key).reset_index(drop=True)


@pytest.fixture(scope="module")
def both(tmp_path_factory, files):
    duck = Workspace.init(tmp_path_factory.mktemp("duck") / "ws")
    spark = Workspace.init(tmp_path_factory.mktemp("spark") / "ws", backend="pyspark")
    reports = (load_all(duck, files), load_all(spark, files))
    yield duck, spark, reports
    duck.close()
    spark.close()


def test_load_reports_are_identical(both):
    _, _, (duck_reports, spark_reports) = both
    assert duck_reports == spark_reports
    first = duck_reports[1]
    assert first["quarantined"] > 0 and first["stubs_created"] > 0
    assert duck_reports[-1]["skipped_same_file"]


@pytest.mark.parametrize(("table", "key"), [
    ("customers", ["customer_id"]), ("order_lines", ["order_id", "product_id"]),
    ("service_costs", ["customer_id", "ts", "kind"]),
    ("quarantine", ["file", "row_number"]),
])
def test_loaded_rows_are_identical(both, table, key):
    duck, spark, _ = both
    d, s = table_frame(duck, table, key), table_frame(spark, table, key)
    d, s = d.drop(columns="load_id"), s.drop(columns="load_id")  # each load's own random id
    if table == "quarantine":
        d = d.assign(file=d.file.map(lambda p: Path(p).name))
        s = s.assign(file=s.file.map(lambda p: Path(p).name))
    pd.testing.assert_frame_equal(d, s, check_dtype=False)


def test_summary_is_identical(both):
    duck, spark, _ = both
    frames = []
    for ws in (duck, spark):
        s = customer_summary(ws.warehouse().table("order_lines"), calibration_end="2023-10-31",
                             holdout_end="2024-02-04")
        df = s.to_pandas().sort_values("customer_id").reset_index(drop=True)
        for col in ("recency", "T", "monetary_value", "monetary_value_holdout",
                    "duration_holdout"):
            df[col] = (df[col] * 100).round().astype("int64")
        frames.append(df)
    assert len(frames[0]) > 100
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)


def test_product_summary_from_duckdb_rollup_equals_spark_lines(both):
    """What the value engine reads: DuckDB's purchase_days rollup, Spark's order lines."""
    duck, spark, _ = both
    assert rollup.is_current(duck.warehouse()) and not rollup.is_current(spark.warehouse())
    frames = []
    for ws in (duck, spark):
        s = rollup.purchase_summary(ws.warehouse(), calibration_end="2023-10-31",
                                    holdout_end="2024-02-04", time_unit="days")
        df = s.to_pandas().sort_values("customer_id").reset_index(drop=True)
        for col in ("monetary_value", "monetary_value_holdout"):
            df[col] = (df[col] * 100).round().astype("int64")
        frames.append(df)
    assert len(frames[0]) > 100
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)


def test_summary_to_the_last_purchase_is_identical(both):
    duck, spark, _ = both
    frames = [customer_summary(ws.warehouse().table("order_lines"), time_unit="days")
              .to_pandas().sort_values("customer_id").reset_index(drop=True)
              for ws in (duck, spark)]
    for df in frames:
        df["monetary_value"] = (df.monetary_value * 100).round().astype("int64")
    assert (frames[0]["T"] >= frames[0].recency).all()
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)


def test_spark_tables_survive_a_restart(both):
    _, spark, _ = both
    before = spark.warehouse().table("order_lines").count().execute()
    spark.close()
    reopened = Workspace.open(spark.root)
    assert reopened.warehouse().table("order_lines").count().execute() == before
    assert reopened.warehouse().table("loads").count().execute() == 4
