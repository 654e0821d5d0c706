"""The analytics warehouse: an Ibis connection (DuckDB file by default, Spark for scale).

Every heavy query in Outside-In is an Ibis expression built against
:meth:`Warehouse.table`, so the same code runs on DuckDB and on PySpark.
Backend-specific fast paths (e.g. DuckDB's CSV reader in the loader) check
:attr:`Warehouse.backend` and keep an engine-neutral fallback.

>>> from pathlib import Path
>>> import pandas as pd
>>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
>>> ensure_schema(wh)
>>> wh.is_empty("order_lines")
True
>>> _ = wh.write_table("scores", pd.DataFrame({"customer_id": ["c1", "c2"]}))
>>> wh.count("scores"), wh.count("no_such_table")
(2, 0)
>>> wh.close()
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from outsidein.errors import ConfigError, MissingDataError
from outsidein.warehouse.lock import open_waiting
from outsidein.warehouse.quality import SQL_TYPES
from outsidein.warehouse.schema import MANAGED, ROLLUP_SPECS, TableSpec
from outsidein.warehouse.spark_catalog import register_tables, table_dir
from outsidein.warehouse.sql import count_rows, q

__all__ = ["Warehouse", "ensure_schema", "spark_session"]

log = logging.getLogger(__name__)


@dataclass
class Warehouse:
    """A connected warehouse. ``con`` is the Ibis backend.

    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> wh.backend, wh.list_tables()
    ('duckdb', [])
    >>> wh.close()
    """

    con: Any
    backend: str
    root: Path
    spark: Any = None

    @classmethod
    def open(cls, backend: str, *, root: Path, path: Path | None = None,
             spark_master: str = "local[2]",
             connect_args: Mapping[str, Any] | None = None,
             read_only: bool = False, lock_wait: float | None = None) -> Warehouse:
        """Connect to the warehouse of the workspace folder *root*.

        ``duckdb`` opens the file *path* (``read_only=True``: a reader that never
        takes the write lock the CLI needs); ``pyspark`` a local-mode Spark session
        whose tables live under ``root/spark-warehouse``; any other Ibis backend
        name connects with *connect_args*.  A DuckDB file held by another process is
        waited for, at most *lock_wait* seconds (:func:`~outsidein.warehouse.lock.open_waiting`).
        """
        if backend == "duckdb":
            if path is None:
                raise ConfigError("a DuckDB warehouse needs a file path")
            con = _connect_duckdb(path, read_only=read_only, wait=lock_wait)
            return cls(con=con, backend=backend, root=root)
        if backend == "pyspark":
            spark = spark_session(spark_master, root / "spark-warehouse")
            register_tables(spark, root)
            return cls(con=ibis.pyspark.connect(spark), backend=backend, root=root, spark=spark)
        try:
            con = getattr(ibis, backend).connect(**dict(connect_args or {}))
        except AttributeError as exc:
            raise ConfigError(
                f"warehouse backend {backend!r} is not an Ibis backend; use 'duckdb' or 'pyspark'"
            ) from exc
        return cls(con=con, backend=backend, root=root)

    # -- access -------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        return sorted(self.con.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.con.list_tables()

    def table(self, name: str) -> ibis.Table:
        """The Ibis table *name*; :class:`MissingDataError` says how to load it if absent."""
        if not self.has_table(name):
            raise MissingDataError(
                f"table {name!r} is not in the warehouse; load it with "
                f"'outsidein load {name} FILE' (or run 'outsidein demo')"
            )
        return self.con.table(name)

    def count(self, name: str) -> int:
        """Rows of table *name* (0 when it does not exist)."""
        return self._count(name, at_most=None)

    def is_empty(self, name: str) -> bool:
        """True when table *name* is absent or has no rows (without counting them all)."""
        return self._count(name, at_most=1) == 0

    def _count(self, name: str, *, at_most: int | None) -> int:
        if not self.has_table(name):
            return 0
        if self.backend == "duckdb":  # plain SQL is ~10x quicker than compiling an Ibis count
            return count_rows(self.duckdb, q(name), at_most=at_most)
        t = self.con.table(name)
        if at_most is not None:
            t = t.limit(at_most)
        return int(t.count().to_pyarrow().as_py())

    def write_table(self, name: str, obj: Any, *, scratch: bool = False) -> ibis.Table:
        """Create or replace table *name* from an Ibis expression, a pandas frame or Arrow.

        ``scratch=True`` marks a working table dropped after use: on DuckDB it is
        an in-memory temporary table (several times cheaper to write than a
        table in the file).  On DuckDB a frame goes through the raw connection
        (Ibis 12's ``create_table`` from memory emits a bad ``DROP VIEW`` with
        sqlglot 30); on Spark through ``spark.createDataFrame`` as a Parquet
        table under ``spark-warehouse`` (an Ibis memtable would leave a
        temporary view in the catalog).
        """
        if not isinstance(obj, ibis.Expr):
            data = obj if isinstance(obj, pa.Table) else pa.Table.from_pandas(
                obj.reset_index(drop=True), preserve_index=False)
            if self.backend == "pyspark":
                if data.num_rows == 0:  # Spark cannot infer a schema from no rows
                    return self._save_spark(name, self.spark.createDataFrame(
                        [], schema=_spark_schema(data.schema)))
                # one chunk per column: Spark's Arrow fast path refuses chunked text
                return self._save_spark(name, self.spark.createDataFrame(
                    data.combine_chunks().to_pandas()))
            if self.backend == "duckdb":
                kind = "TEMP TABLE" if scratch else "TABLE"
                self.duckdb.register("_oi_frame", data)
                try:
                    self.duckdb.execute(
                        f'CREATE OR REPLACE {kind} "{name}" AS SELECT * FROM _oi_frame')
                finally:
                    self.duckdb.unregister("_oi_frame")
                return self.con.table(name)
        if self.backend == "pyspark":
            return self._save_spark(name, self.spark.sql(str(self.con.compile(obj))))
        temp = scratch and self.backend == "duckdb"
        if temp:
            return self.con.create_table(name, obj, overwrite=True, temp=True)
        return self.con.create_table(name, obj, overwrite=True)

    def _save_spark(self, name: str, frame: Any) -> ibis.Table:
        """Write a Spark DataFrame as the Parquet table *name* in this workspace's folder.

        An explicit location: a table first written by an earlier Spark session
        leaves its folder behind, and Spark refuses to create a managed table
        over an existing folder (``LOCATION_ALREADY_EXISTS``); overwriting at
        that path replaces it.
        """
        frame.write.mode("overwrite").format("parquet") \
            .option("path", str(table_dir(self.root, name))).saveAsTable(name)
        return self.con.table(name)

    def drop_tables(self, *names: str) -> None:
        """Drop working tables (scratch or not) if they exist."""
        for name in names:
            if self.backend == "duckdb":
                self.duckdb.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
            if self.has_table(name):
                self.con.drop_table(name, force=True)

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """On DuckDB, let a big CREATE TABLE AS write rows in any order (faster, less memory)."""
        if self.backend != "duckdb":
            yield
            return
        con = self.duckdb
        before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
        con.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")

    @property
    def duckdb(self) -> Any:
        """The raw ``duckdb`` connection (DuckDB backend only), for bulk fast paths."""
        if self.backend != "duckdb":
            raise ConfigError(f"raw DuckDB access asked on a {self.backend!r} warehouse")
        return self.con.con

    def close(self) -> None:
        """Release the connection (a DuckDB file's lock); the Spark session stays up."""
        if self.backend == "pyspark":
            return  # the Spark session outlives the connection (see spark_session)
        try:
            self.con.disconnect()
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("warehouse disconnect failed", exc_info=True)


def ensure_schema(wh: Warehouse) -> None:
    """Create every canonical, book-keeping and rollup table that does not exist yet (empty).

    A table written by an older version gets the columns it lacks (e.g.
    ``load_id``, ``loads.options``), filled with nulls: its rows are kept.
    On Spark the tables are the Parquet folders declared when the warehouse
    was opened; they are declared again (files without a column read it as null).

    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> _ = wh.duckdb.execute("CREATE TABLE products (product_id VARCHAR)")
    >>> ensure_schema(wh)
    >>> {"customers", "loads", "purchase_days"} <= set(wh.list_tables())
    True
    >>> wh.duckdb.execute("SELECT * FROM products").description[-1][0]
    'load_id'
    """
    if wh.backend == "pyspark":
        register_tables(wh.spark, wh.root)
        return
    existing = set(wh.con.list_tables())
    for spec in (*MANAGED.values(), *ROLLUP_SPECS):
        if spec.name not in existing:
            wh.con.create_table(spec.name, schema=spec.ibis_schema())
        elif wh.backend == "duckdb":
            _add_missing_columns(wh.duckdb, spec)


def _add_missing_columns(con: Any, spec: TableSpec) -> None:
    have = {r[0] for r in con.execute(f"DESCRIBE main.{q(spec.name)}").fetchall()}
    for col in spec.stored_columns:
        if col.name not in have:
            log.info("adding column %s.%s", spec.name, col.name)
            con.execute(f"ALTER TABLE main.{q(spec.name)} ADD COLUMN {q(col.name)} "
                        f"{SQL_TYPES[col.dtype]}")


def _connect_duckdb(path: Path, *, read_only: bool = False, wait: float | None = None) -> Any:
    """Open the DuckDB warehouse file, waiting for the file lock (:mod:`.lock`)."""
    return open_waiting(path, lambda: ibis.duckdb.connect(str(path), read_only=read_only),
                        read_only=read_only, wait=wait)


#: The process's Spark session and the (master, warehouse folder) it was built for.
_SPARK: tuple[tuple[str, str | None], Any] | None = None


def spark_session(master: str = "local[2]", warehouse_dir: Path | None = None) -> Any:
    """A local-mode Spark session set up for Outside-In (UTC, small shuffles, no UI).

    Spark allows one session per process, and its warehouse folder and master
    are fixed when it starts.  The session is reused while the same workspace
    asks for it; a workspace with another master or warehouse folder stops it
    and starts its own, so tables never land in another workspace's folder.

    >>> spark = spark_session("local[1]", Path("acme/spark-warehouse"))  # doctest: +SKIP
    """
    global _SPARK
    key = (master, str(warehouse_dir) if warehouse_dir is not None else None)
    if _SPARK is not None:
        if _SPARK[0] == key:
            return _SPARK[1]
        _SPARK[1].stop()
        _SPARK = None
    from pyspark.sql import SparkSession  # optional heavy dependency ([spark] extra)

    builder = (
        SparkSession.builder.master(master)
        .appName("outsidein")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if warehouse_dir is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse_dir))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    _SPARK = (key, session)
    return session


def _spark_schema(schema: pa.Schema) -> Any:
    """Spark's schema for an Arrow one; a column of nulls only (no type known) is text."""
    # optional heavy dependency: only Spark warehouses reach here
    from pyspark.sql.pandas.types import from_arrow_schema

    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
              for f in schema]
    return from_arrow_schema(pa.schema(fields))
