"""A Spark warehouse's tables: Parquet folders under ``<workspace>/spark-warehouse``.

Spark's default catalog lives in memory, so every table Outside-In manages on
a ``pyspark`` warehouse is an *external* Parquet table whose folder is
``<workspace>/spark-warehouse/<table>``; :func:`register_tables` declares them
again (with their canonical schema, so empty tables exist too) whenever the
warehouse is opened, and re-attaches any other table folder written there
(results saved with :meth:`~outsidein.warehouse.engine.Warehouse.write_table`).
Time stamps are stored as Parquet timestamps without time zone and declared
``TIMESTAMP_NTZ``, like DuckDB's naive ``TIMESTAMP``.

>>> from pathlib import Path
>>> table_dir(Path("/srv/acme"), "order_lines")
PosixPath('/srv/acme/spark-warehouse/order_lines')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from outsidein.warehouse.schema import MANAGED, TableSpec

__all__ = ["ARROW_TYPES", "SPARK_TYPES", "arrow_schema", "register_tables", "table_dir"]

SPARK_TYPES = {"string": "STRING", "int64": "BIGINT", "float64": "DOUBLE",
               "boolean": "BOOLEAN", "timestamp": "TIMESTAMP_NTZ", "date": "DATE"}
ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(),
               "boolean": pa.bool_(), "timestamp": pa.timestamp("us"), "date": pa.date32()}


def table_dir(root: Path, name: str) -> Path:
    """The folder of table *name* in the workspace folder *root*."""
    return root / "spark-warehouse" / name


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Arrow schema of the Parquet files of table *spec*.

    >>> from outsidein.warehouse.schema import LOADS
    >>> arrow_schema(LOADS).field("started").type
    TimestampType(timestamp[us])
    """
    return pa.schema([(c.name, ARROW_TYPES[c.dtype]) for c in spec.stored_columns])


def register_tables(spark: Any, root: Path) -> None:
    """Declare the workspace's tables in the Spark session *spark* (example needs Spark).

    Every canonical and book-keeping table becomes an external Parquet table
    with its canonical schema; any other folder of Parquet files under
    ``root/spark-warehouse`` is attached under its folder's name.

    >>> register_tables(spark_session(), Path("acme"))  # doctest: +SKIP
    """
    for spec in MANAGED.values():
        folder = table_dir(root, spec.name)
        folder.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(f"`{c.name}` {SPARK_TYPES[c.dtype]}" for c in spec.stored_columns)
        # re-declared on every open: a table made by an older version gets today's schema
        spark.sql(f"DROP TABLE IF EXISTS `{spec.name}`")
        spark.sql(f"CREATE TABLE `{spec.name}` ({cols}) USING parquet LOCATION '{folder}'")
    existing = {t.name for t in spark.catalog.listTables()}
    for folder in sorted(p for p in (root / "spark-warehouse").iterdir() if p.is_dir()):
        if folder.name not in existing and any(folder.glob("*.parquet")):
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS `{folder.name}` USING parquet LOCATION '{folder}'")
