"""Two Spark workspaces opened one after the other in one process keep their tables apart.

Spark fixes its warehouse folder when the session starts; a session cached for
the first workspace would write the second's tables into the first's folder.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from outsidein.services.data import load_frame
from outsidein.workspace import Workspace

pytestmark = pytest.mark.spark


def parquet_files(root: Path, table: str) -> dict[str, int]:
    folder = root / "spark-warehouse" / table
    return {p.name: p.stat().st_size for p in folder.rglob("*.parquet")}


def test_a_second_spark_workspace_writes_into_its_own_folder(tmp_path):
    pytest.importorskip("pyspark")
    first = Workspace.init(tmp_path / "first", backend="pyspark")
    first.warehouse().write_table("scores", pd.DataFrame({"customer_id": ["a1", "a2"]}))
    first.close()
    before = parquet_files(first.root, "scores")
    assert before

    second = Workspace.init(tmp_path / "second", backend="pyspark")
    wh = second.warehouse()
    wh.write_table("scores", pd.DataFrame({"customer_id": ["b1"]}))
    load_frame(second, "products", pd.DataFrame({"product_id": ["p1"]}), source="erp")

    assert parquet_files(second.root, "scores")
    assert parquet_files(second.root, "products")
    assert parquet_files(first.root, "scores") == before
    assert not parquet_files(first.root, "products")
    assert sorted(wh.table("scores").to_pandas().customer_id) == ["b1"]
    second.close()

    # and the first workspace, opened again, still reads its own rows
    again = Workspace.open(first.root).warehouse()
    assert sorted(again.table("scores").to_pandas().customer_id) == ["a1", "a2"]
    assert again.is_empty("products")
    # a result table written in an earlier session is replaced in a new one (a second
    # 'outsidein analyze' in a new process); text arriving in several Arrow chunks is fine
    again.write_table("scores", pa.chunked_array([["c1"], ["c2", "c3"]]).to_pandas().to_frame(
        "customer_id"))
    expr = again.table("scores").mutate(n=ibis.literal(1))
    again.write_table("scored", expr)
    Workspace.open(second.root).warehouse()  # another session in between
    final = Workspace.open(first.root).warehouse()
    final.write_table("scores", pa.table({"customer_id": pa.chunked_array([["d1"], ["d2"]])}))
    final.write_table("scored", final.table("scores").mutate(n=ibis.literal(2)))
    assert sorted(final.table("scores").to_pandas().customer_id) == ["d1", "d2"]
    assert final.table("scored").to_pandas().n.tolist() == [2, 2]
