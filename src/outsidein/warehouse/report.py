"""What the warehouse holds: row counts, quarantine and recent loads.

Every query is an Ibis expression, so this works on DuckDB and on Spark.

>>> from outsidein.warehouse.report import warehouse_status            # doctest: +SKIP
>>> warehouse_status(ws).tables["order_lines"]                         # doctest: +SKIP
10000000
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from outsidein.warehouse._stage import LINE_COLUMN
from outsidein.warehouse.quality import clip
from outsidein.warehouse.schema import LOADS, QUARANTINE, TABLES, table_spec

if TYPE_CHECKING:
    from outsidein.report.html import Section
    from outsidein.workspace import Workspace


@dataclass(frozen=True)
class WarehouseStatus:
    """Row counts per canonical table, quarantined rows per table, the last loads."""

    backend: str
    tables: dict[str, int]
    quarantine: dict[str, int]
    loads: list[dict[str, Any]] = field(default_factory=list)
    other_tables: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QuarantineReport:
    """Why rows of one table were quarantined: reasons with counts, and the rows."""

    table: str
    total: int
    reasons: list[dict[str, Any]]
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(wh: Any, name: str) -> int:
    return int(wh.con.table(name).count().execute()) if wh.has_table(name) else 0


def warehouse_status(ws: Workspace, *, last_loads: int = 10) -> WarehouseStatus:
    """Row counts of every table, quarantine counts per table and the *last_loads* loads."""
    wh = ws.warehouse()
    tables = {name: _count(wh, name) for name in TABLES}
    book = {QUARANTINE.name, LOADS.name}
    other = {n: _count(wh, n) for n in wh.list_tables()
             if n not in tables and n not in book and not n.startswith("_")}
    quarantine: dict[str, int] = {}
    loads: list[dict[str, Any]] = []
    if wh.has_table(QUARANTINE.name):
        qt = wh.con.table(QUARANTINE.name)
        df = qt.group_by("table_name").aggregate(n=qt.count()).to_pyarrow().to_pylist()
        quarantine = {r["table_name"]: int(r["n"]) for r in df}
    if wh.has_table(LOADS.name):
        lt = wh.con.table(LOADS.name)
        loads = (lt.order_by(lt.finished.desc()).limit(last_loads)
                 .to_pyarrow().to_pylist())
    return WarehouseStatus(wh.backend, tables, quarantine, loads, other)


def quarantine_report(ws: Workspace, table: str, *, limit: int = 20) -> QuarantineReport:
    """Reasons (column, reason, rows, first row numbers) and up to *limit* quarantined rows."""
    spec = table_spec(table)
    wh = ws.warehouse()
    if not wh.has_table(QUARANTINE.name):
        return QuarantineReport(spec.name, 0, [], [])
    qt = wh.con.table(QUARANTINE.name)
    mine = qt.filter(qt.table_name == spec.name)
    total = int(mine.count().execute())
    reasons = (mine.group_by(["file", "column", "reason"])
               .aggregate(rows=mine.count(), first_row=mine.row_number.min())
               .order_by([ibis_desc("rows"), "column"]).to_pyarrow().to_pylist())
    rows = (mine.order_by(["file", "row_number"]).limit(limit)
            .select("file", "row_number", "column", "reason", "raw").to_pyarrow().to_pylist())
    for r in rows:
        r["value"] = _value_of(r.get("raw"), r.get("column"))
    return QuarantineReport(spec.name, total, reasons, rows)


def ibis_desc(name: str) -> Any:
    import ibis

    return ibis.desc(name)


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


def data_section(ws: Workspace) -> Section | None:
    """Report section: rows per table and the quarantine's reasons (None when nothing loaded)."""
    from outsidein.report.html import Section

    st = warehouse_status(ws, last_loads=10)
    if not any(st.tables.values()) and not st.quarantine:
        return None
    rows = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{n:,}</td><td>{st.quarantine.get(t, 0):,}</td></tr>"
        for t, n in st.tables.items())
    body = ("<table class='tbl'><tr><th>table</th><th>rows</th><th>quarantined</th></tr>"
            f"{rows}</table>")
    reasons_html = ""
    for t, n in st.quarantine.items():
        if not n:
            continue
        rep = quarantine_report(ws, t, limit=0)
        items = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{html.escape(str(r['column']))}</td>"
            f"<td>{html.escape(r['reason'])}</td><td>{r['rows']:,}</td>"
            f"<td>{r['first_row']}</td></tr>" for r in rep.reasons[:15])
        reasons_html += items
    if reasons_html:
        body += ("<h3>Quarantined rows by reason</h3><table class='tbl'><tr><th>table</th>"
                 "<th>column</th><th>reason</th><th>rows</th><th>first row</th></tr>"
                 f"{reasons_html}</table><p class='muted'>List them with "
                 "<code>outsidein quarantine TABLE</code>.</p>")
    total = sum(st.tables.values())
    bad = sum(st.quarantine.values())
    summary = (f"{total:,} rows in {sum(1 for n in st.tables.values() if n)} tables; "
               f"{bad:,} rows quarantined" + (" — see the reasons below." if bad else "."))
    return Section(title="Customer data", anchor="data", body_html=body, summary=summary)
