"""Calibration/holdout check of a fitted transaction model, with Plotly figures.

The model is fitted on a calibration window; the holdout period that
follows shows how well it predicts.  Two views, as in Fader, Hardie & Lee
(2005):

* **per frequency bucket** (0, 1, ..., 7+ repeat purchases in calibration):
  the mean number of repeat purchases each group actually made in the
  holdout against the model's conditional expectation;
* **weekly cumulative tracking**: the cohort's cumulative repeat purchases
  week by week against the model's expectation for new customers
  (``expected_purchases_new``) summed over the cohort by first-purchase day.

Everything heavy runs in the warehouse: the buckets come from the distinct
``(frequency, recency, T)`` rows with their counts and holdout totals, the
actual curve from a weekly count of repeat purchase days, the expected curve
from the number of customers per first-purchase day.

>>> fit = fit_value(ws, holdout_weeks=26)        # doctest: +SKIP
>>> fit.holdout.error                            # doctest: +SKIP
-0.021
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

__all__ = ["HoldoutReport", "compare_holdout", "save_holdout", "load_holdout",
           "bucket_figure", "tracking_figure", "MAX_BUCKET"]

MAX_BUCKET = 7
BUCKETS_TABLE = "value_holdout_buckets"
TRACKING_TABLE = "value_holdout_tracking"
_DAY_S = 86400.0


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

    @property
    def holdout_weeks(self) -> float:
        return (self.holdout_end - self.calibration_end).total_seconds() / (7 * _DAY_S)

    @property
    def error(self) -> float:
        """Relative error of the predicted holdout total (predicted / actual - 1)."""
        return self.predicted_total / self.actual_total - 1 if self.actual_total else math.nan

    def buckets_frame(self) -> pd.DataFrame:
        """bucket, customers, actual_mean, predicted_mean, actual_total, predicted_total."""
        return pd.DataFrame(list(self.buckets))

    def tracking_frame(self) -> pd.DataFrame:
        """week, week_start, actual_cum, expected_cum, in_holdout."""
        return pd.DataFrame(list(self.tracking))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "time_unit": self.time_unit,
                "calibration_end": self.calibration_end, "holdout_end": self.holdout_end,
                "holdout_weeks": round(self.holdout_weeks, 2), "n_customers": self.n_customers,
                "actual_total": self.actual_total, "predicted_total": self.predicted_total,
                "error": self.error, "tracking_mape": self.tracking_mape,
                "buckets": list(self.buckets), "tracking": list(self.tracking)}

    def __repr__(self) -> str:
        return (f"HoldoutReport({self.model}, {self.holdout_weeks:.0f}-week holdout from "
                f"{self.calibration_end:%Y-%m-%d}: {self.n_customers:,} customers made "
                f"{self.actual_total:,.0f} repeat purchases, predicted {self.predicted_total:,.0f} "
                f"({self.error:+.1%}); tracking MAPE {self.tracking_mape:.1%})")


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
    """
    buckets, n_customers = _buckets(summary, model)
    tracking = _tracking(orders, summary, model, time_unit=time_unit,
                         calibration_end=calibration_end, holdout_end=holdout_end)
    hold = tracking[tracking.in_holdout]
    act = hold.actual_cum.to_numpy(float)
    mape = float(np.mean(np.abs(hold.expected_cum - act) / np.where(act > 0, act, np.nan))) \
        if len(hold) else math.nan
    return HoldoutReport(
        model=model_name, time_unit=time_unit, calibration_end=calibration_end,
        holdout_end=holdout_end, n_customers=n_customers,
        actual_total=float(buckets.actual_total.sum()),
        predicted_total=float(buckets.predicted_total.sum()),
        tracking_mape=mape, buckets=tuple(buckets.to_dict("records")),
        tracking=tuple(tracking.to_dict("records")))


def _buckets(summary: ir.Table, model: Any) -> tuple[pd.DataFrame, int]:
    rows = summary.group_by(["frequency", "recency", "T"]).aggregate(
        n=summary.count(), actual=summary.frequency_holdout.sum(),
        duration=summary.duration_holdout.max(),
    ).execute()
    f, r, T = (rows[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    n = rows.n.to_numpy(float)
    predicted = model.expected_purchases(rows.duration.to_numpy(float), f, r, T) * n
    bucket = np.minimum(f, MAX_BUCKET).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "customers": n, "actual_total":
                          rows.actual.to_numpy(float), "predicted_total": predicted})
    out = frame.groupby("bucket", as_index=False).sum().sort_values("bucket")
    out["customers"] = out.customers.astype(int)
    out["actual_mean"] = out.actual_total / out.customers
    out["predicted_mean"] = out.predicted_total / out.customers
    out["label"] = [f"{b}+" if b == MAX_BUCKET else str(b) for b in out.bucket]
    cols = ["bucket", "label", "customers", "actual_mean", "predicted_mean",
            "actual_total", "predicted_total"]
    return out[cols].reset_index(drop=True), int(n.sum())


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
def save_holdout(wh: Warehouse, report: HoldoutReport) -> None:
    """Store the report in ``value_holdout_buckets`` and ``value_holdout_tracking``."""
    meta = {"model": report.model, "time_unit": report.time_unit,
            "calibration_end": pd.Timestamp(report.calibration_end),
            "holdout_end": pd.Timestamp(report.holdout_end)}
    buckets = report.buckets_frame().assign(**meta)
    tracking = report.tracking_frame().assign(**meta)
    for frame in (buckets, tracking):
        for col in ("calibration_end", "holdout_end", "week_start"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    wh.write_table(BUCKETS_TABLE, buckets)
    wh.write_table(TRACKING_TABLE, tracking)


def load_holdout(ws: Workspace) -> HoldoutReport | None:
    """The last stored holdout check, or None when there is none."""
    wh = ws.warehouse()
    if not (wh.has_table(BUCKETS_TABLE) and wh.has_table(TRACKING_TABLE)):
        return None
    buckets = wh.table(BUCKETS_TABLE).order_by("bucket").execute()
    tracking = wh.table(TRACKING_TABLE).order_by("week").execute()
    if buckets.empty:
        return None
    first = buckets.iloc[0]
    hold = tracking[tracking.in_holdout.astype(bool)]
    act = hold.actual_cum.to_numpy(float)
    mape = float(np.mean(np.abs(hold.expected_cum - act) / np.where(act > 0, act, np.nan))) \
        if len(hold) else math.nan
    keep_b = ["bucket", "label", "customers", "actual_mean", "predicted_mean",
              "actual_total", "predicted_total"]
    keep_t = ["week", "week_start", "actual_cum", "expected_cum", "in_holdout"]
    return HoldoutReport(
        model=str(first["model"]), time_unit=str(first["time_unit"]),
        calibration_end=pd.Timestamp(first["calibration_end"]).to_pydatetime(),
        holdout_end=pd.Timestamp(first["holdout_end"]).to_pydatetime(),
        n_customers=int(buckets.customers.sum()),
        actual_total=float(buckets.actual_total.sum()),
        predicted_total=float(buckets.predicted_total.sum()), tracking_mape=mape,
        buckets=tuple(buckets[keep_b].to_dict("records")),
        tracking=tuple(tracking[keep_t].to_dict("records")))


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
