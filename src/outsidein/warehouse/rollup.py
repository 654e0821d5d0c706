"""``purchase_days``: the purchase lines rolled up to one row per customer and UTC day.

Why it exists
-------------
The per-customer summary (:mod:`outsidein.warehouse.summary`) follows
lifetimes' convention of counting purchase *days*, so it needs a
customer x day aggregation (about one group per order) before the
per-customer one.  On 100M order lines that first level alone takes about
10 s on this project's 2-core reference machine, in DuckDB and in Polars
alike (measured: ``benchmarks/bench_summary.py``), while the per-customer
level over the rolled-up days takes about 2 s.  Loads happen once and
summaries many times (every fit, score, holdout and report), so the loader
keeps the first level as a table:

* each load of ``order_lines`` adds its new purchase lines to
  ``purchase_days`` **inside the load's transaction**, so a crash or Ctrl-C
  leaves both tables as they were (merging days that already exist);
* table ``rollups`` records how many ``order_lines`` rows the rollup covers;
  :func:`is_current` compares that with the table.  A warehouse written by an
  older version, or changed outside the loader, fails the check and is
  rebuilt by :func:`ensure_current` (or summarised from the lines when the
  connection is read-only), so a stale rollup is never used;
* only DuckDB warehouses keep the rollup; on Spark the summary reads the
  lines (the same Ibis expressions, so results are identical).

Purchases are lines that are not returns and have a positive quantity (a
return would make a day's spend negative and break the spend model; returns
still lower CLV through the company margin).

The tables are declared in :mod:`outsidein.warehouse.schema`
(``PURCHASE_DAYS``, ``ROLLUPS``).

>>> from pathlib import Path
>>> import pandas as pd
>>> from outsidein.warehouse.engine import Warehouse
>>> from outsidein.warehouse.load import load_frame
>>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
>>> lines = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "customer_id": ["c1", "c1", "c2"],
...                       "product_id": "p1", "quantity": 1, "revenue": [10.0, 5.0, 7.5],
...                       "ts": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02"])})
>>> _ = load_frame(wh, "order_lines", lines, source="example")
>>> is_current(wh)
True
>>> summary = purchase_summary(wh, observation_end="2024-01-31", time_unit="days")
>>> summary.order_by("customer_id").select("frequency", "recency", "T").to_pandas()
   frequency  recency     T
0          1      8.0  30.0
1          0      0.0  29.0
>>> wh.close()
"""

from __future__ import annotations

import logging
from typing import Any

import ibis
import ibis.expr.types as ir

from outsidein.domain import purchases
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.schema import PURCHASE_DAYS, ROLLUP_SPECS, TABLES
from outsidein.warehouse.sql import count_rows
from outsidein.warehouse.summary import (
    customer_summary,
    periods_from_days,
    purchase_periods,
    summary_from_periods,
)

__all__ = ["SOURCE", "add_lines", "days_expr", "ensure_current", "is_current",
           "purchase_summary", "rebuild", "remove_lines"]

log = logging.getLogger(__name__)

SOURCE = "order_lines"
#: temp view the loader points at its new rows while adding them
NEW_LINES = "_oi_new_lines"
TEMP_TABLES = ("_oi_new_days", "_oi_merged_days")


def days_expr(lines: ir.Table) -> ir.Table:
    """``purchase_days`` rows computed from order lines (any engine).

    >>> import pandas as pd
    >>> lines = ibis.memtable({"customer_id": ["c1", "c1"], "quantity": [1, 2],
    ...                        "revenue": [10.0, 2.5], "is_return": [False, False],
    ...                        "ts": pd.to_datetime(["1970-01-02 09:00", "1970-01-02 17:00"])})
    >>> days_expr(lines).select("customer_id", "day", "value_cents").to_pandas()
      customer_id  day  value_cents
    0          c1    1         1250
    """
    p = purchase_periods(purchases(lines), freq="D")
    return p.select(customer_id=p.customer_id, day=p.period, value_cents=p.value,
                    first_ts=p.first_ts, last_ts=p.last_ts)


def _days_sql(source: str) -> str:
    """DuckDB SQL of :func:`days_expr` over table or view *source* (order_lines' schema).

    Compiled from the Ibis expression, so the rollup and the line-level
    summary cannot drift apart.
    """
    unbound = ibis.table(TABLES[SOURCE].ibis_schema(), name=source)
    return str(ibis.to_sql(days_expr(unbound), dialect="duckdb"))


def _cols() -> str:
    return ", ".join(c.name for c in PURCHASE_DAYS.columns)


def _recorded(con: Any) -> int | None:
    row = con.execute("SELECT source_rows FROM main.rollups WHERE name = 'purchase_days'"
                      ).fetchone()
    return None if row is None else int(row[0])


def _record(con: Any, rows: int) -> None:
    con.execute("DELETE FROM main.rollups WHERE name = 'purchase_days'")
    con.execute(f"INSERT INTO main.rollups VALUES ('purchase_days', {int(rows)})")


def add_lines(con: Any, new_rows_sql: str, *, added: int) -> None:
    """Add the *added* order lines in *new_rows_sql* (already inserted) to ``purchase_days``.

    Runs on the loader's DuckDB connection inside its transaction.  When the
    rollup did not cover exactly the lines that were there before this load,
    it is rebuilt from the whole table instead.  :func:`outsidein.warehouse.load.load_frame`
    shows it at work (see the module's example).
    """
    total = count_rows(con, f"main.{SOURCE}")
    if _recorded(con) != total - added:
        rebuild(con, total)
        return
    con.execute(f"CREATE OR REPLACE TEMP VIEW {NEW_LINES} AS {new_rows_sql}")
    try:
        if count_rows(con, f"main.{PURCHASE_DAYS.name}", at_most=1) == 0:
            con.execute(f"INSERT INTO main.purchase_days ({_cols()}) {_days_sql(NEW_LINES)}")
        else:
            _merge(con)
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.{NEW_LINES}")
        for t in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
    _record(con, total)


def remove_lines(con: Any, customers_sql: str, *, removed: int) -> None:
    """Recompute the days of the customers in *customers_sql* after *removed* lines went.

    Runs on the DuckDB connection inside the caller's transaction (an undone
    load, :mod:`outsidein.warehouse.undo`), after the lines were deleted;
    *customers_sql* is a relation with a ``customer_id`` column (the customers
    whose lines were deleted).  When the rollup did not cover exactly the lines
    that were there before, it is rebuilt from the whole table instead.
    """
    total = count_rows(con, f"main.{SOURCE}")
    if _recorded(con) != total + removed:
        rebuild(con, total)
        return
    affected = f"(SELECT DISTINCT customer_id FROM {customers_sql})"
    con.execute(f"DELETE FROM main.purchase_days WHERE customer_id IN {affected}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {NEW_LINES} AS SELECT * FROM main.{SOURCE} "
                f"WHERE customer_id IN {affected}")
    try:
        con.execute(f"INSERT INTO main.purchase_days ({_cols()}) {_days_sql(NEW_LINES)}")
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.{NEW_LINES}")
    _record(con, total)


def _merge(con: Any) -> None:
    """New days join existing ones: sums add, first/last time stamps take min/max."""
    con.execute(f"CREATE TEMP TABLE _oi_new_days AS {_days_sql(NEW_LINES)}")
    con.execute(
        "CREATE TEMP TABLE _oi_merged_days AS SELECT n.customer_id, n.day, "
        "n.value_cents + coalesce(o.value_cents, 0) AS value_cents, "
        "least(n.first_ts, coalesce(o.first_ts, n.first_ts)) AS first_ts, "
        "greatest(n.last_ts, coalesce(o.last_ts, n.last_ts)) AS last_ts "
        "FROM temp._oi_new_days n LEFT JOIN main.purchase_days o "
        "ON o.customer_id = n.customer_id AND o.day = n.day")
    con.execute("DELETE FROM main.purchase_days o USING temp._oi_new_days n "
                "WHERE o.customer_id = n.customer_id AND o.day = n.day")
    con.execute(f"INSERT INTO main.purchase_days ({_cols()}) "
                f"SELECT {_cols()} FROM temp._oi_merged_days")


def rebuild(con: Any, source_rows: int | None = None) -> None:
    """Recompute ``purchase_days`` from all of ``order_lines`` (DuckDB connection).

    *source_rows*, the row count of ``order_lines``, when the caller has it.

    >>> from pathlib import Path
    >>> from outsidein.warehouse.engine import Warehouse, ensure_schema
    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> ensure_schema(wh)
    >>> rebuild(wh.duckdb)
    >>> is_current(wh), wh.count("purchase_days")
    (True, 0)
    """
    log.info("rebuilding purchase_days from order_lines")
    con.execute("DELETE FROM main.purchase_days")
    con.execute(f"INSERT INTO main.purchase_days ({_cols()}) {_days_sql(SOURCE)}")
    _record(con, count_rows(con, f"main.{SOURCE}") if source_rows is None else source_rows)


def is_current(wh: Warehouse) -> bool:
    """True when ``purchase_days`` covers exactly the rows now in ``order_lines``."""
    if wh.backend != "duckdb":
        return False
    names = set(wh.list_tables())
    if not all(s.name in names for s in (*ROLLUP_SPECS, TABLES[SOURCE])):
        return False
    return _recorded(wh.duckdb) == wh.count(SOURCE)


def ensure_current(wh: Warehouse) -> bool:
    """Rebuild a missing or stale rollup when the warehouse can be written; True if current.

    A read-only connection (a notebook's, or a second reader) cannot rebuild:
    False, and :func:`purchase_summary` then reads the order lines.

    >>> from pathlib import Path
    >>> from outsidein.warehouse.engine import Warehouse, ensure_schema
    >>> wh = Warehouse.open("duckdb", root=Path("."), path=Path(":memory:"))
    >>> ensure_schema(wh)
    >>> is_current(wh)  # nothing records what the rollup covers yet
    False
    >>> ensure_current(wh), is_current(wh)
    (True, True)
    """
    if wh.backend != "duckdb":
        return False
    if is_current(wh):
        return True
    con = wh.duckdb
    if _read_only(con):
        log.info("purchase_days is stale and the warehouse is read-only; "
                 "summarising from order_lines")
        return False
    for spec in ROLLUP_SPECS:
        if not wh.has_table(spec.name):
            wh.con.create_table(spec.name, schema=spec.ibis_schema())
    con.execute("BEGIN TRANSACTION")
    try:
        rebuild(con)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return True


def _read_only(con: Any) -> bool:
    """Whether the DuckDB connection *con* opened its database read-only."""
    return bool(con.execute("SELECT readonly FROM duckdb_databases() "
                            "WHERE database_name = current_database()").fetchone()[0])


def purchase_summary(wh: Warehouse, *, freq: str = "D", **kwargs: Any) -> ir.Table:
    """Per-customer summary of the warehouse's purchases, from the rollup when it is current.

    Keyword arguments are those of
    :func:`outsidein.warehouse.summary.customer_summary` (``observation_end``,
    ``calibration_end``, ``holdout_end``, ``time_unit``); the result is the
    same either way.
    """
    if is_current(wh):
        return summary_from_periods(periods_from_days(wh.table(PURCHASE_DAYS.name), freq),
                                    freq=freq, **kwargs)
    return customer_summary(purchases(wh.table(SOURCE)), freq=freq, **kwargs)
