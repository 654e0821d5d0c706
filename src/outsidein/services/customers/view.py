"""The customer 360 and the customer search: one id in, one :class:`CustomerView` out.

>>> from outsidein.store.db import session_scope                      # doctest: +SKIP
>>> with session_scope(ws.store_url, write=False) as s:               # doctest: +SKIP
...     view = customer_360(ws, s, "C0000042")
...     view.section("value").figures["clv"]
1523.4
>>> [h.id for h in search_customers(ws, "C00000")][:2]               # doctest: +SKIP
['C0000001', 'C0000002']
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError
from outsidein.services.customers.mentions import insights_mentioning
from outsidein.services.customers.model import CustomerView, SearchHit, Section
from outsidein.services.customers.network import nps, prospect, prospect_row, referrals
from outsidein.services.customers.panels import (
    attributes,
    customer_row,
    history,
    interactions,
    name_of,
    orders,
    profile,
    service_costs,
    value,
)
from outsidein.services.customers.reading import Reader, records
from outsidein.warehouse.schema import ATTRIBUTE_SPECS
from outsidein.workspace import Workspace

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "SEARCH_LIMIT", "currency_of", "customer_360",
           "search_customers"]

#: Rows each list of the 360 shows by default, and at most.
DEFAULT_LIMIT = 20
MAX_LIMIT = 500
#: Search results at most.
SEARCH_LIMIT = 20
_PROSPECT_FIELDS = ("created", "source", "region", "industry", "company_size", "age_band",
                    "web_visits", "pricing_visits", "email_opens", "converted_customer_id")


def currency_of(ws: Workspace) -> str:
    """The currency symbol money is shown in (``[value] currency_symbol``, default ``$``)."""
    return str(ws.config.extra.get("value", {}).get("currency_symbol", "$"))


def _not_found(customer_id: str, why: str) -> NotFoundError:
    return NotFoundError(f"no customer or prospect with id {customer_id!r}: {why}; check the id, "
                         "or search by part of it or by name")


def _as_of(r: Reader) -> Any:
    if not r.has("value_models"):
        return None
    t = r.table("value_models")
    if "observation_end" not in t.columns:
        return None
    rows = records(t.select("observation_end").limit(1))
    return rows[0]["observation_end"] if rows else None


def _prospect_profile(r: Reader, row: dict[str, Any], attrs: list[dict[str, Any]]) -> Section:
    figures = {k: row[k] for k in _PROSPECT_FIELDS if row.get(k) is not None}
    note = ("" if row.get("converted_customer_id") is None
            else "This prospect became a customer: see their own page.")
    return Section("profile", "Who the prospect is", figures=figures, rows=attrs, note=note)


def customer_360(ws: Workspace, session: Session, customer_id: str, *,
                 limit: int = DEFAULT_LIMIT) -> CustomerView:
    """Everything the warehouse and the store hold about one customer or prospect.

    Parameters
    ----------
    ws
        The workspace; its warehouse is read without taking the write lock.
    session
        A store session (read only): the insights that mention the customer.
    customer_id
        A ``customers.customer_id``, else a ``prospects.prospect_id``.
    limit
        Rows per list (orders, interactions, service costs), most recent first.

    Raises
    ------
    NotFoundError
        Neither a customer nor a prospect has this id (or there is no warehouse yet).
    BusyError
        Another process has held the DuckDB warehouse for writing too long.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    with ws.reader(missing_ok=True) as con:
        if con is None:
            raise _not_found(customer_id, "the workspace has no warehouse yet")
        r = Reader(con=con, tables=frozenset(con.list_tables()), id=customer_id, limit=limit)
        row = customer_row(r)
        if row is not None:
            attrs = attributes(r, "customers")
            kind = "customer"
            sections = [profile(r, row, attrs), value(r), history(r), orders(r),
                        interactions(r), service_costs(r), referrals(r), nps(row)]
        else:
            prow = prospect_row(r)
            if prow is None:
                raise _not_found(customer_id, "neither the customers nor the prospects table "
                                              "holds it")
            attrs = attributes(r, "prospects")
            kind = "prospect"
            sections = [_prospect_profile(r, prow, attrs), prospect(r, prow)]
        as_of = _as_of(r)
    sections.append(insights_mentioning(session, customer_id))
    return CustomerView(customer_id=customer_id, kind=kind, name=name_of(attrs),
                        currency=currency_of(ws), as_of=as_of, sections=tuple(sections))


# -- search -------------------------------------------------------------------------------------

def _name_columns(t: ir.Table, key: str) -> list[str]:
    return [c for c, typ in t.schema().items()
            if c != key and typ.is_string() and ("name" in c.lower() or c.lower() == "company")]


def _by_name(r: Reader, table: str, needle: str, limit: int) -> dict[str, str]:
    """id -> the matching name, from the entity's name-like text attributes."""
    spec = ATTRIBUTE_SPECS[table]
    key = spec.key[0]
    if not r.has(spec.name):
        return {}
    t = r.table(spec.name)
    found: dict[str, str] = {}
    for col in _name_columns(t, key):
        for x in records(t.filter(t[col].lower().contains(needle))
                         .select(id=t[key].cast("string"), name=t[col])
                         .order_by("id").limit(limit)):
            found.setdefault(x["id"], x["name"])
    return found


def _names_for(r: Reader, table: str, ids: list[str]) -> dict[str, str]:
    """id -> name, for the *ids* whose name-like attribute has a value."""
    spec = ATTRIBUTE_SPECS[table]
    key = spec.key[0]
    if not ids or not r.has(spec.name):
        return {}
    t = r.table(spec.name)
    found: dict[str, str] = {}
    for col in _name_columns(t, key):
        for x in records(t.filter(t[key].cast("string").isin(ids) & t[col].notnull())
                         .select(id=t[key].cast("string"), name=t[col])):
            found.setdefault(x["id"], x["name"])
    return found


def _by_id(r: Reader, table: str, key: str, needle: str, limit: int) -> list[str]:
    if not r.has(table):
        return []
    t = r.table(table)
    col = t[key].cast("string")
    return [x["id"] for x in records(t.filter(col.lower().startswith(needle))
                                     .select(id=col).order_by("id").limit(limit))]


def _details(r: Reader, table: str, key: str, ids: list[str]) -> dict[str, str]:
    if not ids or not r.has(table):
        return {}
    t = r.table(table)
    cols = [c for c in ("region", "industry", "company_size", "age_band", "source")
            if c in t.columns]
    rows = records(t.filter(t[key].cast("string").isin(ids))
                   .select(id=t[key].cast("string"), **{c: t[c] for c in cols}))
    return {x["id"]: " · ".join(str(x[c]) for c in cols if x[c] is not None) for x in rows}


def _hits(r: Reader, kind: str, table: str, key: str, needle: str,
          limit: int) -> list[SearchHit]:
    ids = _by_id(r, table, key, needle, limit)
    names = _by_name(r, table, needle, limit)
    order = (ids + [i for i in names if i not in ids])[:limit]
    detail = _details(r, table, key, order)
    named = {**_names_for(r, table, [i for i in order if i not in names]), **names}
    return [SearchHit(kind=kind, id=i, label=named.get(i) or i, detail=detail.get(i, ""))
            for i in order]


def search_customers(ws: Workspace, query: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Customers, then prospects, whose id starts with *query* or whose name contains it.

    Case is ignored; an exact id comes first; at most *limit* results.  No warehouse yet,
    or an empty query: no results.
    """
    needle = query.strip().lower()
    if not needle:
        return []
    limit = max(1, min(int(limit), 100))
    with ws.reader(missing_ok=True) as con:
        if con is None:
            return []
        r = Reader(con=con, tables=frozenset(con.list_tables()), id="", limit=limit)
        hits = (_hits(r, "customer", "customers", "customer_id", needle, limit)
                + _hits(r, "prospect", "prospects", "prospect_id", needle, limit))
    hits.sort(key=lambda h: h.id.lower() != needle)  # stable: an exact id first
    return hits[:limit]

