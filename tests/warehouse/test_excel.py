"""An Excel workbook loads like a CSV file: its first sheet, cells as text, rows numbered as
the sheet numbers them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from outsidein.errors import DataValidationError
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load import load_file
from outsidein.warehouse.options import LoadOptions

MAP = {"customer_id": "Customer ID", "ts": "Order Date", "quantity": "Qty",
       "revenue": "Amount"}


@pytest.fixture
def wh() -> Warehouse:
    return Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))


def workbook(path: Path, rows: list[list], header=("Customer ID", "Order Date", "Qty",
                                                      "Amount")) -> Path:
    wb = Workbook()
    sheet = wb.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    wb.create_sheet("Pivot").append(["not", "read"])
    wb.save(path)
    return path


def test_a_sales_export_loads_with_its_dates_ids_and_amounts(wh, tmp_path):
    path = workbook(tmp_path / "sales.xlsx", [
        ["00001", datetime(2024, 1, 31), 1, 11.77],
        ["00002", datetime(2024, 2, 1, 14, 30), 2, 1177],
        [],                                        # an empty row: skipped, still counted
        ["00003", datetime(2024, 2, 3), 1, "n/a"],  # text in the amount column
        ["Total", None, None, 1188.77],            # the totals row
    ])
    r = load_file(wh, "order_lines", path, options=LoadOptions(mapping=MAP))
    assert (r.loaded, r.quarantined) == (2, 2)
    got = wh.duckdb.execute("SELECT customer_id, ts, quantity, revenue FROM order_lines "
                            "ORDER BY ts").fetchall()
    assert got == [("00001", datetime(2024, 1, 31), 1, 11.77),
                   ("00002", datetime(2024, 2, 1, 14, 30), 2, 1177.0)]
    bad = wh.duckdb.execute('SELECT row_number, "column", reason, raw FROM quarantine '
                            "ORDER BY row_number").fetchall()
    # rows 4 and 5 after the header, as Excel shows them (row 3 is the empty one)
    assert [(n, c) for n, c, _, _ in bad] == [(4, "revenue"), (5, "ts")]
    assert json.loads(bad[0][3])["Amount"] == "n/a"


def test_a_workbook_that_cannot_be_read_says_what_to_do(wh, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    with pytest.raises(DataValidationError, match=r"broken.xlsx: cannot be read as an Excel "
                       r"workbook .*export the sheet as CSV"):
        load_file(wh, "order_lines", broken, options=LoadOptions(mapping=MAP))
    # the header is checked as a CSV file's is: names compared ignoring case
    twice = workbook(tmp_path / "twice.xlsx", [["c1", datetime(2024, 1, 1), 1, 2]],
                     header=("Customer ID", "Qty", "qty", "Amount"))
    with pytest.raises(DataValidationError, match=r"the header row names column 'Qty' and "
                       r"'qty' twice \(columns 2 and 3; names are compared ignoring case\); "
                       r"rename one$"):
        load_file(wh, "order_lines", twice, options=LoadOptions(mapping=MAP))
    # a value under a header cell left empty is not dropped
    unnamed = workbook(tmp_path / "unnamed.xlsx", [["c1", datetime(2024, 1, 1), 1, 2, "x"]])
    with pytest.raises(DataValidationError, match="column 5 of the header row has no name; "
                       "give every column a name"):
        load_file(wh, "order_lines", unnamed, options=LoadOptions(mapping=MAP))
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataValidationError, match=r"save an old .xls workbook as .xlsx"):
        load_file(wh, "order_lines", old)
