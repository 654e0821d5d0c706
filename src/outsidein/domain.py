"""The business definitions every layer shares: one home for each rule.

What a return is, what a purchase is, what margin means and which kinds of
cost to serve exist are decided here once.  The loader's validation, the
``purchase_days`` rollup, the value engine's CLV margin and the five
questions' customer profit all use these functions, so they cannot drift
apart.  Everything here is a pure function of Ibis tables (no I/O): it runs
unchanged on DuckDB, on Spark and on in-memory tables.

>>> import ibis, pandas as pd
>>> lines = ibis.memtable(pd.DataFrame({
...     "quantity": [2, 2], "revenue": [100.0, 100.0], "discount": [0.0, 0.0],
...     "unit_cost": [20.0, 20.0], "is_return": [False, True]}))
>>> m = line_margin(lines)
>>> float(m.aggregate(margin=m.margin.sum()).execute().margin[0])
0.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Ibis is only met through the tables passed in (and stays off start-up)
    import ibis.expr.types as ir

__all__ = ["SERVICE_COST_KINDS", "is_return", "line_margin", "purchases", "signed_lines"]

#: Kinds of cost to serve (``service_costs.kind``), in the order reports list them.
SERVICE_COST_KINDS = ("support", "return", "delivery", "discount", "other")


def is_return(lines: ir.Table) -> ir.BooleanValue:
    """A return line: flagged ``is_return``, or with a negative quantity.

    A flagged line counts as a return whatever the sign its source system
    gave its quantity and revenue (many systems record returns as positive
    quantities with a flag).

    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"quantity": [2, -1, 3],
    ...                                 "is_return": [True, False, None]}))
    >>> t.select(r=is_return(t)).execute().r.tolist()
    [True, True, False]
    """
    return lines.is_return.fill_null(False) | (lines.quantity < 0)


def purchases(lines: ir.Table) -> ir.Table:
    """The purchase lines of ``order_lines``: not a return, positive quantity.

    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"quantity": [2, 2, 0],
    ...                                 "is_return": [False, True, False]}))
    >>> purchases(t).count().execute()
    1
    """
    return lines.filter(~is_return(lines) & (lines.quantity > 0))


def signed_lines(lines: ir.Table) -> ir.Table:
    """*lines* with ``is_ret`` and signed ``qty`` and ``rev``: negative for returns.

    A return takes back its quantity and revenue whatever their recorded sign.
    """
    ret = is_return(lines)
    sign = ret.ifelse(-1, 1)
    return lines.mutate(is_ret=ret, qty=lines.quantity.abs() * sign,
                        rev=lines.revenue.abs() * sign)


def line_margin(lines: ir.Table) -> ir.Table:
    """*lines* (with a ``unit_cost`` column) with ``rev``, ``disc``, ``cogs`` and ``margin``.

    Margin = revenue - discount - unit cost x quantity, with returns netted
    (:func:`signed_lines`); a missing discount or unit cost counts as 0.
    """
    s = signed_lines(lines)
    disc = s.discount.fill_null(0.0)
    cogs = s.unit_cost.fill_null(0.0) * s.qty
    return s.mutate(disc=disc, cogs=cogs, margin=s.rev - disc - cogs)
