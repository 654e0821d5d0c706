"""The loader's key work on the typed rows: order keys, duplicates and referenced customers.

Runs on the load's DuckDB connection over the working tables of
:mod:`outsidein.warehouse.target` (``_oi_typed`` and friends):

1. :func:`fill_order_keys` (order lines only): a line without ``order_id``
   gets ``customer_id@ts`` (an order is then the customer's purchases at one
   time stamp); lines of one order without ``product_id`` are numbered
   (``line`` 1, 2, ... in file order), so that they are not taken for
   duplicates of each other, while loading the same content again still
   gives the same keys and adds nothing;
2. :func:`mark_duplicates`: valid rows whose natural key an earlier row of
   the source, or a row already loaded, has (null key values compare equal);
3. :func:`reference_stubs`: customers the new rows reference that do not
   exist yet (stubs), and unknown product ids (noted, kept).

>>> import duckdb
>>> from outsidein.warehouse.schema import TABLES
>>> con = duckdb.connect()
>>> _ = con.execute(f"CREATE TEMP TABLE _oi_typed AS SELECT * FROM (VALUES "
...     "(1, NULL::VARCHAR, 'c1', NULL::VARCHAR, TIMESTAMP '1997-01-12', NULL::BIGINT, "
...     "NULL::SMALLINT), "
...     "(2, NULL, 'c1', NULL, TIMESTAMP '1997-01-12', NULL, NULL)) "
...     "t(_row, order_id, customer_id, product_id, ts, line, _fail)")
>>> print(fill_order_keys(con, TABLES["order_lines"])[0])
2 lines have no order_id: an order is taken to be a customer's purchases at one time stamp \
(order_id = customer_id@ts)
>>> con.execute(f"SELECT order_id, line FROM {TYPED} ORDER BY _row").fetchall()
[('c1@1997-01-12T00:00:00', 1), ('c1@1997-01-12T00:00:00', 2)]
"""

from __future__ import annotations

from typing import Any

from outsidein.warehouse.schema import TableSpec
from outsidein.warehouse.sql import count_rows, q
from outsidein.warehouse.target import SKIP, STUBS, TYPED, Target, new_rows_sql

__all__ = ["fill_order_keys", "key_match", "mark_duplicates", "reference_stubs"]


def key_match(spec: TableSpec, a: str, b: str) -> str:
    """SQL: rows *a* and *b* have the same natural key (nullable parts: IS NOT DISTINCT FROM).

    >>> from outsidein.warehouse.schema import TABLES
    >>> print(key_match(TABLES["order_lines"], "g", "e"))
    g."order_id" IS NOT DISTINCT FROM e."order_id" AND g."product_id" IS NOT DISTINCT FROM \
e."product_id" AND g."line" IS NOT DISTINCT FROM e."line"
    """
    return " AND ".join(
        f"{a}.{q(k)} = {b}.{q(k)}" if spec.column(k).required
        else f"{a}.{q(k)} IS NOT DISTINCT FROM {b}.{q(k)}" for k in spec.key)


def _is_empty(con: Any, relation: str) -> bool:
    return count_rows(con, relation, at_most=1) == 0


def fill_order_keys(con: Any, spec: TableSpec) -> list[str]:
    """Give order lines without ``order_id`` or ``product_id`` their keys; return notes.

    Touches only the typed temp table (outside the load's transaction).  See
    the module's example.
    """
    if spec.name != "order_lines":
        return []
    notes: list[str] = []
    valid = f"{TYPED} WHERE _fail IS NULL"
    no_order = count_rows(con, f"{valid} AND order_id IS NULL")
    if no_order:
        con.execute(f"UPDATE {TYPED} SET order_id = customer_id || '@' || "
                    "replace(CAST(ts AS VARCHAR), ' ', 'T') "
                    "WHERE _fail IS NULL AND order_id IS NULL")
        notes.append(f"{no_order:,} lines have no order_id: an order is taken to be a "
                     "customer's purchases at one time stamp (order_id = customer_id@ts)")
    no_product = count_rows(con, f"{valid} AND product_id IS NULL")
    if no_product:
        con.execute(
            f"UPDATE {TYPED} t SET line = n.k FROM (SELECT _row, row_number() OVER "
            f"(PARTITION BY order_id ORDER BY _row) AS k FROM {valid} AND product_id IS NULL "
            "AND line IS NULL) n WHERE t._row = n._row")
        notes.append(f"{no_product:,} lines have no product_id (kept; analyses by product "
                     "skip them): the lines of an order are told apart by their number in it")
    return notes


def mark_duplicates(con: Any, spec: TableSpec, target: Target) -> int:
    """Fill ``temp._oi_skip`` with the row numbers of valid rows that are duplicates.

    A row is a duplicate when an earlier valid row of the source has the same
    natural key, or when its key is already in the table.  Duplicates are
    rare, so repeated keys are found by grouping on a 64-bit hash of the key
    (much cheaper than grouping or ranking on the key's strings), and each
    candidate is then checked against the first row of its hash on the real
    key values.  Returns the number of stub customers the load replaces.
    """
    keys = ", ".join(q(k) for k in spec.key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _oi_dups AS SELECT hash({keys}) AS _h, "
        f"min(_row) AS _first FROM {TYPED} WHERE _fail IS NULL GROUP BY 1 "
        "HAVING count(*) > 1")
    existing = target.existing(spec.name)
    if spec.name == "customers":  # stubs are placeholders: a real record replaces them
        existing = f"(SELECT * FROM {existing} WHERE NOT coalesce(is_stub, false))"
    g_keys = ", ".join(f"g.{q(k)}" for k in spec.key)
    already = "" if _is_empty(con, existing) else (
        f"UNION ALL SELECT g._row FROM {TYPED} g WHERE g._fail IS NULL AND EXISTS "
        f"(SELECT 1 FROM {existing} e WHERE {key_match(spec, 'g', 'e')})")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SKIP} AS "
        f"SELECT g._row FROM {TYPED} g JOIN temp._oi_dups d ON hash({g_keys}) = d._h "
        f"JOIN {TYPED} f ON f._row = d._first "
        f"WHERE g._fail IS NULL AND g._row <> d._first AND {key_match(spec, 'g', 'f')} "
        + already)
    if spec.name != "customers":
        return 0
    return count_rows(con, f"{new_rows_sql()} n JOIN {target.existing('customers')} e "
                           f"ON {key_match(spec, 'n', 'e')} WHERE coalesce(e.is_stub, false)")


def reference_stubs(con: Any, spec: TableSpec, target: Target) -> tuple[int, list[str]]:
    """Fill ``temp._oi_stubs`` with unknown customers; note unknown products."""
    notes: list[str] = []
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STUBS} "
                "(customer_id VARCHAR, first_seen TIMESTAMP)")
    ts = "ts" if "ts" in spec.column_names else None
    new = new_rows_sql()
    for column, (ref_table, ref_col) in spec.references.items():
        c = q(column)
        if ref_table == "customers":
            first = f"min(n.{q(ts)})" if ts else "CAST(NULL AS TIMESTAMP)"
            con.execute(
                f"INSERT INTO {STUBS} SELECT n.{c}, {first} FROM {new} n "
                f"WHERE n.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('customers')} e WHERE e.customer_id = n.{c}) "
                f"AND NOT EXISTS (SELECT 1 FROM {STUBS} s WHERE s.customer_id = n.{c}) "
                f"GROUP BY n.{c}")
        elif ref_table == "products" and _is_empty(con, f"{new} n WHERE n.{c} IS NOT NULL"):
            continue  # no product ids in this load (noted by fill_order_keys)
        elif ref_table == "products" and _is_empty(con, target.existing("products")):
            notes.append("the products table is empty: load products to get the category "
                         "and cost of what was sold")
        elif ref_table == "products":
            ids, rows = con.execute(
                f"SELECT count(DISTINCT n.{c}), count(*) FROM {new} n "
                f"WHERE n.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                f"{target.existing('products')} p WHERE p.{q(ref_col)} = n.{c})").fetchone()
            if ids:
                notes.append(
                    f"{rows:,} rows reference {ids:,} product id(s) not in products (kept; "
                    "load products to get their category and cost)")
    stubs = count_rows(con, STUBS)
    if stubs:
        notes.append(f"{stubs:,} unknown customer id(s) created as stub customers (is_stub=true)")
    return stubs, notes
