"""The customer value service: fit BTYD models in the warehouse and score every customer.

``fit_value`` builds the per-customer summary as an Ibis expression, compresses
it inside the engine to distinct ``(frequency, recency, T)`` rows with counts,
pulls only those rows and fits the transaction model (BG/NBD by default) and a
Gamma-Gamma spend model on the repeat buyers.  The parameters are stored in
the warehouse table ``value_models``.

``score_value`` (:mod:`outsidein.services.value.scoring`) reuses them.  No
step pulls all customers into Python, so the same code serves DuckDB and Spark.

>>> from outsidein.workspace import Workspace
>>> ws = Workspace.open("demo-workspace")          # doctest: +SKIP
>>> fit = fit_value(ws)                            # doctest: +SKIP
>>> report = score_value(ws, horizon_weeks=52)     # doctest: +SKIP
>>> top_customers(ws, n=5)                         # doctest: +SKIP
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from outsidein.domain import purchases
from outsidein.errors import ConfigError, DataValidationError, MissingDataError
from outsidein.services.progress import Steps
from outsidein.services.value.holdout import HoldoutReport, compare_holdout, save_holdout
from outsidein.value import model_from_params, new_model
from outsidein.warehouse import rollup
from outsidein.warehouse.summary import compress

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from rich.progress import Progress

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["MODELS", "ValueFit", "fit_value", "load_fit"]

#: CLI/model names -> class names in :mod:`outsidein.value`.
MODELS: dict[str, str] = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo", "pareto": "ParetoNBD"}
SPEND_MODEL = "gamma_gamma"
VALUE_MODELS = "value_models"


# -- results --------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueFit:
    """Fitted transaction and spend models, as stored in ``value_models``."""

    model: str
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    spend_params: dict[str, float]
    spend_standard_errors: dict[str, float]
    spend_log_likelihood: float
    n_repeat_buyers: int
    time_unit: str
    observation_end: datetime
    calibration_end: datetime | None = None
    fitted_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    n_distinct: int | None = None
    seconds: float | None = None
    holdout: HoldoutReport | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "holdout"}
        out["holdout"] = self.holdout.to_dict() if self.holdout is not None else None
        return out

    def transaction_model(self) -> Any:
        """The fitted transaction model object (e.g. ``BetaGeo``) rebuilt from ``params``."""
        return model_from_params(MODELS[self.model], self.params)

    def spend_model(self) -> Any:
        """The fitted ``GammaGamma`` rebuilt from ``spend_params``."""
        return model_from_params("GammaGamma", self.spend_params)

    def __repr__(self) -> str:
        def fmt(p: dict[str, float], se: dict[str, float]) -> str:
            return ", ".join(f"{k}={v:.4g}±{se.get(k, float('nan')):.2g}" for k, v in p.items())

        window = f" calibration_end={self.calibration_end:%Y-%m-%d}" if self.calibration_end else ""
        return (f"ValueFit({self.model}: {fmt(self.params, self.standard_errors)}; "
                f"LL={self.log_likelihood:,.1f}; n={self.n_customers:,}; "
                f"gamma_gamma: {fmt(self.spend_params, self.spend_standard_errors)}; "
                f"n_repeat={self.n_repeat_buyers:,}; per {self.time_unit[:-1]}{window})")


# -- warehouse helpers ----------------------------------------------------------------
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


def summary_of(wh: Warehouse, *, time_unit: str, observation_end: datetime,
             calibration_end: datetime | None = None) -> ir.Table:
    """The purchase summary, from the ``purchase_days`` rollup (rebuilt first if stale)."""
    rollup.ensure_current(wh)
    if calibration_end is None:
        return rollup.purchase_summary(wh, observation_end=observation_end, time_unit=time_unit)
    return rollup.purchase_summary(wh, calibration_end=calibration_end,
                                   holdout_end=observation_end, time_unit=time_unit)


# -- fit ----------------------------------------------------------------------------------
def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ConfigError(f"model {model!r}: expected one of {', '.join(MODELS)}")


def _fit_models(summary: ir.Table, model: str) -> tuple[Any, Any, dict[str, int]]:
    """Fit the transaction model on distinct (f, r, T) rows and Gamma-Gamma on repeat buyers."""
    rows = compress(summary).execute()
    if rows.empty:
        raise MissingDataError("no customer has a purchase in the fitting window; "
                               "widen the window or load more order lines")
    tm = new_model(MODELS[model])
    tm.fit(rows.frequency.to_numpy(float), rows.recency.to_numpy(float),
           rows["T"].to_numpy(float), weights=rows.n.to_numpy(float))
    repeat = summary.filter((summary.frequency > 0) & (summary.monetary_value > 0))
    # distinct (frequency, spend) rows with counts; spend to the cent is exact enough.
    # Rounded as a DECIMAL, half up: ROUND on a double differs across engines at half cents
    # (DuckDB rounds the binary value, 37.785 -> 37.78; Spark the decimal one, -> 37.79),
    # and a mean of two cent amounts often ends in a half cent
    cents = repeat.monetary_value.cast("decimal(18, 6)").round(2).cast("float64")
    rounded = repeat.mutate(m=cents)
    spend = (rounded.filter(rounded.m > 0)
             .group_by(["frequency", "m"]).aggregate(n=ibis._.count())
             .order_by(["frequency", "m"]).execute())
    if len(spend) < 3:
        raise MissingDataError(
            f"only {int(spend.n.sum()) if len(spend) else 0} repeat buyers: the spend model "
            "needs repeat purchases; load more history")
    sm = new_model("GammaGamma")
    sm.fit(spend.frequency.to_numpy(float), spend.m.to_numpy(float),
           weights=spend.n.to_numpy(float))
    counts = {"n_customers": int(rows.n.sum()), "n_distinct": len(rows),
              "n_repeat_buyers": int(spend.n.sum())}
    return tm, sm, counts


def fit_value(
    ws: Workspace,
    *,
    model: str = "bgnbd",
    calibration_end: datetime | str | None = None,
    holdout_weeks: float | None = None,
    time_unit: str | None = None,
    progress: Progress | None = None,
) -> ValueFit:
    """Fit the transaction and spend models in the warehouse and store them in ``value_models``.

    Parameters
    ----------
    ws
        The workspace; its ``order_lines`` table is summarised in the engine.
    model
        ``"bgnbd"`` (BG/NBD), ``"mbgnbd"`` (MBG/NBD) or ``"pareto"`` (Pareto/NBD).
    calibration_end, holdout_weeks
        Fit on purchases up to *calibration_end* (or the last *holdout_weeks*
        weeks held out) and compare predictions with the holdout (``.holdout``).
    time_unit
        "weeks" or "days"; default the workspace's ``[analysis] time_unit``.

    Returns
    -------
    ValueFit
        The stored parameters; ``score_value`` uses the latest fit.

    Examples
    --------
    >>> fit = fit_value(ws, holdout_weeks=26)     # doctest: +SKIP
    >>> fit.params["r"], fit.holdout.error        # doctest: +SKIP
    """
    t0 = time.perf_counter()
    _check_model(model)
    unit = time_unit or ws.config.time_unit
    steps = Steps(progress, "fitting value models", 3 if holdout_weeks or calibration_end else 2)
    wh = ws.warehouse()
    orders = orders_of(wh)
    steps("summarising customers")
    obs_end = observation_end(orders)
    cal_end = _calibration_end(obs_end, calibration_end, holdout_weeks)
    summary = summary_of(wh, time_unit=unit, observation_end=obs_end, calibration_end=cal_end)
    steps.done()
    steps(f"fitting {model} and gamma-gamma")
    tm, sm, counts = _fit_models(summary, model)
    steps.done()
    holdout = None
    if cal_end is not None:
        steps("checking the holdout")
        holdout = compare_holdout(wh, orders, summary, tm, model_name=model, time_unit=unit,
                                  calibration_end=cal_end, holdout_end=obs_end)
        save_holdout(wh, holdout)
        steps.done()
    fit = ValueFit(
        model=model, params=_floats(tm.params_), standard_errors=_floats(tm.standard_errors_),
        log_likelihood=float(tm.log_likelihood_), n_customers=counts["n_customers"],
        spend_params=_floats(sm.params_), spend_standard_errors=_floats(sm.standard_errors_),
        spend_log_likelihood=float(sm.log_likelihood_), n_repeat_buyers=counts["n_repeat_buyers"],
        time_unit=unit, observation_end=obs_end, calibration_end=cal_end,
        n_distinct=counts["n_distinct"], seconds=round(time.perf_counter() - t0, 3),
        holdout=holdout,
    )
    _save_fit(wh, fit)
    return fit


def _calibration_end(obs_end: datetime, calibration_end: datetime | str | None,
                     holdout_weeks: float | None) -> datetime | None:
    if calibration_end is not None and holdout_weeks is not None:
        raise ConfigError("give either --calibration-end or --holdout-weeks, not both")
    if holdout_weeks is not None:
        if holdout_weeks <= 0:
            raise ConfigError(f"holdout weeks: expected a positive number, got {holdout_weeks}")
        return obs_end - timedelta(weeks=float(holdout_weeks))
    if calibration_end is None:
        return None
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
    return cal


def _floats(d: Any) -> dict[str, float]:
    return {str(k): float(v) for k, v in dict(d).items()}


def _save_fit(wh: Warehouse, fit: ValueFit) -> None:
    rows = []
    for name, params, ses, ll, n in (
        (fit.model, fit.params, fit.standard_errors, fit.log_likelihood, fit.n_customers),
        (SPEND_MODEL, fit.spend_params, fit.spend_standard_errors, fit.spend_log_likelihood,
         fit.n_repeat_buyers),
    ):
        for param, value in params.items():
            rows.append({"model": name, "param": param, "value": value,
                         "se": ses.get(param, float("nan")), "log_likelihood": ll,
                         "fitted_at": fit.fitted_at, "n_customers": n,
                         "time_unit": fit.time_unit, "observation_end": fit.observation_end,
                         "calibration_end": fit.calibration_end or pd.NaT})
    frame = pd.DataFrame(rows)
    for col in ("fitted_at", "observation_end", "calibration_end"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    wh.write_table(VALUE_MODELS, frame)


def load_fit(ws: Workspace) -> ValueFit:
    """The latest fit stored in ``value_models`` (run ``outsidein value fit`` first)."""
    wh = ws.warehouse()
    if wh.is_empty(VALUE_MODELS):
        raise MissingDataError("no fitted value model in the warehouse; run 'outsidein value fit'")
    df = wh.table(VALUE_MODELS).execute()
    spend = df[df.model == SPEND_MODEL]
    tx = df[df.model != SPEND_MODEL]
    first = tx.iloc[0]
    cal = first["calibration_end"]
    return ValueFit(
        model=str(first["model"]),
        params=dict(zip(tx.param, tx.value.astype(float), strict=True)),
        standard_errors=dict(zip(tx.param, tx.se.astype(float), strict=True)),
        log_likelihood=float(first["log_likelihood"]), n_customers=int(first["n_customers"]),
        spend_params=dict(zip(spend.param, spend.value.astype(float), strict=True)),
        spend_standard_errors=dict(zip(spend.param, spend.se.astype(float), strict=True)),
        spend_log_likelihood=float(spend.log_likelihood.iloc[0]),
        n_repeat_buyers=int(spend.n_customers.iloc[0]), time_unit=str(first["time_unit"]),
        observation_end=pd.Timestamp(first["observation_end"]).to_pydatetime(),
        calibration_end=None if pd.isna(cal) else pd.Timestamp(cal).to_pydatetime(),
        fitted_at=pd.Timestamp(first["fitted_at"]).to_pydatetime(),
    )
