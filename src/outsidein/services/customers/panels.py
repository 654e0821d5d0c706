"""The warehouse panels of the customer 360: who, value now and over time, orders, contacts, costs.

Each function takes a :class:`~outsidein.services.customers.reading.Reader` for one
customer and returns a :class:`~outsidein.services.customers.model.Section`; a table that
is absent or holds nothing gives a section whose ``missing`` says what would fill it.
Referrals, NPS and prospects are in :mod:`outsidein.services.customers.network`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from outsidein.domain import SERVICE_COST_KINDS, signed_lines
from outsidein.services.customers.model import Section
from outsidein.services.customers.reading import Reader, id_filter, records
from outsidein.services.questions.inputs import PROFIT_TABLE
from outsidein.services.questions.results import HOW_TO_ANSWER
from outsidein.services.value import CUSTOMER_VALUE, HOW_TO_VALUE, MODEL_TITLES
from outsidein.warehouse.schema import ATTRIBUTE_SPECS

__all__ = ["HISTORY_MONTHS", "PROFILE_FIELDS", "attributes", "customer_row", "history",
           "interactions", "name_of", "orders", "profile", "service_costs", "value"]

#: The customers columns the profile shows, in order (``nps`` has its own panel).
PROFILE_FIELDS = ("first_seen", "region", "industry", "company_size", "age_band",
                  "acquisition_channel", "consent_email", "consent_sms")
#: How many months of revenue the "over time" panel shows at most.
HISTORY_MONTHS = 36
_ATTR_BOOKKEEPING = ("load_id", "loaded_at")


def _load_hint(table: str, what: str) -> str:
    return f"no {what} loaded: load them with 'outsidein load {table} FILE'"


# -- who ------------------------------------------------------------------------------------

def customer_row(r: Reader) -> dict[str, Any] | None:
    """The customer's ``customers`` row, or None for an id the table does not hold."""
    return r.one("customers", "customer_id")


def attributes(r: Reader, table: str = "customers") -> list[dict[str, Any]]:
    """The entity's attributes (extra columns of its files): the latest load's value of each."""
    spec = ATTRIBUTE_SPECS[table]
    key = spec.key[0]
    if not r.has(spec.name):
        return []
    t = r.table(spec.name)
    names = [c for c in t.columns if c != key and c not in _ATTR_BOOKKEEPING]
    if not names:
        return []
    rows = records(t.filter(id_filter(t[key], r.id)).order_by(ibis.desc("loaded_at"))
                   .limit(50))
    out = []
    for name in names:
        value = next((row[name] for row in rows if row[name] is not None), None)
        if value is not None:
            out.append({"attribute": name.replace("_", " "), "value": value})
    return out


def name_of(attrs: list[dict[str, Any]]) -> str | None:
    """A display name from the attributes: ``name``, else ``full name``, ``company name`` ..."""
    for want in ("name", "full name", "company name", "customer name", "company"):
        for a in attrs:
            if a["attribute"].lower() == want and isinstance(a["value"], str):
                return a["value"]
    return None


def profile(r: Reader, row: dict[str, Any], attrs: list[dict[str, Any]]) -> Section:
    """Who the customer is: the canonical fields that have a value, then their attributes."""
    figures = {f: row.get(f) for f in PROFILE_FIELDS if row.get(f) is not None}
    if row.get("is_stub"):
        figures["known_only_from_other_tables"] = True
    came_from = r.rows_of("prospects", "converted_customer_id", limit=5)
    if came_from:
        figures["was_prospect"] = came_from[0]["prospect_id"]
    note = ("This id appeared in another table (orders, interactions ...) before any customers "
            "file named it; load customers to fill in who they are." if row.get("is_stub")
            else "")
    if not attrs:
        note = (note + " " if note else "") + (
            "No extra attributes: columns of a customers file that the canonical model does "
            "not name (name, income, household size ...) appear here once loaded.")
    return Section("profile", "Who the customer is", figures=figures, rows=attrs, note=note)


# -- value now --------------------------------------------------------------------------------

_VALUE_FIELDS = ("clv", "prob_alive", "value_decile", "expected_purchases", "frequency",
                 "recency", "T", "monetary_value", "expected_spend")


def _how_scored(r: Reader) -> dict[str, Any]:
    how: dict[str, Any] = {}
    if r.has("value_scoring"):
        rows = records(r.table("value_scoring").limit(1))
        if rows:
            how.update({k: v for k, v in rows[0].items()
                        if k in ("model", "horizon_weeks", "discount_rate", "value_basis",
                                 "margin_rate", "alive_note", "value_caveat") and v})
    if how.get("model"):
        how["model_title"] = MODEL_TITLES.get(how["model"], how["model"])
    if r.has("value_models"):
        t = r.table("value_models")
        if "time_unit" in t.columns:
            rows = records(t.select("time_unit").limit(1))
            if rows and rows[0]["time_unit"]:
                how["time_unit"] = rows[0]["time_unit"]
    return how


def value(r: Reader) -> Section:
    """Value now: predicted value (CLV), chance still active, decile and the reason in words."""
    title = "Value now"
    if not r.has(CUSTOMER_VALUE):
        return Section("value", title, missing=f"no predicted value yet: {HOW_TO_VALUE}")
    row = r.one(CUSTOMER_VALUE, "customer_id")
    if row is None:
        return Section("value", title, missing=(
            "no predicted value for this customer: customers are scored from their purchases; "
            "load their orders, then run 'outsidein value score'"))
    figures = {k: row[k] for k in _VALUE_FIELDS if k in row}
    reason = row.get("reason") or row.get("reasons") or row.get("why")
    figures["reason"] = "; ".join(reason) if isinstance(reason, list) else reason
    t = r.table(CUSTOMER_VALUE)
    if "clv" in t.columns and row.get("clv") is not None:
        counts = records(t.aggregate(n=t.count(), above=(t.clv > row["clv"]).sum()))[0]
        figures["rank"] = int(counts["above"] or 0) + 1
        figures["customers_scored"] = int(counts["n"])
    figures["how"] = _how_scored(r)
    return Section("value", title, figures=figures)


# -- over time and orders -------------------------------------------------------------------------

def _lines(r: Reader) -> ir.Table | None:
    if not r.filled("order_lines"):
        return None
    t = r.table("order_lines")
    return signed_lines(t.filter(id_filter(t.customer_id, r.id)))


def _order_key(s: ir.Table) -> ir.StringValue:
    return s.order_id.fill_null(s.customer_id.cast("string") + "@" + s.ts.cast("string"))


def _next_month(d: datetime) -> datetime:
    return datetime(d.year + d.month // 12, d.month % 12 + 1, 1)


def _every_month(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Monthly rows (newest first, months with orders only) -> oldest first, gaps as zeros.

    >>> rows = [{"month": datetime(2024, 3, 1), "revenue": 5.0, "returns": None, "orders": 1},
    ...         {"month": datetime(2023, 12, 1), "revenue": 2.0, "returns": 1.0, "orders": 1}]
    >>> [(m["month"].month, m["net"]) for m in _every_month(rows)]
    [(12, 1.0), (1, 0.0), (2, 0.0), (3, 5.0)]
    """
    by_month = {row["month"]: row for row in rows}
    out: list[dict[str, Any]] = []
    month, last = min(by_month), max(by_month)
    while month <= last:
        row = by_month.get(month, {"month": month, "revenue": 0.0, "returns": 0.0, "orders": 0})
        revenue, returns = float(row["revenue"] or 0.0), float(row["returns"] or 0.0)
        out.append({"month": month, "revenue": revenue, "returns": returns,
                    "orders": int(row["orders"] or 0), "net": revenue - returns})
        month = _next_month(month)
    return out[-HISTORY_MONTHS:]


def history(r: Reader) -> Section:
    """Value over time: revenue and orders per month, from the order lines (oldest first).

    The warehouse keeps today's predicted value only, so the series is realised revenue.
    """
    title = "Value over time"
    s = _lines(r)
    if s is None:
        return Section("history", title, missing=_load_hint("order_lines", "orders"))
    s = s.mutate(month=s.ts.truncate("M"), key=_order_key(s))
    monthly = s.group_by("month").aggregate(
        revenue=s.rev.sum(where=~s.is_ret), returns=(-s.rev).sum(where=s.is_ret),
        orders=s.key.nunique(where=~s.is_ret))
    rows = records(monthly.order_by(ibis.desc("month")).limit(HISTORY_MONTHS))
    if not rows:
        return Section("history", title, missing="no orders from this customer in the warehouse")
    rows = _every_month(rows)
    peak = max(rows, key=lambda x: x["net"])
    note = ("Realised revenue per month from the order lines; the warehouse keeps only today's "
            "predicted value, not its past values.")
    if len(rows) == HISTORY_MONTHS:
        note += f" The last {HISTORY_MONTHS} months are shown."
    return Section("history", title, figures={"months": len(rows), "best_month": peak["month"],
                                              "best_month_net": peak["net"]},
                   rows=rows, note=note)


def orders(r: Reader) -> Section:
    """The customer's orders, most recent first, with their count and totals."""
    title = "Orders"
    s = _lines(r)
    if s is None:
        return Section("orders", title, missing=_load_hint("order_lines", "orders"))
    s = s.mutate(key=_order_key(s), disc=s.discount.fill_null(0.0))
    if r.has("products"):
        p = r.table("products")
        names = p.select(pid=p.product_id, pname=p.name)
        s = s.left_join(names, s.product_id == names.pid)
        item = s.pname.fill_null(s.product_id)
    else:
        item = s.product_id
    per = s.group_by("key").aggregate(
        ts=s.ts.min(), lines=s.count(), units=s.qty.sum(where=~s.is_ret),
        revenue=s.rev.sum(), discount=s.disc.sum(), returned=s.is_ret.any(),
        products=item.collect(distinct=True))
    rows = records(per.order_by([ibis.desc("ts"), "key"]).limit(r.limit))
    if not rows:
        return Section("orders", title, missing="no orders from this customer in the warehouse")
    totals = records(s.aggregate(
        orders=s.key.nunique(where=~s.is_ret), revenue=s.rev.sum(where=~s.is_ret),
        returns=(-s.rev).sum(where=s.is_ret), discount=s.disc.sum(),
        first=s.ts.min(), last=s.ts.max()))[0]
    for row in rows:
        row["order_id"] = row.pop("key")
        names = sorted(str(x) for x in (row.pop("products") or []) if x is not None)
        row["products"] = ", ".join(names[:5]) + (f" and {len(names) - 5} more"
                                                  if len(names) > 5 else "")
    n = int(totals["orders"] or 0)
    revenue = float(totals["revenue"] or 0.0)
    figures = {"orders": n, "revenue": revenue, "returns": float(totals["returns"] or 0.0),
               "discount": float(totals["discount"] or 0.0),
               "average_order": revenue / n if n else None,
               "first_order": totals["first"], "last_order": totals["last"]}
    note = f"The {r.limit} most recent orders are listed." if len(rows) == r.limit else ""
    return Section("orders", title, figures=figures, rows=rows, note=note)


# -- contacts and costs ---------------------------------------------------------------------------

def interactions(r: Reader) -> Section:
    """Contacts with the company (visits, calls, complaints ...), most recent first."""
    title = "Interactions"
    if not r.filled("interactions"):
        return Section("interactions", title,
                       missing=_load_hint("interactions", "interactions (visits, calls, e-mails)"))
    t = r.table("interactions")
    mine = t.filter(id_filter(t.customer_id, r.id))
    rows = records(mine.select("ts", "channel", "type", "product_id")
                   .order_by(ibis.desc("ts")).limit(r.limit))
    if not rows:
        return Section("interactions", title, figures={"interactions": 0},
                       note="No interaction of this customer is recorded.")
    by_channel = {x["channel"]: int(x["n"]) for x in records(
        mine.group_by("channel").aggregate(n=mine.count()).order_by(ibis.desc("n")))}
    by_type = {x["type"]: int(x["n"]) for x in records(
        mine.group_by("type").aggregate(n=mine.count()).order_by(ibis.desc("n")))}
    figures = {"interactions": sum(by_channel.values()), "last_interaction": rows[0]["ts"],
               "by_channel": by_channel, "by_type": by_type,
               "complaints": by_type.get("complaint", 0)}
    note = (f"The {r.limit} most recent are listed." if len(rows) == r.limit else "")
    return Section("interactions", title, figures=figures, rows=rows, note=note)


def _profit_row(r: Reader) -> dict[str, Any] | None:
    row = r.one(PROFIT_TABLE, "customer_id")
    if row is None:
        return None
    keep = ("revenue", "discount", "cogs", "margin", "cost_to_serve", "profit", "first_order",
            "last_order")
    return {k: row[k] for k in keep if k in row}


def service_costs(r: Reader) -> Section:
    """Service costs (support, returns, delivery ...) and the cost to serve against the margin."""
    title = "Service costs and cost to serve"
    profit = _profit_row(r)
    if not r.filled("service_costs"):
        return Section("service_costs", title, figures={"profit": profit} if profit else {},
                       missing=_load_hint("service_costs", "service costs"))
    t = r.table("service_costs")
    mine = t.filter(id_filter(t.customer_id, r.id))
    rows = records(mine.select("ts", "kind", "amount").order_by(ibis.desc("ts")).limit(r.limit))
    kinds = {x["kind"]: {"amount": float(x["amount"] or 0.0), "count": int(x["n"])}
             for x in records(mine.group_by("kind").aggregate(amount=mine.amount.sum(),
                                                               n=mine.count()))}
    by_kind = {k: kinds[k] for k in (*SERVICE_COST_KINDS, *sorted(kinds)) if k in kinds}
    figures: dict[str, Any] = {"cost_to_serve": sum(v["amount"] for v in by_kind.values()),
                               "by_kind": by_kind}
    drain = r.one("answer_cost_to_serve", "customer_id")
    if drain is not None:
        figures["costs_more_than_brings"] = True
        figures["drain_reason"] = drain.get("reason")
    if profit:
        figures["profit"] = profit
    notes = []
    if len(rows) == r.limit:
        notes.append(f"The {r.limit} most recent costs are listed.")
    if not profit:
        notes.append(f"Margin and profit per customer appear after the five answers: "
                     f"{HOW_TO_ANSWER}.")
    return Section("service_costs", title, figures=figures, rows=rows, note=" ".join(notes))
