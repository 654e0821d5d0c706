"""The warehouse's status: rows per table, quarantined rows per table, the last loads.

``outsidein status`` imports this module alone, so it stays light: on a
DuckDB warehouse the file is read with plain SQL
(:mod:`outsidein.warehouse.inventory`: no Ibis, no store), which keeps the
command well under a second; on another engine the workspace's warehouse
answers through Ibis.

>>> import tempfile
>>> from outsidein.workspace import Workspace
>>> with Workspace.init(tempfile.mkdtemp() + "/acme") as ws:
...     ws.close()
...     st = warehouse_status(ws)
>>> st.backend, st.tables["customers"], st.loads
('duckdb', 0, [])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from outsidein.warehouse.attribute_inventory import attribute_inventory
from outsidein.warehouse.inventory import decoded_load, inventory
from outsidein.warehouse.schema import ATTRIBUTE_SPECS, LOADS, QUARANTINE, TABLES

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["WarehouseStatus", "options_summary", "recent_loads", "warehouse_status"]


@dataclass(frozen=True)
class WarehouseStatus:
    """Row counts per canonical table, quarantined rows per table, the last loads.

    ``attributes`` lists the columns of customers, prospects and products files
    kept besides the canonical ones: ``table``, ``attribute_table``, ``name``,
    ``type`` and ``entities`` (how many have a value).

    >>> WarehouseStatus("duckdb", {"customers": 2}, {}).to_dict()["tables"]
    {'customers': 2}
    """

    backend: str
    tables: dict[str, int]
    quarantine: dict[str, int]
    loads: list[dict[str, Any]] = field(default_factory=list)
    other_tables: dict[str, int] = field(default_factory=dict)
    attributes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The status as plain JSON-ready values."""
        return asdict(self)


def warehouse_status(ws: Workspace, *, last_loads: int = 10) -> WarehouseStatus:
    """Row counts of every table, quarantine counts per table and the *last_loads* loads.

    See the module's example.
    """
    if ws.config.warehouse_backend == "duckdb":
        with ws.duckdb_reader() as con:
            if con is None:  # no warehouse file yet: nothing loaded
                return WarehouseStatus("duckdb", dict.fromkeys(TABLES, 0), {})
            inv = inventory(con, TABLES, quarantine=QUARANTINE.name, loads=LOADS.name,
                            last_loads=last_loads,
                            book=[s.name for s in ATTRIBUTE_SPECS.values()])
            attributes = attribute_inventory(con)
        return WarehouseStatus("duckdb", inv.tables, inv.quarantine, inv.loads,
                               inv.other_tables, attributes)
    wh = ws.warehouse()
    tables = {name: wh.count(name) for name in TABLES}
    book = {QUARANTINE.name, LOADS.name, *(s.name for s in ATTRIBUTE_SPECS.values())}
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


def recent_loads(ws: Workspace, *, limit: int = 50) -> list[dict[str, Any]]:
    """The *limit* latest loads (``outsidein loads``), with their options in words.

    Each has the ``loads`` columns, ``options`` (a dict, ``None`` for an older
    load) and ``options_summary``.  As light as the status: plain DuckDB.
    """
    rows = [decoded_load(r) for r in warehouse_status(ws, last_loads=limit).loads]
    for r in rows:
        r["options_summary"] = options_summary(r["options"])
    return rows


def options_summary(options: Mapping[str, Any] | None) -> str:
    """The options of a load in a few words (``None``: an older load that kept none).

    >>> options_summary({"mapping": {"ts": "date"}, "date_format": "%Y%m%d", "header": True})
    'map ts=date; date %Y%m%d'
    >>> options_summary(None), options_summary({"header": True})
    ('(not recorded)', 'as found')
    """
    if options is None:
        return "(not recorded)"
    parts = []
    if options.get("mapping"):
        parts.append("map " + ", ".join(f"{k}={v}" for k, v in options["mapping"].items()))
    if options.get("date_format"):
        parts.append(f"date {options['date_format']}")
    if options.get("delimiter"):
        parts.append(f"delimiter {options['delimiter']!r}")
    if options.get("header") is False:
        parts.append("no header" + (f" ({', '.join(options['columns'])})"
                                    if options.get("columns") else ""))
    if options.get("encoding"):
        parts.append(f"encoding {options['encoding']}")
    if options.get("allow_future"):
        parts.append("future dates allowed")
    return "; ".join(parts) or "as found"
