"""Where a load's validated rows go: the DuckDB warehouse itself, or a Spark warehouse.

The loader validates in DuckDB, always: on a DuckDB warehouse in the
warehouse's own connection (:class:`DuckTarget`), on Spark in an in-memory
DuckDB (:class:`~outsidein.warehouse.spark_target.SparkTarget`).  Both read
the load's working tables named here (typed rows, failure kinds, duplicates,
stub customers) and write what :func:`new_rows_sql`, :func:`stubs_select`,
:func:`quarantine_select` and :func:`loads_values` describe.

>>> print(new_rows_sql())  # doctest: +NORMALIZE_WHITESPACE
(SELECT * FROM temp._oi_typed g WHERE g._fail IS NULL AND NOT EXISTS
 (SELECT 1 FROM temp._oi_skip s WHERE s._row = g._row))
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from outsidein.warehouse import rollup, undo
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.schema import LOADS, QUARANTINE, TableSpec
from outsidein.warehouse.sql import lit, q

__all__ = ["FAILURES", "SKIP", "STUBS", "TEMP_TABLES", "TYPED", "DuckTarget", "Target",
           "loads_values", "new_rows_sql", "quarantine_select", "stubs_select"]

log = logging.getLogger(__name__)

#: every row of the source, typed, with ``_row``, ``_fail`` (first failing rule) and ``_raw``
TYPED = "temp._oi_typed"
#: ``_fail`` number -> the failing rule's column and reason
FAILURES = "temp._oi_fail"
#: row numbers of valid rows that duplicate an earlier row or a row already loaded
SKIP = "temp._oi_skip"
#: customers the new rows reference that do not exist yet
STUBS = "temp._oi_stubs"
TEMP_TABLES = ("_oi_raw", "_oi_typed", "_oi_fail", "_oi_dups", "_oi_skip", "_oi_stubs",
               "_oi_attrs")


def new_rows_sql() -> str:
    """The rows this load adds: valid, first of their key in the source, not already loaded."""
    return (f"(SELECT * FROM {TYPED} g WHERE g._fail IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {SKIP} s WHERE s._row = g._row))")


def stubs_select(load_id: str) -> str:
    """The stub customers of load *load_id*: ``customer_id, first_seen, is_stub, load_id``.

    >>> stubs_select("l1").startswith("SELECT customer_id, first_seen, true AS is_stub, 'l1'")
    True
    """
    return (f"SELECT customer_id, first_seen, true AS is_stub, {lit(load_id)} AS load_id "
            f"FROM {STUBS} ORDER BY customer_id")


def quarantine_select(report: LoadReport) -> str:
    """The quarantine rows of this load, in :data:`QUARANTINE` column order.

    >>> print(quarantine_select(LoadReport("products", "p.csv", "l1")))
    ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    SELECT 'l1', 'products', 'p.csv', t._row, f._col, f._reason, t._raw FROM temp._oi_typed t ...
    """
    return (f"SELECT {lit(report.load_id)}, {lit(report.table)}, {lit(report.file)}, t._row, "
            f"f._col, f._reason, t._raw FROM {TYPED} t JOIN {FAILURES} f USING (_fail) "
            "ORDER BY t._row")


def loads_values(report: LoadReport, digest: str, started: datetime,
                 finished: datetime, fingerprint: str) -> list[Any]:
    """One ``loads`` row, in :data:`LOADS` column order (options as JSON).

    >>> t = datetime(2024, 5, 31)
    >>> loads_values(LoadReport("products", "p.csv", "l1", rows_read=2, loaded=2,
    ...                         options={"header": True}), "ab", t, t, "f1")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['l1', 'products', 'p.csv', 'ab', datetime.datetime(2024, 5, 31, 0, 0),
     datetime.datetime(2024, 5, 31, 0, 0), 2, 2, 0, 0, 0, '{"header": true}', 'f1']
    """
    return [report.load_id, report.table, report.file, digest, started, finished,
            report.rows_read, report.loaded, report.quarantined, report.duplicates,
            report.stubs_created, json.dumps(report.options or {}, sort_keys=True), fingerprint]


class Target(ABC):
    """Where validated rows go.  ``con`` is the DuckDB connection that validates.

    >>> import duckdb
    >>> DuckTarget(duckdb.connect(), memory_limit="1GB").existing("customers")
    'main."customers"'
    """

    con: Any

    def earlier_loads(self, table: str, digest: str) -> list[tuple[str, str | None]]:
        """``(load_id, options fingerprint)`` of each load of a file with this SHA-256 into *table*.

        The fingerprint is ``None`` for a load written before loads kept their
        options; the oldest load comes first.
        """
        # literals, not parameters: binding parameters makes duckdb import pandas (~1 s)
        rows = self.con.execute(
            f"SELECT load_id, options_fingerprint FROM {self.existing('loads')} "
            f"WHERE table_name = {lit(table)} AND file_sha256 = {lit(digest)} "
            "ORDER BY finished, load_id").fetchall()
        return [(str(r[0]), None if r[1] is None else str(r[1])) for r in rows]

    def check_undo(self, load_ids: list[str]) -> None:
        """Raise unless the loads *load_ids* can be undone here (before any work is done)."""
        undo.check_undoable(self.con, load_ids)

    def remove_loads(self, load_ids: list[str]) -> undo.UndoReport:
        """Inside the load's transaction: take the earlier loads *load_ids* out (``--replace``)."""
        return undo.remove_loads(self.con, load_ids)

    @abstractmethod
    def existing(self, table: str) -> str:
        """SQL name, in ``con``, of the rows already in *table*."""

    @abstractmethod
    def begin(self) -> None:
        """Start the writes (after validation, which touches only temp tables)."""

    @abstractmethod
    def commit(self) -> None:
        """Make every write of the load visible at once."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo every write of the load."""

    @abstractmethod
    def write_rows(self, spec: TableSpec, load_id: str, *, replaced_stubs: int) -> int:
        """Add the new rows and stub customers; return the number of new rows."""

    @abstractmethod
    def write_bookkeeping(self, report: LoadReport, *, digest: str, fingerprint: str,
                          started: datetime, finished: datetime) -> None:
        """Add the load's quarantined rows and its ``loads`` record."""

    def cleanup(self) -> None:
        """Drop the working tables (always runs, after a commit, a rollback or an error)."""
        for t in TEMP_TABLES:
            try:
                self.con.execute(f"DROP TABLE IF EXISTS temp.{t}")
            except Exception:  # a closed or failed connection has nothing to drop
                log.debug("could not drop temp.%s", t, exc_info=True)


class DuckTarget(Target):
    """The DuckDB warehouse itself: one transaction around all the writes.

    DuckDB's memory is capped at *memory_limit* (e.g. ``"2GB"``) while the
    load runs, so 10M-line files fit in a small machine: DuckDB spills beyond
    it.  The previous limit is restored by :meth:`cleanup`.
    """

    def __init__(self, con: Any, *, memory_limit: str) -> None:
        self.con = con
        self._memory_limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        con.execute(f"SET memory_limit = {lit(memory_limit)}")

    def existing(self, table: str) -> str:
        return f"main.{q(table)}"

    def cleanup(self) -> None:
        super().cleanup()
        try:
            self._restore_memory_limit()
        except Exception:  # pragma: no cover - a closed connection keeps nothing
            log.debug("could not restore memory_limit", exc_info=True)

    def _restore_memory_limit(self) -> None:
        # DuckDB shows the limit rounded ('18.8 GiB'): setting that text back would lower
        # it a little on every load, so the default comes back by RESET
        self.con.execute("RESET memory_limit")
        now = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        if now != self._memory_limit:  # a limit of the caller's own: as near as DuckDB says
            self.con.execute(f"SET memory_limit = {lit(self._memory_limit)}")

    def begin(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.con.execute("ROLLBACK")
        except Exception:  # the failed statement may have ended the transaction already
            log.debug("rollback without transaction", exc_info=True)

    def write_rows(self, spec: TableSpec, load_id: str, *, replaced_stubs: int) -> int:
        con = self.con
        cols = ", ".join(q(c) for c in spec.column_names)
        if replaced_stubs:
            con.execute(f"DELETE FROM main.customers c WHERE coalesce(c.is_stub, false) AND "
                        f"c.customer_id IN (SELECT customer_id FROM {new_rows_sql()})")
        con.execute("SET preserve_insertion_order = false")  # rows are keyed, order is moot
        try:
            loaded = int(con.execute(
                f"INSERT INTO main.{q(spec.name)} ({cols}, load_id) "
                f"SELECT {cols}, {lit(load_id)} FROM {new_rows_sql()}").fetchone()[0])
        finally:
            con.execute("RESET preserve_insertion_order")
        con.execute("INSERT INTO main.customers (customer_id, first_seen, is_stub, load_id) "
                    + stubs_select(load_id))
        if spec.name == rollup.SOURCE:  # same transaction: the rollup moves with the lines
            rollup.add_lines(con, f"SELECT {cols} FROM {new_rows_sql()}", added=loaded)
        return loaded

    def write_bookkeeping(self, report: LoadReport, *, digest: str, fingerprint: str,
                          started: datetime, finished: datetime) -> None:
        qcols = ", ".join(q(c) for c in QUARANTINE.column_names)
        self.con.execute(f"INSERT INTO main.quarantine ({qcols}) " + quarantine_select(report))
        lcols = LOADS.column_names
        values = ", ".join(
            f"TIMESTAMP {lit(v.isoformat(sep=' '))}" if isinstance(v, datetime)
            else lit(v) if isinstance(v, str) else str(int(v))
            for v in loads_values(report, digest, started, finished, fingerprint))
        self.con.execute(f"INSERT INTO main.loads ({', '.join(q(c) for c in lcols)}) "
                         f"VALUES ({values})")
