"""Excel workbooks (``.xlsx``, ``.xlsm``) as the loader's input: the first sheet, as text.

A department's customer list or a shop's sales export often arrives as a workbook.  It is
read with openpyxl (read-only, values not formulas) into an Arrow table of text columns,
so that every rule of the loader applies as to a CSV file: numbers, dates (in any common
format, or as the cells' own dates), the quarantine with row numbers counted from the row
after the header.

Choices made here
-----------------
* **The first sheet** (a workbook's others are often pivots or notes); its first row that
  is not empty is the header.  Empty rows are skipped but counted: row *n* of the
  quarantine is the sheet's *n*-th row after the header, as Excel numbers it.
* **Cells become text**: a date cell becomes ISO 8601 (``2024-01-31`` or
  ``2024-01-31 14:30:00``), a whole number ``1177`` (not ``1177.0``), other numbers as
  Python writes them, so a column that mixes numbers and text (``n/a``) quarantines the
  text, as in a CSV file, instead of failing the whole sheet.
* **Nothing is dropped**: a value under a header cell left empty is an error naming the
  column, and the header's names are checked as a CSV file's are
  (:func:`~outsidein.warehouse.dialect.check_names`: empty or repeated in any case).
* openpyxl is pure Python (24,000 cells a second here: 3,002 rows of 4 columns in 0.50 s):
  a workbook is a person's export, not a 10-million-row feed (that is a CSV or Parquet
  file).

>>> from openpyxl import Workbook
>>> import tempfile
>>> wb = Workbook(); ws = wb.active
>>> ws.append(["Customer", "Amount"]); ws.append(["c1", 12.5]); ws.append(["c2", 3])
>>> path = Path(tempfile.mkdtemp()) / "sales.xlsx"; wb.save(path)
>>> table, rows = read_workbook(path)
>>> table.to_pylist(), rows
([{'Customer': 'c1', 'Amount': '12.5'}, {'Customer': 'c2', 'Amount': '3'}], [1, 2])
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa

from outsidein.errors import DataValidationError
from outsidein.warehouse.dialect import check_names

__all__ = ["read_workbook"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def read_workbook(path: Path) -> tuple[pa.Table, list[int]]:
    """The first sheet of the workbook at *path* as an Arrow table of text columns, and
    each row's number after the header (empty rows are left out, not renumbered).

    Raises
    ------
    DataValidationError
        Not a workbook openpyxl can read, no header row, or a header that names a column
        twice or leaves one with values unnamed.
    """
    from openpyxl import load_workbook  # only for workbooks: 0.15 s to import
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors
        raise DataValidationError(
            f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); "
            "save it from Excel as .xlsx, or export the sheet as CSV") from exc
    try:
        sheet = book.worksheets[0]
        rows = ([_text(v) for v in row] for row in sheet.iter_rows(values_only=True))
        header: list[str | None] | None = None
        data: list[list[str | None]] = []
        numbers: list[int] = []
        at = 0  # the sheet's row after the header
        for row in rows:
            at += header is not None
            if not any(v is not None for v in row):
                continue
            if header is None:
                header = row
            else:
                data.append(row)
                numbers.append(at)
    finally:
        book.close()
    if header is None:
        raise DataValidationError(f"{path.name}: its first sheet ({sheet.title!r}) is empty")
    # the columns that hold anything: empty ones on the right are formatting only
    k = max(max((i + 1 for i, v in enumerate(r) if v is not None), default=0)
            for r in (header, *data))
    names = tuple((header[i] or "").strip() if i < len(header) else "" for i in range(k))
    check_names(names, path.name, "header row", columns_option=False)
    columns = [[(r[i] if i < len(r) else None) for r in data] for i in range(k)]
    return pa.table({n: pa.array(c, type=pa.string())
                     for n, c in zip(names, columns, strict=True)}), numbers
