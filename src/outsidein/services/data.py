"""The customer data use cases: load files and frames, the loads (list, undo), the status.

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

Every query is an Ibis expression, so this works on DuckDB and on Spark; the status
is :mod:`outsidein.services.status`'s (re-exported here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import ibis

from outsidein.config import SavedMapping, save_mapping, saved_mapping
from outsidein.services.status import (
    WarehouseStatus,
    options_summary,
    recent_loads,
    warehouse_status,
)
from outsidein.warehouse import load, undo
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.options import LoadOptions
from outsidein.warehouse.quality import clip
from outsidein.warehouse.schema import (
    LINE_COLUMN,
    QUARANTINE,
    table_spec,
)
from outsidein.warehouse.undo import UndoReport
from outsidein.workspace import Workspace

__all__ = ["LoadOptions", "LoadReport", "QuarantineReport", "UndoReport", "WarehouseStatus",
           "load_file", "load_frame", "load_options", "options_summary", "quarantine_report",
           "recent_loads", "save_load_options", "undo_load", "warehouse_status"]


def load_file(
    ws: Workspace,
    table: str,
    path: str | os.PathLike[str],
    *,
    options: LoadOptions | None = None,
    mapping: Mapping[str, str] | None = None,
    date_format: str | None = None,
    progress: load.Progress | None = None,
    replace: bool = False,
    max_bad_fraction: float | None = None,
) -> LoadReport:
    """Validate and load a CSV, Parquet or JSON Lines file into the workspace's *table*.

    The workspace's settings give the loader its memory limit
    (``OUTSIDEIN_LOAD_MEMORY_LIMIT``); everything else is
    :func:`outsidein.warehouse.load.load_file` (*replace* undoes the earlier
    loads of the same file first; *max_bad_fraction* fails a load with more
    bad rows than that share).

    >>> load_file(ws, "order_lines", "orders.csv", mapping={"order_id": "OrderNo"})
    ... # doctest: +SKIP
    """
    return load.load_file(ws.warehouse(), table, path, options=options, mapping=mapping,
                          date_format=date_format, progress=progress,
                          memory_limit=ws.settings.load_memory_limit, replace=replace,
                          max_bad_fraction=max_bad_fraction)


def load_options(
    ws: Workspace,
    *,
    mapping_name: str | None = None,
    maps: Mapping[str, str] | None = None,
    date_format: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
    allow_future: bool | None = None,
    decimal: str | None = None,
) -> LoadOptions:
    """The options of a load: a named mapping of ``outsidein.toml``, then the given overrides.

    Each argument that is not ``None`` wins over the named mapping's value;
    *maps* entries are added to (or replace) the mapping's ``map`` entries.

    >>> import tempfile
    >>> from outsidein.config import SavedMapping, save_mapping
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/acme")
    >>> _ = save_mapping(ws.root, "pos", SavedMapping(map={"ts": "Date", "revenue": "Amount"},
    ...                                               date_format="%d/%m/%Y"))
    >>> ws = Workspace.open(ws.root)
    >>> opts = load_options(ws, mapping_name="pos", maps={"revenue": "Net"}, delimiter=";")
    >>> sorted(opts.mapping.items()), opts.date_format, opts.delimiter
    ([('revenue', 'Net'), ('ts', 'Date')], '%d/%m/%Y', ';')
    >>> ws.close()
    """
    saved = saved_mapping(ws.config, mapping_name) if mapping_name else SavedMapping()
    given: dict[str, Any] = {
        "date_format": date_format, "delimiter": delimiter, "header": header,
        "columns": None if columns is None else tuple(columns), "encoding": encoding,
        "allow_future": allow_future, "decimal": decimal}
    values = {k: v if v is not None else getattr(saved, k) for k, v in given.items()}
    values = {k: v for k, v in values.items() if v is not None}
    return LoadOptions(mapping={**saved.map, **dict(maps or {})}, **values)


def save_load_options(ws: Workspace, name: str, options: LoadOptions) -> None:
    """Save *options* as the named mapping *name* in the workspace's ``outsidein.toml``.

    The next file of the same feed loads with ``--mapping NAME``.
    """
    d = options.to_dict()
    saved = SavedMapping(
        map=dict(d["mapping"]), date_format=d["date_format"], delimiter=d["delimiter"],
        header=None if d["header"] else False,
        columns=None if d["columns"] is None else tuple(d["columns"]),
        encoding=d["encoding"], allow_future=True if d["allow_future"] else None,
        decimal=d.get("decimal"))
    save_mapping(ws.root, name, saved)


def undo_load(ws: Workspace, load_id: str) -> UndoReport:
    """Remove one load's rows, quarantine entries and stub customers atomically.

    See :mod:`outsidein.warehouse.undo` (DuckDB warehouses only).
    """
    return undo.undo_load(ws.warehouse(), load_id)


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
