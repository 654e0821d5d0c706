"""What the five answers read: one row per customer, joined in the warehouse.

:func:`read_inputs` aggregates and joins inside the engine (customer profit,
attributes and predicted value) so pandas only sees one row per customer,
never order lines.  When ``customer_value`` is missing it is computed first
with the value service's defaults; if the data cannot support a value model
the answers stand on realised profit and say so.  What that profit rests on
(product costs, a margin rate, or only revenue) is counted once here
(:class:`~outsidein.value.ValueBasis`), for every answer to say.

:func:`check_period` refuses a reversed or empty period before anything is
read or written.  Customer profit goes to a working table during a run
(:data:`PROFIT_STAGE`); :func:`~outsidein.services.questions.answer_five_questions`
keeps it as :data:`PROFIT_TABLE` only when every answer succeeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from outsidein.errors import DataValidationError, OutsideInError
from outsidein.services.value import CUSTOMER_VALUE
from outsidein.services.value import run as run_value
from outsidein.value import ValueBasis, cost_coverage, customer_profit
from outsidein.warehouse.attributes import read_attributes

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["ATTRIBUTE_COLUMNS", "Inputs", "PROFIT_STAGE", "PROFIT_TABLE", "check_period",
           "customer_attributes", "customer_frame", "frame", "read_inputs"]


@dataclass
class Inputs:
    """What the answers read: per-customer frames (never order lines) and small tables."""

    ws: Workspace
    period_start: datetime | None
    period_end: datetime | None
    profit: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    value: pd.DataFrame | None = None
    value_missing: str | None = None
    has_service_costs: bool = False
    query_start: datetime | None = None  # the period as asked (None: unbounded)
    query_end: datetime | None = None
    basis: ValueBasis = field(default_factory=ValueBasis)  # what "profit" rests on
    extras: dict[str, Any] = field(default_factory=dict)


def frame(expr: Any) -> pd.DataFrame:
    """Execute an Ibis table expression into pandas (through Arrow, same on every backend)."""
    return expr.to_pyarrow().to_pandas()


def _period_bounds(wh: Any) -> tuple[datetime | None, datetime | None]:
    """The span of the order history: its first and last order line (None when empty)."""
    t = wh.table("order_lines")
    row = frame(t.aggregate(lo=t.ts.min(), hi=t.ts.max())).iloc[0]
    lo, hi = row["lo"], row["hi"]
    return (None if pd.isna(lo) else pd.Timestamp(lo).to_pydatetime(),
            None if pd.isna(hi) else pd.Timestamp(hi).to_pydatetime())


def _customer_value(ws: Workspace) -> tuple[Any, str | None]:
    """The ``customer_value`` table as an Ibis expression (computed first when absent)."""
    wh = ws.warehouse()
    if wh.is_empty(CUSTOMER_VALUE):
        try:
            run_value(ws)
        except OutsideInError as exc:  # too little data for a model: realised profit still stands
            log.warning("customer value could not be computed: %s", exc)
            return None, (f"customer value could not be computed ({exc}); "
                          "run 'outsidein value fit'; answers use realised profit meanwhile")
    t = wh.table(CUSTOMER_VALUE)
    cols = [c for c in VALUE_COLUMNS if c in t.columns]
    expr = t.select(*cols)
    if "reason" in cols:
        expr = expr.rename(value_reason="reason")
    return expr, None


#: per-customer margin, cost to serve by kind and profit over the period (one row each)
PROFIT_TABLE = "answer_customer_profit"
#: the same during a run (kept as PROFIT_TABLE only when every answer succeeded)
PROFIT_STAGE = "answer_customer_profit_stage"
#: its money columns (with every ``cost_*`` one)
PROFIT_MONEY = ("revenue", "discount", "cogs", "margin", "profit")
VALUE_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value",
                 "expected_purchases", "prob_alive", "clv", "value_decile", "reason")
CUSTOMER_COLUMNS = ("customer_id", "first_seen", "region", "industry", "company_size",
                    "age_band", "acquisition_channel", "nps")
#: the canonical customer attributes compared between the top decile and the rest
ATTRIBUTE_COLUMNS = ("region", "industry", "company_size", "age_band", "acquisition_channel")


def _day(d: datetime) -> str:
    return f"{d:%Y-%m-%d}" if (d.hour, d.minute, d.second) == (0, 0, 0) else d.isoformat(" ")


def check_period(ws: Workspace, period_start: datetime | None,
                 period_end: datetime | None) -> None:
    """Refuse a reversed period, or one without any order line, before anything is written.

    Raises
    ------
    DataValidationError
        The start is not before the end, or no order line falls in ``[start, end)``.
    """
    if period_start is not None and period_end is not None and period_start >= period_end:
        raise DataValidationError(
            f"period from {_day(period_start)} to {_day(period_end)} is "
            f"{'empty' if period_start == period_end else 'reversed'}: the start must come "
            "before the end (the end is exclusive); nothing was changed")
    wh = ws.warehouse()
    if (period_start is None and period_end is None) or wh.is_empty("order_lines"):
        return
    t = wh.table("order_lines")
    inside = t
    if period_start is not None:
        inside = inside.filter(inside.ts >= period_start)
    if period_end is not None:
        inside = inside.filter(inside.ts < period_end)
    if int(inside.limit(1).count().to_pyarrow().as_py()) == 0:
        lo, hi = _period_bounds(wh)
        span = f"{_day(lo)} to {_day(hi)}" if lo is not None and hi is not None else "unknown"
        asked = (f"{_day(period_start) if period_start else 'the start'} to "
                 f"{_day(period_end) if period_end else 'the end'}")
        raise DataValidationError(
            f"no order lines in the period {asked}: the order history runs from {span}; "
            "choose a period inside it; nothing was changed")


def customer_attributes(ws: Workspace) -> pd.DataFrame | None:
    """The customers' free attributes (income, household size ...), one row per customer.

    The columns of the customers' files that the canonical model does not name,
    kept by the loader (:func:`outsidein.warehouse.attributes.read_attributes`);
    ``None`` when there are none.  The drivers of answer 1 compare every column
    of this frame besides ``customer_id``.
    """
    wide = read_attributes(ws.warehouse(), "customers")
    return None if wide.shape[1] <= 1 or wide.empty else wide


def read_inputs(ws: Workspace, period_start: datetime | None,
                period_end: datetime | None) -> Inputs:
    """Aggregate and join in the warehouse; bring back one row per customer.

    Customers, their profit over the period and their predicted value are
    joined in the engine (one query), so pandas only sees the joined result.
    """
    wh = ws.warehouse()
    if period_start is None and period_end is None and not wh.is_empty("order_lines"):
        shown_start, shown_end = _period_bounds(wh)
    else:
        shown_start, shown_end = period_start, period_end
    inp = Inputs(ws=ws, period_start=shown_start, period_end=shown_end,
                 query_start=period_start, query_end=period_end)
    inp.has_service_costs = not wh.is_empty("service_costs")
    inp.basis = _value_basis(inp)
    parts = _customer_parts(inp)
    if not parts:
        return inp
    df = _joined_per_customer(parts)
    for name, e in parts.items():
        flag = f"_in_{name}"
        mask = df[flag].fillna(False).astype(bool).to_numpy()
        cols = [c for c in e.columns if c != flag]
        if name == "profit":  # with the segment attributes, for cost-to-serve segments
            cols += [c for c in CUSTOMER_COLUMNS[2:] if c in df.columns and c not in cols]
        setattr(inp, name, df.loc[mask, cols].reset_index(drop=True))
        df = df.drop(columns=flag)
    inp.extras["customer_frame"] = _finish_frame(inp, df)
    return inp


def _value_basis(inp: Inputs) -> ValueBasis:
    """How many order lines of the period have a product cost, and the margin rate if set."""
    wh = inp.ws.warehouse()
    rate = inp.ws.config.margin_rate
    if wh.is_empty("order_lines") or not wh.has_table("products"):
        return ValueBasis(margin_rate=rate)
    row = frame(cost_coverage(wh.table("order_lines"), wh.table("products"),
                              period_start=inp.query_start, period_end=inp.query_end)).iloc[0]
    count = (lambda v: 0 if pd.isna(v) else int(v))  # noqa: E731
    return ValueBasis(lines=count(row["lines"]), lines_with_cost=count(row["lines_with_cost"]),
                      lines_without_product=count(row["lines_without_product"]),
                      margin_rate=rate)


def _customer_parts(inp: Inputs) -> dict[str, Any]:
    """Profit over the period, attributes and predicted value: flagged per-customer expressions."""
    wh = inp.ws.warehouse()
    parts: dict[str, Any] = {}
    if not wh.is_empty("order_lines") and wh.has_table("products"):
        sc = wh.table("service_costs") if inp.has_service_costs else None
        expr = customer_profit(wh.table("order_lines"), wh.table("products"), sc,
                               period_start=inp.query_start, period_end=inp.query_end,
                               margin_rate=inp.ws.config.margin_rate)
        # materialised once: the join below reads it twice, and it is worth keeping (as
        # PROFIT_TABLE, once the whole run has succeeded)
        staged = wh.write_table(PROFIT_STAGE, expr, scratch=True)
        inp.extras[PROFIT_STAGE] = staged
        parts["profit"] = staged.mutate(_in_profit=True)
    if not wh.is_empty("customers"):
        t = wh.table("customers")
        parts["customers"] = t.select(*[c for c in CUSTOMER_COLUMNS if c in t.columns]).mutate(
            _in_customers=True)
    value, inp.value_missing = _customer_value(inp.ws)  # and why it is missing, if it is
    if value is not None:
        parts["value"] = value.mutate(_in_value=True)
    return parts


def _joined_per_customer(parts: dict[str, Any]) -> pd.DataFrame:
    """Every customer in any part, each part left-joined on the id in the engine, money to cents."""
    exprs = list(parts.values())
    ids = exprs[0].select("customer_id")
    for e in exprs[1:]:
        ids = ids.union(e.select("customer_id"), distinct=True)
    joined = ids.distinct()
    for e in exprs:
        joined = joined.left_join(e, "customer_id").drop("customer_id_right")
    df = frame(joined)
    # money to the cent: the engines' float sums differ in the last bits (534.4999999999997
    # on DuckDB, 534.5000000000001 on Spark), which the words ('$534' / '$535') would show
    money = [c for c in df.columns if c in PROFIT_MONEY or c.startswith("cost_")]
    df[money] = df[money].round(2)
    return df


def _finish_frame(inp: Inputs, df: pd.DataFrame) -> pd.DataFrame:
    """The customer frame with tenure in weeks to the period end and the acquisition channel."""
    end = pd.Timestamp(inp.period_end) if inp.period_end is not None else None
    if "first_order" in df.columns and end is not None:
        start = df["first_order"]
        if "first_seen" in df.columns:
            start = df["first_seen"].fillna(start)
        df["tenure_weeks"] = (end - pd.to_datetime(start)).dt.total_seconds() / (7 * 86400)
    if "channel" not in df.columns and "acquisition_channel" in df.columns:
        df["channel"] = df["acquisition_channel"]
    return df


def customer_frame(inp: Inputs) -> pd.DataFrame:
    """One row per customer: attributes, profit and predicted value (where known)."""
    if "customer_frame" in inp.extras:
        return inp.extras["customer_frame"]
    frames = [f for f in (inp.customers, inp.profit, inp.value) if f is not None]
    if not frames:
        return pd.DataFrame(columns=["customer_id"])
    df = frames[0]
    for f in frames[1:]:
        df = df.merge(f, on="customer_id", how="outer")
    inp.extras["customer_frame"] = _finish_frame(inp, df)
    return inp.extras["customer_frame"]
