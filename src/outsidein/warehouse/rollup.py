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

>>> from outsidein.warehouse import rollup
>>> rollup.purchase_summary(ws.warehouse(), observation_end="2024-06-30")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from outsidein.warehouse.quality import count_rows
from outsidein.warehouse.schema import TABLES, Column, TableSpec
from outsidein.warehouse.summary import (
    customer_summary,
    periods_from_days,
    purchase_periods,
    summary_from_periods,
)

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

log = logging.getLogger(__name__)

PURCHASE_DAYS = TableSpec(
    "purchase_days",
    (
        Column("customer_id", "string", True),
        Column("day", "int64", True, "UTC epoch day (days since 1970-01-01)"),
        Column("value_cents", "int64", True, "sum of the day's purchase lines, in cents"),
        Column("first_ts", "timestamp", True, "first purchase time stamp of the day"),
        Column("last_ts", "timestamp", True, "last purchase time stamp of the day"),
    ),
    key=("customer_id", "day"),
    doc="order lines that are purchases, one row per customer and day (kept by the loader)",
)
ROLLUPS = TableSpec(
    "rollups",
    (
        Column("name", "string", True),
        Column("source_rows", "int64", True, "rows of the source table the rollup covers"),
    ),
    key=("name",),
    doc="which source rows each rollup covers",
)
SPECS = (PURCHASE_DAYS, ROLLUPS)
SOURCE = "order_lines"
#: temp view the loader points at its new rows while adding them
NEW_LINES = "_oi_new_lines"
TEMP_TABLES = ("_oi_new_days", "_oi_merged_days")


def purchases(lines: ir.Table) -> ir.Table:
    """The purchase lines of ``order_lines``: not a return, positive quantity."""
    return lines.filter(~lines.is_return.fill_null(False) & (lines.quantity > 0))


def days_expr(lines: ir.Table) -> ir.Table:
    """``purchase_days`` rows computed from order lines (any engine)."""
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


def _count(con: Any, table: str) -> int:
    return count_rows(con, f"main.{table}")


def add_lines(con: Any, new_rows_sql: str, *, added: int) -> None:
    """Add the *added* order lines in *new_rows_sql* (already inserted) to ``purchase_days``.

    Runs on the loader's DuckDB connection inside its transaction.  When the
    rollup did not cover exactly the lines that were there before this load,
    it is rebuilt from the whole table instead.
    """
    total = _count(con, SOURCE)
    if _recorded(con) != total - added:
        rebuild(con, total)
        return
    con.execute(f"CREATE OR REPLACE TEMP VIEW {NEW_LINES} AS {new_rows_sql}")
    try:
        if _count(con, PURCHASE_DAYS.name) == 0:
            con.execute(f"INSERT INTO main.purchase_days ({_cols()}) {_days_sql(NEW_LINES)}")
        else:
            _merge(con)
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.{NEW_LINES}")
        for t in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
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
    """
    log.info("rebuilding purchase_days from order_lines")
    con.execute("DELETE FROM main.purchase_days")
    con.execute(f"INSERT INTO main.purchase_days ({_cols()}) {_days_sql(SOURCE)}")
    _record(con, _count(con, SOURCE) if source_rows is None else source_rows)


def is_current(wh: Warehouse) -> bool:
    """True when ``purchase_days`` covers exactly the rows now in ``order_lines``."""
    if wh.backend != "duckdb":
        return False
    names = set(wh.list_tables())
    if not all(s.name in names for s in (*SPECS, TABLES[SOURCE])):
        return False
    con = wh.duckdb
    return _recorded(con) == _count(con, SOURCE)


def ensure_current(wh: Warehouse) -> bool:
    """Rebuild a missing or stale rollup when the warehouse can be written; True if current."""
    if wh.backend != "duckdb":
        return False
    if is_current(wh):
        return True
    con = wh.duckdb
    try:
        for spec in SPECS:
            if not wh.has_table(spec.name):
                wh.con.create_table(spec.name, schema=spec.ibis_schema())
        con.execute("BEGIN TRANSACTION")
        rebuild(con)
        con.execute("COMMIT")
    except Exception as exc:  # read-only connection: summarise from the lines instead
        try:
            con.execute("ROLLBACK")
        except Exception:
            log.debug("rollback without transaction", exc_info=True)
        log.info("purchase_days not rebuilt (%s); summarising from order_lines", exc)
        return False
    return True


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
