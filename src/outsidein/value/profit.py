"""Customer profit and cost to serve (question 2), and the whale curve (question 1).

Customer profit over a period is the margin on the customer's orders
(revenue - discount - unit cost x quantity, returns netted) minus the cost
to serve them (``service_costs`` by kind: support, return, delivery,
discount, other).  The per-customer aggregation is one Ibis expression
(:func:`customer_profit`) executed in the warehouse; only one row per
customer comes back to pandas for the ranking and the what-if.

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
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from outsidein.domain import SERVICE_COST_KINDS, line_margin

__all__ = ["COST_COLUMNS", "COUNT_COLUMNS", "CostToServeResult", "WhaleCurve",
           "analyse_cost_to_serve", "customer_profit", "drain_reason", "money", "whale_curve",
           "whale_figure"]

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
) -> ibis.Table:
    """Per-customer margin, cost to serve by kind and profit, as one Ibis expression.

    Parameters
    ----------
    order_lines, products, service_costs
        Canonical warehouse tables (``service_costs`` may be ``None``: no cost to serve).
    period_start, period_end
        Half-open period ``[start, end)`` on ``ts``; ``None`` means unbounded.

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
    orders = _order_totals(_period(order_lines, "ts", period_start, period_end), products)
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


def _order_totals(order_lines: ibis.Table, products: ibis.Table) -> ibis.Table:
    """Per customer: orders, revenue, discount, cost of goods, return lines, first/last order."""
    p = products.select("product_id", unit_cost=products.unit_cost.fill_null(0.0))
    j = line_margin(order_lines.left_join(p, order_lines.product_id == p.product_id))
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


def drain_reason(row: Any) -> str:
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
    return (f"costs {money(row.cost_to_serve)} to serve: {cost}; margin {money(row.margin)} "
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
) -> CostToServeResult:
    """Rank the customers who cost more than they bring and price the what-if.

    Parameters
    ----------
    profit
        One row per customer as returned by :func:`customer_profit` (executed).
    attributes
        Optional customer attributes (``customer_id`` + segment columns) for segment totals;
        without them, segment columns already in *profit* are used.

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
        neg["reason"] = [drain_reason(r) for r in neg.itertuples(index=False)]
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


@dataclass(frozen=True)
class WhaleCurve:
    """Cumulative profit against customers ranked by profit (best first).

    Returned by :func:`whale_curve`; ``figures`` holds the numbers quoted in answers.

    Examples
    --------
    >>> curve = whale_curve([50.0, 30.0, -20.0])
    >>> curve
    WhaleCurve(peak 133% of total profit at 67% of customers)
    >>> curve.to_dict()["y"]
    [0.0, 83.33333333333334, 133.33333333333331, 100.0]
    """

    figures: dict[str, float]
    x: np.ndarray = field(repr=False)  # share of customers, 0..1 (down-sampled)
    y: np.ndarray = field(repr=False)  # cumulative profit as % of total profit

    def to_dict(self) -> dict[str, Any]:
        """Figures and the curve's points, for JSON."""
        return {"figures": dict(self.figures), "x": self.x.tolist(), "y": self.y.tolist()}

    def __repr__(self) -> str:
        f = self.figures
        return (f"WhaleCurve(peak {f['peak_pct_of_total']:.0f}% of total profit at "
                f"{f['peak_customer_share'] * 100:.0f}% of customers)")


def whale_curve(profit: np.ndarray | pd.Series, *, points: int = 400) -> WhaleCurve:
    """The whale curve of per-customer *profit*.

    Returns where cumulative profit peaks (customers and % of total), what the
    tail destroys after the peak, and the share of profit from the top decile.

    Examples
    --------
    >>> f = whale_curve([50.0, 30.0, -20.0]).figures
    >>> f["peak_customers"], f["peak_profit"], f["tail_destroys"]
    (2.0, 80.0, 20.0)
    """
    p = np.sort(np.asarray(profit, dtype=float))[::-1]
    n = len(p)
    if n == 0:
        return WhaleCurve({"customers": 0.0, "total_profit": 0.0, "peak_profit": 0.0,
                           "peak_customers": 0.0, "peak_customer_share": 0.0,
                           "peak_pct_of_total": 0.0, "tail_destroys": 0.0,
                           "top_decile_share": 0.0}, np.zeros(1), np.zeros(1))
    cum = np.cumsum(p)
    total = float(cum[-1])
    k = int(np.argmax(cum))
    denom = total if total > 0 else float(np.abs(p).sum()) or 1.0
    top = max(1, int(np.ceil(n / 10)))
    idx = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int))
    idx = np.unique(np.concatenate([idx, [k]]))
    x = np.concatenate([[0.0], (idx + 1) / n])
    y = np.concatenate([[0.0], cum[idx] / denom * 100])
    figures = {
        "customers": float(n),
        "total_profit": total,
        "peak_profit": float(cum[k]),
        "peak_customers": float(k + 1),
        "peak_customer_share": float((k + 1) / n),
        "peak_pct_of_total": float(cum[k] / denom * 100),
        "tail_destroys": float(cum[k] - total),
        "top_decile_share": float(cum[top - 1] / denom),
    }
    return WhaleCurve(figures, x, y)


def whale_figure(curve: WhaleCurve) -> go.Figure:
    """Plotly whale curve with the peak marked.

    Examples
    --------
    >>> fig = whale_figure(whale_curve([50.0, 30.0, -20.0]))
    >>> [trace.name for trace in fig.data]
    ['cumulative profit', 'peak']
    """
    f = curve.figures
    fig = go.Figure(go.Scatter(x=curve.x * 100, y=curve.y, mode="lines", name="cumulative profit"))
    fig.add_trace(go.Scatter(x=[f["peak_customer_share"] * 100], y=[f["peak_pct_of_total"]],
                             mode="markers+text", name="peak",
                             text=[f"peak {f['peak_pct_of_total']:.0f}%"],
                             textposition="top center"))
    fig.add_hline(y=100, line_dash="dot", annotation_text="total profit")
    fig.update_layout(title="Whale curve: cumulative profit, customers ranked by profit",
                      xaxis_title="% of customers (most profitable first)",
                      yaxis_title="% of total profit", showlegend=False, height=380)
    return fig
