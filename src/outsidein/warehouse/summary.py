"""The per-customer purchase summary (frequency, recency, T, monetary value) as an Ibis expression.

It follows the conventions of ``lifetimes.utils.summary_data_from_transaction_data``
and of Fader & Hardie's CDNOW files, so that BTYD models fitted on it reproduce
published results:

* money is summed in integer cents, so every engine gives the same figures
  (float sums differ in the last bits between DuckDB and Spark);
* transactions are grouped into purchase *periods* (``freq="D"``: calendar
  days in UTC; ``"W"``: ISO weeks starting on Monday) and a period's value is
  the sum of its lines;
* ``frequency`` = number of periods with a purchase after the first one
  (repeat purchases);
* ``recency`` = time from the first to the last purchase period;
* ``T`` = time from the first purchase period to the period of the
  observation end (or the calibration end): with whole days, a customer who
  first bought on 1997-01-01 has ``T = 272 days = 38.86 weeks`` at a
  calibration end of 1997-09-30, as in ``cdnow_customers_summary_with_transactions.csv``;
  transactions *on* the end day belong to the period;
* ``monetary_value`` = mean value of the repeat periods (0 when frequency is 0);
* with ``calibration_end``: only customers whose first purchase is on or
  before it are kept, and ``frequency_holdout`` (periods with a purchase in
  the holdout, after ``calibration_end`` up to ``holdout_end``),
  ``monetary_value_holdout`` (their mean value, 0 if none) and
  ``duration_holdout`` are added.

Times are floats in ``time_unit`` ("days" or "weeks").  Everything is an
Ibis expression, so it runs inside DuckDB or Spark; nothing is pulled into
pandas.

>>> import pandas as pd
>>> orders = ibis.memtable({
...     "customer_id": ["c1", "c1", "c1", "c2"], "revenue": [10.0, 5.0, 20.0, 7.0],
...     "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 18:00", "2024-01-15 09:00",
...                           "2024-01-08 12:00"])})
>>> s = customer_summary(orders, calibration_end="2024-01-10", holdout_end="2024-01-31",
...                      time_unit="days")
>>> s.order_by("customer_id").select(
...     "customer_id", "frequency_holdout", "monetary_value_holdout").to_pandas()
  customer_id  frequency_holdout  monetary_value_holdout
0          c1                  1                    20.0
1          c2                  0                     0.0
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from outsidein.errors import DataValidationError

SECONDS_PER_DAY = 86_400
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}
#: epoch day 0 (1970-01-01) is a Thursday; +3 aligns week numbers on Mondays
_WEEK_SHIFT = 3


def _as_datetime(value: str | date | datetime, name: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        raise DataValidationError(
            f"{name} {value!r}: expected a date like 1997-09-30; pass an ISO date"
        ) from None


def _period_of_day(day: ir.IntegerValue | int, freq: str) -> Any:
    """Period number of an epoch day, and the epoch day on which that period starts."""
    if freq == "D":
        return day
    return (day + _WEEK_SHIFT) // 7


def _period_start_day(period: Any, freq: str) -> Any:
    return period if freq == "D" else period * 7 - _WEEK_SHIFT


def _expr(value: Any) -> Any:
    return value if isinstance(value, ibis.Expr) else ibis.literal(value, type="int64")


def _epoch_day_const(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1)).total_seconds() // SECONDS_PER_DAY)


def customer_summary(
    orders: ir.Table,
    *,
    observation_end: str | date | datetime | None = None,
    calibration_end: str | date | datetime | None = None,
    holdout_end: str | date | datetime | None = None,
    time_unit: str = "weeks",
    freq: str = "D",
    customer_col: str = "customer_id",
    time_col: str = "ts",
    value_col: str = "revenue",
) -> ir.Table:
    """Per-customer frequency, recency, T and monetary value (lifetimes' conventions).

    Parameters
    ----------
    orders : ibis.Table
        Transactions: one row per order line (or order) with *customer_col*,
        *time_col* (timestamp or date) and *value_col*.
    observation_end : date-like, optional
        End of observation; default the last purchase day in *orders*.
        Ignored for ``T`` when *calibration_end* is given.
    calibration_end : date-like, optional
        End of the calibration period (inclusive); adds the holdout columns.
    holdout_end : date-like, optional
        End of the holdout period (inclusive); default *observation_end* or
        the last purchase day.
    time_unit : {"weeks", "days"}
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    freq : {"D", "W"}
        Purchase period: calendar day or Monday-starting week.

    Returns
    -------
    ibis.Table
        ``customer_id, frequency, recency, T, monetary_value, first_purchase,
        last_purchase`` (+ ``frequency_holdout, monetary_value_holdout,
        duration_holdout`` with a calibration end), one row per customer.

    Examples
    --------
    Two lines on one day are one purchase; the repeat purchase is worth 20:

    >>> import pandas as pd
    >>> orders = ibis.memtable({
    ...     "customer_id": ["c1", "c1", "c1", "c2"], "revenue": [10.0, 5.0, 20.0, 7.0],
    ...     "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 18:00", "2024-01-15 09:00",
    ...                           "2024-01-08 12:00"])})
    >>> s = customer_summary(orders, observation_end="2024-01-31", time_unit="days")
    >>> s.order_by("customer_id").select(
    ...     "frequency", "recency", "T", "monetary_value").to_pandas()
       frequency  recency     T  monetary_value
    0          1     14.0  30.0            20.0
    1          0      0.0  23.0             0.0
    """
    if time_unit not in UNIT_DAYS:
        raise DataValidationError(
            f"time_unit {time_unit!r}: expected one of {', '.join(UNIT_DAYS)}")
    if freq not in ("D", "W"):
        raise DataValidationError(f"freq {freq!r}: expected 'D' (days) or 'W' (weeks)")
    for col in (customer_col, time_col, value_col):
        if col not in orders.columns:
            raise DataValidationError(
                f"customer_summary needs column {col!r}; the table has "
                f"{', '.join(orders.columns)}; pass customer_col/time_col/value_col")
    periods = purchase_periods(orders, freq=freq, customer_col=customer_col,
                               time_col=time_col, value_col=value_col)
    return summary_from_periods(periods, freq=freq, time_unit=time_unit,
                                observation_end=observation_end,
                                calibration_end=calibration_end, holdout_end=holdout_end)


def purchase_periods(orders: ir.Table, *, freq: str = "D", customer_col: str = "customer_id",
                     time_col: str = "ts", value_col: str = "revenue") -> ir.Table:
    """One row per customer and purchase period: the first of the summary's two levels.

    Columns ``customer_id, period, value`` (integer cents), ``first_ts, last_ts``.
    ``period`` is the epoch day (``freq="D"``) or the Monday-week number
    (``"W"``).  This is the expensive level (about one group per order); the
    warehouse keeps it for days in ``purchase_days`` (:mod:`outsidein.warehouse.rollup`).

    >>> import pandas as pd
    >>> orders = ibis.memtable({"customer_id": ["c1", "c1"], "revenue": [10.0, 5.0],
    ...     "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 18:00"])})
    >>> purchase_periods(orders).select("period", "value").to_pandas()
       period  value
    0   19723   1500
    """
    ts = orders[time_col]
    if ts.type().is_date():
        ts = ts.cast("timestamp")
    day = (ts.epoch_seconds() // SECONDS_PER_DAY).cast("int64")
    lines = orders.select(customer_id=orders[customer_col],
                          period=_period_of_day(day, freq),
                          value=(orders[value_col].cast("float64") * 100).round().cast("int64"),
                          ts=ts)
    return lines.group_by(["customer_id", "period"]).aggregate(
        value=lines.value.sum(), first_ts=lines.ts.min(), last_ts=lines.ts.max())


def periods_from_days(days: ir.Table, freq: str = "D") -> ir.Table:
    """Purchase periods from day rows (``customer_id, day, value_cents, first_ts, last_ts``).

    Days roll up exactly into Monday weeks (sums, minima and maxima compose).

    >>> import pandas as pd
    >>> days = ibis.memtable({"customer_id": ["c1", "c1"], "day": [19723, 19724],
    ...                       "value_cents": [100, 250],
    ...                       "first_ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                       "last_ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> periods_from_days(days, "W").select("period", "value").to_pandas()
       period  value
    0    2818    350
    """
    if freq not in ("D", "W"):
        raise DataValidationError(f"freq {freq!r}: expected 'D' (days) or 'W' (weeks)")
    p = days.select(customer_id=days.customer_id, period=_period_of_day(days.day, freq),
                    value=days.value_cents, first_ts=days.first_ts, last_ts=days.last_ts)
    if freq == "D":
        return p
    return p.group_by(["customer_id", "period"]).aggregate(
        value=p.value.sum(), first_ts=p.first_ts.min(), last_ts=p.last_ts.max())


def summary_from_periods(
    periods: ir.Table,
    *,
    freq: str = "D",
    time_unit: str = "weeks",
    observation_end: str | date | datetime | None = None,
    calibration_end: str | date | datetime | None = None,
    holdout_end: str | date | datetime | None = None,
) -> ir.Table:
    """The second level of :func:`customer_summary`, from :func:`purchase_periods` rows.

    Same parameters and result as :func:`customer_summary`; with
    :func:`periods_from_days` it reads the warehouse's ``purchase_days``
    rollup instead of the order lines (one group per customer instead of one
    per order: about 5x less work).

    >>> import pandas as pd
    >>> periods = ibis.memtable({"customer_id": ["c1", "c1"], "period": [19723, 19737],
    ...                          "value": [1500, 2000],
    ...                          "first_ts": pd.to_datetime(["2024-01-01", "2024-01-15"]),
    ...                          "last_ts": pd.to_datetime(["2024-01-01", "2024-01-15"])})
    >>> summary_from_periods(periods, time_unit="days").select(
    ...     "frequency", "recency", "monetary_value").to_pandas()
       frequency  recency  monetary_value
    0          1     14.0            20.0
    """
    if time_unit not in UNIT_DAYS:
        raise DataValidationError(
            f"time_unit {time_unit!r}: expected one of {', '.join(UNIT_DAYS)}")
    if freq not in ("D", "W"):
        raise DataValidationError(f"freq {freq!r}: expected 'D' (days) or 'W' (weeks)")
    unit = UNIT_DAYS[time_unit]

    def end_period(value: Any, name: str) -> Any:
        if value is None:
            return periods.period.max().as_scalar()
        return _period_of_day(_epoch_day_const(_as_datetime(value, name)), freq)

    cut = end_period(calibration_end if calibration_end is not None else observation_end,
                     "calibration_end" if calibration_end is not None else "observation_end")
    cal = periods.filter(periods.period <= cut) if (
        calibration_end is not None or observation_end is not None) else periods
    s = _summarise(cal, cut, unit, freq)
    if calibration_end is None:
        return s
    hold_end = end_period(holdout_end if holdout_end is not None else observation_end,
                          "holdout_end")
    hold = periods.filter((periods.period > cut) & (periods.period <= hold_end))
    h = hold.group_by("customer_id").aggregate(
        frequency_holdout=hold.period.count(), total_holdout=hold.value.sum())
    j = s.left_join(h, s.customer_id == h.customer_id)
    nh = j.frequency_holdout.fill_null(0)
    duration = (_period_start_day(_expr(hold_end), freq) - _period_start_day(_expr(cut), freq)
                ).cast("float64") / unit
    return j.select(
        *[j[c] for c in s.columns],
        frequency_holdout=nh.cast("int64"),
        monetary_value_holdout=ibis.ifelse(
            nh > 0, j.total_holdout.cast("float64") / nh / 100, 0.0),
        duration_holdout=duration,
    )


def _summarise(periods: ir.Table, cut: Any, unit: float, freq: str) -> ir.Table:
    g = periods.group_by("customer_id").aggregate(
        first=periods.period.min(),
        last=periods.period.max(),
        n=periods.period.count(),
        total=periods.value.sum(),
        first_value=periods.value.argmin(periods.period),
        first_purchase=periods.first_ts.min(),
        last_purchase=periods.last_ts.max(),
    )
    frequency = (g.n - 1).cast("int64")
    first_day = _period_start_day(g["first"], freq)
    last_day = _period_start_day(g["last"], freq)
    end_day = _period_start_day(cut, freq)

    return g.select(
        customer_id=g.customer_id,
        frequency=frequency,
        recency=(last_day - first_day).cast("float64") / unit,
        T=(end_day - first_day).cast("float64") / unit,
        monetary_value=ibis.ifelse(
            frequency > 0, (g.total - g.first_value).cast("float64") / frequency / 100, 0.0),
        first_purchase=g.first_purchase,
        last_purchase=g.last_purchase,
    )


def compress(summary: ir.Table) -> ir.Table:
    """Distinct ``(frequency, recency, T)`` triples with their count ``n``.

    BTYD likelihoods depend on a customer only through these three numbers,
    so fitting on the compressed table with weights ``n`` is exact and much
    faster than fitting per customer.

    >>> s = ibis.memtable({"frequency": [1, 1, 0], "recency": [2.0, 2.0, 0.0],
    ...                    "T": [5.0, 5.0, 3.0]})
    >>> compress(s).to_pandas()
       frequency  recency    T  n
    0          0      0.0  3.0  1
    1          1      2.0  5.0  2
    """
    return (summary.group_by(["frequency", "recency", "T"])
            .aggregate(n=summary.count())
            .order_by(["frequency", "recency", "T"]))
