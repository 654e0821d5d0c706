"""``outsidein market context``: the products that context events drive (the Pop-Tarts finder).

The heavy step is one Ibis expression over ``order_lines`` (DuckDB, or Spark unchanged):
purchase lines with a product, joined to their customer's region, counted per product,
region and day, then joined to a small calendar that says, per kind of event and region,
whether each day lies in the window *before* an event (``before_days`` days before its
start), *during* it (from its start day to its end day) or in the baseline, and which
stratum (region and calendar month) it belongs to.  The engine
(:class:`outsidein.market.context.ContextLift`) tests every (kind, window, product) with the
Mantel-Haenszel rate ratio against the same region and month and controls the false
discovery rate.  The rate is per order (the share of orders that hold the product), so a
busy day is no lift; the exposure is a second query (orders per region and day).  A last,
small query gives each found product's sales by day around the events (observed against
what its baseline rate expects), for the plot.

:func:`run_market_context` (the pipeline step) keeps the result in
``results/market_context.json`` and the warehouse table ``market_context_findings``; its
:meth:`ContextResult.insights` are the significant, non-obvious findings, published to
operations (stock), marketing and product.

>>> result = context_lift(ws)                                  # doctest: +SKIP
>>> result.to_dict()["findings"][0]["product_type"]             # doctest: +SKIP
'grocery_snacks'
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from outsidein.domain import purchases
from outsidein.errors import DataValidationError, MissingDataError
from outsidein.market.context import WINDOWS, ContextLift

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["CONTEXT_FILE", "CONTEXT_TABLE", "PROFILE_DAYS", "ContextResult", "context_lift",
           "context_lift_on",
           "context_path", "daily_orders", "daily_sales", "finding_rows",
           "profile_figure", "read_context", "run_market_context", "save_context"]

#: where the last result lives, relative to the workspace folder
CONTEXT_FILE = Path("results") / "market_context.json"
#: the warehouse table of every (kind, window, product) tested
CONTEXT_TABLE = "market_context_findings"
#: days around an event's start in the plot of sales around the events
PROFILE_DAYS = (-10, 6)
_DAY = 86_400


@dataclass
class ContextResult:
    """Every (kind, window, product) tested, and the sales around the events of the found."""

    findings: pd.DataFrame
    profiles: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    before_days: int = 3
    alpha: float = 0.05
    generated_at: str = ""

    def significant(self) -> pd.DataFrame:
        return self.findings[self.findings["significant"]]

    def to_dict(self, *, include_all: bool = False) -> dict[str, Any]:
        """``{"findings": [{"kind", "product_id", ...}]}``: the significant (all: *include_all*)."""
        rows = self.findings if include_all else self.significant()
        return {"before_days": self.before_days, "alpha": self.alpha,
                "findings": [_record(r) for r in rows.to_dict("records")]}

    def insights(self) -> list[dict[str, Any]]:
        """One insight per significant, non-obvious finding (mappings of an InsightDraft)."""
        out = []
        for r in self.significant().to_dict("records"):
            if r["obvious"]:
                continue
            stock = r["extra_stock"]
            where = ", ".join(x["region"] for x in stock["regions"][:3]) or "every region"
            kind = str(r["kind"]).replace("_", " ")
            when = (f"in the {self.before_days} days before a {kind}" if r["window"] == "before"
                    else f"during a {kind}")
            title = (f"{r['name']} sells {r['rate_ratio']:.1f}x its normal rate {when}: "
                     "stock up")
            statement = (
                f"{r['name']} ({r['product_type'].replace('_', ' ')}) sold at "
                f"{r['rate_ratio']:.1f} times its normal rate {when} (interval "
                f"{r['ci_low']:.1f} to {r['ci_high']:.1f}, over {r['n_events']} events; its "
                f"type rose {r['type_ratio']:.1f}x). Not an obvious product for the event. "
                f"Next: add about {stock['units_per_event']:,.0f} units per event ({where}), "
                f"in stock {stock['days_before']} days before the event starts.")
            out.append({"key": f"market_context.{r['kind']}.{r['window']}.{r['product_id']}",
                        "title": title, "statement": statement,
                        "evidence": {"figures": _record(r), "link": "/market/context"},
                        "departments": ("operations", "marketing", "product"),
                        "priority": "high" if r["rate_ratio"] >= 3 else "medium",
                        "source": "market"})
        return out


def _num(v: Any, digits: int = 4) -> float | None:
    f = float(v)
    return round(f, digits) if math.isfinite(f) else None


def _record(r: dict[str, Any]) -> dict[str, Any]:
    return {"kind": r["kind"], "window": r["window"], "product_id": r["product_id"],
            "name": r["name"], "product_type": r["product_type"],
            "rate_ratio": _num(r["rate_ratio"]), "ci_low": _num(r["ci_low"]),
            "ci_high": _num(r["ci_high"]), "ci95_low": _num(r["ci95_low"]),
            "ci95_high": _num(r["ci95_high"]), "p_value": _num(r["p_value"], 8),
            "q_value": _num(r["q_value"], 8), "n_events": int(r["n_events"]),
            "observed": int(r["observed"]), "expected": _num(r["expected"], 2),
            "type_ratio": _num(r["type_ratio"]), "surprise": _num(r["surprise"]),
            "obvious": bool(r["obvious"]), "significant": bool(r["significant"]),
            "extra_stock": r["extra_stock"]}


def daily_sales(lines: ir.Table, customers: ir.Table) -> ir.Table:
    """Purchase lines per product, customer region and UTC day (``day``: days since 1970).

    ``n`` counts lines (orders holding the product), ``units`` sums their quantity.
    """
    p = purchases(lines).filter(lambda t: t.product_id.notnull())
    cust = customers.select(cid=customers.customer_id, region=customers.region)
    j = p.join(cust, p.customer_id == cust.cid).filter(lambda t: t.region.notnull())
    day = (j.ts.epoch_seconds() // _DAY).cast("int64")
    return (j.select(product_id=j.product_id, region=j.region, day=day, quantity=j.quantity)
            .group_by(["product_id", "region", "day"])
            .aggregate(n=ibis._.count(), units=ibis._.quantity.sum()))


def daily_orders(lines: ir.Table, customers: ir.Table) -> ir.Table:
    """Orders (with a purchase line of a product) per customer region and UTC day."""
    p = purchases(lines).filter(lambda t: t.product_id.notnull())
    cust = customers.select(cid=customers.customer_id, region=customers.region)
    j = p.join(cust, p.customer_id == cust.cid).filter(lambda t: t.region.notnull())
    key = j.order_id.fill_null(j.customer_id.concat("@", j.ts.cast("string")))
    day = (j.ts.epoch_seconds() // _DAY).cast("int64")
    return (j.select(region=j.region, day=day, key=key).group_by(["region", "day"])
            .aggregate(orders=ibis._.key.nunique()))


def _memtable(frame: pd.DataFrame) -> ir.Table:
    """A small frame as an Ibis table; text as Python objects (Spark's Arrow path refuses
    pandas' chunked Arrow strings)."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = np.asarray(out[col].astype(str).tolist(), dtype=object)
    return ibis.memtable(out)


def _events(con: Any) -> pd.DataFrame:
    ev = con.table("context_events").select("kind", "region", "start", "end").to_pandas()
    if ev.empty:
        raise MissingDataError("no context events to test against; load context_events "
                               "(kind, region, start, end: storm warnings, holidays, ...)")
    start = pd.to_datetime(ev["start"]).astype("datetime64[s]").astype("int64")
    end = pd.to_datetime(ev["end"]).astype("datetime64[s]").astype("int64")
    ev["d0"] = start // _DAY
    ev["d1"] = np.maximum(end // _DAY, ev["d0"])
    return ev


def _calendar(ev: pd.DataFrame, first: int, last: int, regions: list[str],
              before_days: int) -> pd.DataFrame:
    """Per kind, region and day: ``label`` (before, during, baseline) and ``stratum``."""
    days = np.arange(first, last + 1)
    month = pd.to_datetime(days * _DAY, unit="s").strftime("%Y-%m").to_numpy()
    frames = []
    for kind, g in ev.groupby("kind"):
        for region in regions:
            label = np.full(len(days), "baseline", dtype=object)
            mine = g[g["region"] == region]
            for d0, d1 in zip(mine["d0"], mine["d1"], strict=True):
                during = (days >= d0) & (days <= d1)
                label[during & (label == "baseline")] = "during"
            for d0 in mine["d0"]:
                label[(days >= d0 - before_days) & (days < d0)] = "before"
            frames.append(pd.DataFrame({"kind": kind, "region": region, "day": days,
                                        "label": label, "stratum": region + " " + month}))
    return pd.concat(frames, ignore_index=True)


def _strata(counts: pd.DataFrame, cal: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Counts per (kind, window, product, stratum) in the window (a) and the baseline (b).

    The exposures ``t1``/``t0`` are the orders of the window's and the baseline's days
    (``days1``/``days0``: their number of days).
    """
    cal = cal.merge(orders, on=["region", "day"], how="left").fillna({"orders": 0})
    grouped = cal.groupby(["kind", "label", "region", "stratum"])
    exposure = grouped["orders"].sum().rename("days")
    ndays = grouped.size()
    base = counts[counts["label"] == "baseline"].rename(columns={"n": "b", "units": "b_units"})
    parts = []
    for window in WINDOWS:
        win = counts[counts["label"] == window].rename(columns={"n": "a", "units": "a_units"})
        keys = ["kind", "product_id", "region", "stratum"]
        m = win[[*keys, "a", "a_units"]].merge(base[[*keys, "b", "b_units"]], on=keys,
                                               how="outer")
        m[["a", "a_units", "b", "b_units"]] = m[["a", "a_units", "b", "b_units"]].fillna(0)
        m["window"] = window
        ex1 = exposure.xs(window, level="label").rename("t1") if window in \
            exposure.index.get_level_values("label") else None
        if ex1 is None:
            continue
        ex0 = exposure.xs("baseline", level="label").rename("t0")
        at = ["kind", "region", "stratum"]
        m = m.join(ex1, on=at).join(ex0, on=at)
        m = m.join(ndays.xs(window, level="label").rename("days1"), on=at)
        m = m.join(ndays.xs("baseline", level="label").rename("days0"), on=at)
        m[["t1", "t0", "days1", "days0"]] = m[["t1", "t0", "days1", "days0"]].fillna(0)
        parts.append(m[m["t1"] > 0])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def context_lift(ws: Workspace, *, before_days: int = 3, alpha: float = 0.05) -> ContextResult:
    """Test every product against every kind of context event (see the module doc).

    Raises
    ------
    MissingDataError
        No context events, or no purchase lines with products and customer regions.
    DataValidationError
        *before_days* below 1 or *alpha* out of (0, 1).
    """
    if before_days < 1:
        raise DataValidationError(f"--before-days must be at least 1, got {before_days}")
    if not 0.0 < alpha < 1.0:
        raise DataValidationError(f"--alpha must lie between 0 and 1, got {alpha}")
    with ws.reader() as con:
        return context_lift_on(con, before_days=before_days, alpha=alpha)


def context_lift_on(con: Any, *, before_days: int = 3, alpha: float = 0.05) -> ContextResult:
    """:func:`context_lift` on an Ibis connection holding ``order_lines``, ``customers``,
    ``products`` and ``context_events`` (the benchmark reads them straight from Parquet)."""
    ev = _events(con)
    # the one pass over the lines: a small table (products x regions x days), kept while used
    with daily_sales(con.table("order_lines"), con.table("customers")).cache() as daily:
        return _context_from_daily(con, ev, daily, before_days, alpha)


def _context_from_daily(con: Any, ev: pd.DataFrame, daily: ir.Table, before_days: int,
                        alpha: float) -> ContextResult:
    span = daily.aggregate(lo=daily.day.min(), hi=daily.day.max()).to_pandas()
    if span.empty or pd.isna(span["lo"].iloc[0]):
        raise MissingDataError("no purchase lines with a product and a customer region; "
                               "load order_lines, customers (with region) and products")
    first, last = int(span["lo"].iloc[0]), int(span["hi"].iloc[0])
    regions = sorted(str(r) for r in ev["region"].unique())
    cal = _calendar(ev, first, last, regions, before_days)
    cal_t = _memtable(cal[["kind", "region", "day", "label", "stratum"]])
    j = daily.join(cal_t, ["region", "day"])
    counts = (j.group_by(["kind", "label", "product_id", "region", "stratum"])
              .aggregate(n=j.n.sum(), units=j.units.sum()).to_pandas())
    products = con.table("products").select("product_id", "name", "product_type") \
                  .to_pandas()
    orders = daily_orders(con.table("order_lines"), con.table("customers")).to_pandas()
    strata = _strata(counts, cal, orders)
    if strata.empty:
        raise MissingDataError("no sales fall in the windows of the context events")
    strata = strata.merge(products, on="product_id", how="left")
    strata["product_type"] = strata["product_type"].fillna("unknown")
    strata["name"] = strata["name"].fillna(strata["product_id"])
    inside = ev[(ev["d0"] >= first) & (ev["d0"] <= last + before_days)]
    n_events = inside.groupby("kind").size().to_dict()
    days = {(k, w): (float(before_days) if w == "before" else
                     float((g["d1"] - g["d0"] + 1).mean()))
            for k, g in inside.groupby("kind") for w in WINDOWS}
    model = ContextLift(alpha=alpha).fit(strata, n_events=n_events, window_days=days)
    found = model.findings_
    profiles = _profiles(daily, inside, found[found["significant"]], strata, cal)
    return ContextResult(found, profiles, before_days, alpha,
                         datetime.now(UTC).isoformat(timespec="seconds"))


def _profiles(daily: ir.Table, ev: pd.DataFrame, found: pd.DataFrame, strata: pd.DataFrame,
              cal: pd.DataFrame) -> dict[str, list[dict[str, float]]]:
    """Sales by day around the events' starts of each found product: observed vs expected."""
    if found.empty:
        return {}
    lo, hi = PROFILE_DAYS
    offsets = np.arange(lo, hi + 1)
    kinds = sorted(set(found["kind"]))
    ev = ev[ev["kind"].isin(kinds)]
    around = pd.DataFrame({
        "kind": np.repeat(ev["kind"].to_numpy(), len(offsets)),
        "region": np.repeat(ev["region"].to_numpy(), len(offsets)),
        "offset": np.tile(offsets, len(ev)),
        "day": np.repeat(ev["d0"].to_numpy(), len(offsets)) + np.tile(offsets, len(ev))})
    around = around.merge(cal[["kind", "region", "day", "stratum"]], on=["kind", "region", "day"])
    pids = sorted(set(found["product_id"]))
    sales = daily.filter(daily.product_id.isin(pids))
    t = _memtable(around[["kind", "region", "day", "offset"]])
    obs = (sales.join(t, ["region", "day"]).group_by(["kind", "product_id", "offset"])
           .aggregate(n=ibis._.n.sum()).to_pandas())
    base = strata[strata["product_id"].isin(pids)].groupby(
        ["kind", "product_id", "stratum"], as_index=False)[["b", "t0"]].max()
    base["rate"] = base["b"] / base["t0"].where(base["t0"] > 0)
    exp = around.merge(base[["kind", "product_id", "stratum", "rate"]], on=["kind", "stratum"])
    exp = exp.groupby(["kind", "product_id", "offset"], as_index=False)["rate"].sum()
    m = exp.merge(obs, on=["kind", "product_id", "offset"], how="left").fillna({"n": 0})
    out: dict[str, list[dict[str, float]]] = {}
    for (kind, pid), g in m.groupby(["kind", "product_id"]):
        out[f"{kind}/{pid}"] = [{"offset": int(o), "observed": float(n),
                                 "expected": round(float(e), 3)}
                                for o, n, e in zip(g["offset"], g["n"], g["rate"], strict=True)]
    return out


def context_path(ws: Workspace) -> Path:
    """``<workspace>/results/market_context.json``."""
    return ws.root / CONTEXT_FILE


def save_context(ws: Workspace, result: ContextResult) -> Path:
    """Keep *result* in the results file (atomically) and the warehouse table."""
    doc = {**result.to_dict(include_all=True), "profiles": result.profiles,
           "generated_at": result.generated_at}
    path = context_path(ws)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(path)
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "extra_stock"}
                          | {"extra_units_per_event": r["extra_stock"]["units_per_event"],
                             "days_before": r["extra_stock"]["days_before"]}
                          for r in doc["findings"]])
    if not table.empty:
        ws.warehouse().write_table(CONTEXT_TABLE, table)
    return path


def read_context(ws: Workspace) -> dict[str, Any] | None:
    """The last saved result (all findings, profiles), or None."""
    try:
        doc = json.loads(context_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("findings"), list) else None


def run_market_context(ws: Workspace) -> ContextResult:
    """The pipeline step: test, save, and hand the findings to the insights step."""
    result = context_lift(ws)
    save_context(ws, result)
    return result


def finding_rows(doc: dict[str, Any], *, significant_only: bool = True) -> list[dict[str, str]]:
    """The saved findings in words for a table (the page and the report).

    >>> finding_rows({"findings": []})
    []
    """
    out = []
    for f in doc.get("findings", []):
        if significant_only and not f.get("significant"):
            continue
        stock = f["extra_stock"]
        ci = "-" if f["ci_low"] is None else f"{f['ci_low']:.1f} to {f['ci_high']:.1f}"
        out.append({
            "event": f"{f['window']} {str(f['kind']).replace('_', ' ')}",
            "product": f"{f['name']} ({f['product_id']})",
            "type": str(f["product_type"]).replace("_", " "),
            "uplift": "-" if f["rate_ratio"] is None else f"{f['rate_ratio']:.1f}x",
            "interval": ci, "q_value": f"{f['q_value']:.1e}", "events": str(f["n_events"]),
            "obvious": "yes" if f["obvious"] else "no",
            "extra_stock": (f"{stock['units_per_event']:,.0f} units per event, "
                            f"{stock['days_before']} days before"),
            "regions": ", ".join(f"{r['region']} {r['units_per_event']:,.0f}"
                                 for r in stock["regions"]),
            "key": f"{f['kind']}/{f['product_id']}"})
    return out


def profile_figure(rows: list[dict[str, float]], title: str) -> dict[str, Any]:
    """Sales by day around the events' starts: observed lines against the baseline's expectation.

    >>> profile_figure([{"offset": -1, "observed": 9.0, "expected": 3.0}], "x")["data"][0]["y"]
    [9.0]
    """
    x = [int(r["offset"]) for r in rows]
    return {"data": [
        {"type": "bar", "name": "sold (order lines)", "x": x,
         "y": [float(r["observed"]) for r in rows], "marker": {"color": "#1f6feb"}},
        {"type": "scatter", "mode": "lines", "name": "expected at the normal rate", "x": x,
         "y": [float(r["expected"]) for r in rows], "line": {"color": "#d1242f", "dash": "dot"}}],
        "layout": {"title": {"text": title},
                   "xaxis": {"title": {"text": "days from the event's start (0 = first day)"},
                             "dtick": 1},
                   "yaxis": {"title": {"text": "order lines, all events"}, "rangemode": "tozero"},
                   "legend": {"orientation": "h", "y": -0.3}, "height": 340,
                   "margin": {"t": 50, "l": 60, "r": 20, "b": 80}}}
