"""Tables people can explore: one query (sort, filter, page) applied where the rows live.

Every table the web app and the API show (``customer_value``, each answer's full ranked list,
an answer's small side tables) is read through one :class:`TableQuery`:

* a warehouse table is queried **in the warehouse** (Ibis, so DuckDB or Spark): the sort,
  the filters, the count and the ``LIMIT/OFFSET`` are pushed down, and a download streams
  Arrow batches, so a million-row ``customer_value`` is never loaded into Python;
* rows already in memory (an answer's side tables from ``results/five_questions.json``,
  a few dozen rows) are filtered and sorted in Python with the same rules.

The rules, shared by both: ``sort`` names a column (ties broken by the first other column,
so pages never overlap); empty values sort last in either direction; ``search`` matches
text columns case-insensitively; a :class:`Filter` is ``column op value`` with ``op`` one
of ``= != > >= < <= ~`` (``~`` is "contains", case-insensitive); a number column compares
numbers.  A column the table does not have, or a number filter on text that is not a
number, is a :class:`~outsidein.errors.DataValidationError` (HTTP 422).

>>> rows = [{"id": "a", "clv": 5.0}, {"id": "b", "clv": None}, {"id": "c", "clv": 9.0}]
>>> page = query_rows(rows, TableQuery(sort="clv", descending=True), name="demo")
>>> [r["id"] for r in page.rows], page.matched
(['c', 'a', 'b'], 3)
>>> query_rows(rows, TableQuery(filters=(Filter.parse("clv>=6"),)), name="demo").rows
[{'id': 'c', 'clv': 9.0}]
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow.parquet as pq

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.workspace import Workspace

__all__ = ["MAX_PER_PAGE", "OPS", "Column", "Filter", "TablePage", "TableQuery",
           "iter_rows", "iter_warehouse", "query_rows", "query_warehouse", "rows_columns",
           "table_counts", "warehouse_columns"]

#: The most rows one page may ask for (a download has no limit).
MAX_PER_PAGE = 500
#: Filter operators; ``~`` is "contains" (case-insensitive).
OPS = ("!=", ">=", "<=", "=", ">", "<", "~")
_FILTER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(!=|>=|<=|=|>|<|~)\s*(.*)$", re.DOTALL)
#: Rows per Arrow batch when a download streams a warehouse table.
CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class Column:
    """A column's name and kind: ``number``, ``text``, ``bool`` or ``date``."""

    name: str
    kind: str


@dataclass(frozen=True)
class Filter:
    """``column op value``, e.g. ``Filter("clv", ">=", "100")``."""

    column: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Filter:
        """``"clv>=100"`` -> ``Filter("clv", ">=", "100")``; anything else is a 422.

        >>> Filter.parse("reason~weeks")
        Filter(column='reason', op='~', value='weeks')
        """
        m = _FILTER.match(text.strip())
        if not m:
            raise DataValidationError(
                f"filter {text!r}: expected column, operator and value like 'clv>=100' "
                f"(operators: {' '.join(OPS)})")
        return cls(m.group(1), m.group(2), m.group(3).strip())

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"


@dataclass(frozen=True)
class TableQuery:
    """Which rows of a table to show: sort, search, filters and the page."""

    sort: str | None = None
    descending: bool = False
    search: str = ""
    filters: tuple[Filter, ...] = ()
    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class TablePage:
    """One page of a table: its columns, rows, how many rows match and how many there are."""

    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    matched: int
    total: int
    query: TableQuery = field(default_factory=TableQuery)

    @property
    def first(self) -> int:
        """1-based number of the first row shown (0 when none)."""
        return self.query.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.query.offset + len(self.rows)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.matched / self.query.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "columns": [c.name for c in self.columns],
                "rows": self.rows, "matched": self.matched, "total": self.total,
                "page": self.query.page, "per_page": self.query.per_page, "pages": self.pages}


# -- shared checks ----------------------------------------------------------------------

def _check(query: TableQuery, columns: Sequence[Column], name: str) -> dict[str, Column]:
    by_name = {c.name: c for c in columns}
    asked = ([("sort", query.sort)] if query.sort else []) + [
        ("filter", f.column) for f in query.filters]
    for what, col in asked:
        if col not in by_name:
            raise DataValidationError(
                f"{what}: table {name!r} has no column {col!r}; its columns are "
                f"{', '.join(by_name)}")
    for f in query.filters:
        if f.op not in OPS:
            raise DataValidationError(f"filter {f}: unknown operator {f.op!r}; use one of "
                                      f"{' '.join(OPS)}")
        kind = by_name[f.column].kind
        if kind in ("number", "bool") and f.op != "~":
            _typed(f, kind)
    if query.page < 1 or not 1 <= query.per_page <= MAX_PER_PAGE:
        raise DataValidationError(f"page {query.page}, per_page {query.per_page}: expected a "
                                  f"page of 1 or more and 1 to {MAX_PER_PAGE} rows a page")
    return by_name


def _typed(f: Filter, kind: str) -> Any:
    if kind == "bool":
        low = f.value.lower()
        if low not in ("true", "false", "yes", "no", "1", "0"):
            raise DataValidationError(f"filter {f}: column {f.column!r} is yes/no; "
                                      "expected true or false")
        return low in ("true", "yes", "1")
    try:
        number = float(f.value.replace(",", ""))
    except ValueError:
        raise DataValidationError(f"filter {f}: column {f.column!r} holds numbers; expected "
                                  f"a number, got {f.value!r}") from None
    if not math.isfinite(number):
        raise DataValidationError(f"filter {f}: expected a finite number")
    return number


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# -- rows in memory ---------------------------------------------------------------------

def _kind_of(values: list[Any]) -> str:
    seen = [v for v in values if v is not None]
    if seen and all(isinstance(v, bool) for v in seen):
        return "bool"
    if seen and all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen):
        return "number"
    return "text"


def rows_columns(rows: Sequence[Mapping[str, Any]]) -> tuple[Column, ...]:
    """The columns of *rows* (in first-seen order) and their kinds."""
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    return tuple(Column(n, _kind_of([r.get(n) for r in rows])) for n in names)


def _matches(row: Mapping[str, Any], f: Filter, kind: str) -> bool:
    v = row.get(f.column)
    if f.op == "~":
        return v is not None and f.value.lower() in str(v).lower()
    if v is None:
        return f.op == "!="
    want: Any = _typed(f, kind) if kind in ("number", "bool") else f.value
    have: Any = v if kind in ("number", "bool") else str(v)
    ops = {"=": have == want, "!=": have != want}
    if f.op in ops:
        return ops[f.op]
    return {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[f.op]


def _filtered(rows: Sequence[Mapping[str, Any]], query: TableQuery, name: str,
              ) -> tuple[tuple[Column, ...], list[dict[str, Any]]]:
    columns = rows_columns(rows)
    by_name = _check(query, columns, name)
    needle = query.search.lower()
    text_cols = [c.name for c in columns if c.kind == "text"]
    out = [dict(r) for r in rows
           if all(_matches(r, f, by_name[f.column].kind) for f in query.filters)
           and (not needle or any(needle in str(r.get(c) or "").lower() for c in text_cols))]
    if query.sort:
        key = query.sort
        present = [r for r in out if r.get(key) is not None]
        absent = [r for r in out if r.get(key) is None]
        kind = by_name[key].kind
        present.sort(key=lambda r: r[key] if kind in ("number", "bool") else str(r[key]),
                     reverse=query.descending)
        out = present + absent
    return columns, out


def query_rows(rows: Sequence[Mapping[str, Any]], query: TableQuery, *,
               name: str) -> TablePage:
    """One page of in-memory *rows* (a small table), filtered and sorted by *query*."""
    columns, out = _filtered(rows, query, name)
    return TablePage(name=name, columns=columns, matched=len(out), total=len(rows),
                     rows=[{k: _plain(v) for k, v in r.items()}
                           for r in out[query.offset:query.offset + query.per_page]],
                     query=query)


def iter_rows(rows: Sequence[Mapping[str, Any]], query: TableQuery, *,
              name: str) -> tuple[tuple[Column, ...], Iterator[list[dict[str, Any]]]]:
    """All rows of *rows* that *query* matches (every page), in one chunk."""
    columns, out = _filtered(rows, query, name)
    return columns, iter([[{k: _plain(v) for k, v in r.items()} for r in out]])


# -- warehouse tables -------------------------------------------------------------------

def _ibis_kind(dtype: Any) -> str:
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal():
        return "date"
    return "text"


def _open(con: Any, table: str) -> Any:
    if table not in con.list_tables():
        raise MissingDataError(f"table {table!r} is not in the warehouse yet; run 'outsidein "
                               "analyze' (or 'outsidein answer') to fill it")
    return con.table(table)


def _columns(t: Any) -> tuple[Column, ...]:
    return tuple(Column(n, _ibis_kind(typ)) for n, typ in t.schema().items())


def _predicate(t: Any, f: Filter, kind: str) -> Any:
    col = t[f.column]
    if f.op == "~":
        return col.cast("string").lower().contains(f.value.lower())
    value: Any = _typed(f, kind) if kind in ("number", "bool") else f.value
    if kind == "date":
        col = col.cast("string")
    if f.op == "!=":
        return col.isnull() | (col != value)
    return {"=": col == value, ">": col > value, ">=": col >= value,
            "<": col < value, "<=": col <= value}[f.op]


def _filtered_expr(t: Any, query: TableQuery, name: str) -> tuple[Any, tuple[Column, ...]]:
    columns = _columns(t)
    by_name = _check(query, columns, name)
    expr = t
    for f in query.filters:
        expr = expr.filter(_predicate(t, f, by_name[f.column].kind))
    needle = query.search.lower()
    text_cols = [c.name for c in columns if c.kind == "text"]
    if needle and text_cols:
        hits = [t[c].lower().contains(needle).fill_null(False) for c in text_cols]
        expr = expr.filter(ibis.or_(*hits))
    elif needle:
        expr = expr.filter(ibis.literal(False))
    if query.sort:
        order = [t[query.sort].desc(nulls_first=False) if query.descending
                 else t[query.sort].asc(nulls_first=False)]
        order += [t[c.name].asc() for c in columns[:2] if c.name != query.sort][:1]
        expr = expr.order_by(order)
    return expr, columns


def warehouse_columns(ws: Workspace, table: str) -> tuple[Column, ...]:
    """The columns of warehouse *table* and their kinds."""
    with ws.reader() as con:
        return _columns(_open(con, table))


def query_warehouse(ws: Workspace, table: str, query: TableQuery) -> TablePage:
    """One page of warehouse *table*: filter, sort, count and limit run in the warehouse."""
    with ws.reader() as con:
        t = _open(con, table)
        expr, columns = _filtered_expr(t, query, table)
        total = int(t.count().execute())
        matched = total if expr is t else int(expr.count().execute())
        batch = expr.limit(query.per_page, offset=query.offset).to_pyarrow()
    rows = [{k: _plain(v) for k, v in r.items()} for r in batch.to_pylist()]
    return TablePage(name=table, columns=columns, rows=rows, matched=matched, total=total,
                     query=query)


def iter_warehouse(ws: Workspace, table: str, query: TableQuery,
                   ) -> tuple[tuple[Column, ...], Iterator[list[dict[str, Any]]]]:
    """Every row of warehouse *table* that *query* matches, streamed in batches.

    The columns are checked now (a bad query fails before a response starts).  When the
    iterator starts, the matching rows are first written, sorted, to a temporary Parquet
    file (about half a second for a million rows) and the warehouse connection is closed,
    so a slow download never holds the warehouse and a load waits at most that long;
    the rows are then read back from the file in batches of :data:`CHUNK_ROWS`.
    """
    with ws.reader() as con:
        _, columns = _filtered_expr(_open(con, table), query, table)

    def chunks() -> Iterator[list[dict[str, Any]]]:
        with tempfile.TemporaryDirectory(prefix="outsidein-table-") as tmp:
            snapshot = Path(tmp) / "rows.parquet"
            with ws.reader() as reader:
                expr, _ = _filtered_expr(_open(reader, table), query, table)
                expr.to_parquet(snapshot)
            for batch in pq.ParquetFile(snapshot).iter_batches(batch_size=CHUNK_ROWS):
                yield [{k: _plain(v) for k, v in r.items()} for r in batch.to_pylist()]

    return columns, chunks()


def table_counts(ws: Workspace, tables: Sequence[str]) -> dict[str, int]:
    """How many rows each of *tables* holds (a table not in the warehouse is left out)."""
    with ws.reader() as con:
        present = set(con.list_tables())
        return {t: int(con.table(t).count().execute()) for t in tables if t in present}
