"""The company's margin rate, which turns expected revenue into expected profit (CLV).

The rate is measured on every order line with the one definition of margin
the product uses (:func:`outsidein.domain.line_margin`): returns net the
revenue and the cost of goods, whatever the sign of their quantity.  Lines
whose goods have no known cost take the ``margin_rate`` of ``outsidein.toml``
when it is set; when it is not and most lines have no cost, CLV is expected
*revenue* (net of discounts), and :attr:`Margin.basis` says so with the same
rule and words the five questions use (:class:`outsidein.value.ValueBasis`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis

from outsidein.domain import line_margin
from outsidein.value import ValueBasis

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
    #: how many lines have a cost, and the margin rate of outsidein.toml (if set)
    basis: ValueBasis = field(default_factory=ValueBasis)

    @property
    def value_word(self) -> str:
        """What CLV is: ``"margin"`` or ``"revenue"`` (most lines without a cost, no rate)."""
        return "revenue" if self.basis.basis == "revenue" else "margin"


def company_margin(wh: Warehouse, margin_rate: float | None = None) -> Margin:
    """The company's margin rate: ``(revenue - discount - unit_cost x quantity) / revenue``.

    Summed over every order line with each line's product ``unit_cost``; a
    return (flagged ``is_return`` or with a negative quantity) takes its
    revenue and cost of goods back (:func:`outsidein.domain.line_margin`, the
    rule customer profit uses too).  A line whose goods have no unit cost
    costs ``revenue x (1 - margin_rate)`` when *margin_rate* is given, else 0
    (named in ``note``); missing discounts count as 0; with no revenue the
    rate is 1 (CLV is then expected revenue).
    """
    lines = wh.table("order_lines")
    products = wh.table("products").select("product_id", "unit_cost")
    joined = line_margin(lines.left_join(products, "product_id"))
    if margin_rate is not None:
        joined = joined.mutate(cogs=ibis.ifelse(joined.unit_cost.isnull(),
                                                joined.rev * (1.0 - margin_rate), joined.cogs))
    agg = joined.aggregate(
        revenue=joined.rev.sum(),
        discount=joined.disc.sum(),
        cost=joined.cogs.sum(),
        missing_cost=(joined.unit_cost.isnull()).cast("int64").sum(),
        no_product=joined.product_id.isnull().cast("int64").sum(),
        n=joined.count(),
    ).execute().iloc[0]
    n = int(agg.n or 0)
    basis = ValueBasis(lines=n, lines_with_cost=n - int(agg.missing_cost or 0),
                       lines_without_product=int(agg.no_product or 0), margin_rate=margin_rate)
    revenue = float(agg.revenue or 0.0)
    discount, cost = float(agg.discount or 0.0), float(agg.cost or 0.0)
    if revenue <= 0:
        return Margin(1.0, revenue, discount, cost, "no revenue: CLV is expected revenue", basis)
    return Margin((revenue - discount - cost) / revenue, revenue, discount, cost,
                  basis.caveat or "", basis)
