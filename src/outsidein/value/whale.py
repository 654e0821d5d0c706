"""The whale curve of customer profit (question 1), and what it says in plain words.

Customers ranked by profit, best first: cumulative profit rises while they
make money and falls over the ones who lose it.  :func:`whale_curve` computes
the figures; :func:`whale_words` says what is true about them, including the
degenerate cases a real company can show (no loss-makers, one, everyone, a
single customer, nothing at all) where "profit peaks at 100% of the total with
the best 100% of customers" would say nothing true.

>>> print(whale_words(whale_curve([50.0, 30.0, 20.0, -80.0]).figures, cause="discount"))
all but 1 customer are profitable; 1 customer's discounts exceed its sales, costing $80
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from outsidein.value.profit import money

__all__ = ["LOSS_CAUSES", "WhaleCurve", "loss_causes", "main_loss_cause", "whale_curve",
           "whale_figure", "whale_words"]

#: why a customer loses money -> (one customer, as subject; several, after "because")
LOSS_CAUSES = {
    "returns": ("1 customer's returns exceed its purchases",
                "their returns exceed their purchases"),
    "discount": ("1 customer's discounts exceed its sales",
                 "their discounts exceed their sales"),
    "cost_of_goods": ("1 customer's goods cost more than it paid for them",
                      "their goods cost more than they paid for them"),
    "cost_to_serve": ("1 customer costs more to serve than its margin",
                      "they cost more to serve than their margin"),
}
#: what a customer with positive or negative value is, by value basis ("margin" or "revenue")
_GOOD = {"margin": "are profitable", "revenue": "bring positive net revenue"}
_BAD = {"margin": "lose money", "revenue": "have negative net revenue"}
_BAD_ONE = {"margin": "loses money", "revenue": "has negative net revenue"}


def _pct(x: float) -> str:
    return "under 1%" if 0 < x < 0.005 else f"{100 * x:.0f}%"


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
    tail destroys after the peak (the loss of the customers who lose money),
    how many customers make and lose money (``profitable_customers``,
    ``loss_makers``, ``loss_makers_loss``), and the share of profit from the top
    decile (``top_decile_profit`` its amount).

    Examples
    --------
    >>> f = whale_curve([50.0, 30.0, -20.0]).figures
    >>> f["peak_customers"], f["peak_profit"], f["tail_destroys"], f["loss_makers"]
    (2.0, 80.0, 20.0, 1.0)
    """
    p = np.sort(np.asarray(profit, dtype=float))[::-1]
    n = len(p)
    if n == 0:
        return WhaleCurve({"customers": 0.0, "total_profit": 0.0, "peak_profit": 0.0,
                           "peak_customers": 0.0, "peak_customer_share": 0.0,
                           "peak_pct_of_total": 0.0, "tail_destroys": 0.0,
                           "top_decile_share": 0.0, "top_decile_profit": 0.0,
                           "profitable_customers": 0.0, "loss_makers": 0.0,
                           "loss_makers_loss": 0.0},
                          np.zeros(1), np.zeros(1))
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
        "top_decile_profit": float(cum[top - 1]),
        "profitable_customers": float((p > 0).sum()),
        "loss_makers": float((p < 0).sum()),
        "loss_makers_loss": float(-p[p < 0].sum()),
    }
    return WhaleCurve(figures, x, y)


def loss_causes(profit: pd.DataFrame) -> pd.Series:
    """Why each customer who loses money does, as a key of :data:`LOSS_CAUSES`.

    *profit* has one row per customer with ``revenue, discount, cogs, cost_to_serve,
    profit`` (missing columns count as 0); rows that do not lose money get ``None``.
    The first of these that is true names the cause: the returns exceed the
    purchases (revenue below 0), the discounts exceed the sales, the goods cost
    more than was paid, else serving the customer costs more than its margin.

    Examples
    --------
    >>> df = pd.DataFrame({"revenue": [100.0, 20.0, 100.0], "discount": [0.0, 30.0, 0.0],
    ...                    "cogs": [50.0, 0.0, 40.0], "cost_to_serve": [80.0, 0.0, 10.0]})
    >>> df["profit"] = df["revenue"] - df["discount"] - df["cogs"] - df["cost_to_serve"]
    >>> loss_causes(df).tolist()
    ['cost_to_serve', 'discount', None]
    """
    def col(name: str) -> np.ndarray:
        if name not in profit.columns:
            return np.zeros(len(profit))
        return pd.to_numeric(profit[name], errors="coerce").fillna(0.0).to_numpy(dtype=float)

    rev, disc, cogs = col("revenue"), col("discount"), col("cogs")
    cause = np.select([rev < 0, rev - disc < 0, rev - disc - cogs < 0],
                      ["returns", "discount", "cost_of_goods"], "cost_to_serve").astype(object)
    cause[~(col("profit") < 0)] = None
    return pd.Series(cause, index=profit.index, dtype=object)


def main_loss_cause(profit: pd.DataFrame) -> str | None:
    """The commonest cause among the customers who lose money (``None`` when none does).

    Examples
    --------
    >>> df = pd.DataFrame({"revenue": [10.0, 10.0, 10.0], "discount": [20.0, 30.0, 0.0],
    ...                    "profit": [-10.0, -20.0, 10.0]})
    >>> main_loss_cause(df)
    'discount'
    """
    causes = loss_causes(profit).dropna()
    if causes.empty:
        return None
    counts = causes.value_counts()
    return str(counts.index[0])


def whale_words(figures: dict[str, float], *, basis: str = "margin",
                cause: str | None = None) -> str:
    """What the whale curve shows, in one clause that is true in every case.

    Parameters
    ----------
    figures
        :attr:`WhaleCurve.figures`.
    basis
        ``"margin"`` (profit) or ``"revenue"`` (no product costs: the amounts are net revenue).
    cause
        Why the customers who lose money do (a key of :data:`LOSS_CAUSES`), if known.

    Examples
    --------
    >>> words = lambda p, **kw: print(whale_words(whale_curve(p).figures, **kw))
    >>> words([50.0, 30.0, 20.0])
    all 3 customers are profitable
    >>> words([90.0, 40.0, 10.0, -20.0, -30.0], cause="cost_to_serve")  # one line, wrapped
    profit peaks at 156% of the total with the best 60% of customers; the 2 customers (40%)
    who lose money destroy $50, mostly because they cost more to serve than their margin
    >>> words([-5.0, -15.0])
    every customer loses money: $20 in total
    >>> words([120.0])
    there is only one customer, who made $120 profit
    >>> words([0.0, 0.0], basis="revenue")
    no customer made or lost any revenue in the period
    >>> words([10.0, -40.0])
    customers lose $30 in total: 1 customer makes $10 and 1 loses $40
    """
    f = figures
    word = "revenue" if basis == "revenue" else "profit"
    n, total = int(f["customers"]), float(f["total_profit"])
    good, bad = int(f.get("profitable_customers", 0)), int(f.get("loss_makers", 0))
    loss = float(f.get("loss_makers_loss", f["tail_destroys"]))
    because = f", mostly because {LOSS_CAUSES[cause][1]}" if cause in LOSS_CAUSES else ""
    if n == 0:
        return "no customer has orders in the period"
    if n == 1:
        if total > 0:
            return f"there is only one customer, who made {money(total)} {word}"
        if total < 0:
            return (f"there is only one customer, who loses {money(-total)}"
                    if basis == "margin" else
                    f"there is only one customer, whose net revenue is {money(total)}")
        return f"there is only one customer, who made no {word}"
    if good == 0 and bad == 0:
        return f"no customer made or lost any {word} in the period"
    if bad == 0:
        if good == n:
            return f"all {n:,} customers {_GOOD[basis]}"
        return f"no customer {_BAD_ONE[basis]}; {n - good:,} of the {n:,} break even"
    if good == 0:
        if bad == n:
            return f"every customer {_BAD_ONE[basis]}: {money(loss)} in total{because}"
        return (f"no customer {_GOOD[basis].replace('are', 'is').replace('bring', 'brings')}: "
                f"{bad:,} of the {n:,} {_BAD[basis]}, {money(loss)} in total{because}")
    if total <= 0:
        head = (f"customers lose {money(-total)} in total" if total < 0
                else "customers break even in total")
        makes = "customer makes" if good == 1 else "customers make"
        loses = "loses" if bad == 1 else "lose"
        return (f"{head}: {good:,} {makes} {money(f['peak_profit'])} and {bad:,} {loses} "
                f"{money(loss)}{because}")
    if bad == 1:
        one = LOSS_CAUSES[cause][0] if cause in LOSS_CAUSES else f"1 customer {_BAD_ONE[basis]}"
        return f"all but 1 customer {_GOOD[basis]}; {one}, costing {money(loss)}"
    peak_pct, peak_share = f["peak_pct_of_total"], f["peak_customer_share"]
    if round(peak_pct) > 100 and round(100 * peak_share) < 100:
        return (f"{word} peaks at {peak_pct:.0f}% of the total with the best "
                f"{100 * peak_share:.0f}% of customers; the {bad:,} customers "
                f"({_pct(bad / n)}) who {_BAD[basis]} destroy {money(loss)}{because}")
    return (f"all but {bad:,} customers {_GOOD[basis]}; those {bad:,} {_BAD[basis]}: "
            f"{money(loss)} in total{because}")


def whale_figure(curve: WhaleCurve, *, word: str = "profit") -> go.Figure:
    """Plotly whale curve with the peak marked (*word*: ``"profit"`` or ``"revenue"``).

    Examples
    --------
    >>> fig = whale_figure(whale_curve([50.0, 30.0, -20.0]))
    >>> [trace.name for trace in fig.data]
    ['cumulative profit', 'peak']
    """
    f = curve.figures
    fig = go.Figure(go.Scatter(x=curve.x * 100, y=curve.y, mode="lines",
                               name=f"cumulative {word}"))
    fig.add_trace(go.Scatter(x=[f["peak_customer_share"] * 100], y=[f["peak_pct_of_total"]],
                             mode="markers+text", name="peak",
                             text=[f"peak {f['peak_pct_of_total']:.0f}%"],
                             textposition="top center"))
    fig.add_hline(y=100, line_dash="dot", annotation_text=f"total {word}")
    fig.update_layout(title=f"Whale curve: cumulative {word}, customers ranked by {word}",
                      xaxis_title=f"% of customers (highest {word} first)",
                      yaxis_title=f"% of total {word}", showlegend=False, height=380)
    return fig
