"""Calibration/holdout check of a fitted transaction model, with Plotly figures.

The model is fitted on a calibration window; the holdout period that
follows shows how well it predicts.  Two views, as in Fader, Hardie & Lee
(2005):

* **per frequency bucket**: the mean number of repeat purchases each group of
  customers actually made in the holdout against the model's conditional
  expectation.  The groups come from the data (:func:`frequency_buckets`):
  0 and 1 repeat purchases in calibration, then the quintiles of the
  customers with 2 or more, so that no bucket swallows most customers;
* **weekly cumulative tracking**: the cohort's cumulative repeat purchases
  week by week against the model's expectation for new customers
  (``expected_purchases_new``) summed over the cohort by first-purchase day.

The aggregate error that chooses between models is the **root mean squared
error per customer** of the predicted against the actual number of holdout
purchases (:data:`CRITERION`).  The model's conditional expectation is the
number that minimises it for each customer, so the smallest error marks the
model whose expectations are closest to what customers did; the error of the
total (``error``) is reported beside it but can be right by luck, with
buckets erring in opposite directions.

Everything heavy runs in the warehouse: the errors come from the distinct
``(frequency, recency, T)`` rows with their counts and the sum and sum of
squares of their holdout purchases, the actual curve from a weekly count of
repeat purchase days, the expected curve from the number of customers per
first-purchase day.

>>> fit = fit_value(ws, holdout_weeks=26)        # doctest: +SKIP
>>> fit.holdout.rmse, fit.holdout.error          # doctest: +SKIP
(1.73, -0.021)
>>> tracking_figure(fit.holdout).show()          # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

__all__ = ["BUCKET_QUANTILES", "CRITERION", "HoldoutReport", "bucket_figure", "bucket_label",
           "compare_holdout", "frequency_buckets", "holdout_errors", "holdout_stats",
           "load_holdout", "load_holdout_models", "predict_holdout", "save_holdout",
           "tracking_figure"]

#: how models are compared on the holdout, in words (the aggregate error)
CRITERION = ("root mean squared error per customer of predicted vs actual repeat purchases "
             "in the holdout")
#: quantiles of calibration frequency (among customers with 2+ repeat purchases) that cut buckets
BUCKET_QUANTILES = (0.2, 0.4, 0.6, 0.8)
BUCKETS_TABLE = "value_holdout_buckets"
TRACKING_TABLE = "value_holdout_tracking"
_DAY_S = 86400.0
_BUCKET_COLUMNS = ["bucket", "label", "customers", "actual_mean", "predicted_mean",
                   "actual_total", "predicted_total", "rmse"]


@dataclass(frozen=True)
class HoldoutReport:
    """Predicted vs actual repeat purchases in the holdout period."""

    model: str
    time_unit: str
    calibration_end: datetime
    holdout_end: datetime
    n_customers: int
    actual_total: float
    predicted_total: float
    tracking_mape: float
    buckets: tuple[dict[str, Any], ...]
    tracking: tuple[dict[str, Any], ...]
    #: the aggregate error (:data:`CRITERION`), in purchases per customer
    rmse: float = math.nan

    @property
    def holdout_weeks(self) -> float:
        return (self.holdout_end - self.calibration_end).total_seconds() / (7 * _DAY_S)

    @property
    def error(self) -> float:
        """Relative error of the predicted holdout total (predicted / actual - 1)."""
        return self.predicted_total / self.actual_total - 1 if self.actual_total else math.nan

    def buckets_frame(self) -> pd.DataFrame:
        """bucket, label, customers, actual_mean, predicted_mean, actual_total, predicted_total,
        rmse."""
        return pd.DataFrame(list(self.buckets))

    def tracking_frame(self) -> pd.DataFrame:
        """week, week_start, actual_cum, expected_cum, in_holdout."""
        return pd.DataFrame(list(self.tracking))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "time_unit": self.time_unit,
                "calibration_end": self.calibration_end, "holdout_end": self.holdout_end,
                "holdout_weeks": round(self.holdout_weeks, 2), "n_customers": self.n_customers,
                "actual_total": self.actual_total, "predicted_total": self.predicted_total,
                "error": self.error, "rmse": self.rmse, "tracking_mape": self.tracking_mape,
                "buckets": list(self.buckets), "tracking": list(self.tracking)}

    def __repr__(self) -> str:
        return (f"HoldoutReport({self.model}, {self.holdout_weeks:.0f}-week holdout from "
                f"{self.calibration_end:%Y-%m-%d}: {self.n_customers:,} customers made "
                f"{self.actual_total:,.0f} repeat purchases, predicted {self.predicted_total:,.0f} "
                f"({self.error:+.1%}, RMSE {self.rmse:.3f} per customer); tracking MAPE "
                f"{self.tracking_mape:.1%})")


# -- the holdout in numbers -------------------------------------------------------------------
def holdout_stats(summary: ir.Table) -> pd.DataFrame:
    """Distinct calibration histories with their holdout purchases, computed in the engine.

    One row per ``(frequency, recency, T)``: ``n`` customers, ``actual`` (the
    sum of their holdout repeat purchases), ``actual_sq`` (the sum of squares,
    for the squared error) and ``duration`` (the holdout length in model units).
    """
    x = summary.frequency_holdout.cast("float64")
    return summary.group_by(["frequency", "recency", "T"]).aggregate(
        n=summary.count(), actual=x.sum(), actual_sq=(x * x).sum(),
        duration=summary.duration_holdout.max(),
    ).order_by(["frequency", "recency", "T"]).execute()


def predict_holdout(model: Any, stats: pd.DataFrame) -> np.ndarray:
    """The model's expected holdout purchases per customer, for each row of *stats*."""
    f, r, T = (stats[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return np.asarray(model.expected_purchases(stats.duration.to_numpy(float), f, r, T), float)


def frequency_buckets(frequency: Any, weights: Any = None, *,
                      quantiles: tuple[float, ...] = BUCKET_QUANTILES
                      ) -> list[tuple[int, int | None]]:
    """Buckets of calibration frequency from the data: 0, 1, then quantiles of the rest.

    Customers with 2 or more repeat purchases are cut at the *quantiles* of
    their frequency; repeated cut points merge, so every bucket holds
    customers.  Returns ``(lowest, highest)`` per bucket, both included;
    ``None`` for the open top bucket.

    Examples
    --------
    >>> frequency_buckets([0, 0, 1, 2, 2, 3, 4, 5, 8, 13, 30])
    [(0, 0), (1, 1), (2, 2), (3, 4), (5, 5), (8, 13), (30, 30)]
    >>> frequency_buckets([0, 1, 1], [10, 4, 1])
    [(0, 0), (1, 1)]
    >>> frequency_buckets(range(2, 102))  # five buckets of 20 customers
    [(2, 21), (22, 41), (42, 61), (62, 81), (82, None)]
    >>> [bucket_label(b) for b in frequency_buckets([0, 2, 3, 3, 9, 12])]
    ['0', '2', '3', '9', '12']
    """
    f = np.rint(np.asarray(frequency, dtype=float)).astype(np.int64)
    w = np.ones(f.shape) if weights is None else np.asarray(weights, dtype=float)
    present = {int(v) for v in np.unique(f[w > 0])}
    out: list[tuple[int, int | None]] = [(v, v) for v in (0, 1) if v in present]
    many = (f >= 2) & (w > 0)
    if not many.any():
        return out
    values, idx = np.unique(f[many], return_inverse=True)
    share = np.cumsum(np.bincount(idx, weights=w[many])) / w[many].sum()
    cuts = sorted({int(values[np.searchsorted(share, q - 1e-12)]) for q in quantiles})
    top = int(values[-1])
    lo = 2
    for cut in cuts:
        if cut >= top:
            break
        out.append((lo, cut))
        lo = int(values[values > cut][0])
    out.append((lo, None if lo < top else top))
    return out


def bucket_label(bucket: tuple[int, int | None]) -> str:
    """``"0"``, ``"2-3"`` or ``"9+"`` for a bucket of :func:`frequency_buckets`."""
    lo, hi = bucket
    if hi is None:
        return f"{lo}+"
    return str(lo) if hi == lo else f"{lo}-{hi}"


def holdout_errors(stats: pd.DataFrame, predicted: np.ndarray,
                   buckets: list[tuple[int, int | None]]) -> tuple[dict[str, float], pd.DataFrame]:
    """Aggregate and per-bucket errors of *predicted* (per customer, per row of *stats*).

    Returns the aggregate figures (``n_customers``, ``actual_total``,
    ``predicted_total``, ``rmse``) and the bucket table (``bucket``, ``label``,
    ``customers``, ``actual_mean``, ``predicted_mean``, ``actual_total``,
    ``predicted_total``, ``rmse``).
    """
    n = stats.n.to_numpy(float)
    act, act_sq = stats.actual.to_numpy(float), stats.actual_sq.to_numpy(float)
    e = np.asarray(predicted, dtype=float)
    # sum over the row's customers of (e - x)^2, from n, sum x and sum x^2
    sq = np.maximum(n * e * e - 2 * e * act + act_sq, 0.0)
    lows = np.array([lo for lo, _ in buckets])
    which = np.searchsorted(lows, stats.frequency.to_numpy(float), side="right") - 1
    frame = pd.DataFrame({"bucket": which, "customers": n, "actual_total": act,
                          "predicted_total": e * n, "sq": sq})
    out = frame.groupby("bucket", as_index=False).sum().sort_values("bucket")
    out["customers"] = out.customers.astype(int)
    out["actual_mean"] = out.actual_total / out.customers
    out["predicted_mean"] = out.predicted_total / out.customers
    out["rmse"] = np.sqrt(out.sq / out.customers)
    out["label"] = [bucket_label(buckets[b]) for b in out.bucket]
    total = float(n.sum())
    aggregate = {"n_customers": total, "actual_total": float(act.sum()),
                 "predicted_total": float((e * n).sum()),
                 "rmse": math.sqrt(float(sq.sum()) / total) if total else math.nan}
    return aggregate, out[_BUCKET_COLUMNS].reset_index(drop=True)


def compare_holdout(
    wh: Warehouse,
    orders: ir.Table,
    summary: ir.Table,
    model: Any,
    *,
    model_name: str,
    time_unit: str,
    calibration_end: datetime,
    holdout_end: datetime,
    stats: pd.DataFrame | None = None,
    tracking: bool = True,
) -> HoldoutReport:
    """Compare *model* (fitted on the calibration summary) with the holdout.

    Parameters
    ----------
    orders
        The order lines (``customer_id``, ``ts``).
    summary
        The customer summary with a holdout (``frequency_holdout``,
        ``duration_holdout``), as :func:`outsidein.warehouse.summary.customer_summary`
        returns it with ``calibration_end`` and ``holdout_end``.
    model
        A fitted transaction model (``expected_purchases``, ``expected_purchases_new``).
    stats
        :func:`holdout_stats` of *summary*, when the caller already has it
        (comparing several models pulls it once).
    tracking
        Also compute the weekly tracking curve (the chosen model's figure).
    """
    stats = holdout_stats(summary) if stats is None else stats
    buckets = frequency_buckets(stats.frequency, stats.n)
    agg, table = holdout_errors(stats, predict_holdout(model, stats), buckets)
    curve = (_tracking(orders, summary, model, time_unit=time_unit,
                       calibration_end=calibration_end, holdout_end=holdout_end)
             if tracking else pd.DataFrame(columns=["week", "week_start", "actual_cum",
                                                    "expected_cum", "in_holdout"]))
    return HoldoutReport(
        model=model_name, time_unit=time_unit, calibration_end=calibration_end,
        holdout_end=holdout_end, n_customers=int(agg["n_customers"]),
        actual_total=agg["actual_total"], predicted_total=agg["predicted_total"],
        tracking_mape=_mape(curve), buckets=tuple(table.to_dict("records")),
        tracking=tuple(curve.to_dict("records")), rmse=agg["rmse"])


def _mape(tracking: pd.DataFrame) -> float:
    """Mean absolute percentage error of the expected curve over the holdout weeks."""
    if tracking.empty:
        return math.nan
    hold = tracking[tracking.in_holdout.astype(bool)]
    act = hold.actual_cum.to_numpy(float)
    if not len(hold):
        return math.nan
    return float(np.mean(np.abs(hold.expected_cum.to_numpy(float) - act)
                         / np.where(act > 0, act, np.nan)))


def _epoch_day(ts: Any) -> Any:
    """Whole UTC days since 1970-01-01 (the summary's day periods)."""
    return (ts.cast("timestamp").epoch_seconds() // _DAY_S).cast("int64")


def _tracking(orders: ir.Table, summary: ir.Table, model: Any, *, time_unit: str,
              calibration_end: datetime, holdout_end: datetime) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration cohort: actual and expected.

    Days are the summary's purchase periods: a customer's clock starts on the
    day of the first purchase, and a purchase on day *d* counts at time
    ``d - first_day``, so the expectation for the week ending on day *e* is
    ``expected_purchases_new(e - first_day)`` summed over the cohort.
    """
    unit_days = 7.0 if time_unit == "weeks" else 1.0
    cohort = summary.select("customer_id", first_day=_epoch_day(summary.first_purchase))
    days = cohort.group_by("first_day").aggregate(n=cohort.count()).execute()
    first_day = days.first_day.to_numpy(float)
    origin = int(first_day.min())
    end_day = int(pd.Timestamp(holdout_end).timestamp() // _DAY_S)
    cut_day = int(pd.Timestamp(calibration_end).timestamp() // _DAY_S)
    n_weeks = (end_day - origin) // 7 + 1

    purchases = orders.filter(orders.ts <= holdout_end).select(
        "customer_id", day=_epoch_day(orders.ts)).distinct()
    repeat = purchases.join(cohort, "customer_id")
    repeat = repeat.filter(repeat.day > repeat.first_day)
    weekly = (repeat.mutate(week=(repeat.day - origin) // 7)
              .group_by("week").aggregate(n=ibis._.count()).execute())
    counts = np.zeros(n_weeks)
    np.add.at(counts, np.clip(weekly.week.to_numpy(int), 0, n_weeks - 1),
              weekly.n.to_numpy(float))

    last_day = np.minimum(origin + 7 * np.arange(1, n_weeks + 1) - 1, end_day)
    age = np.clip(last_day[:, None] - first_day[None, :], 0, None) / unit_days
    expected = (model.expected_purchases_new(age.ravel()).reshape(age.shape)
                * days.n.to_numpy(float)[None, :]).sum(axis=1)
    starts = pd.to_datetime((origin + 7 * np.arange(n_weeks)) * _DAY_S, unit="s")
    return pd.DataFrame({"week": np.arange(1, n_weeks + 1), "week_start": starts.to_pydatetime(),
                         "actual_cum": np.cumsum(counts), "expected_cum": expected,
                         "in_holdout": last_day > cut_day})


# -- persistence ----------------------------------------------------------------------------
def save_holdout(wh: Warehouse, report: HoldoutReport,
                 others: tuple[HoldoutReport, ...] = ()) -> None:
    """Store the chosen model's check and the others' buckets.

    ``value_holdout_buckets`` holds every compared model's buckets (``chosen``
    marks *report*'s), ``value_holdout_tracking`` the chosen model's curve.
    """
    frames = []
    for rep, chosen in ((report, True), *((o, False) for o in others)):
        frames.append(rep.buckets_frame().assign(
            model=rep.model, time_unit=rep.time_unit, chosen=chosen,
            calibration_end=pd.Timestamp(rep.calibration_end),
            holdout_end=pd.Timestamp(rep.holdout_end)))
    buckets = pd.concat(frames, ignore_index=True)
    tracking = report.tracking_frame().assign(
        model=report.model, time_unit=report.time_unit,
        calibration_end=pd.Timestamp(report.calibration_end),
        holdout_end=pd.Timestamp(report.holdout_end))
    for frame in (buckets, tracking):
        for col in ("calibration_end", "holdout_end", "week_start"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    wh.write_table(BUCKETS_TABLE, buckets)
    wh.write_table(TRACKING_TABLE, tracking)


def load_holdout(ws: Workspace) -> HoldoutReport | None:
    """The last stored holdout check of the chosen model, or None when there is none."""
    reports = load_holdout_models(ws, only_chosen=True)
    return reports[0] if reports else None


def load_holdout_models(ws: Workspace, *, only_chosen: bool = False
                        ) -> tuple[HoldoutReport, ...]:
    """The last stored holdout checks of every compared model, the chosen one first.

    Only the chosen model's check has the weekly tracking curve; ``()`` when
    there is no check.
    """
    wh = ws.warehouse()
    if not (wh.has_table(BUCKETS_TABLE) and wh.has_table(TRACKING_TABLE)):
        return ()
    buckets = wh.table(BUCKETS_TABLE).execute()
    if buckets.empty:
        return ()
    if "chosen" not in buckets:  # stored before models were compared: one model
        buckets["chosen"] = True
    if "rmse" not in buckets:
        buckets["rmse"] = math.nan
    tracking = wh.table(TRACKING_TABLE).order_by("week").execute()
    keep_t = ["week", "week_start", "actual_cum", "expected_cum", "in_holdout"]
    reports = []
    order = buckets.assign(_first=~buckets.chosen.astype(bool)).sort_values(
        ["_first", "model", "bucket"], kind="stable")
    for model, rows in order.groupby("model", sort=False):
        first = rows.iloc[0]
        chosen = bool(first["chosen"])
        curve = tracking[keep_t] if chosen else tracking[keep_t].iloc[0:0]
        n = float(rows.customers.sum())
        sq = float((rows.customers * rows.rmse.astype(float) ** 2).sum())
        reports.append(HoldoutReport(
            model=str(model), time_unit=str(first["time_unit"]),
            calibration_end=pd.Timestamp(first["calibration_end"]).to_pydatetime(),
            holdout_end=pd.Timestamp(first["holdout_end"]).to_pydatetime(),
            n_customers=int(n), actual_total=float(rows.actual_total.sum()),
            predicted_total=float(rows.predicted_total.sum()), tracking_mape=_mape(curve),
            buckets=tuple(rows[_BUCKET_COLUMNS].to_dict("records")),
            tracking=tuple(curve.to_dict("records")),
            rmse=math.sqrt(sq / n) if n else math.nan))
        if only_chosen:
            break
    return tuple(reports)


# -- figures ----------------------------------------------------------------------------------
def bucket_figure(report: HoldoutReport) -> go.Figure:
    """Bars: mean holdout repeat purchases per calibration-frequency bucket, actual vs model."""
    b = report.buckets_frame()
    fig = go.Figure([
        go.Bar(name="actual", x=b.label, y=b.actual_mean, marker_color="#1f6feb"),
        go.Bar(name=f"predicted ({report.model})", x=b.label, y=b.predicted_mean,
               marker_color="#f0883e"),
    ])
    fig.update_layout(
        barmode="group", template="plotly_white", height=380,
        title=f"Holdout ({report.holdout_weeks:.0f} weeks): repeat purchases per customer",
        xaxis_title="repeat purchases in the calibration period",
        yaxis_title="mean repeat purchases in the holdout")
    return fig


def tracking_figure(report: HoldoutReport) -> go.Figure:
    """Lines: cumulative weekly repeat purchases of the cohort, actual vs model."""
    t = report.tracking_frame()
    fig = go.Figure([
        go.Scatter(name="actual", x=t.week_start, y=t.actual_cum, mode="lines",
                   line={"color": "#1f6feb"}),
        go.Scatter(name=f"expected ({report.model})", x=t.week_start, y=t.expected_cum,
                   mode="lines", line={"color": "#f0883e", "dash": "dash"}),
    ])
    fig.add_vline(x=pd.Timestamp(report.calibration_end).timestamp() * 1000, line_dash="dot",
                  line_color="#667", annotation_text="calibration end")
    fig.update_layout(template="plotly_white", height=380,
                      title="Cumulative repeat purchases of the calibration cohort, by week",
                      xaxis_title="week", yaxis_title="cumulative repeat purchases")
    return fig
