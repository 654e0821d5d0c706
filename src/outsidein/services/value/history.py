"""The order history as the value models see it: purchases, their span, summaries, windows.

:func:`holdout_start` turns the user's holdout (weeks, or a calibration end
date) into a window, with errors that say how long the history is and what
holdout would fit.

>>> from datetime import datetime
>>> holdout_start(datetime(1997, 1, 1), datetime(1998, 6, 30), None, 100)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
outsidein.errors.DataValidationError: a 100-week holdout leaves nothing to fit on: the order \
history is 78 weeks long (1997-01-01 to 1998-06-30); hold out at most 39 weeks (half of it), ...
>>> holdout_start(datetime(1997, 1, 1), datetime(1998, 6, 30), "1997-09-30", None)
datetime.datetime(1997, 9, 30, 0, 0)
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from outsidein.domain import purchases
from outsidein.errors import ConfigError, DataValidationError, MissingDataError
from outsidein.warehouse import rollup

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from outsidein.warehouse.engine import Warehouse

__all__ = ["DEFAULT_HOLDOUT_WEEKS", "MIN_HISTORY_WEEKS", "history_key", "history_span",
           "holdout_start", "observation_end", "orders_of", "summary_of"]

#: the default holdout: a third of the history, at most this many weeks ...
DEFAULT_HOLDOUT_WEEKS = 26
#: ... and only when the history spans at least this many weeks
MIN_HISTORY_WEEKS = 16


def orders_of(wh: Warehouse) -> ir.Table:
    if wh.is_empty("order_lines"):
        raise MissingDataError(
            "customer value needs order lines, and table 'order_lines' is empty; load them with "
            "'outsidein load order_lines FILE' (or run 'outsidein demo')")
    # Transactions are purchases: return lines (negative quantity) would make a day's spend
    # negative and break the Gamma-Gamma spend model; returns still lower CLV through the
    # company margin rate, which nets them (see company_margin).
    return purchases(wh.table("order_lines"))


def observation_end(orders: ir.Table) -> datetime:
    value = orders.ts.max().execute()
    return pd.Timestamp(value).to_pydatetime()


def history_span(orders: ir.Table) -> tuple[datetime, datetime]:
    """The first and the last purchase."""
    row = orders.aggregate(lo=orders.ts.min(), hi=orders.ts.max()).execute().iloc[0]
    return pd.Timestamp(row.lo).to_pydatetime(), pd.Timestamp(row.hi).to_pydatetime()


def summary_of(wh: Warehouse, *, time_unit: str, observation_end: datetime,
               calibration_end: datetime | None = None) -> ir.Table:
    """The purchase summary, from the ``purchase_days`` rollup (rebuilt first if stale)."""
    rollup.ensure_current(wh)
    if calibration_end is None:
        return rollup.purchase_summary(wh, observation_end=observation_end, time_unit=time_unit)
    return rollup.purchase_summary(wh, calibration_end=calibration_end,
                                   holdout_end=observation_end, time_unit=time_unit)


def history_key(summary: ir.Table, obs_end: datetime) -> str:
    """What a fit saw, to tell later whether the order history has changed since.

    The last order, the number of customers and their repeat purchases: a load
    of new orders (or an undone load) changes at least one of them.
    """
    row = summary.aggregate(n=summary.count(), f=summary.frequency.sum()).execute().iloc[0]
    return f"{obs_end:%Y-%m-%dT%H:%M:%S}|{int(row.n)}|{int(row.f or 0)}"


def holdout_start(first: datetime, obs_end: datetime, calibration_end: datetime | str | None,
                   holdout_weeks: float | None) -> datetime | None:
    """The calibration end of the holdout check, or None for no check; errors in words."""
    if calibration_end is not None and holdout_weeks is not None:
        raise ConfigError("give either --calibration-end or --holdout-weeks, not both")
    weeks = (obs_end - first).total_seconds() / (7 * 86400)
    span = (f"the order history is {weeks:.0f} weeks long ({first:%Y-%m-%d} to "
            f"{obs_end:%Y-%m-%d})")
    most = round(weeks) // 2
    sensible = f"hold out at most {most} weeks (half of it)"
    if holdout_weeks is not None:
        if holdout_weeks < 0 or not math.isfinite(holdout_weeks):
            raise ConfigError(f"holdout weeks: expected a positive number of weeks (or 0 for no "
                              f"holdout check), got {holdout_weeks:g}")
        if holdout_weeks == 0:
            return None
        if holdout_weeks >= weeks:
            raise DataValidationError(
                f"a {holdout_weeks:g}-week holdout leaves nothing to fit on: {span}; "
                f"{sensible}, so that the models have a calibration period to learn from")
        return obs_end - timedelta(weeks=float(holdout_weeks))
    if calibration_end is None:
        if weeks < MIN_HISTORY_WEEKS:
            return None
        return obs_end - timedelta(weeks=float(min(DEFAULT_HOLDOUT_WEEKS, round(weeks / 3))))
    try:
        cal = (datetime.fromisoformat(calibration_end) if isinstance(calibration_end, str)
               else pd.Timestamp(calibration_end).to_pydatetime()).replace(tzinfo=None)
    except ValueError as exc:
        raise DataValidationError(
            f"calibration end {calibration_end!r}: expected a date like 2024-05-31") from exc
    if cal >= obs_end:
        raise DataValidationError(
            f"calibration end {cal:%Y-%m-%d} is not before the last order ({obs_end:%Y-%m-%d}); "
            "pick an earlier date so that a holdout period remains")
    if cal <= first:
        raise DataValidationError(
            f"calibration end {cal:%Y-%m-%d} is not after the first order ({first:%Y-%m-%d}): "
            f"{span}; pick a later date so that the models have a calibration period, e.g. "
            f"{obs_end - timedelta(weeks=most):%Y-%m-%d} ({sensible})")
    return cal


