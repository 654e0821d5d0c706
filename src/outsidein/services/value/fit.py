"""The customer value service: choose and fit the BTYD models in the warehouse.

``fit_value`` builds the per-customer summary as an Ibis expression, compresses
it inside the engine to distinct ``(frequency, recency, T)`` rows with counts
and pulls only those rows.  On a calibration window (the last
``holdout_weeks``, by default a third of the history and at most 26 weeks) it
fits BG/NBD, MBG/NBD and Pareto/NBD, measures each one's holdout error
(:mod:`outsidein.services.value.choice`) and keeps the smallest, unless
``model`` forces one.  It then refits the chosen model, and a Gamma-Gamma
spend model on the repeat buyers, on the whole history: those parameters are
stored in the warehouse table ``value_models`` and used for scoring.

``score_value`` (:mod:`outsidein.services.value.scoring`) reuses them.  No
step pulls all customers into Python, so the same code serves DuckDB and Spark.

>>> from outsidein.workspace import Workspace
>>> ws = Workspace.open("demo-workspace")          # doctest: +SKIP
>>> fit = fit_value(ws)                            # doctest: +SKIP
>>> fit.choice                                     # doctest: +SKIP
ModelChoice(pareto, holdout: ...)
>>> report = score_value(ws, horizon_weeks=52)     # doctest: +SKIP
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from outsidein.errors import ConfigError, MissingDataError, OutsideInError
from outsidein.services.progress import Steps
from outsidein.services.value.choice import (
    MODEL_TITLES,
    ModelChoice,
    ModelScore,
    best_model,
    load_choice,
    save_choice,
)
from outsidein.services.value.history import (
    MIN_HISTORY_WEEKS,
    history_span,
    holdout_start,
    orders_of,
    summary_of,
)
from outsidein.services.value.holdout import (
    BUCKETS_TABLE,
    TRACKING_TABLE,
    HoldoutReport,
    compare_holdout,
    holdout_stats,
    save_holdout,
)
from outsidein.value import model_from_params, new_model
from outsidein.warehouse.summary import compress

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from rich.progress import Progress

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "MODELS", "ValueFit", "fit_value", "load_fit"]

#: CLI/model names -> class names in :mod:`outsidein.value` (the order breaks ties)
MODELS: dict[str, str] = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo", "pareto": "ParetoNBD"}
#: the model used when the history is too short for a holdout to choose on
DEFAULT_MODEL = "bgnbd"
SPEND_MODEL = "gamma_gamma"
#: Pareto/NBD's likelihood can keep rising along s, beta -> infinity (every customer with
#: the same dropout rate, as when few customers seem to leave, e.g. the demo company);
#: unpenalised, the optimiser then wanders there for minutes before it gives up.  This
#: ridge keeps the estimate finite at no visible cost: on the CDNOW sample it moves beta
#: by 0.2% (a fraction of its standard error) and the log-likelihood by 1e-5.
PARETO_RIDGE = 1e-8
VALUE_MODELS = "value_models"


# -- results --------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueFit:
    """Fitted transaction and spend models, as stored in ``value_models``.

    ``calibration_end`` is the end of the window the parameters were fitted on
    (None: the whole history, what ``fit_value`` stores); the holdout check
    that chose the model is ``holdout`` (from ``holdout_from`` to the last
    order), the comparison ``choice``.
    """

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
    choice: ModelChoice | None = None
    #: the holdout the user asked for, in weeks (None: a calibration end date, or none)
    holdout_weeks: float | None = None
    #: the calibration end of the holdout check (None: no check)
    holdout_from: datetime | None = None
    #: "value fit" (the user's explicit fit, which ``analyze`` keeps) or "analyze"
    origin: str = "value fit"
    #: what the fit saw: the last order, the customers and their repeat purchases
    history: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("holdout", "choice")}
        out["holdout"] = self.holdout.to_dict() if self.holdout is not None else None
        out["choice"] = self.choice.to_dict() if self.choice is not None else None
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
        how = f" ({self.choice.chosen_by})" if self.choice is not None else ""
        return (f"ValueFit({self.model}{how}: {fmt(self.params, self.standard_errors)}; "
                f"LL={self.log_likelihood:,.1f}; n={self.n_customers:,}; "
                f"gamma_gamma: {fmt(self.spend_params, self.spend_standard_errors)}; "
                f"n_repeat={self.n_repeat_buyers:,}; per {self.time_unit[:-1]}{window})")


# -- fit ----------------------------------------------------------------------------------
def _check_model(model: str | None) -> None:
    if model is not None and model not in MODELS:
        raise ConfigError(f"model {model!r}: expected one of {', '.join(MODELS)}")


def _distinct_rows(summary: ir.Table) -> pd.DataFrame:
    rows = compress(summary).execute()
    if rows.empty:
        raise MissingDataError("no customer has a purchase in the fitting window; "
                               "widen the window or load more order lines")
    return rows


def _fit_transaction(rows: pd.DataFrame, model: str) -> Any:
    """The transaction model fitted on distinct (f, r, T) rows with their counts."""
    tm = new_model(MODELS[model])
    if model == "pareto":
        tm.set_params(penalizer_coef=PARETO_RIDGE)
    tm.fit(rows.frequency.to_numpy(float), rows.recency.to_numpy(float),
           rows["T"].to_numpy(float), weights=rows.n.to_numpy(float))
    return tm


def _fit_spend(summary: ir.Table) -> tuple[Any, int]:
    """Gamma-Gamma on the repeat buyers' distinct (frequency, mean spend) rows."""
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
    return sm, int(spend.n.sum())


def fit_value(
    ws: Workspace,
    *,
    model: str | None = None,
    calibration_end: datetime | str | None = None,
    holdout_weeks: float | None = None,
    time_unit: str | None = None,
    progress: Progress | None = None,
    origin: str = "value fit",
    keep: ValueFit | None = None,
) -> ValueFit:
    """Choose the transaction model on a holdout, fit it and Gamma-Gamma on the whole history.

    Parameters
    ----------
    ws
        The workspace; its ``order_lines`` table is summarised in the engine.
    model
        None (default): fit BG/NBD, MBG/NBD and Pareto/NBD on the calibration
        window and keep the one with the smallest holdout error.  ``"bgnbd"``,
        ``"mbgnbd"`` or ``"pareto"`` forces that model (the others' holdout
        errors are still measured and reported).
    calibration_end, holdout_weeks
        The holdout: purchases after *calibration_end*, or the last
        *holdout_weeks* weeks.  By default a third of the history, at most 26
        weeks, when the history spans at least 16 weeks; ``holdout_weeks=0``
        skips the check (and the choice: *model*, else BG/NBD).
    time_unit
        "weeks" or "days"; default the workspace's ``[analysis] time_unit``.
    origin
        ``"value fit"`` for the user's explicit fit (``outsidein analyze``
        keeps it), ``"analyze"`` for the pipeline's default fit.
    keep
        An earlier fit whose model and holdout to refit on the current history
        (``outsidein analyze`` after new orders); excludes the other options.

    Returns
    -------
    ValueFit
        The stored parameters (whole history), the holdout check of the
        chosen model (``.holdout``) and the comparison (``.choice``).

    Examples
    --------
    >>> fit = fit_value(ws, holdout_weeks=26)     # doctest: +SKIP
    >>> fit.model, fit.choice.to_pandas()         # doctest: +SKIP
    """
    t0 = time.perf_counter()
    if keep is not None:
        model, time_unit, origin = keep.model, keep.time_unit, keep.origin
        holdout_weeks = keep.holdout_weeks
        calibration_end = keep.holdout_from if keep.holdout_weeks is None else None
        if holdout_weeks is None and calibration_end is None:
            holdout_weeks = 0
    _check_model(model)
    unit = time_unit or ws.config.time_unit
    wh = ws.warehouse()
    orders = orders_of(wh)
    first, obs_end = history_span(orders)
    cal_end = holdout_start(first, obs_end, calibration_end, holdout_weeks)
    steps = Steps(progress, "fitting value models", 4 if cal_end is not None else 2)
    holdout = None
    if cal_end is not None:
        steps("comparing models on the holdout")
        holdout, others, choice = _choose(wh, orders, model, time_unit=unit,
                                          calibration_end=cal_end, holdout_end=obs_end,
                                          steps=steps)
        save_holdout(wh, holdout, others)
    else:
        wh.drop_tables(BUCKETS_TABLE, TRACKING_TABLE)  # no stale check beside this fit
        choice = ModelChoice(model or DEFAULT_MODEL, "forced" if model else "default",
                             _no_holdout_reason(first, obs_end, model, holdout_weeks))
    if keep is not None:
        choice = ModelChoice(choice.model, "kept", _kept_reason(keep), choice.scores)
    steps(f"fitting {choice.model} and gamma-gamma on the whole history")
    summary = summary_of(wh, time_unit=unit, observation_end=obs_end)
    rows = _distinct_rows(summary)
    tm = _fit_transaction(rows, choice.model)
    sm, n_repeat = _fit_spend(summary)
    steps.done()
    n_freq = int((rows.n * rows.frequency).sum())
    fit = ValueFit(
        model=choice.model, params=_floats(tm.params_),
        standard_errors=_floats(tm.standard_errors_), log_likelihood=float(tm.log_likelihood_),
        n_customers=int(rows.n.sum()), spend_params=_floats(sm.params_),
        spend_standard_errors=_floats(sm.standard_errors_),
        spend_log_likelihood=float(sm.log_likelihood_), n_repeat_buyers=n_repeat,
        time_unit=unit, observation_end=obs_end, n_distinct=len(rows),
        seconds=round(time.perf_counter() - t0, 3), holdout=holdout, choice=choice,
        holdout_weeks=None if holdout_weeks is None else float(holdout_weeks),
        holdout_from=cal_end, origin=origin,
        history=f"{obs_end:%Y-%m-%dT%H:%M:%S}|{int(rows.n.sum())}|{n_freq}",
    )
    _save_fit(wh, fit)
    save_choice(wh, choice)
    return fit


def _choose(wh: Warehouse, orders: ir.Table, forced: str | None, *, time_unit: str,
            calibration_end: datetime, holdout_end: datetime, steps: Steps
            ) -> tuple[HoldoutReport, tuple[HoldoutReport, ...], ModelChoice]:
    """Fit every model on the calibration window, measure the holdout errors, pick one."""
    summary = summary_of(wh, time_unit=time_unit, observation_end=holdout_end,
                         calibration_end=calibration_end)
    rows = _distinct_rows(summary)
    stats = holdout_stats(summary)
    steps.done()
    steps("fitting " + ", ".join(MODEL_TITLES[m] for m in MODELS) + " on the calibration window")
    fitted: dict[str, Any] = {}
    scores = []
    reports: dict[str, HoldoutReport] = {}
    def check(name: str, tracking: bool) -> HoldoutReport:
        return compare_holdout(wh, orders, summary, fitted[name], model_name=name, stats=stats,
                               tracking=tracking, time_unit=time_unit,
                               calibration_end=calibration_end, holdout_end=holdout_end)

    for name in MODELS:
        try:
            fitted[name] = _fit_transaction(rows, name)
        except OutsideInError as exc:
            if name == forced:
                raise
            log.info("%s could not be fitted on the calibration window: %s", name, exc)
            scores.append(ModelScore(name, {}, math.nan, math.nan, math.nan, math.nan,
                                     math.nan, failed=str(exc)))
            continue
        rep = check(name, tracking=False)
        reports[name] = rep
        scores.append(ModelScore(name, _floats(fitted[name].params_),
                                 float(fitted[name].log_likelihood_), rep.rmse, rep.error,
                                 rep.actual_total, rep.predicted_total,
                                 buckets=tuple({k: b[k] for k in _SCORE_BUCKET_KEYS}
                                               for b in rep.buckets)))
    steps.done()
    best = best_model(tuple(scores))
    if best is None:
        raise MissingDataError(
            "no transaction model could be fitted on the calibration window before "
            f"{calibration_end:%Y-%m-%d} ({'; '.join(s.failed for s in scores)}); "
            "give a shorter holdout or load more history")
    chosen = forced or best
    if forced:
        reason = f"forced with --model {forced}"
        if best != forced:
            reason += (f"; {MODEL_TITLES[best]} had the smaller holdout error "
                       f"({reports[best].rmse:.4f} against {reports[forced].rmse:.4f})")
    else:
        reason = (f"smallest holdout error of {', '.join(MODEL_TITLES[m] for m in reports)}: "
                  f"{reports[best].rmse:.4f} purchases per customer (root mean squared error "
                  f"over {reports[best].n_customers:,} customers, "
                  f"{reports[best].holdout_weeks:.0f}-week holdout)")
    # the chosen model's check again, with its weekly tracking curve for the figure
    holdout = check(chosen, tracking=True)
    others = tuple(r for m, r in reports.items() if m != chosen)
    choice = ModelChoice(chosen, "forced" if forced else "holdout", reason, tuple(scores))
    return holdout, others, choice


_SCORE_BUCKET_KEYS = ("label", "customers", "actual_mean", "predicted_mean", "rmse")


def _no_holdout_reason(first: datetime, obs_end: datetime, model: str | None,
                       holdout_weeks: float | None) -> str:
    if model:
        return f"forced with --model {model}, without a holdout check"
    if holdout_weeks == 0:
        return (f"{MODEL_TITLES[DEFAULT_MODEL]} by default: no holdout was asked for "
                "(--holdout-weeks 0), so the models were not compared")
    weeks = (obs_end - first).total_seconds() / (7 * 86400)
    return (f"{MODEL_TITLES[DEFAULT_MODEL]} by default: the order history is {weeks:.0f} weeks "
            f"long, too short to compare models on a holdout (that needs {MIN_HISTORY_WEEKS} "
            "weeks or more)")


def _kept_reason(keep: ValueFit) -> str:
    how = keep.choice.reason if keep.choice is not None else "chosen then"
    return (f"kept from 'outsidein value fit' of {keep.fitted_at:%Y-%m-%d %H:%M} ({how}); "
            "refitted because the order history has changed since")


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
                         "calibration_end": fit.calibration_end or pd.NaT,
                         "holdout_weeks": (float("nan") if fit.holdout_weeks is None
                                           else fit.holdout_weeks),
                         "holdout_from": fit.holdout_from or pd.NaT, "origin": fit.origin,
                         "history": fit.history})
    frame = pd.DataFrame(rows)
    for col in ("fitted_at", "observation_end", "calibration_end", "holdout_from"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    wh.write_table(VALUE_MODELS, frame)


def load_fit(ws: Workspace) -> ValueFit:
    """The latest fit stored in ``value_models`` (run ``outsidein value fit`` first).

    Its ``choice`` is the stored comparison; its ``holdout`` is not loaded
    (:func:`~outsidein.services.value.holdout.load_holdout` reads it).
    """
    wh = ws.warehouse()
    if wh.is_empty(VALUE_MODELS):
        raise MissingDataError("no fitted value model in the warehouse; run 'outsidein value fit'")
    df = wh.table(VALUE_MODELS).execute()
    spend = df[df.model == SPEND_MODEL]
    tx = df[df.model != SPEND_MODEL]
    first = tx.iloc[0]

    def when(col: str) -> datetime | None:
        value = first.get(col)
        return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    weeks = first.get("holdout_weeks")
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
        calibration_end=when("calibration_end"),
        fitted_at=pd.Timestamp(first["fitted_at"]).to_pydatetime(),
        choice=load_choice(wh),
        holdout_weeks=None if weeks is None or pd.isna(weeks) else float(weeks),
        holdout_from=when("holdout_from"),
        # a fit stored before fits recorded their origin was an explicit one
        origin=str(first.get("origin") or "value fit"), history=str(first.get("history") or ""),
    )
