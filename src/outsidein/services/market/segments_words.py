"""The findings of ``outsidein market segments`` in words, and the insights they become.

Three insights, each under a stable key (an unchanged finding published again adds no
version):

* ``market.availability``: what stock-outs and slow deliveries cost in repeat purchases,
  with the interval (operations, marketing, service); only when the interval excludes
  "no effect";
* ``market.cross_sell``: the largest cross-sell gaps (marketing, sales, product);
* ``market.at_risk``: the customers of the "at risk" and "can't lose them" segments and
  the revenue they brought (marketing, sales, service).

>>> availability_words({"effect": 0.5, "ci_low": 0.4, "ci_high": 0.62, "customers": 250})
... # doctest: +ELLIPSIS
'250 customers hit by a stock-out or a slow delivery bought again at 50% of the rate ... to 62%).'
"""

from __future__ import annotations

from typing import Any

__all__ = ["availability_words", "gap_words", "overall_effect", "segments_insights"]


def availability_words(row: dict[str, Any]) -> str:
    """One sentence for an availability row (repeat purchases)."""
    return (f"{int(row['customers']):,} customers hit by a stock-out or a slow delivery bought "
            f"again at {row['effect']:.0%} of the rate of comparable customers who were not "
            f"hit (95% interval {row['ci_low']:.0%} to {row['ci_high']:.0%}).")


def gap_words(cell: dict[str, Any]) -> str:
    """One sentence for a cross-sell gap cell.

    >>> gap_words({"segment_label": "Loyal", "product_type": "office_supplies",
    ...            "penetration": 0.1, "expected_penetration": 0.3, "gap_customers": 40,
    ...            "gap_revenue": 1200.0})
    ... # doctest: +ELLIPSIS
    'Loyal: 10% buy office supplies against 30% of their look-alikes (40 more buyers, ...).'
    """
    return (f"{cell['segment_label']}: {cell['penetration']:.0%} buy "
            f"{str(cell['product_type']).replace('_', ' ')} against "
            f"{cell['expected_penetration']:.0%} of their look-alikes "
            f"({int(cell['gap_customers']):,} more buyers, about "
            f"{cell['gap_revenue']:,.0f} in revenue).")


def overall_effect(doc: dict[str, Any], outcome: str = "repeat purchases") -> dict[str, Any] | None:
    """The all-customers availability row for *outcome*, if estimated.

    >>> overall_effect({"availability": []}) is None
    True
    """
    for row in doc.get("availability") or []:
        if (row.get("grouping") == "overall" and row.get("outcome") == outcome
                and row.get("effect") is not None and row.get("ci_high") is not None):
            return dict(row)
    return None


def _availability_insight(doc: dict[str, Any]) -> list[dict[str, Any]]:
    row = overall_effect(doc)
    if row is None or not row["ci_high"] < 1.0:
        return []
    loss = 1.0 - row["effect"]
    statement = (availability_words(row) + " Next: find the products and regions whose "
                 "stock-outs hit the most customers, and tell hit customers before they "
                 "find out (a substitute, a delivery date).")
    figures = {"customers_hit": int(row["customers"]), "rate_ratio": round(row["effect"], 4),
               "ci_low": round(row["ci_low"], 4), "ci_high": round(row["ci_high"], 4),
               "repeat_purchases_lost_share": round(loss, 4)}
    return [{"key": "market.availability",
             "title": f"Stock-outs and slow deliveries cost {loss:.0%} of hit customers' "
                      "repeat purchases",
             "statement": statement,
             "evidence": {"figures": figures, "link": "/market",
                          "next_action": {"text": "fix the stock-outs that hit the most "
                                                  "customers", "count": int(row["customers"])}},
             "departments": ("operations", "marketing", "service"),
             "priority": "high" if loss >= 0.2 else "medium", "source": "market"}]


def _cross_sell_insight(doc: dict[str, Any]) -> list[dict[str, Any]]:
    gaps = [c for c in doc.get("matrix") or [] if c.get("cross_sell_gap")]
    if not gaps:
        return []
    gaps.sort(key=lambda c: -(c.get("gap_revenue") or 0.0))
    top = gaps[:3]
    total = sum(int(c["gap_customers"]) for c in gaps)
    statement = (" ".join(gap_words(c) for c in top)
                 + f" In all {len(gaps)} cells under-buy, {total:,} buyers short. Next: offer "
                   "these types to these segments.")
    figures = {"gap_cells": len(gaps), "gap_customers": total,
               **{f"gap_{i + 1}": f"{c['segment']} x {c['product_type']}"
                  for i, c in enumerate(top)}}
    first = top[0]
    return [{"key": "market.cross_sell",
             "title": f"Cross-sell gap: {first['segment_label']} under-buy "
                      f"{str(first['product_type']).replace('_', ' ')}",
             "statement": statement,
             "evidence": {"figures": figures, "link": "/market",
                          "next_action": {"text": "offer the under-bought types",
                                          "count": total}},
             "departments": ("marketing", "sales", "product"), "priority": "medium",
             "source": "market"}]


def _at_risk_insight(doc: dict[str, Any]) -> list[dict[str, Any]]:
    segs = {s["key"]: s for s in doc.get("segments") or []}
    risky = [segs[k] for k in ("cant_lose", "at_risk") if k in segs and segs[k]["customers"]]
    if not risky:
        return []
    n = sum(int(s["customers"]) for s in risky)
    rev = sum(float(s["revenue"]) for s in risky)
    share = sum(float(s["revenue_share"]) for s in risky)
    parts = ", ".join(f"{s['name']}: {int(s['customers']):,}" for s in risky)
    statement = (f"{n:,} customers who used to buy often and spend well have not bought for "
                 f"a long time ({parts});"
                 f" they brought {rev:,.0f} in revenue, {share:.0%} of the total. Next: win "
                 "them back personally before they are lost.")
    return [{"key": "market.at_risk",
             "title": f"{n:,} valuable customers are slipping away",
             "statement": statement,
             "evidence": {"figures": {"customers": n, "revenue": round(rev, 2),
                                      "revenue_share": round(share, 4)},
                          "link": "/market",
                          "next_action": {"text": "a personal win-back call", "count": n}},
             "departments": ("marketing", "sales", "service"),
             "priority": "high" if share >= 0.1 else "medium", "source": "market"}]


def segments_insights(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The insights of a segments result (its plain dict), in the order above.

    >>> segments_insights({"segments": [], "matrix": [], "availability": []})
    []
    """
    return _availability_insight(doc) + _cross_sell_insight(doc) + _at_risk_insight(doc)
