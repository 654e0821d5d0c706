"""The KPIs the market watch follows, per day or per week and per segment, from the warehouse.

Every KPI is a ratio ``num / den`` of two sums, so each is computed per (period, segment value)
by an Ibis expression in the warehouse (DuckDB or Spark: a few scans per segment column, no
customer-level data leaves the warehouse), per segment column (``segment="region=coast"``);
the whole company's figure (``segment="all"``) is the sum of the first column's segments'
numerators over the sum of their denominators (computed directly without a segment
column).  Running totals
(customers acquired so far, customers active, prospects still open) are taken over the few
hundred periods in pandas.  Periods are numbered in whole UTC days since 1970-01-01 (the
Monday a week starts on, by week).

=====================  ==========================================================================
``repeat_rate``        repeat orders in the period per customer acquired by its end (the demo's
                       planted ``truth_kpi_changes`` uses the same definition, by week)
``churn``              customers who lapsed in the period (no purchase for ``lapse_days`` days)
                       per customer active at its start (the lapsed share)
``aov``                average order value: revenue of the period's orders (before discounts,
                       returns not netted) per order
``conversion``         share of the prospects created in the period who converted (the converted
                       customer's first order) within ``conversion_days`` days; periods less
                       than that before the last order are left out
``complaints``         complaints (``interactions`` of type ``complaint``) per order
``delivery_days``      average delivery days of the lines ordered (``availability``, by product,
                       the customer's region and the day)
``nps``                Net Promoter Score of the period's buyers who gave an answer
``segment_size``       share of the period's buyers in each segment of ``customer_segments``
                       (when that table exists); shown, not watched for changes: the table
                       holds each customer's segment of today, which is made of their past
                       (an "at risk" customer is one who bought before and not lately), so
                       its history moves by construction
custom                 ``[market.kpis.NAME]`` in ``outsidein.toml``: an SQL aggregate over a
                       table, per period (see :func:`custom_kpis`)
=====================  ==========================================================================

A KPI whose tables or columns are missing is left out, with a note saying why.

>>> KPIS["repeat_rate"].title
'Repeat rate'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from outsidein.domain import purchases
from outsidein.errors import ConfigError

__all__ = ["KPIS", "KpiDef", "KpiFrame", "compute_kpis", "custom_kpis", "day_number",
           "period_date"]

#: Days of a week; periods by week start on Monday (epoch day 4 was a Monday).
_MONDAY = 4


@dataclass(frozen=True)
class KpiDef:
    """What a KPI is: its title, unit, which way is good, and who acts on it."""

    key: str
    title: str
    unit: str  # "%" (share), "$", "days", "per customer", "points", ...
    higher_is_better: bool
    departments: tuple[str, ...]
    description: str
    scale: float = 1.0  # the value shown is num / den * scale
    #: The denominator is a stock (customers acquired, active, ...): a week's is its last day's.
    stock: bool = False
    #: The smallest change worth an alert in the KPI's unit, where a relative one means
    #: nothing (a score near 0).
    min_abs: float | None = None
    #: Watched for changes (False: shown only; its history is not comparable over time).
    watched: bool = True


KPIS: dict[str, KpiDef] = {k.key: k for k in (
    KpiDef("repeat_rate", "Repeat rate", "orders per customer", True, ("marketing", "sales"),
           "repeat orders per customer acquired so far", stock=True),
    KpiDef("churn", "Churn (lapsed share)", "%", False, ("marketing", "service", "sales"),
           "share of active customers who lapsed (no purchase for the lapse days)", stock=True),
    KpiDef("aov", "Average order value", "$", True, ("sales", "marketing", "finance"),
           "revenue per order, before discounts"),
    KpiDef("conversion", "Conversion of prospects", "%", True, ("sales", "marketing"),
           "share of the prospects created in the period who converted within the "
           "conversion days"),
    KpiDef("complaints", "Complaints per order", "per order", False,
           ("service", "operations", "product"), "complaints per order"),
    KpiDef("delivery_days", "Delivery days", "days", False, ("operations", "service"),
           "average delivery days of the lines ordered"),
    KpiDef("nps", "Net Promoter Score", "points", True, ("marketing", "service", "product"),
           "promoters minus detractors among the period's buyers who answered", scale=100.0,
           min_abs=10.0),
    KpiDef("segment_size", "Segment size", "%", True, ("marketing", "sales"),
           "share of the period's buyers in the segment (today's segments: shown, not "
           "watched, since a customer's segment of today says where their past is)",
           watched=False),
)}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class KpiFrame:
    """The KPIs in long form: one row per (kpi, segment, period) with ``num``, ``den``, ``value``
    and ``events`` (the count the value rests on: orders, complaints, answers, ...).

    *defs* holds every KPI found (built-in and custom); *notes* says which were left out, why.
    """

    frame: pd.DataFrame
    defs: dict[str, KpiDef]
    freq: str
    notes: tuple[str, ...] = ()


def day_number(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole UTC days since 1970-01-01 (portable: DuckDB and Spark)."""
    return (ts.epoch_seconds() // 86400).cast("int64")


def _period(day: ir.IntegerValue, freq: str) -> ir.IntegerValue:
    if freq == "day":
        return day
    return ((day - _MONDAY) // 7) * 7 + _MONDAY


def period_date(period: int) -> str:
    """The ISO date of a period number.

    >>> period_date(20454)
    '2026-01-01'
    """
    return str(np.datetime64(int(period), "D"))


def _segments(con: Any, column: str | None) -> ir.Table | None:
    """customer_id -> segval (``column``'s value as text, or ``"unknown"``)."""
    if column is None:
        return None
    cust = con.table("customers")
    return cust.select("customer_id",
                       segval=cust[column].cast("string").fill_null("unknown"))


def _by(table: ir.Table, seg: ir.Table | None, day: str, freq: str, **aggs: Any) -> ir.Table:
    """Aggregate *table* per (period of its column *day*, segval); ``"all"`` without *seg*."""
    if seg is None:
        t = table.mutate(segval=ibis.literal("all"))
    else:
        t = table.join(seg, "customer_id")
    t = t.mutate(period=_period(t[day], freq))
    return t.group_by(["period", "segval"]).aggregate(**{k: v(t) for k, v in aggs.items()})


def _orders(con: Any) -> ir.Table:
    """One row per order: customer_id, day, value (purchase lines only), and ``first``: the
    customer's first order day."""
    lines = purchases(con.table("order_lines"))
    key = lines.order_id.fill_null(lines.customer_id.concat("@", lines.ts.cast("string")))
    lines = lines.mutate(order_key=key)
    o = (lines.group_by(["customer_id", "order_key"])
         .aggregate(day=day_number(lines.ts.min()), value=lines.revenue.sum()))
    return o.mutate(first=o.day.min().over(ibis.window(group_by="customer_id")))


def _frame(df: pd.DataFrame, kpi: str, num: str, den: str, events: str) -> pd.DataFrame:
    out = df[["period", "segval", num, den]].rename(columns={num: "num", den: "den"})
    return out.assign(kpi=kpi, events=df[events].to_numpy())


def _dense(df: pd.DataFrame, cols: list[str], periods: np.ndarray) -> pd.DataFrame:
    """*df* (period, segval, cols...) on every period for every segval, zeros filled."""
    segvals = sorted(df["segval"].unique())
    idx = pd.MultiIndex.from_product([segvals, periods], names=["segval", "period"])
    return (df.groupby(["segval", "period"])[cols].sum().reindex(idx, fill_value=0)
            .reset_index())


def _order_kpis(con: Any, orders: ir.Table, seg: ir.Table | None, freq: str,
                periods: np.ndarray, lapse_days: int, first_day: int,
                last_day: int) -> list[pd.DataFrame]:
    per = _by(orders, seg, "day", freq, orders=lambda t: t.count(),
              new=lambda t: (t.day == t["first"]).sum().cast("int64"),
              revenue=lambda t: t.value.sum()).execute()
    d = _dense(per, ["orders", "new", "revenue"], periods)
    d["repeat"] = (d["orders"] - d["new"]).clip(lower=0)
    d["acquired"] = d.groupby("segval")["new"].cumsum()
    out = [_frame(d, "repeat_rate", "repeat", "acquired", "repeat"),
           _frame(d, "aov", "revenue", "orders", "orders")]
    # churn: a customer is active from a purchase day until lapse_days pass without another
    days = orders.select("customer_id", "day").distinct()
    w = ibis.window(group_by=days.customer_id, order_by=days.day)
    days = days.mutate(prev=days.day.lag().over(w), next=days.day.lead().over(w)).cache()
    start = days.filter(days.prev.isnull() | (days.day - days.prev > lapse_days))
    lapse_at = days.day + lapse_days
    stop = days.filter((days.next.isnull() | (days.next - days.day > lapse_days))
                       & (lapse_at <= last_day)).mutate(lapse_day=lapse_at)
    s = _by(start, seg, "day", freq, starts=lambda t: t.count()).execute()
    e = _by(stop, seg, "lapse_day", freq, lapses=lambda t: t.count()).execute()
    days.release()
    c = _dense(pd.concat([s, e]).fillna(0), ["starts", "lapses"], periods)
    active_end = c.groupby("segval")["starts"].cumsum() - c.groupby("segval")["lapses"].cumsum()
    c["active"] = active_end + c["lapses"]  # active at the start, or becoming so, and lapsing
    c.loc[c["period"] < first_day + lapse_days, "active"] = 0  # nobody can have lapsed yet
    out.append(_frame(c, "churn", "lapses", "active", "lapses"))
    if "interactions" in con.list_tables():
        it = con.table("interactions")
        it = it.filter(it.type == "complaint")
        it = it.mutate(day=day_number(it.ts))
        comp = _by(it, seg, "day", freq,
                   complaints=lambda t: t.count()).execute()
        cd = _dense(pd.concat([comp, per[["period", "segval", "orders"]]]).fillna(0),
                    ["complaints", "orders"], periods)
        out.append(_frame(cd, "complaints", "complaints", "orders", "complaints"))
    return out


def _delivery(con: Any, seg: ir.Table | None, freq: str) -> pd.DataFrame | None:
    tables = con.list_tables()
    if "availability" not in tables or "region" not in con.table("customers").columns:
        return None
    av = con.table("availability")
    av = av.select("product_id", "region", "delivery_days",
                   day=day_number(av.date.cast("timestamp")))
    lines = purchases(con.table("order_lines"))
    cust = con.table("customers").select("customer_id", "region")
    lines = lines.select("customer_id", "product_id", day=day_number(lines.ts))
    lines = lines.join(cust, "customer_id")
    lines = (lines.mutate(segval=ibis.literal("all")) if seg is None
             else lines.join(seg, "customer_id"))
    # count the lines per (product, region, day) first: joined line by line, the planner
    # matched availability on (product, day) before the region (5x the lines, 23 s at 1M
    # customers here); a few hundred thousand cells meet availability instead
    cells = lines.group_by(["product_id", "region", "day", "segval"]).aggregate(n=lines.count())
    j = cells.join(av, ["product_id", "region", "day"])
    j = j.filter(j.delivery_days.notnull())
    j = j.mutate(period=_period(j.day, freq))
    per = j.group_by(["period", "segval"]).aggregate(
        days=(j.delivery_days * j.n).sum(), lines=j.n.sum()).execute()
    return _frame(per, "delivery_days", "days", "lines", "lines") if len(per) else None


def _conversion(con: Any, orders: ir.Table, column: str | None, freq: str, days: int,
                last_day: int) -> pd.DataFrame | None:
    if "prospects" not in con.list_tables():
        return None
    pr = con.table("prospects")
    if column is not None and column not in pr.columns:
        return None
    segval = pr[column].cast("string").fill_null("unknown") if column else ibis.literal("all")
    first = orders.group_by("customer_id").aggregate(first=orders["first"].min())
    pr = pr.mutate(segval=segval, day=day_number(pr.created))
    pr = pr.filter(pr.day + days <= last_day)  # each cohort has had its days to convert
    pr = pr.left_join(first, pr.converted_customer_id == first.customer_id)
    won = (pr["first"].notnull() & (pr["first"] - pr.day <= days)).cast("int64")
    t = pr.mutate(won=won, period=_period(pr.day, freq))  # segments: the prospects' own column
    df = (t.group_by(["period", "segval"])
          .aggregate(created=t.count(), converted=t.won.sum()).execute())
    return _frame(df, "conversion", "converted", "created", "created") if len(df) else None


def _nps(con: Any, orders: ir.Table, seg: ir.Table | None, freq: str) -> pd.DataFrame | None:
    cust = con.table("customers")
    if "nps" not in cust.columns:
        return None
    buyers = orders.select("customer_id", period=_period(orders.day, freq)).distinct()
    answers = cust.filter(cust.nps.notnull()).select("customer_id", "nps")
    b = buyers.join(answers, "customer_id")
    per = _by(b, seg, "period", "day",
              score=lambda t: ((t.nps >= 9).cast("int64") - (t.nps <= 6).cast("int64")).sum(),
              answers=lambda t: t.count()).execute()
    return _frame(per, "nps", "score", "answers", "answers") if len(per) else None


def _segment_size(con: Any, orders: ir.Table, freq: str,
                  periods: np.ndarray) -> pd.DataFrame | None:
    if "customer_segments" not in con.list_tables():
        return None
    cs = con.table("customer_segments")
    col = next((c for c in ("segment", "rfm_segment", "cluster_name", "cluster")
                if c in cs.columns), None)
    if col is None or "customer_id" not in cs.columns:
        return None
    seg = cs.select("customer_id", segval=cs[col].cast("string").fill_null("unknown"))
    buyers = orders.select("customer_id", period=_period(orders.day, freq)).distinct()
    per = _by(buyers, seg, "period", "day", buyers=lambda t: t.count()).execute()
    d = _dense(per, ["buyers"], periods)
    d["total"] = d.groupby("period")["buyers"].transform("sum")
    d["segval"] = "segment:" + d["segval"]
    return _frame(d, "segment_size", "buyers", "total", "buyers")


def custom_kpis(extra: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``[market.kpis.NAME]`` sections of ``outsidein.toml``, checked.

    Each needs ``sql`` (an aggregate SQL expression over one row per event, e.g.
    ``"avg(revenue)"``) and may give ``table`` (default ``order_lines``), ``time`` (its
    timestamp column, default ``ts``), ``title``, ``unit``, ``higher_is_better`` (default
    true) and ``departments`` (a list).

    >>> custom_kpis({"market": {"kpis": {"big_lines": {"sql": "avg(quantity)"}}}})["big_lines"]
    ... # doctest: +NORMALIZE_WHITESPACE
    {'sql': 'avg(quantity)', 'table': 'order_lines', 'time': 'ts', 'title': 'big_lines',
     'unit': '', 'higher_is_better': True, 'departments': ()}
    >>> custom_kpis({"market": {"kpis": {"x": {"table": "t"}}}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: outsidein.toml [market.kpis.x]: 'sql' is missing (an SQL ...
    """
    raw = (extra.get("market") or {}).get("kpis") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("outsidein.toml [market.kpis]: expected sections [market.kpis.NAME]")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        where = f"outsidein.toml [market.kpis.{name}]"
        if not _NAME.match(name) or name in KPIS:
            raise ConfigError(f"{where}: the name must be lower-case letters, digits and _ "
                              f"(at most 40) and not a built-in KPI ({', '.join(KPIS)})")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: expected a section with sql = \"...\"")
        unknown = set(spec) - {"sql", "table", "time", "title", "unit", "higher_is_better",
                               "departments"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        sql = spec.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise ConfigError(f"{where}: 'sql' is missing (an SQL aggregate such as "
                              "\"avg(revenue)\")")
        if ";" in sql:
            raise ConfigError(f"{where}: 'sql' is one expression, without ';'")
        deps = spec.get("departments", ())
        if isinstance(deps, str) or not all(isinstance(d, str) for d in deps):
            raise ConfigError(f"{where}: 'departments' is a list of names")
        hib = spec.get("higher_is_better", True)
        if not isinstance(hib, bool):
            raise ConfigError(f"{where}: 'higher_is_better' is true or false")
        out[name] = {"sql": sql.strip(), "table": str(spec.get("table", "order_lines")),
                     "time": str(spec.get("time", "ts")), "title": str(spec.get("title", name)),
                     "unit": str(spec.get("unit", "")), "higher_is_better": hib,
                     "departments": tuple(deps)}
    return out


def _custom(con: Any, name: str, spec: dict[str, Any], freq: str) -> pd.DataFrame:
    where = f"outsidein.toml [market.kpis.{name}]"
    if spec["table"] not in con.list_tables():
        raise ConfigError(f"{where}: no table {spec['table']!r} in the warehouse")
    t = con.table(spec["table"])
    if spec["time"] not in t.columns:
        raise ConfigError(f"{where}: table {spec['table']!r} has no column {spec['time']!r}")
    t = t.mutate(oi_period=_period(day_number(t[spec["time"]].cast("timestamp")), freq))
    view = t.alias("oi_kpi_rows")
    query = (f"SELECT oi_period AS period, CAST({spec['sql']} AS DOUBLE) AS num "
             "FROM oi_kpi_rows GROUP BY oi_period")
    try:
        df = view.sql(query, dialect="duckdb").execute()
    except Exception as exc:  # the user's SQL: any backend error is their expression's
        raise ConfigError(f"{where}: the SQL {spec['sql']!r} failed: "
                          f"{str(exc).splitlines()[0]}") from exc
    return df.assign(segval="all", den=1.0, kpi=name, events=np.inf)


def _all_kpis(con: Any, orders: ir.Table, columns: list[str | None], freq: str,
              periods: np.ndarray, lapse_days: int, conversion_days: int, lo: int,
              hi: int) -> tuple[list[pd.DataFrame], pd.DataFrame | None]:
    """The built-in KPIs per segment column (the whole company last), and the segment sizes."""
    parts: list[pd.DataFrame] = []
    whole: dict[str, pd.DataFrame] = {}
    for col in columns[1:] + columns[:1]:  # the whole company last: from a segment if it can
        if col is None and whole:
            missing = {"delivery_days", "conversion", "nps"} - set(whole)
            found = [p for p in (_delivery(con, None, freq) if "delivery_days" in missing
                                 else None,
                                 _conversion(con, orders, None, freq, conversion_days, hi)
                                 if "conversion" in missing else None,
                                 _nps(con, orders, None, freq) if "nps" in missing else None)
                     if p is not None]
            parts += list(whole.values()) + found
            continue
        seg = _segments(con, col)
        found = _order_kpis(con, orders, seg, freq, periods, lapse_days, lo, hi)
        found += [p for p in (_delivery(con, seg, freq),
                              _conversion(con, orders, col, freq, conversion_days, hi),
                              _nps(con, orders, seg, freq)) if p is not None]
        if col is None:
            parts += found
            continue
        parts += [p.assign(segval=col + "=" + p["segval"].astype(str)) for p in found]
        for p in found:  # every KPI is a ratio of sums: the company's are the segments' sums
            key = str(p["kpi"].iloc[0]) if len(p) else ""
            if key and key not in whole:
                whole[key] = (p.groupby("period", as_index=False)[["num", "den", "events"]]
                              .sum().assign(segval="all", kpi=key))
    return parts, _segment_size(con, orders, freq, periods)


def compute_kpis(con: Any, *, freq: str = "day", segment_columns: tuple[str, ...] = ("region",),
                 lapse_days: int = 90, conversion_days: int = 60,
                 extra: Mapping[str, Any] | None = None) -> KpiFrame:
    """Every KPI the warehouse can give, per period of *freq* (``day`` or ``week``).

    Segments are ``all`` and ``COLUMN=VALUE`` for each customer column in *segment_columns*
    (columns that ``customers`` lacks are skipped with a note).  Periods before the first
    order and after the last are dropped; a trailing partial week is dropped too.
    """
    if freq not in ("day", "week"):
        raise ConfigError(f"freq: 'day' or 'week', not {freq!r}")
    tables = con.list_tables()
    if "order_lines" not in tables or "customers" not in tables:
        return KpiFrame(pd.DataFrame(columns=["kpi", "segment", "period", "num", "den", "value"]),
                        {}, freq, ("no orders yet: load order_lines and customers",))
    lines = con.table("order_lines")
    span = lines.aggregate(lo=day_number(lines.ts.min()), hi=day_number(lines.ts.max())).execute()
    if span.empty or pd.isna(span["lo"].iloc[0]):
        return KpiFrame(pd.DataFrame(columns=["kpi", "segment", "period", "num", "den", "value"]),
                        {}, freq, ("no orders yet",))
    lo, hi = int(span["lo"].iloc[0]), int(span["hi"].iloc[0])
    step = 1 if freq == "day" else 7
    first = lo if freq == "day" else ((lo - _MONDAY) // 7) * 7 + _MONDAY
    last = hi if freq == "day" else ((hi + 1 - _MONDAY) // 7) * 7 + _MONDAY - 7
    periods = np.arange(first, last + 1, step, dtype=np.int64)
    notes: list[str] = []
    cust_cols = con.table("customers").columns
    columns: list[str | None] = [None]
    for name in segment_columns:
        if name in cust_cols:
            columns.append(name)
        else:
            notes.append(f"segments: customers has no column {name!r}")
    # the orders (one group-by of every purchase line) are read by most KPIs: built once, kept
    # in the engine while the KPIs are computed (a temporary table on DuckDB, a persisted
    # DataFrame on Spark), released after
    orders = _orders(con).cache()
    try:
        parts, size = _all_kpis(con, orders, columns, freq, periods, lapse_days,
                                conversion_days, lo, hi)
    finally:
        orders.release()
    defs = dict(KPIS)
    if size is not None:
        parts.append(size)
    else:
        defs.pop("segment_size")
    for name, spec in custom_kpis(extra or {}).items():
        parts.append(_custom(con, name, spec, freq))
        defs[name] = KpiDef(name, spec["title"], spec["unit"], spec["higher_is_better"],
                            spec["departments"], f"custom: {spec['sql']} over {spec['table']}")
    df = pd.concat(parts, ignore_index=True)
    df = df[(df["period"] >= first) & (df["period"] <= last)]
    df = df.rename(columns={"segval": "segment"})
    computed = set(df["kpi"])
    for key in [k for k in defs if k not in computed]:
        notes.append(f"{defs.pop(key).title}: its tables or columns are missing")
    scale = df["kpi"].map({k: d.scale for k, d in defs.items()}).astype(float)
    den = df["den"].astype(float)
    df["value"] = np.where(den > 0, df["num"].astype(float) / den.where(den > 0, 1.0) * scale,
                           np.nan)
    df = df[["kpi", "segment", "period", "num", "den", "value", "events"]]
    return KpiFrame(df.sort_values(["kpi", "segment", "period"]).reset_index(drop=True), defs,
                    freq, tuple(notes))
