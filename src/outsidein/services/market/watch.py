"""The KPI watch: which KPIs changed, in which segment, when, by how much, and the evidence.

:func:`watch_kpis` computes the KPIs of :mod:`outsidein.services.market.kpis` from the
warehouse, per day, and runs :class:`outsidein.market.watch.ChangeDetector` over every
(KPI, segment) series.  A series with few events a day (a small segment's complaints) is
watched by week instead (``freq="auto"``: daily when the median day has at least
``daily_events`` events, which the sampling noise of a daily ratio needs).  The first
``warmup_days`` of the history are not watched: a KPI needs customers with time to repeat
or lapse before its level means anything.

Each confirmed change is an :class:`Alert`; :meth:`WatchResult.insights` makes each alert an
insight for the departments the KPI concerns (published by the pipeline's ``insights`` step,
which also puts a notification in the outbox for each new insight version, delivered by
``outsidein notify deliver``).  :func:`save_watch` keeps the result in
``results/market_watch.json`` (for the page, the report and the overview's alerts tile) and
in the warehouse tables ``market_kpis`` and ``market_alerts``.

Settings, all optional, in ``outsidein.toml``::

    [market.watch]
    segments = ["region"]      # customer columns to watch each KPI by
    lapse_days = 90            # churn: no purchase for this long
    conversion_days = 60       # conversion: within this many days of the prospect's creation
    min_change = 0.1           # smallest relative change worth an alert
    warmup_days = 90
    daily_events = 20

    [market.kpis.return_share]  # a KPI of your own: an SQL aggregate per period
    sql = "avg(CASE WHEN is_return THEN 1.0 ELSE 0.0 END)"
    table = "order_lines"

>>> watch_settings({"market": {"watch": {"min_change": 0.2}}}).min_change
0.2
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from outsidein.errors import ConfigError, MissingDataError
from outsidein.market.watch import ChangeDetector
from outsidein.services.market.kpis import KpiDef, KpiFrame, compute_kpis, period_date

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["ALERTS_TABLE", "KPIS_TABLE", "WATCH_FILE", "Alert", "WatchResult", "WatchSettings",
           "detector_for", "latest_alerts", "read_watch", "run_market_watch", "save_watch",
           "series_figure", "watch_kpis", "watch_settings", "weekly"]

WATCH_FILE = Path("results") / "market_watch.json"
KPIS_TABLE = "market_kpis"
ALERTS_TABLE = "market_alerts"
_GOOD, _BAD = "#2da44e", "#d1242f"


@dataclass(frozen=True)
class WatchSettings:
    """``[market.watch]`` of ``outsidein.toml`` (see the module doc)."""

    segments: tuple[str, ...] = ("region",)
    lapse_days: int = 90
    conversion_days: int = 60
    min_change: float = 0.1
    warmup_days: int = 90
    daily_events: float = 20.0


def watch_settings(extra: Mapping[str, Any]) -> WatchSettings:
    """Read and check ``[market.watch]``; clear errors name the key.

    >>> watch_settings({"market": {"watch": {"lapse_days": "x"}}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: outsidein.toml [market.watch] lapse_days: expected a whole ...
    """
    raw = (extra.get("market") or {}).get("watch") or {}
    where = "outsidein.toml [market.watch]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a section")
    unknown = set(raw) - set(WatchSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    segs = raw.get("segments", ["region"])
    if isinstance(segs, str) or not all(isinstance(s, str) for s in segs):
        raise ConfigError(f"{where} segments: expected a list of customer columns")
    out["segments"] = tuple(segs)
    for key in ("lapse_days", "conversion_days", "warmup_days"):
        v = raw.get(key, getattr(WatchSettings, key))
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{where} {key}: expected a whole number of days >= 1, got {v!r}")
        out[key] = v
    mc = raw.get("min_change", WatchSettings.min_change)
    if isinstance(mc, bool) or not isinstance(mc, int | float) or not 0 < mc < 10:
        raise ConfigError(f"{where} min_change: expected a share such as 0.1, got {mc!r}")
    de = raw.get("daily_events", WatchSettings.daily_events)
    if isinstance(de, bool) or not isinstance(de, int | float) or de < 0:
        raise ConfigError(f"{where} daily_events: expected a number >= 0, got {de!r}")
    return WatchSettings(min_change=float(mc), daily_events=float(de), **out)


def detector_for(freq: str, min_change: float = 0.1,
                 min_abs: float | None = None) -> ChangeDetector:
    """The detector's settings by period: days (weekly pattern) or weeks (none).

    >>> detector_for("week").baseline
    8
    """
    if freq == "day":
        return ChangeDetector(period=7, baseline=56, min_after=42, window=91,
                              min_change=min_change, min_abs=min_abs, alpha=1e-4)
    # a week has 7 times fewer places to test a break in: the same false alarms a year at 1e-3
    return ChangeDetector(period=1, baseline=8, min_after=13, window=13,
                          min_change=min_change, min_abs=min_abs, alpha=1e-3)


def weekly(daily: pd.DataFrame, stock: bool) -> pd.DataFrame:
    """One series' daily ``period, num, den, events`` as whole weeks (Monday to Sunday).

    Numerators and events add up; a denominator adds up too, or, for a stock (customers
    acquired, active), is the week's last day's.  Incomplete weeks at either end are dropped.

    >>> d = pd.DataFrame({"period": range(4, 18), "num": 1.0, "den": 2.0, "events": 1})
    >>> weekly(d, stock=False)[["period", "value"]].to_dict("list")
    {'period': [4, 11], 'value': [0.5, 0.5]}
    """
    d = daily.assign(week=((daily["period"] - 4) // 7) * 7 + 4)
    g = d.groupby("week")
    out = pd.DataFrame({"num": g["num"].sum(), "den": g["den"].last() if stock else g["den"].sum(),
                        "events": g["events"].sum(), "days": g["period"].count()})
    out = out[out["days"] == 7].reset_index().rename(columns={"week": "period"})
    den = out["den"].astype(float)
    out["value"] = np.where(den > 0, out["num"] / den.where(den > 0, 1.0), np.nan)
    return out[["period", "num", "den", "events", "value"]]


@dataclass(frozen=True)
class Alert:
    """One KPI that changed: in which segment, when, by how much, and the evidence."""

    kpi: str
    title: str
    segment: str
    changed_at: str
    detected_at: str
    alarm_at: str | None
    before: float
    after: float
    relative: float | None
    direction: str
    worse: bool
    unit: str
    freq: str
    p_value: float
    cusum: float
    departments: tuple[str, ...]
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values (what ``--json`` prints)."""
        out = asdict(self)
        out["departments"] = list(self.departments)
        out["headline"] = self.headline
        return out

    @property
    def headline(self) -> str:
        """The alert in one line."""
        seg = "all customers" if self.segment == "all" else self.segment
        verb = "rose" if self.direction == "up" else "fell"
        how = f" {abs(self.relative):.0%}" if self.relative is not None else ""
        return f"{self.title} ({seg}) {verb}{how} from {self.changed_at}"


@dataclass
class WatchResult:
    """The KPIs watched, their series, and the alerts (newest change first)."""

    kpis: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated_at: str = ""

    def to_dict(self, *, series: bool = False) -> dict[str, Any]:
        """``{"kpis": [...], "alerts": [...], "notes": [...]}``; each KPI's points if *series*."""
        kpis = [k if series else {a: b for a, b in k.items() if a != "series"}
                for k in self.kpis]
        return {"kpis": kpis, "alerts": [a.to_dict() for a in self.alerts],
                "notes": list(self.notes), "generated_at": self.generated_at}

    def insights(self) -> list[dict[str, Any]]:
        """The latest alert of each KPI and segment as an insight draft (a mapping) for the
        departments the KPI concerns.

        The key is stable per KPI and segment, so a later change re-versions the insight.
        """
        out = []
        series = {(k["kpi"], k["segment"]): k for k in self.kpis}
        latest: dict[tuple[str, str], Alert] = {}
        for a in self.alerts:
            key = (a.kpi, a.segment)
            if key not in latest or a.changed_at > latest[key].changed_at:
                latest[key] = a
        for a in sorted(latest.values(), key=lambda x: x.changed_at, reverse=True):
            k = series.get((a.kpi, a.segment))
            seg = "all customers" if a.segment == "all" else a.segment
            statement = (f"{a.title} for {seg} changed on {a.changed_at}: {_fmt(a.before, a.unit)}"
                         f" before, {_fmt(a.after, a.unit)} after"
                         + (f" ({a.relative:+.0%})" if a.relative is not None else "")
                         + f". {a.evidence} "
                         + ("Next: find out what changed for these customers that week."
                            if a.worse else "Next: find out what worked, and keep it."))
            evidence: dict[str, Any] = {
                "figures": {"before": a.before, "after": a.after, "relative": a.relative,
                            "p_value": a.p_value, "cusum": round(a.cusum, 2)},
                "link": "/market/watch", "changed_at": a.changed_at,
                "detected_at": a.detected_at}
            if k is not None:
                evidence["chart"] = series_figure(k, [b for b in self.alerts
                                                      if (b.kpi, b.segment) == (a.kpi, a.segment)])
            out.append({"key": f"market.watch.{a.kpi}.{a.segment}",
                        "title": a.headline, "statement": statement, "evidence": evidence,
                        "departments": a.departments,
                        "priority": "high" if a.worse and abs(a.relative or 1) >= 0.25
                        else "medium", "source": "market"})
        return out


def _fmt(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "-"
    if unit == "%":
        return f"{value:.2%}"
    if unit == "$":
        return f"${value:,.2f}"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def _series(df: pd.DataFrame, periods: np.ndarray) -> pd.DataFrame:
    """One series on every day (missing days: no events, value NaN)."""
    s = df.set_index("period")[["num", "den", "events"]].reindex(periods)
    s = s.fillna({"num": 0.0, "den": 0.0, "events": 0.0}).reset_index()
    den = s["den"].astype(float)
    s["value"] = np.where(den > 0, s["num"] / den.where(den > 0, 1.0), np.nan)
    return s


def _evidence(freq: str, c: Any, periods: np.ndarray, unit: str) -> str:
    word = "days" if freq == "day" else "weeks"
    if c.alarm is not None:
        lag = int(periods[c.alarm] - periods[c.at])
        alarm = (f"a CUSUM from the level before sounded on {period_date(int(periods[c.alarm]))}"
                 f", {lag} days after the change")
    else:
        alarm = f"a CUSUM from the level before stayed under its alarm ({c.cusum:.1f} units)"
    return (f"Mean {_fmt(c.before, unit)} over the {c.n_before} {word} before and "
            f"{_fmt(c.after, unit)} over the {c.n_after} {word} after; a step in a "
            f"line-plus-step regression on the deseasonalised "
            f"{'daily' if freq == 'day' else 'weekly'} series, p = {c.p_value:.1g}, "
            f"confirmed on {period_date(int(periods[c.detected]))}; {alarm}; ruptures placed "
            "the break.")


def _watch_one(kpi: KpiDef, segment: str, daily: pd.DataFrame, periods: np.ndarray,
               st: WatchSettings, freq: str) -> tuple[dict[str, Any], list[Alert]]:
    s = _series(daily, periods)
    live = s["period"] >= periods[0] + st.warmup_days
    if freq == "auto":
        busy = float(s.loc[live, "events"].median()) if live.any() else 0.0
        freq = "day" if busy >= st.daily_events else "week"
    if freq == "week":
        s = weekly(s, kpi.stock)
        live = s["period"] >= periods[0] + st.warmup_days
    s["value"] = s["value"] * kpi.scale
    y = np.where(live, s["value"].to_numpy(float), np.nan)
    per = s["period"].to_numpy()
    alerts = []
    det = detector_for(freq, st.min_change, kpi.min_abs)
    changes = det.fit(y).changes_ if kpi.watched else []
    for c in changes:
        worse = (c.after < c.before) == kpi.higher_is_better
        alerts.append(Alert(
            kpi=kpi.key, title=kpi.title, segment=segment, changed_at=period_date(per[c.at]),
            detected_at=period_date(per[c.detected]),
            alarm_at=None if c.alarm is None else period_date(per[c.alarm]),
            before=c.before, after=c.after,
            relative=c.relative, direction=c.direction, worse=worse, unit=kpi.unit, freq=freq,
            p_value=c.p_value, cusum=c.cusum, departments=kpi.departments,
            evidence=_evidence(freq, c, per, kpi.unit)))
    vals = s["value"].to_numpy(float)
    last = int(np.flatnonzero(np.isfinite(vals))[-1]) if np.isfinite(vals).any() else None
    info = {"kpi": kpi.key, "title": kpi.title, "unit": kpi.unit, "segment": segment,
            "freq": freq, "description": kpi.description,
            "higher_is_better": kpi.higher_is_better, "periods": len(s),
            "watched": kpi.watched,
            "watched_from": period_date(periods[0] + st.warmup_days),
            "latest": None if last is None else {"period": period_date(per[last]),
                                                 "value": float(vals[last])},
            "changes": len(alerts),
            "series": [[period_date(p), None if not math.isfinite(v) else round(float(v), 6)]
                       for p, v in zip(per, vals, strict=True)]}
    return info, alerts


def watch_kpis(ws: Workspace, *, freq: str = "auto", segments: tuple[str, ...] | None = None,
               kpis: tuple[str, ...] | None = None) -> WatchResult:
    """Compute the KPIs and find their changes (see the module doc).

    Raises
    ------
    MissingDataError
        No orders in the warehouse.
    ConfigError
        A bad ``[market.watch]`` or ``[market.kpis.*]`` setting, or an unknown *freq*.
    """
    if freq not in ("auto", "day", "week"):
        raise ConfigError(f"--freq: 'auto', 'day' or 'week', not {freq!r}")
    st = watch_settings(ws.config.extra)
    if segments is not None:
        st = WatchSettings(**{**asdict(st), "segments": segments})
    with ws.reader(missing_ok=True) as con:
        if con is None:
            raise MissingDataError("no warehouse yet: load order lines or run 'outsidein demo'")
        kf: KpiFrame = compute_kpis(con, freq="day", segment_columns=st.segments,
                                    lapse_days=st.lapse_days,
                                    conversion_days=st.conversion_days, extra=ws.config.extra)
    if kf.frame.empty:
        raise MissingDataError("no orders yet: load order lines ('outsidein load order_lines "
                               "FILE') or run 'outsidein demo'")
    if kpis:
        unknown = [k for k in kpis if k not in kf.defs]
        if unknown:
            raise ConfigError(f"--kpi: unknown or not computable: {', '.join(unknown)} "
                              f"(these are: {', '.join(kf.defs)})")
    df = kf.frame
    periods = np.arange(int(df["period"].min()), int(df["period"].max()) + 1)
    result = WatchResult(notes=list(kf.notes),
                         generated_at=datetime.now(UTC).isoformat(timespec="seconds"))
    for (key, segment), part in df.groupby(["kpi", "segment"], sort=True):
        if kpis and key not in kpis:
            continue
        info, alerts = _watch_one(kf.defs[str(key)], str(segment), part, periods, st, freq)
        result.kpis.append(info)
        result.alerts.extend(alerts)
    result.alerts.sort(key=lambda a: (a.changed_at, a.kpi, a.segment), reverse=True)
    return result


def run_market_watch(ws: Workspace) -> WatchResult:
    """The pipeline step: watch, save, and hand the alerts to the ``insights`` step."""
    result = watch_kpis(ws)
    save_watch(ws, result)
    return result


def save_watch(ws: Workspace, result: WatchResult) -> Path:
    """Keep *result* in ``results/market_watch.json`` (atomically) and the warehouse tables."""
    path = ws.root / WATCH_FILE
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_dict(series=True), indent=1), encoding="utf-8")
    tmp.replace(path)
    rows = [{"kpi": k["kpi"], "segment": k["segment"], "freq": k["freq"],
             "period": pd.Timestamp(p), "value": v}
            for k in result.kpis for p, v in k["series"]]
    frame = pd.DataFrame(rows, columns=["kpi", "segment", "freq", "period", "value"])
    frame["period"] = pd.to_datetime(frame["period"]).astype("datetime64[us]")
    frame["value"] = frame["value"].astype(float)
    alerts = pd.DataFrame([a.to_dict() for a in result.alerts],
                          columns=list(Alert.__dataclass_fields__))
    alerts["departments"] = alerts["departments"].map(",".join)
    for col in ("before", "after", "relative", "p_value", "cusum"):
        alerts[col] = alerts[col].astype(float)
    wh = ws.warehouse()
    wh.write_table(KPIS_TABLE, frame)
    wh.write_table(ALERTS_TABLE, alerts.astype({"worse": bool}))
    return path


def read_watch(ws: Workspace) -> dict[str, Any] | None:
    """The last saved watch, or None (never run, or a file not in its layout)."""
    try:
        doc = json.loads((ws.root / WATCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("alerts"), list):
        return None
    return doc


def latest_alerts(ws: Workspace, n: int = 3) -> list[dict[str, Any]]:
    """The *n* newest alerts of the last saved watch (the overview's alerts tile)."""
    doc = read_watch(ws)
    if doc is None:
        return []
    alerts = sorted(doc["alerts"], key=lambda a: str(a.get("changed_at")), reverse=True)
    return alerts[:n]


def series_figure(kpi: Mapping[str, Any], alerts: list[Any]) -> dict[str, Any]:
    """One KPI series as a Plotly line, each change a dashed line with before/after levels.

    *alerts* are :class:`Alert` objects or their dicts.

    >>> k = {"title": "AOV", "segment": "all", "unit": "$", "freq": "day",
    ...      "series": [["2025-01-01", 1.0], ["2025-01-02", 2.0]]}
    >>> len(series_figure(k, [])["data"])
    1
    """
    xs = [p for p, _ in kpi["series"]]
    ys = [v for _, v in kpi["series"]]
    seg = "all customers" if kpi["segment"] == "all" else kpi["segment"]
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "x": xs, "y": ys, "name": kpi["title"],
        "line": {"color": "#1f6feb", "width": 1}, "connectgaps": False}]
    shapes, notes = [], []
    for a in alerts:
        d = a if isinstance(a, Mapping) else a.to_dict()
        colour = _BAD if d["worse"] else _GOOD
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": d["changed_at"],
                       "x1": d["changed_at"], "y0": 0, "y1": 1,
                       "line": {"color": colour, "dash": "dash", "width": 2}})
        notes.append({"x": d["changed_at"], "y": 1, "xref": "x", "yref": "paper",
                      "text": f"changed {d['changed_at']}", "showarrow": False,
                      "xanchor": "left", "font": {"color": colour}})
        data.append({"type": "scatter", "mode": "lines", "name": "before / after",
                     "x": [xs[0] if xs else d["changed_at"], d["changed_at"], d["changed_at"],
                           xs[-1] if xs else d["changed_at"]],
                     "y": [d["before"], d["before"], d["after"], d["after"]],
                     "line": {"color": colour, "width": 2}, "showlegend": False})
    unit = kpi.get("unit") or ""
    return {"data": data, "layout": {
        "title": {"text": f"{kpi['title']}, {seg} (by {kpi.get('freq', 'day')})"},
        "shapes": shapes, "annotations": notes, "height": 260, "showlegend": False,
        "margin": {"t": 40, "l": 60, "r": 10, "b": 30},
        "yaxis": {"title": {"text": unit}, "tickformat": ".1%" if unit == "%" else None}}}
