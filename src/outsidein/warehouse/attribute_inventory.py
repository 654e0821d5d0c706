"""Which attributes a DuckDB warehouse keeps, read with plain SQL (light: no Ibis, no pandas).

``outsidein status`` lists the columns of customers, prospects and products
files kept besides the canonical ones (see :mod:`outsidein.warehouse.attributes`);
it must start in a fraction of a second, so this module needs nothing but a
DuckDB connection.

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE customer_attributes (customer_id VARCHAR, load_id VARCHAR, "
...                 "loaded_at TIMESTAMP, income DOUBLE, segment VARCHAR)")
>>> _ = con.execute("INSERT INTO customer_attributes VALUES ('c1', 'l1', '2024-05-31', "
...                 "52000, NULL), ('c2', 'l1', '2024-05-31', NULL, 'gold')")
>>> attribute_inventory(con)  # doctest: +NORMALIZE_WHITESPACE
[{'table': 'customers', 'attribute_table': 'customer_attributes', 'name': 'income',
  'type': 'number', 'entities': 1},
 {'table': 'customers', 'attribute_table': 'customer_attributes', 'name': 'segment',
  'type': 'text', 'entities': 1}]
"""

from __future__ import annotations

from typing import Any

from outsidein.warehouse.schema import ATTRIBUTE_SPECS
from outsidein.warehouse.sql import lit, q

__all__ = ["KIND_OF", "SQL_TYPE", "attribute_columns", "attribute_inventory", "columns_of"]

#: the DuckDB type of each attribute type, and back
SQL_TYPE = {"number": "DOUBLE", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "text": "VARCHAR"}
KIND_OF = {v: k for k, v in SQL_TYPE.items()}


def columns_of(con: Any, table: str) -> dict[str, tuple[str, str]] | None:
    """``{lower-case name: (name, DuckDB type)}`` of table ``main.<table>``; None if absent."""
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = "
        f"current_database() AND schema_name = 'main' AND table_name = {lit(table)} "
        "ORDER BY column_index").fetchall()
    return {str(n).lower(): (str(n), str(t)) for n, t in rows} or None


def attribute_columns(con: Any, table: str) -> dict[str, str]:
    """``{attribute: type}`` kept for entity table *table* (``customers``, ...), as they came."""
    spec = ATTRIBUTE_SPECS[table]
    cols = columns_of(con, spec.name) or {}
    base = {c.lower() for c in spec.column_names}
    return {name: KIND_OF.get(sql_type, "text") for low, (name, sql_type) in cols.items()
            if low not in base}


def attribute_inventory(con: Any) -> list[dict[str, Any]]:
    """Per entity table and attribute: its type and how many entities have a value.

    An attribute without any value (a column left by a load that failed) is
    not listed.  See the module's example.
    """
    out: list[dict[str, Any]] = []
    for table, spec in ATTRIBUTE_SPECS.items():
        kinds = attribute_columns(con, table)
        if not kinds:
            continue
        t, key = f"main.{q(spec.name)}", q(spec.key[0])
        loads = con.execute(f"SELECT count(DISTINCT load_id) FROM {t}").fetchone()[0]
        # one load: one row per entity, so counting values is counting entities
        counts = con.execute("SELECT " + ", ".join(
            f"count({q(n)})" if loads <= 1 else f"count(DISTINCT {key}) FILTER ({q(n)} IS NOT NULL)"
            for n in kinds) + f" FROM {t}").fetchone()
        out.extend({"table": table, "attribute_table": spec.name, "name": n, "type": k,
                    "entities": int(c)} for (n, k), c in zip(kinds.items(), counts, strict=True)
                   if c)
    return out
