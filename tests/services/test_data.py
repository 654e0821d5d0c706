"""The data use cases: load through the workspace, the status and the quarantine listing."""

from __future__ import annotations

import pytest

from outsidein.errors import DataValidationError
from outsidein.services.data import load_file, quarantine_report, warehouse_status
from outsidein.workspace import Workspace

ORDERS = ("order_id,customer_id,product_id,ts,quantity,revenue\n"
          "o1,c1,p1,2024-01-05,2,10.5\n"
          "o2,c1,p1,2024-01-06,x,3\n"
          "o3,c2,p1,2024-01-07,1,3\n"
          "o4,c2,p1,2024-01-07,1,\n"
          "o5,c2,p1,2024-01-07,2,\n")


@pytest.fixture
def loaded(workspace, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    load_file(workspace, "order_lines", path)
    return workspace


def test_empty_workspace_has_no_loads(workspace):
    st = warehouse_status(workspace)
    assert st.loads == [] and not any(st.tables.values()) and st.quarantine == {}


def test_status_counts_rows_quarantine_and_loads(loaded):
    st = warehouse_status(loaded)
    assert st.tables["order_lines"] == 2 and st.tables["customers"] == 2
    assert st.quarantine == {"order_lines": 3}
    assert st.loads[0]["rows_read"] == 5


def test_quarantine_report_groups_reasons_and_lists_rows(loaded):
    rep = quarantine_report(loaded, "order_lines", limit=2)
    assert rep.total == 3
    assert [(r["column"], r["reason"], r["rows"], r["first_row"]) for r in rep.reasons] == [
        ("revenue", "missing required value", 2, 4),
        ("quantity", "expected a whole number", 1, 2),
    ]
    assert [(r["row_number"], r["value"]) for r in rep.rows] == [(2, "x"), (4, None)]
    with pytest.raises(DataValidationError, match="unknown table"):
        quarantine_report(loaded, "orderlines")


def test_load_report_reads_well_in_a_notebook(workspace, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("product_id,unit_cost\np1,2.5\np2,-1\n")
    r = load_file(workspace, "products", path)
    assert "read 2 rows from p.csv: 1 loaded, 1 quarantined" in repr(r)
    assert "<td>quarantined: unit_cost: below the minimum 0</td><td>1</td>" in r._repr_html_()


def test_the_memory_limit_set_after_import_caps_duckdb_during_the_load(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTSIDEIN_LOAD_MEMORY_LIMIT", "256MiB")  # after every import
    ws = Workspace.init(tmp_path / "ws")
    con = ws.warehouse().duckdb
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    seen = []

    def tick(step: str, done: int, total: int) -> None:
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])

    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    load_file(ws, "order_lines", path, progress=tick)
    assert set(seen[:-1]) == {"256.0 MiB"} and before != "256.0 MiB"
    # a second load does not lower it either
    load_file(ws, "products", tmp_path / "orders.csv", mapping={"product_id": "order_id"})
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
    ws.close()
