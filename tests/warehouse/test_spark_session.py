"""Two Spark workspaces opened one after the other in one process keep their tables apart.

Spark fixes its warehouse folder when the session starts; a session cached for
the first workspace would write the second's tables into the first's folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
