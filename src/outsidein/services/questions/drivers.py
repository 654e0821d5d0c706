"""What sets the top decile apart (answer 1's ``drivers`` table), read from the warehouse.

The measures of each customer (orders, average order value, tenure ...), the
customer attributes (the canonical ones, and the free ones through
:func:`~outsidein.services.questions.inputs.customer_attributes`) and the
product types they bought are compared between the top decile and the rest,
ranked by a standardized effect with a minimum support
(:mod:`outsidein.value.drivers` holds the maths and the rule).  Order lines
without a product id are skipped in the product-type comparison, and counted.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from outsidein.domain import purchases
from outsidein.services.questions.inputs import (
    ATTRIBUTE_COLUMNS,
    Inputs,
    customer_attributes,
    frame,
)
from outsidein.value import ValueBasis
from outsidein.value.drivers import (
    MIN_SUPPORT,
    Measure,
    attribute_drivers,
    measure_drivers,
    rank_drivers,
    share_drivers,
)

__all__ = ["DRIVERS_RULE", "top_decile_drivers"]

#: how the drivers are chosen, in words (the report's table title says it)
DRIVERS_RULE = (f"ranked by standardized effect (Cohen's d for means, Cohen's h for shares), "
                f"each held by at least {MIN_SUPPORT} top-decile customers")


def _measures(basis: ValueBasis, ranked_by: str, *, service_costs: bool) -> list[Measure]:
    """The per-customer measures compared, in words for the basis; not the ranking itself."""
    net = basis.basis == "revenue"
    measures = [Measure("orders", "orders in the period", "count"),
                Measure("avg_order_value", "average order value", "money"),
                Measure("margin", "net revenue" if net else "margin", "money"),
                Measure("cost_to_serve", "cost to serve", "money"),
                Measure("profit", "net revenue after cost to serve" if net else "profit", "money"),
                Measure("tenure_weeks", "tenure", "weeks"),
                Measure("expected_purchases", "expected purchases", "count"),
                Measure("prob_alive", "probability still active", "probability"),
                Measure("clv", "predicted revenue" if net else "predicted value", "money")]
    # not the ranking itself (nor margin, which is profit before cost to serve)
    same = {"clv": {"clv"}, "profit": {"profit", "margin"}}.get(ranked_by, {ranked_by})
    if not service_costs:  # profit is the margin: one of them says it
        same = same | {"profit"}
    return [m for m in measures if m.column not in same]


def _product_type_buyers(inp: Inputs, top_ids: pd.Series) -> tuple[pd.DataFrame, int]:
    """Per product type: top-decile and other customers who bought it; lines without a product.

    Aggregated in the warehouse; order lines without a product id are skipped and counted.
    """
    wh = inp.ws.warehouse()
    if not wh.has_table("products") or "product_type" not in wh.table("products").columns:
        return pd.DataFrame(columns=["driver", "top", "rest"]), 0
    ol, pr = wh.table("order_lines"), wh.table("products")
    if inp.query_start is not None:
        ol = ol.filter(ol.ts >= inp.query_start)
    if inp.query_end is not None:
        ol = ol.filter(ol.ts < inp.query_end)
    ol = purchases(ol)
    skipped = frame(ol.aggregate(n=ol.product_id.isnull().cast("int64").sum()))["n"].iloc[0]
    skipped = 0 if pd.isna(skipped) else int(skipped)
    lines = ol.filter(ol.product_id.notnull())
    types = pr.filter(pr.product_type.notnull()).select(pid=pr.product_id,
                                                         product_type=pr.product_type)
    bought = lines.join(types, lines.product_id == types.pid).select(
        "customer_id", "product_type").distinct()
    ids = ibis.memtable(pa.table({"cid": top_ids.astype(str).to_numpy(dtype=object)}))
    top = bought.semi_join(ids, bought.customer_id == ids.cid)
    everyone = frame(bought.group_by("product_type").aggregate(customers=bought.count()))
    best = frame(top.group_by("product_type").aggregate(top=top.count()))
    if everyone.empty:
        return pd.DataFrame(columns=["driver", "top", "rest"]), skipped
    g = everyone.merge(best, on="product_type", how="left").fillna({"top": 0})
    g = g.sort_values("product_type")  # the engines return groups in any order
    return pd.DataFrame({"driver": [f"bought {t}" for t in g["product_type"]],
                         "top": g["top"].astype("int64").to_numpy(),
                         "rest": (g["customers"] - g["top"]).astype("int64").to_numpy()}), skipped


def _with_free_attributes(d: pd.DataFrame, free: pd.DataFrame
                          ) -> tuple[pd.DataFrame, list[Measure], list[str]]:
    """*d* with the free attributes joined: numbers become measures, the rest shares.

    A yes/no attribute is compared by the share of "yes" (its "no" would repeat it);
    time stamps are left out.
    """
    free = free.drop_duplicates("customer_id")
    extra = [c for c in free.columns if c != "customer_id" and c not in d.columns]
    d = d.merge(free[["customer_id", *extra]], on="customer_id", how="left")
    measures, attrs = [], []
    for c in extra:
        kind = free[c].dtype
        if pd.api.types.is_bool_dtype(kind):
            d[c] = d[c].map({True: "yes"}).astype(object)
            attrs.append(c)
        elif pd.api.types.is_numeric_dtype(kind):
            measures.append(Measure(c, c.replace("_", " "), "number"))
        elif not pd.api.types.is_datetime64_any_dtype(kind):
            attrs.append(c)
    return d, measures, attrs


def top_decile_drivers(inp: Inputs, wide: pd.DataFrame, top: np.ndarray, *,
                       ranked_by: str) -> tuple[pd.DataFrame, list[str], int]:
    """What sets the top decile (*top*, in *wide*'s row order) apart from the rest.

    Returns the ranked drivers (:data:`outsidein.value.drivers.COLUMNS`), the
    caveats (order lines without a product id that were skipped) and how many
    such lines there were.
    """
    d = wide.assign(avg_order_value=wide["revenue"] / wide["orders"].where(wide["orders"] > 0))
    measures = _measures(inp.basis, ranked_by, service_costs=inp.has_service_costs)
    attrs = [c for c in ATTRIBUTE_COLUMNS if c in d.columns]
    free = customer_attributes(inp.ws)
    if free is not None:
        d, more_measures, more_attrs = _with_free_attributes(d, free)
        measures += more_measures
        attrs += more_attrs
    top_ids = wide.loc[top, "customer_id"]
    bought, skipped = _product_type_buyers(inp, top_ids)
    n_top = int(top.sum())
    table = rank_drivers(measure_drivers(d, top, measures),
                         attribute_drivers(d, top, attrs),
                         share_drivers(bought, n_top, len(top) - n_top, kind="product type"))
    caveats = []
    if skipped:
        caveats.append(f"{skipped:,} order line{'s' if skipped != 1 else ''} without a product "
                       f"id {'was' if skipped == 1 else 'were'} skipped in the comparison of "
                       "product types bought")
    return table, caveats, skipped
