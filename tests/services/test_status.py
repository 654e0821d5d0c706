"""The warehouse's status read with plain DuckDB SQL: right counts, never in the way, no Ibis."""

from __future__ import annotations

import subprocess
import sys

import pytest

from outsidein.errors import BusyError
from outsidein.services.data import load_file
from outsidein.services.status import warehouse_status
from outsidein.workspace import Workspace

ORDERS = ("order_id,customer_id,product_id,ts,quantity,revenue\n"
          "o1,c1,p1,2024-01-05,2,10.5\n"
          "o2,c1,p1,2024-01-06,x,3\n"
          "o3,c2,p1,2024-01-07,1,3\n")


@pytest.fixture
def loaded(workspace: Workspace, tmp_path) -> Workspace:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    load_file(workspace, "order_lines", path)
    workspace.close()
    return workspace


def test_status_counts_rows_quarantine_and_loads_from_the_file(loaded):
    st = warehouse_status(loaded)
    assert st.backend == "duckdb"
    assert st.tables["order_lines"] == 2 and st.tables["customers"] == 2
    assert st.quarantine == {"order_lines": 1}
    assert [(r["table_name"], r["rows_read"], r["loaded"]) for r in st.loads] == [
        ("order_lines", 3, 2)]
    assert "purchase_days" in st.other_tables and "loads" not in st.other_tables


def test_status_reads_while_this_process_has_the_warehouse_open(loaded):
    loaded.warehouse()  # open for writing, as a notebook or the web app would
    other = Workspace.open(loaded.root)
    try:
        assert warehouse_status(other).tables["order_lines"] == 2
        assert warehouse_status(loaded).tables["order_lines"] == 2
    finally:
        other.close()
        loaded.close()


def test_status_while_another_process_writes_says_to_try_again(loaded):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); sys.stdin.read()", str(loaded.warehouse_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(BusyError, match="try again"):
            warehouse_status(loaded)
    finally:
        holder.communicate("", timeout=30)


def test_status_of_a_workspace_without_a_warehouse_file_is_empty_and_creates_nothing(loaded):
    loaded.warehouse_path.unlink()
    st = warehouse_status(loaded)
    assert set(st.tables.values()) == {0} and st.loads == [] and st.quarantine == {}
    assert not loaded.warehouse_path.exists()
