"""The company's margin rate, which turns expected revenue into expected profit (CLV).

The rate is measured on every order line with the one definition of margin
the product uses (:func:`outsidein.domain.line_margin`): returns net the
revenue and the cost of goods, whatever the sign of their quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from outsidein.domain import line_margin

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

__all__ = ["Margin", "company_margin"]


@dataclass(frozen=True)
class Margin:
    """The company's margin rate on revenue (see :func:`company_margin`)."""

    rate: float
    revenue: float
    discount: float
    cost: float
    note: str = ""


def company_margin(wh: Warehouse) -> Margin:
    """The company's margin rate: ``(revenue - discount - unit_cost x quantity) / revenue``.

    Summed over every order line with each line's product ``unit_cost``; a
    return (flagged ``is_return`` or with a negative quantity) takes its
    revenue and cost of goods back (:func:`outsidein.domain.line_margin`, the
    rule customer profit uses too).  Missing
    discounts and unit costs count as 0 and are named in ``note``; with no
    revenue the rate is 1 (CLV is then expected revenue).
    """
    lines = wh.table("order_lines")
    products = wh.table("products").select("product_id", "unit_cost")
    joined = line_margin(lines.left_join(products, "product_id"))
    agg = joined.aggregate(
        revenue=joined.rev.sum(),
        discount=joined.disc.sum(),
        cost=joined.cogs.sum(),
        missing_cost=(joined.unit_cost.isnull()).cast("int64").sum(),
        n=joined.count(),
    ).execute().iloc[0]
    revenue = float(agg.revenue or 0.0)
    discount, cost = float(agg.discount or 0.0), float(agg.cost or 0.0)
    notes = []
    if int(agg.missing_cost or 0):
        notes.append(f"{int(agg.missing_cost):,} of {int(agg.n):,} order lines have no unit cost "
                     "(counted as 0)")
    if revenue <= 0:
        return Margin(1.0, revenue, discount, cost, "no revenue: CLV is expected revenue")
    return Margin((revenue - discount - cost) / revenue, revenue, discount, cost, "; ".join(notes))
