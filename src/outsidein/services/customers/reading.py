"""Reading one customer's rows from the warehouse without ever taking its write lock.

On DuckDB the 360 reads through :meth:`Workspace.duckdb_reader
<outsidein.workspace.Workspace.duckdb_reader>`: a short-lived read-only connection
(closed when the page is built), so a load started meanwhile waits at most for that
read; other backends read through the workspace's own connection.  Every query filters
on one id, so a page reads a few hundred rows at most, never a whole table.

>>> import ibis
>>> t = ibis.table({"customer_id": "int64"}, name="t")
>>> "CAST" in ibis.to_sql(t.filter(id_filter(t.customer_id, "42")), dialect="duckdb")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis.expr.types as ir

__all__ = ["Reader", "id_filter", "records"]


def id_filter(col: ir.Column, value: str) -> ir.BooleanValue:
    """``col == value``, comparing as text when the id column is not text."""
    if col.type().is_string():
        return col == value
    return col.cast("string") == value


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    return v


def records(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute *expr* into a list of dicts (Arrow: same types on every backend)."""
    return [{k: _plain(v) for k, v in row.items()} for row in expr.to_pyarrow().to_pylist()]


@dataclass(frozen=True)
class Reader:
    """One customer's reads: the connection, the tables present, the id and the row limit."""

    con: Any
    tables: frozenset[str]
    id: str
    limit: int

    def has(self, name: str) -> bool:
        return name in self.tables

    def table(self, name: str) -> ir.Table:
        return self.con.table(name)

    def rows_of(self, name: str, key: str, *, value: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of table *name* whose *key* is the customer's id (or *value*); [] if absent."""
        if not self.has(name):
            return []
        t = self.table(name)
        if key not in t.columns:
            return []
        expr = t.filter(id_filter(t[key], self.id if value is None else value))
        return records(expr.limit(limit) if limit is not None else expr)

    def one(self, name: str, key: str, *, value: str | None = None) -> dict[str, Any] | None:
        """The first row of table *name* whose *key* is the id; None if none (or no table)."""
        rows = self.rows_of(name, key, value=value, limit=1)
        return rows[0] if rows else None

    def filled(self, name: str) -> bool:
        """Table *name* is present and has at least one row."""
        return self.has(name) and bool(records(self.table(name).limit(1)))
