"""Customer profit and cost to serve (question 2), and what the profit rests on.

Customer profit over a period is the margin on the customer's orders
(revenue - discount - unit cost x quantity, returns netted) minus the cost
to serve them (``service_costs`` by kind: support, return, delivery,
discount, other).  The per-customer aggregation is one Ibis expression
(:func:`customer_profit`) executed in the warehouse; only one row per
customer comes back to pandas for the ranking and the what-if.

An order line without a product cost (no ``unit_cost``, or no product id)
counts as if its goods cost nothing, unless a margin rate is given.  When
most lines are like that, "profit" is revenue: :func:`cost_coverage` counts
them and :class:`ValueBasis` says so in words, with the fix.  (The whale
curve is in :mod:`outsidein.value.whale`.)

>>> import ibis, pandas as pd
>>> lines = ibis.memtable(pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"],
...     "product_id": ["p1"], "ts": pd.to_datetime(["2024-01-05"]), "quantity": [2],
...     "revenue": [100.0], "discount": [10.0], "is_return": [False]}))
>>> products = ibis.memtable(pd.DataFrame({"product_id": ["p1"], "unit_cost": [20.0]}))
>>> customer_profit(lines, products).execute()["margin"].tolist()
[50.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import pandas as pd

from outsidein.domain import SERVICE_COST_KINDS, line_margin

__all__ = ["COST_COLUMNS", "COUNT_COLUMNS", "CostToServeResult", "ValueBasis",
           "analyse_cost_to_serve", "cost_coverage", "customer_profit", "drain_reason", "money"]

COST_COLUMNS = tuple(f"cost_{k}" for k in SERVICE_COST_KINDS)
COUNT_COLUMNS = tuple(f"n_{k}" for k in SERVICE_COST_KINDS)
_KIND_WORDS = {"support": ("support", "contact", "contacts"),
               "return": ("returns", "return", "returns"),
               "delivery": ("delivery", "delivery", "deliveries"),
               "discount": ("extra discounts", "credit", "credits"),
               "other": ("other costs", "item", "items")}


def _period(t: ibis.Table, col: str, start: datetime | None, end: datetime | None) -> ibis.Table:
    if start is not None:
        t = t.filter(t[col] >= start)
    if end is not None:
        t = t.filter(t[col] < end)
    return t


def customer_profit(
    order_lines: ibis.Table,
    products: ibis.Table,
    service_costs: ibis.Table | None = None,
    *,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    margin_rate: float | None = None,
) -> ibis.Table:
    """Per-customer margin, cost to serve by kind and profit, as one Ibis expression.

    Parameters
    ----------
    order_lines, products, service_costs
        Canonical warehouse tables (``service_costs`` may be ``None``: no cost to serve).
    period_start, period_end
        Half-open period ``[start, end)`` on ``ts``; ``None`` means unbounded.
    margin_rate
        For order lines whose product has no ``unit_cost`` (or that have no product id):
        cost of goods = revenue x (1 - *margin_rate*).  ``None``: such goods cost nothing.

    Returns
    -------
    ibis.Table
        ``customer_id, first_order, last_order, orders, revenue, discount, cogs, margin,``
        ``return_lines,``
        ``cost_<kind>, n_<kind>`` for each service-cost kind, ``cost_to_serve, profit``.
        A return line (``is_return`` or negative quantity) nets revenue and cost of goods.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> lines = ibis.memtable(pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"],
    ...     "product_id": ["p1", "p1"], "ts": pd.to_datetime(["2024-01-05", "2024-02-01"]),
    ...     "quantity": [2, 1], "revenue": [100.0, 40.0], "discount": [10.0, 0.0],
    ...     "is_return": [False, False]}))
    >>> products = ibis.memtable(pd.DataFrame({"product_id": ["p1"], "unit_cost": [20.0]}))
    >>> costs = ibis.memtable(pd.DataFrame({"customer_id": ["c2"], "kind": ["support"],
    ...     "ts": pd.to_datetime(["2024-02-02"]), "amount": [30.0]}))
    >>> t = customer_profit(lines, products, costs).execute().sort_values("customer_id")
    >>> t[["customer_id", "margin", "cost_to_serve", "profit"]].to_numpy().tolist()
    [['c1', 50.0, 0.0, 50.0], ['c2', 20.0, 30.0, -10.0]]
    """
    orders = _order_totals(_period(order_lines, "ts", period_start, period_end), products,
                           margin_rate)
    if service_costs is not None:
        costs = _cost_totals(_period(service_costs, "ts", period_start, period_end))
        both = orders.outer_join(costs, orders.customer_id == costs.cid)
        cid = ibis.coalesce(both.customer_id, both.cid)
    else:
        both = orders
        cid = both.customer_id
    cols: dict[str, Any] = {"customer_id": cid, "first_order": both.first_order,
                            "last_order": both.last_order}
    for c in ("orders", "return_lines"):
        cols[c] = both[c].fill_null(0).cast("int64")
    for c in ("revenue", "discount", "cogs"):
        cols[c] = both[c].fill_null(0.0)
    for kind in SERVICE_COST_KINDS:
        if service_costs is not None:
            cols[f"cost_{kind}"] = both[f"cost_{kind}"].fill_null(0.0).cast("float64")
            cols[f"n_{kind}"] = both[f"n_{kind}"].fill_null(0).cast("int64")
        else:
            cols[f"cost_{kind}"] = ibis.literal(0.0)
            cols[f"n_{kind}"] = ibis.literal(0).cast("int64")
    out = both.select(**cols)
    out = out.mutate(margin=out.revenue - out.discount - out.cogs,
                     cost_to_serve=sum((out[c] for c in COST_COLUMNS), ibis.literal(0.0)))
    return out.mutate(profit=out.margin - out.cost_to_serve)


def _order_totals(order_lines: ibis.Table, products: ibis.Table,
                  margin_rate: float | None = None) -> ibis.Table:
    """Per customer: orders, revenue, discount, cost of goods, return lines, first/last order."""
    p = products.select("product_id", "unit_cost")
    j = line_margin(order_lines.left_join(p, order_lines.product_id == p.product_id))
    if margin_rate is not None:  # goods of unknown cost: the company's margin rate
        j = j.mutate(cogs=ibis.ifelse(j.unit_cost.isnull(), j.rev * (1.0 - margin_rate), j.cogs))
    lines = j.select("customer_id", "order_id", "ts", "is_ret", "rev", "disc", "cogs")
    return lines.group_by("customer_id").aggregate(
        orders=lines.order_id.nunique(where=~lines.is_ret),
        revenue=lines.rev.sum(),
        discount=lines.disc.sum(),
        cogs=lines.cogs.sum(),
        return_lines=lines.is_ret.sum().cast("int64"),
        first_order=lines.ts.min(),
        last_order=lines.ts.max(),
    )


def cost_coverage(order_lines: ibis.Table, products: ibis.Table, *,
                  period_start: datetime | None = None,
                  period_end: datetime | None = None) -> ibis.Table:
    """How many order lines of the period have a product cost, as a one-row Ibis expression.

    Returns ``lines``, ``lines_with_cost`` (their product has a ``unit_cost``) and
    ``lines_without_product`` (no product id), the counts :class:`ValueBasis` reads.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> lines = ibis.memtable(pd.DataFrame({"customer_id": ["c1", "c1", "c2"],
    ...     "product_id": ["p1", "p2", None], "ts": pd.to_datetime(["2024-01-05"] * 3)}))
    >>> products = ibis.memtable(pd.DataFrame({"product_id": ["p1", "p2"],
    ...                                        "unit_cost": [20.0, None]}))
    >>> cost_coverage(lines, products).execute().iloc[0].tolist()
    [3, 1, 1]
    """
    t = _period(order_lines, "ts", period_start, period_end)
    p = products.select(pid=products.product_id, known=products.unit_cost.notnull())
    j = t.left_join(p, t.product_id == p.pid)
    return j.aggregate(lines=j.count(),
                       lines_with_cost=j.known.fill_null(False).cast("int64").sum(),
                       lines_without_product=j.product_id.isnull().cast("int64").sum())


def _share(x: float) -> str:
    return "under 1%" if 0 < x < 0.01 else f"{x:.0%}"


@dataclass(frozen=True)
class ValueBasis:
    """What customer "profit" rests on: product costs (``"margin"``) or only revenue.

    Built from the counts of :func:`cost_coverage` and the workspace's margin rate.
    When most order lines have no product cost and no margin rate is set, the
    basis is ``"revenue"``: every answer then says "revenue", not "profit".

    Examples
    --------
    >>> b = ValueBasis(lines=69_659, lines_with_cost=0, lines_without_product=69_659)
    >>> b.basis, b.word, b.qualifier
    ('revenue', 'revenue', ' (no product costs loaded)')
    >>> print(b.caveat)  # one line, wrapped here
    'profit' here is revenue: 69,659 of 69,659 order lines (100%) have no product cost, so
    customer profit is revenue less discounts and returns (and any cost to serve); to see profit,
    set margin_rate under [analysis] in outsidein.toml (e.g. margin_rate = 0.3): these order
    lines have no product id to look a unit cost up by
    >>> ValueBasis(lines=10, lines_with_cost=10).caveat is None
    True
    """

    lines: int = 0
    lines_with_cost: int = 0
    lines_without_product: int = 0
    margin_rate: float | None = None

    @property
    def lines_without_cost(self) -> int:
        """Order lines whose goods have no known cost."""
        return max(self.lines - self.lines_with_cost, 0)

    @property
    def basis(self) -> str:
        """``"revenue"`` when most lines have no cost and no margin rate, else ``"margin"``."""
        if self.margin_rate is None and 2 * self.lines_without_cost > self.lines:
            return "revenue"
        return "margin"

    @property
    def word(self) -> str:
        """What the answers call customer profit: ``"profit"`` or ``"revenue"``."""
        return "revenue" if self.basis == "revenue" else "profit"

    @property
    def qualifier(self) -> str:
        """Said after "by revenue" in a headline: why it is revenue ('' on a margin basis)."""
        if self.basis != "revenue":
            return ""
        if self.lines_with_cost == 0:
            return " (no product costs loaded)"
        return f" (product costs for only {_share(self.lines_with_cost / self.lines)} of lines)"

    @property
    def fix(self) -> str:
        """What to do to see profit."""
        rate = "set margin_rate under [analysis] in outsidein.toml (e.g. margin_rate = 0.3)"
        if 2 * self.lines_without_product > self.lines:
            return f"{rate}: these order lines have no product id to look a unit cost up by"
        return f"load products with unit_cost ('outsidein load products FILE') or {rate}"

    @property
    def caveat(self) -> str | None:
        """The caveat every answer about profit carries (``None`` when all lines have a cost)."""
        missing = self.lines_without_cost
        if missing == 0:
            return None
        counted = (f"{missing:,} of {self.lines:,} order lines "
                   f"({_share(missing / self.lines)}) have no product cost")
        if self.margin_rate is not None:
            return (f"{counted}: their cost of goods is estimated from margin_rate = "
                    f"{self.margin_rate:.0%} in outsidein.toml")
        if self.basis == "revenue":
            return (f"'profit' here is revenue: {counted}, so customer profit is revenue less "
                    "discounts and returns (and any cost to serve); to see profit, "
                    f"{self.fix}")
        return (f"{counted} and count as if their goods cost nothing, which overstates profit; "
                f"{self.fix}")


def _cost_totals(service_costs: ibis.Table) -> ibis.Table:
    """Per customer (as ``cid``): amount ``cost_<kind>`` and count ``n_<kind>`` of each kind."""
    sc = service_costs
    aggs: dict[str, Any] = {}
    for kind in SERVICE_COST_KINDS:
        aggs[f"cost_{kind}"] = sc.amount.sum(where=sc.kind == kind)
        aggs[f"n_{kind}"] = (sc.kind == kind).sum().cast("int64")
    return sc.group_by("customer_id").aggregate(**aggs).rename(cid="customer_id")


# -- pandas analysis on one row per customer --------------------------------------------


def money(x: float) -> str:
    """``$48k``-style amount for sentences.

    Examples
    --------
    >>> money(48_200), money(-950), money(1.25e6)
    ('$48k', '-$950', '$1.2M')
    """
    a = abs(float(x))
    sign = "-" if x < 0 else ""
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e4:
        return f"{sign}${a / 1e3:.0f}k"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.1f}k"
    return f"{sign}${a:,.0f}"


def drain_reason(row: Any, *, margin_word: str = "margin") -> str:
    """Plain words for why a customer loses money, from one row of :func:`customer_profit`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> row = SimpleNamespace(cost_support=30.0, n_support=1, cost_return=15.0, n_return=1,
    ...                       cost_delivery=0.0, n_delivery=0, cost_discount=0.0, n_discount=0,
    ...                       cost_other=0.0, n_other=0, cost_to_serve=45.0, margin=20.0,
    ...                       orders=1)
    >>> print(drain_reason(row))  # one line, wrapped here
    costs $45 to serve: support $30 (1 contact), returns $15 (1 return);
    margin $20 on 1 order
    """
    parts: list[str] = []
    comps = sorted(((float(getattr(row, f"cost_{k}")), k) for k in SERVICE_COST_KINDS),
                   reverse=True)
    for amount, kind in comps:
        if amount <= 0 or len(parts) == 2:
            continue
        word, one, many = _KIND_WORDS[kind]
        n = int(getattr(row, f"n_{kind}"))
        parts.append(f"{word} {money(amount)} ({n} {one if n == 1 else many})")
    cost = ", ".join(parts) if parts else "no recorded cost to serve"
    return (f"costs {money(row.cost_to_serve)} to serve: {cost}; {margin_word} "
            f"{money(row.margin)} "
            f"on {int(row.orders)} order{'' if int(row.orders) == 1 else 's'}")


@dataclass(frozen=True)
class CostToServeResult:
    """Negative-profit customers, the segments that lose money and the what-if.

    Returned by :func:`analyse_cost_to_serve`.

    Examples
    --------
    >>> import pandas as pd
    >>> r = CostToServeResult(ranked=pd.DataFrame({"customer_id": ["c2"], "profit": [-25.0]}),
    ...                       segments=pd.DataFrame(),
    ...                       figures={"unprofitable_customers": 1.0, "loss": -25.0})
    >>> r
    CostToServeResult(1 unprofitable customers, losing $25)
    >>> r.to_pandas()["customer_id"].tolist()
    ['c2']
    """

    ranked: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    figures: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Figures and segments, for JSON (the ranked customers are left out)."""
        return {"figures": dict(self.figures),
                "segments": self.segments.to_dict(orient="records")}

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the ranked negative-profit customers."""
        return self.ranked.copy()

    def __repr__(self) -> str:
        f = self.figures
        return (f"CostToServeResult({int(f['unprofitable_customers'])} unprofitable customers, "
                f"losing {money(-f['loss'])})")


def analyse_cost_to_serve(
    profit: pd.DataFrame, attributes: pd.DataFrame | None = None,
    *, segment_columns: tuple[str, ...] = ("region", "industry", "company_size", "age_band",
                                           "acquisition_channel"),
    margin_word: str = "margin",
) -> CostToServeResult:
    """Rank the customers who cost more than they bring and price the what-if.

    Parameters
    ----------
    profit
        One row per customer as returned by :func:`customer_profit` (executed).
    attributes
        Optional customer attributes (``customer_id`` + segment columns) for segment totals;
        without them, segment columns already in *profit* are used.
    margin_word
        What the reasons call the margin (``"net revenue"`` when there are no product costs).

    Returns
    -------
    CostToServeResult
        ``ranked`` holds every negative-profit customer, most negative first, with
        ``main_cost`` (the component that sinks them), ``profit_at_median_cost`` and
        ``reason``; ``figures`` has counts, the loss, and the what-if gain.

    Examples
    --------
    >>> import pandas as pd
    >>> profit = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "orders": [3, 1, 2],
    ...                        "margin": [90.0, 20.0, 40.0], "cost_support": [5.0, 45.0, 10.0],
    ...                        "n_support": [1, 3, 1]})
    >>> for kind in ("return", "delivery", "discount", "other"):
    ...     profit[f"cost_{kind}"], profit[f"n_{kind}"] = 0.0, 0
    >>> profit["cost_to_serve"] = profit["cost_support"]
    >>> profit["profit"] = profit["margin"] - profit["cost_to_serve"]
    >>> result = analyse_cost_to_serve(profit)
    >>> result
    CostToServeResult(1 unprofitable customers, losing $25)
    >>> result.ranked.loc[0, "main_cost"], result.figures["whatif_profit_gain"]
    ('support', 35.0)
    """
    df = profit.copy()
    n = len(df)
    median_cts = float(df["cost_to_serve"].median()) if n else 0.0
    df["profit_at_median_cost"] = df["margin"] - median_cts
    neg = df[df["profit"] < 0].sort_values(["profit", "customer_id"]).reset_index(drop=True)
    if len(neg):
        comp = neg[list(COST_COLUMNS)].to_numpy()
        neg["main_cost"] = [SERVICE_COST_KINDS[i] if comp[j, i] > 0 else "margin"
                            for j, i in enumerate(comp.argmax(axis=1))]
        neg["reason"] = [drain_reason(r, margin_word=margin_word)
                         for r in neg.itertuples(index=False)]
    else:
        neg["main_cost"] = pd.Series(dtype="string")
        neg["reason"] = pd.Series(dtype="string")
    # what-if: the unprofitable customers' profit if their cost to serve were the median
    gain = float((neg["profit_at_median_cost"] - neg["profit"]).sum()) if len(neg) else 0.0
    segments = _segments(df, attributes, segment_columns)
    figures = {
        "customers": float(n),
        "unprofitable_customers": float(len(neg)),
        "unprofitable_share": float(len(neg) / n) if n else 0.0,
        "loss": float(neg["profit"].sum()) if len(neg) else 0.0,
        "total_profit": float(df["profit"].sum()),
        "total_cost_to_serve": float(df["cost_to_serve"].sum()),
        "median_cost_to_serve": median_cts,
        "whatif_profit_gain": gain,
        "whatif_unprofitable_profit": (float(neg["profit_at_median_cost"].sum())
                                       if len(neg) else 0.0),
        "unprofitable_margin": float(neg["margin"].sum()) if len(neg) else 0.0,
        "unprofitable_support_contacts": float(neg["n_support"].sum()) if len(neg) else 0.0,
        "unprofitable_returns": float(neg["n_return"].sum()) if len(neg) else 0.0,
    }
    for kind in SERVICE_COST_KINDS:
        figures[f"unprofitable_cost_{kind}"] = float(neg[f"cost_{kind}"].sum()) if len(neg) else 0.0
    return CostToServeResult(ranked=neg, segments=segments, figures=figures)


def _segments(df: pd.DataFrame, attributes: pd.DataFrame | None,
              columns: tuple[str, ...]) -> pd.DataFrame:
    """Per segment (attribute = value): customers, unprofitable ones, their loss, total profit.

    Segments losing money in total come first, then the highest unprofitable share.
    """
    cols = ["segment", "value", "customers", "unprofitable", "unprofitable_share", "loss",
            "profit", "margin", "cost_to_serve"]
    if attributes is not None and not attributes.empty:
        m = df.merge(attributes, on="customer_id", how="left")
    else:
        m = df  # the attributes may already be columns of the profit frame
    frames = []
    for c in columns:
        if c not in m.columns or m[c].isna().all():
            continue
        key = m[c].astype("string").fillna("unknown")
        g = m.assign(_neg=m["profit"] < 0, _loss=m["profit"].clip(upper=0)).groupby(
            key, observed=True).agg(
            customers=("customer_id", "size"), unprofitable=("_neg", "sum"),
            loss=("_loss", "sum"), profit=("profit", "sum"), margin=("margin", "sum"),
            cost_to_serve=("cost_to_serve", "sum")).reset_index(names="value")
        g.insert(0, "segment", c)
        frames.append(g)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["unprofitable"] = out["unprofitable"].astype("int64")
    out["unprofitable_share"] = out["unprofitable"] / out["customers"]
    out["_losing"] = out["profit"] < 0
    out = out.sort_values(["_losing", "unprofitable_share"], ascending=False)
    return out[cols].reset_index(drop=True)
