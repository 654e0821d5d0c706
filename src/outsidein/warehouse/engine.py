"""The analytics warehouse: an Ibis connection (DuckDB file by default, Spark for scale).

Every heavy query in Outside-In is an Ibis expression built against
:meth:`Warehouse.table`, so the same code runs on DuckDB and on PySpark.
Backend-specific fast paths (e.g. DuckDB's CSV reader in the loader) check
:attr:`Warehouse.backend` and keep an engine-neutral fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from outsidein.errors import ConfigError, ConflictError, MissingDataError

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class Warehouse:
    """A connected warehouse. ``con`` is the Ibis backend."""

    con: Any
    backend: str
    root: Path
    spark: Any = None

    @classmethod
    def connect(cls, ws: Workspace) -> Warehouse:
        backend = ws.config.warehouse_backend
        if backend == "duckdb":
            return cls(con=_connect_duckdb(ws.warehouse_path), backend=backend, root=ws.root)
        if backend == "pyspark":
            spark = spark_session(ws.config.spark_master, ws.root / "spark-warehouse")
            con = ibis.pyspark.connect(spark)
            wh = cls(con=con, backend=backend, root=ws.root, spark=spark)
            from outsidein.warehouse.schema import register_spark_tables

            register_spark_tables(wh)
            return wh
        try:
            con = getattr(ibis, backend).connect(**ws.config.extra.get("warehouse_connect", {}))
        except AttributeError as exc:
            raise ConfigError(
                f"warehouse backend {backend!r} is not an Ibis backend; use 'duckdb' or 'pyspark'"
            ) from exc
        return cls(con=con, backend=backend, root=ws.root)

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

    def is_empty(self, name: str) -> bool:
        return (not self.has_table(name)) or int(self.con.table(name).count().execute()) == 0

    @property
    def duckdb(self) -> Any:
        """The raw ``duckdb`` connection (DuckDB backend only), for bulk fast paths."""
        if self.backend != "duckdb":
            raise ConfigError(f"raw DuckDB access asked on a {self.backend!r} warehouse")
        return self.con.con

    def close(self) -> None:
        if self.backend == "pyspark":
            return  # the Spark session is shared by the process (see spark_session)
        try:
            self.con.disconnect()
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("warehouse disconnect failed", exc_info=True)


def _connect_duckdb(path: Path) -> Any:
    """Open the DuckDB warehouse file; a file locked by another process gets a clear error."""
    import duckdb

    try:
        return ibis.duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise ConflictError(
            f"warehouse {path} is in use by another process (DuckDB allows one writer: "
            "a running 'outsidein serve', a load or a notebook); wait for it to finish "
            "or stop it, then try again") from exc


_SPARK: Any = None


def spark_session(master: str = "local[2]", warehouse_dir: Path | None = None) -> Any:
    """A local-mode Spark session set up for Outside-In (UTC, small shuffles, no UI)."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    from pyspark.sql import SparkSession

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
    _SPARK = builder.getOrCreate()
    _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK
