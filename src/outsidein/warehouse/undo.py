"""The loads of a warehouse: list them, and undo one (``outsidein loads``, ``load --replace``).

Every canonical row carries the ``load_id`` of the load that wrote it (a stub
customer: the load that created it), and the quarantine and the ``loads``
record are keyed by it too, so one load can be taken out again exactly:

* its rows in every canonical table, its quarantine entries (and its rows in
  any other table of :data:`~outsidein.warehouse.schema.LOAD_KEYED`) and its
  ``loads`` record are deleted, in one DuckDB transaction;
* a customer it wrote (a stub or a real record) that rows of other loads
  still reference stays, as a stub of the load of the earliest such row; so
  no order line, interaction or cost is left without its customer, and a
  stub that nothing references any more goes;
* the ``purchase_days`` rollup is recomputed for the customers whose order
  lines went (:func:`outsidein.warehouse.rollup.remove_lines`).

Loads written before rows carried their load (``loads.options`` is null)
cannot be undone: their rows are not told apart.  A Spark warehouse cannot
undo either (its Parquet files would have to be rewritten, table by table,
without a transaction): :class:`~outsidein.errors.ConfigError` says so.

>>> import tempfile
>>> from pathlib import Path
>>> from outsidein.warehouse.engine import Warehouse
>>> from outsidein.warehouse.load import load_file
>>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
>>> path = Path(tempfile.mkdtemp()) / "lines.csv"
>>> _ = path.write_text("customer_id,ts,quantity,revenue\\nc1,2024-01-05,1,9.5\\n")
>>> report = load_file(wh, "order_lines", path)
>>> [r["load_id"] == report.load_id for r in list_loads(wh)]
[True]
>>> undone = undo_load(wh, report.load_id)
>>> undone.rows, wh.count("order_lines"), wh.count("customers"), list_loads(wh)
({'customers': 1, 'order_lines': 1}, 0, 0, [])
>>> wh.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from outsidein.errors import ConfigError, DataValidationError, NotFoundError
from outsidein.warehouse import rollup
from outsidein.warehouse.engine import Warehouse, ensure_schema
from outsidein.warehouse.inventory import decoded_load
from outsidein.warehouse.schema import LOAD_KEYED, LOADS, TABLES
from outsidein.warehouse.sql import lit, q

__all__ = ["UndoReport", "check_undoable", "find_load", "list_loads", "remove_loads",
           "undo_load"]

#: customers the undone loads wrote (stubs or real records), before they are deleted
GONE_CUSTOMERS = "temp._oi_undo_customers"
#: customers whose order lines the undone loads wrote (their rollup days are recomputed)
BUYERS = "temp._oi_undo_buyers"
NEEDS_DUCKDB = ("undoing a load needs a DuckDB warehouse (a Spark warehouse's Parquet files "
                "cannot be rewritten in one transaction); load into a fresh Spark workspace, "
                "or use backend 'duckdb'")


@dataclass(frozen=True)
class UndoReport:
    """What undoing one or more loads removed.

    >>> UndoReport(("ab12",), {"order_lines": 3}, quarantined=1).summary()
    'undid load ab12: removed 3 order_lines rows, 1 quarantined rows'
    """

    load_ids: tuple[str, ...]
    #: canonical table -> rows deleted (customers: stubs and records the loads wrote)
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    #: customers the loads wrote that other loads' rows still reference (kept as stubs)
    kept_as_stubs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        d = asdict(self)
        d["load_ids"] = list(self.load_ids)
        return d

    def summary(self) -> str:
        """One line for people."""
        parts = [f"{n:,} {t} rows" for t, n in self.rows.items() if n]
        parts.append(f"{self.quarantined:,} quarantined rows")
        if self.kept_as_stubs:
            parts.append(f"kept {self.kept_as_stubs:,} customers other loads reference, as stubs")
        loads = ", ".join(self.load_ids)
        return f"undid load{'s' if len(self.load_ids) > 1 else ''} {loads}: removed " + \
            ", ".join(parts)


def list_loads(wh: Warehouse) -> list[dict[str, Any]]:
    """Every load, the latest first, with its options (``None`` for an older load).

    Works on DuckDB and Spark (an Ibis query), and on an older warehouse
    without the options columns (read-only too).  See the module's example.
    """
    if not wh.has_table(LOADS.name):
        return []
    t = wh.table(LOADS.name)
    cols = [c for c in LOADS.column_names if c in t.columns]
    rows = t.select(*cols).order_by([t.finished.desc(), t.load_id]).to_pyarrow().to_pylist()
    return [decoded_load(r) for r in rows]


def find_load(con: Any, load_id: str) -> tuple[str, str, str, bool]:
    """``(load_id, table, file, undoable)`` of the load *load_id* (or a unique prefix of it).

    Raises
    ------
    NotFoundError
        No load has that id (the message says how to list them), or the prefix
        is shared by several loads.
    """
    wanted = load_id.strip().lower()
    rows = con.execute(
        f"SELECT load_id, table_name, file, options IS NOT NULL FROM main.{LOADS.name} "
        f"WHERE load_id = {lit(wanted)} OR (length({lit(wanted)}) >= 4 AND "
        f"starts_with(load_id, {lit(wanted)})) ORDER BY load_id = {lit(wanted)} DESC, load_id"
    ).fetchall() if wanted else []
    if rows and rows[0][0] == wanted:
        rows = rows[:1]
    if len(rows) != 1:
        found = "no load has" if not rows else f"{len(rows)} loads have"
        raise NotFoundError(
            f"{found} the id {load_id!r}; list the loads and their ids with: outsidein loads")
    lid, table, file, undoable = rows[0]
    return str(lid), str(table), str(file), bool(undoable)


def check_undoable(con: Any, load_ids: Sequence[str]) -> None:
    """Raise when a load was written before rows recorded their load (it cannot be undone)."""
    if not load_ids:
        return
    old = [str(r[0]) for r in con.execute(
        f"SELECT load_id FROM main.{LOADS.name} WHERE load_id IN ({_ids(load_ids)}) "
        "AND options IS NULL ORDER BY load_id").fetchall()]
    if old:
        raise DataValidationError(
            f"load {', '.join(old)} was made by an older version of Outside-In, whose rows do "
            "not record the load that wrote them, so it cannot be undone or replaced; to start "
            "again from clean data, load the files into a new workspace (outsidein init DIR)")


def undo_load(wh: Warehouse, load_id: str) -> UndoReport:
    """Remove load *load_id* (or a unique prefix of it) atomically; see the module's text.

    Raises
    ------
    NotFoundError
        No such load.
    ConfigError
        The warehouse is not DuckDB.
    DataValidationError
        The load was written by an older version (its rows carry no load id).
    """
    if wh.backend != "duckdb":
        raise ConfigError(NEEDS_DUCKDB)
    ensure_schema(wh)
    con = wh.duckdb
    lid, _, _, _ = find_load(con, load_id)
    check_undoable(con, [lid])
    con.execute("BEGIN TRANSACTION")
    try:
        report = remove_loads(con, [lid])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def remove_loads(con: Any, load_ids: Sequence[str]) -> UndoReport:
    """Delete the rows, quarantine entries and records of *load_ids*, in the caller's transaction.

    *con* is the DuckDB warehouse's connection; the caller has checked the
    loads with :func:`check_undoable`.
    """
    ids = _ids(load_ids)
    mine = f"load_id IN ({ids})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {GONE_CUSTOMERS} AS "
                f"SELECT customer_id FROM main.customers WHERE {mine}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BUYERS} AS SELECT DISTINCT customer_id "
                f"FROM main.{rollup.SOURCE} WHERE {mine}")
    deleted: dict[str, int] = {}
    for name in TABLES:
        n = int(con.execute(f"DELETE FROM main.{q(name)} WHERE {mine}").fetchone()[0])
        if n:
            deleted[name] = n
    quarantined = 0
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                         "WHERE schema_name = 'main'").fetchall()}
    for name in LOAD_KEYED:
        if name in present:
            n = int(con.execute(f"DELETE FROM main.{q(name)} WHERE {mine}").fetchone()[0])
            quarantined += n if name == "quarantine" else 0
    con.execute(f"DELETE FROM main.{LOADS.name} WHERE {mine}")
    kept = _restub(con) if deleted.get("customers") else 0
    if kept:
        deleted["customers"] -= kept
        deleted = {t: n for t, n in deleted.items() if n}
    if deleted.get(rollup.SOURCE):
        rollup.remove_lines(con, BUYERS, removed=deleted[rollup.SOURCE])
    for t in (GONE_CUSTOMERS, BUYERS):
        con.execute(f"DROP TABLE {t}")
    return UndoReport(tuple(load_ids), dict(sorted(deleted.items())), quarantined, kept)


def _restub(con: Any) -> int:
    """Stub the deleted customers that remaining rows reference; return how many.

    A kept stub belongs to the load of the earliest row that references it
    (``first_seen`` is that row's time stamp), so undoing that load in turn
    removes it.
    """
    refs = []
    for spec in TABLES.values():
        for column, (ref_table, _) in spec.references.items():
            if ref_table != "customers":
                continue
            ts = "ts" if "ts" in spec.column_names else "CAST(NULL AS TIMESTAMP)"
            refs.append(f"SELECT {q(column)} AS customer_id, {ts} AS ts, load_id "
                        f"FROM main.{q(spec.name)} WHERE {q(column)} IN "
                        f"(SELECT customer_id FROM {GONE_CUSTOMERS})")
    return int(con.execute(
        "INSERT INTO main.customers (customer_id, first_seen, is_stub, load_id) "
        "SELECT customer_id, min(ts), true, arg_min(load_id, coalesce(ts, TIMESTAMP '9999-12-31')) "
        f"FROM ({' UNION ALL '.join(refs)}) GROUP BY customer_id").fetchone()[0])


def _ids(load_ids: Sequence[str]) -> str:
    return ", ".join(lit(i) for i in load_ids)
