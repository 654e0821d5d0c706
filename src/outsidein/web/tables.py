"""Tables people can explore: one mechanism for every table a page or the API shows.

The choice
----------
A table is named (``customer_value``, ``answer_likely_converts``, ``answer_value.drivers``)
and resolved by :func:`resolve` to a :class:`TableSpec`: where its rows live, its title,
default order and page size.  The query string is the same for the page and the API
(:class:`TableParams`, declared once so FastAPI validates it and documents it in OpenAPI):
``sort``, ``desc``, ``q`` (free-text search over the text columns), ``filter`` (repeatable,
``column op value`` such as ``clv>=1000`` or ``status=open``; the page's filter form sends
``col``, ``op`` and ``val`` instead), ``page``, ``per_page`` (at most 500) and
``format=csv``.  The query is applied **where the rows live**
(:mod:`outsidein.services.tables`): warehouse tables are sorted, filtered, counted and
paged in DuckDB (or Spark) through Ibis and a download streams Arrow batches, so a
million-row ``customer_value`` never sits in Python; an answer's small side tables (stored
in ``results/five_questions.json``) are handled in Python by the same rules.  Every CSV
goes through the CSV neutraliser (:func:`outsidein.services.share.neutralise_cell`).
A bad parameter (an unknown column, a word where a number is due) is a 422 problem+json.

Pages render a :class:`TableView` with ``templates/partials/explore.html``: header links
that sort (with ``aria-sort``), a filter form, a pager ("rows 51–100 of 23,570") and a
"Download CSV" link that keeps the filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.questions import HOW_TO_ANSWER, StoredAnswer, read_answers
from outsidein.services.share import neutralise_cell
from outsidein.services.tables import (
    MAX_PER_PAGE,
    OPS,
    Column,
    Filter,
    TablePage,
    TableQuery,
    iter_rows,
    iter_warehouse,
    query_rows,
    query_warehouse,
)
from outsidein.services.value import value_columns
from outsidein.web.labels import is_model, label
from outsidein.workspace import Workspace

__all__ = ["CUSTOMER_VALUE", "OPS", "TableParams", "TableQueryParams", "TableSpec", "TableView",
           "csv_response", "explore", "fetch", "resolve", "table_params"]

#: The name of the customer value table (the /value page).
CUSTOMER_VALUE = "customer_value"
#: The filter operators in words (the filter form and the active filters say these).
OP_WORDS = {"~": "contains", "=": "is", "!=": "is not", ">=": "at least", "<=": "at most",
            ">": "more than", "<": "less than"}
#: The columns /value shows after the customer and the value, in this order.
VALUE_SHOWN = ("value_decile", "prob_alive", "expected_purchases", "monetary_value",
               "expected_spend")


@dataclass(frozen=True)
class TableSpec:
    """One explorable table: where its rows are, how it reads and how it opens."""

    name: str
    title: str
    scope: str
    warehouse_table: str | None = None
    rows: tuple[dict[str, Any], ...] | None = None
    sort: str | None = None
    descending: bool = False
    per_page: int = 50
    #: the columns the page shows first (the rest: "all columns", the CSV and the API)
    shown: tuple[str, ...] = ()
    lead: str = ""
    #: an answer's list that someone can be made the owner of working through
    assignable: bool = False
    answer: str | None = None
    side_tables: tuple[tuple[str, int], ...] = ()


def _answer_spec(a: StoredAnswer) -> TableSpec:
    shown = tuple(a.rows[0]) if a.rows else ()
    return TableSpec(name=a.table, title=a.title or a.question, scope="answers:read",
                     warehouse_table=a.table, sort="rank", per_page=25, shown=shown,
                     lead=a.next_action_text, assignable=True, answer=a.name,
                     side_tables=tuple((f"{a.table}.{k}", len(v)) for k, v in a.tables.items()))


def resolve(ws: Workspace, name: str) -> TableSpec:
    """The explorable table called *name*, or :class:`NotFoundError`."""
    if name == CUSTOMER_VALUE:
        value_col, _ = value_columns(ws)
        return TableSpec(name=name, title="Customer value", scope="value:read",
                         warehouse_table=CUSTOMER_VALUE, sort=value_col, descending=True,
                         shown=("customer_id", value_col, *VALUE_SHOWN))
    stored = read_answers(ws)
    for a in stored or ():
        if not a.table:
            continue
        if name == a.table and not a.missing_data:
            return _answer_spec(a)
        base, _, key = name.partition(".")
        if base == a.table and key in a.tables:
            return TableSpec(name=name, title=f"{a.title or a.question}: {key}",
                             scope="answers:read", rows=tuple(a.tables[key]),
                             per_page=50, answer=a.name)
    known = [CUSTOMER_VALUE] + [a.table for a in stored or () if a.table and not a.missing_data]
    raise NotFoundError(f"no table {name!r}; tables: {', '.join(known)}"
                        + ("" if stored else f" (the answers' lists: {HOW_TO_ANSWER})"))


# -- the query string ---------------------------------------------------------------------

@dataclass(frozen=True)
class TableParams:
    """The query string of a table page or API call, as sent (see the module docstring)."""

    sort: str | None = None
    desc: bool | None = None
    q: str = ""
    filter: tuple[str, ...] = ()
    col: str | None = None
    op: str = "~"
    val: str = ""
    page: int = 1
    per_page: int | None = None
    format: str = "html"
    cols: str = ""

    def query(self, spec: TableSpec) -> TableQuery:
        """The :class:`TableQuery` these parameters ask of *spec* (its defaults filled in)."""
        filters = [Filter.parse(f) for f in self.filter if f.strip()]
        if self.col and self.val.strip():
            if self.op not in OPS:
                raise DataValidationError(f"op {self.op!r}: expected one of {' '.join(OPS)}")
            filters.append(Filter(self.col, self.op, self.val.strip()))
        sort = self.sort or spec.sort
        desc = self.desc if self.desc is not None else (spec.descending if not self.sort
                                                        else False)
        return TableQuery(sort=sort, descending=desc, search=self.q.strip(),
                          filters=tuple(filters), page=self.page,
                          per_page=self.per_page or spec.per_page)

    def link(self, **changes: Any) -> str:
        """This query string with *changes* (None drops a parameter)."""
        values: dict[str, Any] = {"sort": self.sort, "desc": self.desc, "q": self.q,
                                  "filter": list(self.filter), "col": self.col, "op": self.op,
                                  "val": self.val, "page": self.page,
                                  "per_page": self.per_page, "cols": self.cols}
        values.update(changes)
        if not values.get("val"):
            values.update(col=None, op=None, val=None)
        pairs: list[tuple[str, Any]] = []
        for k, v in values.items():
            if v in (None, "", [], False) or (k == "page" and v == 1):
                continue
            if isinstance(v, list):
                pairs += [(k, item) for item in v]
            else:
                pairs.append((k, "1" if v is True else v))
        return "?" + urlencode(pairs) if pairs else "?"


def table_params(
    sort: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                      description="column to sort on")] = None,
    desc: Annotated[bool | None, Query(description="sort descending")] = None,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$",
                            description="text the row must contain (any text column)")] = "",
    filter: Annotated[list[str] | None, Query(
        max_length=20, description="repeatable: column, operator (= != > >= < <= ~) and value, "
        "e.g. clv>=1000 or status=open; ~ means contains")] = None,
    col: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                     description="filter form: column")] = None,
    op: Annotated[str, Query(max_length=2, description="filter form: operator")] = "~",
    val: Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$",
                              description="filter form: value")] = "",
    page: Annotated[int, Query(ge=1, le=10_000_000, description="page number, from 1")] = 1,
    per_page: Annotated[int | None, Query(ge=1, le=MAX_PER_PAGE,
                                          description="rows a page")] = None,
    format: Annotated[str, Query(pattern="^(html|json|csv)$",
                                 description="csv: every matching row as CSV")] = "html",
    cols: Annotated[str, Query(pattern="^(all)?$",
                               description="all: every column on the page")] = "",
) -> TableParams:
    """FastAPI dependency: the table query string, validated (a bad value is a 422)."""
    for f in filter or ():
        if len(f) > 500 or any(ord(ch) < 32 for ch in f):
            raise DataValidationError(f"filter {f[:60]!r}: at most 500 characters on one line")
    return TableParams(sort=sort, desc=desc, q=q, filter=tuple(filter or ()), col=col, op=op,
                       val=val, page=page, per_page=per_page, format=format, cols=cols)


#: Route parameter type: the table query string of a page or API call.
TableQueryParams = Annotated[TableParams, Depends(table_params)]


# -- fetching and downloading ---------------------------------------------------------------

def fetch(ws: Workspace, spec: TableSpec, query: TableQuery) -> TablePage:
    """One page of *spec*'s rows."""
    if spec.warehouse_table:
        return query_warehouse(ws, spec.warehouse_table, query)
    return query_rows(spec.rows or (), query, name=spec.name)


def csv_response(ws: Workspace, spec: TableSpec, query: TableQuery) -> StreamingResponse:
    """Every row of *spec* that *query* matches, as a streamed, neutralised CSV download.

    The header row uses the column names (stable for re-import), each cell passes through
    the CSV neutraliser, so a value such as ``=HYPERLINK(...)`` opens as text.
    """
    if spec.warehouse_table:
        columns, chunks = iter_warehouse(ws, spec.warehouse_table, query)
    else:
        columns, chunks = iter_rows(spec.rows or (), query, name=spec.name)
    names = [c.name for c in columns]

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for chunk in chunks:
            for row in chunk:
                writer.writerow([neutralise_cell("" if row.get(c) is None else row.get(c))
                                 for c in names])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{spec.name}.csv"'})


# -- the page view ----------------------------------------------------------------------

@dataclass(frozen=True)
class TableView:
    """What ``partials/explore.html`` needs: the page of rows and the links around it."""

    spec: TableSpec
    page: TablePage
    params: TableParams
    base: str
    columns: tuple[str, ...]
    model: tuple[str, ...]
    all_columns: tuple[Column, ...] = field(default=())
    reason_col: str | None = None

    def sort_link(self, column: str) -> str:
        """Sort on *column*: the other way round if it is the sort now, else numbers biggest
        first and words (and ranks) from the top."""
        q = self.page.query
        kinds = {c.name: c.kind for c in self.all_columns}
        if q.sort == column:
            desc = not q.descending
        else:
            desc = kinds.get(column) == "number" and column != "rank"
        return self.base + self.params.link(sort=column, desc=desc, page=1)

    def aria_sort(self, column: str) -> str:
        q = self.page.query
        if q.sort != column:
            return "none"
        return "descending" if q.descending else "ascending"

    def page_link(self, number: int) -> str:
        return self.base + self.params.link(page=number)

    @property
    def op_words(self) -> dict[str, str]:
        return OP_WORDS

    @property
    def filter_chips(self) -> list[tuple[str, str]]:
        """Each ``filter`` in words ("Chance still active at least 0.5") and a link without it."""
        chips = []
        for i, text in enumerate(self.params.filter):
            f = Filter.parse(text)
            rest = [t for j, t in enumerate(self.params.filter) if j != i]
            chips.append((f"{label(f.column).text} {OP_WORDS.get(f.op, f.op)} {f.value}",
                          self.base + self.params.link(filter=rest, page=1)))
        return chips

    @property
    def csv_link(self) -> str:
        return self.base + self.params.link(page=1, per_page=None, format="csv")

    @property
    def all_columns_link(self) -> str:
        return self.base + self.params.link(cols="" if self.params.cols else "all")


def explore(ws: Workspace, spec: TableSpec, params: TableParams, *, base: str,
            reason_col: str | None = None) -> TableView:
    """The :class:`TableView` of *spec* for the page at *base* with query *params*."""
    page = fetch(ws, spec, params.query(spec))
    names = [c.name for c in page.columns if c.name != reason_col]
    if not params.cols and spec.shown:
        names = [c for c in dict.fromkeys(spec.shown) if c in names]
    main = tuple(c for c in names if params.cols or not is_model(c))
    model = tuple(c.name for c in page.columns if is_model(c.name))
    return TableView(spec=spec, page=page, params=params, base=base, columns=main,
                     model=model, all_columns=page.columns, reason_col=reason_col)
