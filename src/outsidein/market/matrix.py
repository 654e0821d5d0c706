"""Segment x product type: revenue, margin, penetration, and the cross-sell gaps.

A cell is a (segment, product type): its customers, the buyers of the type among them
(penetration = buyers / customers), revenue and margin.

**Cross-sell gap.**  A segment under-buys a type when fewer of its customers buy it than
among their look-alikes.  A customer's look-alikes are the customers *of other segments*
in the same behavioural cluster who bought about as many lines (purchase lines: bands 1,
2, 3, 4-5, 6-8, 9-12, 13-20, 21-34, 35+): more lines give more chances to buy any type, so
comparing at equal lines keeps big or frequent buyers from looking under-served
everywhere, and small ones from looking served.  The expected penetration is the
look-alikes' penetration, weighted by how the segment's customers spread over (cluster,
band) cells (direct standardisation).  A cell is a gap when
the shortfall is at least ``min_gap`` (5 points), the segment buys the type at most
``max_ratio`` (85%) as often as expected, the binomial z-score is at least ``z_min``
(2.58, about 1% two-sided) and the segment has ``min_customers``.  Segments in
``not_targeted`` (the service passes "lost" and "hibernating", which are not worth a
campaign) show their cells but are never flagged.  ``gap_customers`` is
how many more buyers it would have at its look-alikes' rate, and ``gap_revenue`` that
times the look-alikes' revenue per buyer of the type.

>>> import pandas as pd
>>> groups = pd.DataFrame({"segment": ["a", "b"], "cluster": [0, 0], "band": [1, 1],
...                        "customers": [100, 100]})
>>> cells = pd.DataFrame({"segment": ["a", "b"], "cluster": [0, 0], "band": [1, 1],
...                       "product_type": ["tools", "tools"], "buyers": [10, 60],
...                       "revenue": [100.0, 600.0], "margin": [30.0, 180.0]})
>>> m = cross_sell_matrix(cells, groups, min_customers=50)
>>> m.loc[m.segment == "a", ["penetration", "expected_penetration", "cross_sell_gap"]]
   penetration  expected_penetration  cross_sell_gap
0          0.1                   0.6            True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["BANDS", "band", "cross_sell_matrix"]

#: Lower bounds of the purchase-line bands look-alikes are matched on.
BANDS = (1, 2, 3, 4, 6, 9, 13, 21, 35)


def band(lines: np.ndarray) -> np.ndarray:
    """The band (its lower bound) of each count of purchase lines.

    >>> band(np.array([1, 5, 30])).tolist()
    [1, 4, 21]
    """
    bands = np.asarray(BANDS)
    idx = np.searchsorted(bands, np.asarray(lines), side="right") - 1
    return bands[np.clip(idx, 0, len(bands) - 1)]


def cross_sell_matrix(cells: pd.DataFrame, groups: pd.DataFrame, *, min_customers: int = 30,
                      min_gap: float = 0.05, max_ratio: float = 0.85, z_min: float = 2.58,
                      min_lookalikes: int = 5,
                      not_targeted: Sequence[str] = ()) -> pd.DataFrame:
    """The segment x product-type matrix with its gap cells (see the module doc).

    Parameters
    ----------
    cells
        Per (segment, cluster, band, product_type): ``buyers, revenue, margin``.
    groups
        Per (segment, cluster, band): ``customers``.

    Returns
    -------
    pandas.DataFrame
        One row per (segment, product_type): ``customers, buyers, penetration, revenue,
        margin, margin_rate, revenue_share, expected_penetration, gap, z, cross_sell_gap,
        gap_customers, gap_revenue``, by segment then revenue.
    """
    keys = ["segment", "cluster", "band"]
    types = sorted(cells["product_type"].dropna().unique().tolist())
    grid = groups[[*keys, "customers"]].merge(pd.DataFrame({"product_type": types}),
                                              how="cross")
    full = grid.merge(cells, on=[*keys, "product_type"], how="left").fillna(
        {"buyers": 0, "revenue": 0.0, "margin": 0.0})
    cell_key = ["cluster", "band", "product_type"]
    tot = full.groupby(cell_key, as_index=False)[["customers", "buyers", "revenue"]].sum()
    full = full.merge(tot.rename(columns={"customers": "c_all", "buyers": "b_all",
                                          "revenue": "r_all"}), on=cell_key)
    la_cust = full["c_all"] - full["customers"]
    la_buy = full["b_all"] - full["buyers"]
    covered = la_cust >= min_lookalikes
    full["la_pen"] = np.where(covered, la_buy / la_cust.where(covered, 1), np.nan)
    full["w"] = np.where(covered, full["customers"], 0)
    full["w_pen"] = full["w"] * full["la_pen"].fillna(0.0)
    full["la_buyers"] = np.where(covered, la_buy, 0)
    full["la_revenue"] = np.where(covered, full["r_all"] - full["revenue"], 0.0)
    out = full.groupby(["segment", "product_type"], as_index=False).agg(
        customers=("customers", "sum"), buyers=("buyers", "sum"), revenue=("revenue", "sum"),
        margin=("margin", "sum"), w=("w", "sum"), w_pen=("w_pen", "sum"),
        la_buyers=("la_buyers", "sum"), la_revenue=("la_revenue", "sum"))
    out["penetration"] = out["buyers"] / out["customers"].where(out["customers"] > 0)
    out["margin_rate"] = out["margin"] / out["revenue"].where(out["revenue"] > 0)
    seg_rev = out.groupby("segment")["revenue"].transform("sum")
    out["revenue_share"] = out["revenue"] / seg_rev.where(seg_rev > 0)
    out["expected_penetration"] = out["w_pen"] / out["w"].where(out["w"] > 0)
    out["gap"] = out["expected_penetration"] - out["penetration"]
    e = out["expected_penetration"].clip(1e-9, 1 - 1e-9)
    out["z"] = out["gap"] / np.sqrt(e * (1 - e) / out["customers"].clip(lower=1))
    out["cross_sell_gap"] = ((out["gap"] >= min_gap)
                             & (out["penetration"] <= max_ratio * out["expected_penetration"])
                             & (out["z"] >= z_min) & (out["customers"] >= min_customers)
                             & ~out["segment"].isin(list(not_targeted)))
    out["gap_customers"] = np.where(out["cross_sell_gap"],
                                    np.round(out["gap"].fillna(0) * out["customers"]), 0)
    per_buyer = out["la_revenue"] / out["la_buyers"].where(out["la_buyers"] > 0)
    out["gap_revenue"] = np.where(out["cross_sell_gap"],
                                  out["gap_customers"] * per_buyer.fillna(0.0), 0.0)
    out["cross_sell_gap"] = out["cross_sell_gap"].astype(bool)
    out["gap_customers"] = out["gap_customers"].astype(np.int64)
    out["buyers"] = out["buyers"].round().astype(np.int64)
    out["customers"] = out["customers"].astype(np.int64)
    cols = ["segment", "product_type", "customers", "buyers", "penetration", "revenue",
            "margin", "margin_rate", "revenue_share", "expected_penetration", "gap", "z",
            "cross_sell_gap", "gap_customers", "gap_revenue"]
    return (out[cols].sort_values(["segment", "revenue"], ascending=[True, False])
            .reset_index(drop=True))
