"""The customer data use cases: load files and frames, the warehouse's status, the quarantine.

>>> import tempfile
>>> import pandas as pd
>>> from outsidein.workspace import Workspace
>>> ws = Workspace.init(tempfile.mkdtemp() + "/acme")
>>> report = load_frame(ws, "customers", pd.DataFrame({"customer_id": ["c1", "c2", None]}),
...                     source="crm")
>>> report.loaded, report.quarantined
(2, 1)
>>> warehouse_status(ws).tables["customers"]
2
>>> quarantine_report(ws, "customers").reasons[0]["reason"]
'missing required value'
>>> ws.close()

Every query is an Ibis expression, so this works on DuckDB and on Spark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis

from outsidein.warehouse import load
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import clip
from outsidein.warehouse.schema import LINE_COLUMN, LOADS, QUARANTINE, TABLES, table_spec
from outsidein.workspace import Workspace

__all__ = ["LoadOptions", "LoadReport", "QuarantineReport", "WarehouseStatus", "load_file", "load_frame",
           "quarantine_report", "warehouse_status"]


def load_file(
    ws: Workspace,
    table: str,
    path: str | os.PathLike[str],
    *,
    options: LoadOptions | None = None,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
    progress: load.Progress | None = None,
) -> LoadReport:
    """Validate and load a CSV, Parquet or JSON Lines file into the workspace's *table*.

    The workspace's settings give the loader its memory limit
    (``OUTSIDEIN_LOAD_MEMORY_LIMIT``); everything else is
    :func:`outsidein.warehouse.load.load_file`.

    >>> load_file(ws, "order_lines", "orders.csv", mapping={"order_id": "OrderNo"})
    ... # doctest: +SKIP
    """
    return load.load_file(ws.warehouse(), table, path, options=options, mapping=mapping,
                          date_format=date_format, progress=progress,
                          memory_limit=ws.settings.load_memory_limit)


def load_frame(
    ws: Workspace,
    table: str,
    data: Any,
    *,
    source: str,
    progress: load.Progress | None = None,
) -> LoadReport:
    """Validate and load a ``pyarrow.Table`` or ``pandas.DataFrame`` into the workspace's *table*.

    See :func:`outsidein.warehouse.load.load_frame` and the module's example.
    """
    return load.load_frame(ws.warehouse(), table, data, source=source, progress=progress,
                           memory_limit=ws.settings.load_memory_limit)


@dataclass(frozen=True)
class WarehouseStatus:
    """Row counts per canonical table, quarantined rows per table, the last loads.

    >>> WarehouseStatus("duckdb", {"customers": 2}, {}).to_dict()["tables"]
    {'customers': 2}
    """

    backend: str
    tables: dict[str, int]
    quarantine: dict[str, int]
    loads: list[dict[str, Any]] = field(default_factory=list)
    other_tables: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The status as plain JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class QuarantineReport:
    """Why rows of one table were quarantined: reasons with counts, and the rows.

    >>> QuarantineReport("products", 0, [], []).to_dict()["total"]
    0
    """

    table: str
    total: int
    reasons: list[dict[str, Any]]
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        return asdict(self)


def warehouse_status(ws: Workspace, *, last_loads: int = 10) -> WarehouseStatus:
    """Row counts of every table, quarantine counts per table and the *last_loads* loads.

    See the module's example.
    """
    wh = ws.warehouse()
    tables = {name: wh.count(name) for name in TABLES}
    book = {QUARANTINE.name, LOADS.name}
    other = {n: wh.count(n) for n in wh.list_tables()
             if n not in tables and n not in book and not n.startswith("_")}
    quarantine: dict[str, int] = {}
    loads: list[dict[str, Any]] = []
    if wh.has_table(QUARANTINE.name):
        qt = wh.table(QUARANTINE.name)
        df = qt.group_by("table_name").aggregate(n=qt.count()).to_pyarrow().to_pylist()
        quarantine = {r["table_name"]: int(r["n"]) for r in df}
    if wh.has_table(LOADS.name):
        lt = wh.table(LOADS.name)
        loads = (lt.order_by(lt.finished.desc()).limit(last_loads)
                 .to_pyarrow().to_pylist())
    return WarehouseStatus(wh.backend, tables, quarantine, loads, other)


def quarantine_report(ws: Workspace, table: str, *, limit: int = 20) -> QuarantineReport:
    """Reasons (column, reason, rows, first row numbers) and up to *limit* quarantined rows.

    See the module's example.
    """
    spec = table_spec(table)
    wh = ws.warehouse()
    if not wh.has_table(QUARANTINE.name):
        return QuarantineReport(spec.name, 0, [], [])
    qt = wh.table(QUARANTINE.name)
    mine = qt.filter(qt.table_name == spec.name)
    total = int(mine.count().execute())
    reasons = (mine.group_by(["file", "column", "reason"])
               .aggregate(rows=mine.count(), first_row=mine.row_number.min())
               .order_by([ibis.desc("rows"), "column"]).to_pyarrow().to_pylist())
    rows = (mine.order_by(["file", "row_number"]).limit(limit)
            .select("file", "row_number", "column", "reason", "raw").to_pyarrow().to_pylist())
    for r in rows:
        r["value"] = _value_of(r.get("raw"), r.get("column"))
    return QuarantineReport(spec.name, total, reasons, rows)


def _value_of(raw: str | None, column: str | None) -> Any:
    """The offending value from the raw JSON row (by canonical name, else any mapped one)."""
    if not raw or not column:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if column == LINE_COLUMN:  # a line the reader could not parse: raw is {"line": text}
        return clip(str(doc.get("line", "")), 200)
    return doc.get(column)
