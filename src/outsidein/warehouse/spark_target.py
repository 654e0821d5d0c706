"""The loader's Spark side: validated rows appended as Parquet files to the Spark tables.

A load validates in an in-memory DuckDB (the same SQL as on a DuckDB
warehouse), then writes each table's new rows as one hidden Parquet file
under ``<workspace>/spark-warehouse/<table>`` (see
:mod:`outsidein.warehouse.spark_catalog`) and renames them into place only at
commit.  An interrupted load leaves only hidden files that Spark ignores and
the next load removes.

>>> report = load_file(Warehouse.open("pyspark", root=Path("acme")), "customers", "c.csv")
... # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from outsidein.errors import ConfigError
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.load_report import LoadReport
from outsidein.warehouse.schema import LOADS, MANAGED, QUARANTINE, TABLES, TableSpec
from outsidein.warehouse.spark_catalog import ARROW_TYPES, arrow_schema, table_dir
from outsidein.warehouse.sql import lit, q
from outsidein.warehouse.target import (
    Target,
    loads_values,
    new_rows_sql,
    quarantine_select,
    stubs_select,
)
from outsidein.warehouse.undo import NEEDS_DUCKDB, UndoReport

__all__ = ["SparkTarget"]

log = logging.getLogger(__name__)


class SparkTarget(Target):
    """Validate in an in-memory DuckDB; append Parquet files to the Spark tables at commit.

    >>> target = SparkTarget(Warehouse.open("pyspark", root=Path("acme")))  # doctest: +SKIP
    """

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self._imported: set[str] = set()
        self._staged: list[tuple[Path, Path]] = []
        self._obsolete: list[Path] = []
        self._touched: set[str] = set()

    # -- reading what is already there -------------------------------------------------
    def existing(self, table: str) -> str:
        if table not in self._imported:
            spec = MANAGED[table]
            cols = list(spec.column_names if table == LOADS.name else dict.fromkeys(
                (*spec.key, *(("is_stub",) if table == "customers" else ()))))
            data = self.wh.con.table(table).select(*cols).to_pyarrow()
            self.con.register("_oi_import", data)
            self.con.execute(f"CREATE TABLE {q('_oi_ex_' + table)} AS SELECT * FROM _oi_import")
            self.con.unregister("_oi_import")
            self._imported.add(table)
        return q("_oi_ex_" + table)

    # -- writing -----------------------------------------------------------------------
    def _stage(self, table: str, data: pa.Table, load_id: str) -> None:
        if data.num_rows == 0:
            return
        folder = table_dir(self.wh.root, table)
        tmp = folder / f".{load_id}.parquet.tmp"
        pq.write_table(data.cast(arrow_schema(MANAGED[table])), tmp)
        self._staged.append((tmp, folder / f"part-{load_id}.parquet"))
        self._touched.add(table)

    def _arrow(self, sql: str, spec: TableSpec, given: list[str]) -> pa.Table:
        data = self.con.sql(sql).to_arrow_table()
        columns = {}
        for c in spec.stored_columns:
            if c.name in given:
                columns[c.name] = data.column(given.index(c.name))
            else:
                columns[c.name] = pa.nulls(data.num_rows, ARROW_TYPES[c.dtype])
        return pa.table(columns)

    def write_rows(self, spec: TableSpec, load_id: str, *, replaced_stubs: int) -> int:
        self.cleanup_hidden()
        cols = list(spec.column_names)
        new = self._arrow(f"SELECT {', '.join(q(c) for c in cols)}, {lit(load_id)} AS load_id "
                          f"FROM {new_rows_sql()}", spec, [*cols, "load_id"])
        loaded = new.num_rows
        if replaced_stubs:
            new = pa.concat_tables([self._customers_without_replaced_stubs(), new])
        self._stage(spec.name, new, load_id)
        self._stage("customers", self._arrow(stubs_select(load_id), TABLES["customers"],
                                             ["customer_id", "first_seen", "is_stub", "load_id"]),
                    load_id + "-stubs")
        return loaded

    def check_undo(self, load_ids: list[str]) -> None:
        """Undoing (``--replace``) needs DuckDB: refused before any work is done."""
        if load_ids:
            raise ConfigError(NEEDS_DUCKDB)

    def remove_loads(self, load_ids: list[str]) -> UndoReport:
        raise ConfigError(NEEDS_DUCKDB)

    def write_bookkeeping(self, report: LoadReport, *, digest: str, fingerprint: str,
                          started: datetime, finished: datetime) -> None:
        self._stage(QUARANTINE.name, self._arrow(quarantine_select(report), QUARANTINE,
                                                 list(QUARANTINE.column_names)), report.load_id)
        row = dict(zip(LOADS.column_names,
                       loads_values(report, digest, started, finished, fingerprint), strict=True))
        self._stage(LOADS.name, pa.Table.from_pylist([row], schema=arrow_schema(LOADS)),
                    report.load_id)

    def _customers_without_replaced_stubs(self) -> pa.Table:
        """The current customers minus the stubs this load replaces (the folder is rewritten)."""
        folder = table_dir(self.wh.root, "customers")
        files = sorted(folder.glob("*.parquet"))
        self._obsolete.extend(files)
        if not files:
            return arrow_schema(TABLES["customers"]).empty_table()
        self.con.execute("CREATE OR REPLACE TEMP TABLE _oi_new_ids AS "
                         f"SELECT customer_id FROM {new_rows_sql()}")
        paths = ", ".join(lit(str(f)) for f in files)
        # by name: files written before rows kept their load_id lack that column
        files_sql = f"read_parquet([{paths}], union_by_name = true)"
        have = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {files_sql}").fetchall()}
        stored = [c.name for c in TABLES["customers"].stored_columns if c.name in have]
        return self._arrow(
            f"SELECT {', '.join(q(c) for c in stored)} FROM {files_sql} c "
            "WHERE NOT (coalesce(c.is_stub, false) "
            "AND c.customer_id IN (SELECT customer_id FROM temp._oi_new_ids))",
            TABLES["customers"], stored)

    def begin(self) -> None:
        """Nothing to start: new files stay hidden until :meth:`commit` renames them."""

    def commit(self) -> None:
        for tmp, final in self._staged:
            os.replace(tmp, final)
        for old in self._obsolete:
            old.unlink(missing_ok=True)
        for table in self._touched:
            self.wh.spark.sql(f"REFRESH TABLE `{table}`")
        self._staged.clear()

    def rollback(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged.clear()
        self._obsolete.clear()

    def cleanup_hidden(self) -> None:
        """Remove hidden files left by a load that was killed before its commit."""
        for spec in MANAGED.values():
            for tmp in table_dir(self.wh.root, spec.name).glob(".*.parquet.tmp"):
                tmp.unlink(missing_ok=True)

    def cleanup(self) -> None:
        super().cleanup()
        try:
            self.con.close()
        except Exception:  # pragma: no cover
            log.debug("closing the staging DuckDB failed", exc_info=True)
