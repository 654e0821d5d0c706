"""The overview's key figures, each with its monthly trend: what the dashboard tiles show.

From the warehouse (a short-lived read-only connection, as
:mod:`outsidein.services.value.views` reads, so a load is never kept waiting):

- **customers active**: distinct customers with a purchase in the month;
- **revenue**: order-line revenue in the month, returns netted
  (:func:`outsidein.domain.signed_lines`), before discounts;
- **repeat rate**: share of the customers so far who bought on two days or more;
- **CLV**: the average predicted customer lifetime value (``customer_value``); its trend is the
  average CLV of the customers first acquired in each month (are new customers worth more?).

From the store: **acknowledgement progress**, the share of the expected acknowledgements of the
current insight versions that were made, with the acknowledgements made per month.

The headline figure of a warehouse KPI is its value in the latest month with orders, unless
the orders stop before its 28th day (then the month before: a month just begun is not shown as
a collapse).

>>> k = Kpi(key="revenue", title="Revenue", unit="$", value=1250.0, period="Dec 2025",
...         series=(("2025-11", 1000.0), ("2025-12", 1250.0)))
>>> k.display, k.change
('$1,250', 0.25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ibis import _
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.domain import purchases, signed_lines
from outsidein.services.share import AckRow, ack_tally
from outsidein.services.value.scoring import CUSTOMER_VALUE
from outsidein.store.models import share as m
from outsidein.workspace import Workspace

__all__ = ["MONTHS", "Kpi", "InsightProgress", "AckProgress", "warehouse_kpis", "ack_progress",
           "month_label"]

#: How many months each trend line shows.
MONTHS = 12
#: The latest month counts once the orders reach this day of it (else the month before is the
#: latest: a month just begun would look like a collapse next to full ones).
FULL_MONTH_DAY = 28
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec")


def month_label(month: str) -> str:
    """``'2025-12'`` as people read it.

    >>> month_label("2025-12")
    'Dec 2025'
    """
    year, mon = month.split("-")
    return f"{_MONTH_NAMES[int(mon) - 1]} {year}"


def _format(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "$":
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Kpi:
    """One key figure: its latest value, in *unit*, and its monthly trend (oldest first).

    *unit* is ``"$"`` (money), ``"%"`` (a share from 0 to 1) or ``"customers"``/a count noun.
    """

    key: str
    title: str
    unit: str
    value: float | None
    period: str
    series: tuple[tuple[str, float], ...] = ()
    note: str = ""
    link: str | None = None
    missing: str | None = None
    #: The unit of the trend when it is not the headline's (e.g. a count per month).
    series_unit: str | None = None

    @property
    def display(self) -> str:
        """The headline figure with its unit (``$1,250``, ``41.2%``, ``5,518``)."""
        return _format(self.value, self.unit)

    @property
    def change(self) -> float | None:
        """Relative change of the headline over the month before (None: unknown, or the trend
        is not the headline's month by month)."""
        if (len(self.series) < 2 or not self.series[-2][1] or self.period == "now"
                or self.series_unit not in (None, self.unit)):
            return None
        return (self.series[-1][1] - self.series[-2][1]) / abs(self.series[-2][1])

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "unit": self.unit, "value": self.value,
                "display": self.display, "period": self.period, "note": self.note,
                "series": [{"month": mo, "value": v} for mo, v in self.series],
                "missing": self.missing}


def _month_key(value: Any) -> str:
    return f"{value.year:04d}-{value.month:02d}"


def _monthly(con: Any, months: int) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Per month (the last *months* with orders): buyers, net revenue and the repeat rate.

    The repeat rate of a month is the share of the customers who had bought by its end that
    had bought on at least two days by then.
    """
    lines = con.table("order_lines")
    s = signed_lines(lines)
    rev = (s.mutate(month=s.ts.truncate("M")).group_by("month")
           .aggregate(revenue=s.rev.sum()).execute())
    if rev.empty:
        return [], {}
    last_day = lines.aggregate(last=lines.ts.max()).execute()["last"].iloc[0]
    buys = purchases(lines)
    buys = buys.mutate(month=buys.ts.truncate("M"), day=buys.ts.truncate("D"))
    buyers = (buys.select("customer_id", "month").distinct().group_by("month")
              .aggregate(buyers=_.customer_id.count()).execute())
    days = buys.select("customer_id", "day").distinct()
    first = days.group_by("customer_id").aggregate(first=days.day.min())
    later = days.join(first, "customer_id").filter(_.day > _.first)
    second = later.group_by("customer_id").aggregate(second=later.day.min())
    starts = (first.mutate(month=first["first"].truncate("M")).group_by("month")
              .aggregate(n=_.customer_id.count()).execute())
    repeats = (second.mutate(month=second["second"].truncate("M")).group_by("month")
               .aggregate(n=_.customer_id.count()).execute())
    out: dict[str, dict[str, float]] = {}
    for r in rev.itertuples():
        out.setdefault(_month_key(r.month), {})["revenue"] = float(r.revenue or 0.0)
    for r in buyers.itertuples():
        out.setdefault(_month_key(r.month), {})["buyers"] = float(r.buyers)
    new = {_month_key(r.month): int(r.n) for r in starts.itertuples()}
    again = {_month_key(r.month): int(r.n) for r in repeats.itertuples()}
    customers = repeat = 0
    for k in sorted(set(out) | set(new) | set(again)):
        customers, repeat = customers + new.get(k, 0), repeat + again.get(k, 0)
        out.setdefault(k, {})["repeat_rate"] = repeat / customers if customers else 0.0
    keys = sorted(out)
    if len(keys) > 1 and keys[-1] == _month_key(last_day) and last_day.day < FULL_MONTH_DAY:
        keys = keys[:-1]  # a month just begun is not compared with full ones
    keys = keys[-months:]
    return keys, {k: out[k] for k in keys}


def _clv(con: Any, months: int) -> tuple[float | None, dict[str, float]]:
    """Average CLV now, and the average CLV of each monthly cohort of new customers."""
    if CUSTOMER_VALUE not in con.list_tables():
        return None, {}
    cv = con.table(CUSTOMER_VALUE)
    if "clv" not in cv.columns or "customer_id" not in cv.columns:
        return None, {}
    avg = cv.aggregate(avg=cv.clv.mean()).execute()["avg"].iloc[0]
    buys = purchases(con.table("order_lines"))
    first = buys.group_by("customer_id").aggregate(first=buys.ts.min())
    cohort = first.mutate(month=first["first"].truncate("M")).join(cv, "customer_id")
    by = cohort.group_by("month").aggregate(clv=cohort.clv.mean()).execute()
    series = {_month_key(r.month): float(r.clv) for r in by.itertuples()
              if r.clv is not None and math.isfinite(r.clv)}
    return (float(avg) if avg is not None and math.isfinite(avg) else None,
            {k: series[k] for k in sorted(series)[-months:]})


#: The last figures computed per warehouse file state (the overview reads them on every visit).
_CACHE: dict[tuple[Any, ...], list[Kpi]] = {}


def warehouse_kpis(ws: Workspace, months: int = MONTHS) -> list[Kpi]:
    """Customers active, revenue, repeat rate and CLV, each with its trend of *months* months.

    Without order lines each KPI is there with ``missing`` saying how to fill it.  The figures
    of a DuckDB warehouse are kept until its file changes.
    """
    stamp = ws.warehouse_stamp()
    key = (stamp, months)
    if stamp is not None and key in _CACHE:
        return _CACHE[key]
    kpis = _warehouse_kpis(ws, months)
    if stamp is not None and ws.warehouse_stamp() == stamp:
        _CACHE.clear()
        _CACHE[key] = kpis
    return kpis


def _warehouse_kpis(ws: Workspace, months: int) -> list[Kpi]:
    how = "load order lines ('outsidein load order_lines FILE') or run 'outsidein demo'"
    keys: list[str] = []
    rows: dict[str, dict[str, float]] = {}
    with ws.reader(missing_ok=True) as con:
        if con is not None and "order_lines" in con.list_tables():
            keys, rows = _monthly(con, months)
        clv_now, clv_series = _clv(con, months) if keys else (None, {})
    if not keys:
        return [Kpi(k, t, u, None, "", missing=f"no orders yet: {how}")
                for k, t, u in (("customers_active", "Customers active", "customers"),
                                ("revenue", "Revenue", "$"), ("repeat_rate", "Repeat rate", "%"),
                                ("clv", "Customer lifetime value", "$"))]
    last = keys[-1]
    period = month_label(last)

    def series(fn: Any) -> tuple[tuple[str, float], ...]:
        return tuple((k, fn(rows[k])) for k in keys)

    def rate(r: dict[str, float]) -> float:
        return r.get("repeat_rate", 0.0)

    return [
        Kpi("customers_active", "Customers active", "customers", rows[last].get("buyers", 0.0),
            period, series(lambda r: r.get("buyers", 0.0)),
            note=f"customers who bought in {period}", link="/value"),
        Kpi("revenue", "Revenue", "$", rows[last].get("revenue", 0.0), period,
            series(lambda r: r.get("revenue", 0.0)),
            note=f"in {period}, returns netted, before discounts", link="/answers"),
        Kpi("repeat_rate", "Repeat rate", "%", rate(rows[last]), period, series(rate),
            note=f"of customers had bought on two days or more by the end of {period}",
            link="/answers#q-value"),
        Kpi("clv", "Customer lifetime value", "$", clv_now, "now",
            tuple(clv_series.items()),
            note="average predicted value per customer; the line: new customers by month "
                 "of first purchase", link="/value",
            missing=None if clv_now is not None else
            "not scored yet: run 'outsidein value score' (or 'outsidein analyze')"),
    ]


@dataclass(frozen=True)
class InsightProgress(AckRow):
    """How far one insight's current version has been acknowledged (the counts of
    :class:`~outsidein.services.share.AckRow`), and whether it is overdue."""

    overdue: bool

    @property
    def share(self) -> float:
        return self.acknowledged / self.expected if self.expected else 1.0

    @property
    def percent(self) -> int:
        """Whole percent acknowledged (rounded down, so 99.6% is not shown as done)."""
        return math.floor(self.share * 100)


@dataclass(frozen=True)
class AckProgress:
    """Acknowledgement progress over every current insight version."""

    acknowledged: int
    expected: int
    insights: tuple[InsightProgress, ...]
    monthly: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    #: Insights not yet acknowledged by everyone expected (``insights`` may list fewer).
    open_count: int = 0

    @property
    def share(self) -> float | None:
        return self.acknowledged / self.expected if self.expected else None

    def kpi(self) -> Kpi:
        """The dashboard tile: share acknowledged; the line: acknowledgements made per month."""
        note = (f"{self.acknowledged:,} of {self.expected:,} acknowledgements of the current "
                f"insights made; the line: acknowledgements per month")
        return Kpi("ack_progress", "Acknowledgement progress", "%", self.share, "now",
                   self.monthly, note=note, link="/insights", series_unit="acknowledgements",
                   missing=None if self.expected else "no insight is waiting for anyone yet")


def _months_back(today: date, months: int) -> list[str]:
    out = []
    year, mon = today.year, today.month
    for _month in range(months):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def ack_progress(session: Session, *, now: datetime | None = None,
                 months: int = MONTHS, open_limit: int | None = None) -> AckProgress:
    """Acknowledged / expected per current insight (least acknowledged first) and in total.

    The counting is the database's (:func:`~outsidein.services.share.ack_tally`).  With
    *open_limit*, ``insights`` holds only the first *open_limit* insights not yet
    acknowledged by everyone (the overview's list: a page, whatever the number of insights)
    and ``open_count`` how many there are; the totals cover every insight either way.
    """
    now = now or datetime.now()
    tally = ack_tally(session, open_only=open_limit is not None, limit=open_limit)
    rows = tuple(InsightProgress(**vars(r), overdue=r.acknowledged < r.expected and now > r.due_at)
                 for r in tally.rows)
    keys = _months_back(now.date(), months)
    per_month = dict.fromkeys(keys, 0.0)
    start = datetime(int(keys[0][:4]), int(keys[0][5:]), 1)
    stamps = session.execute(select(m.Acknowledgement.acknowledged_at)
                             .where(m.Acknowledgement.acknowledged_at >= start))
    for (at,) in stamps:
        k = _month_key(at)
        if k in per_month:
            per_month[k] += 1
    return AckProgress(acknowledged=tally.acknowledged, expected=tally.expected, insights=rows,
                       monthly=tuple(per_month.items()), open_count=tally.open_count)
