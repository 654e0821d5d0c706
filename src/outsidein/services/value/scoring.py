"""Score every customer with the stored models into ``customer_value``, in the engine.

:func:`score_summary` pulls only the distinct ``(frequency, recency, T)``
rows and distinct frequencies of a customer summary, evaluates the models on
them in NumPy (:func:`outsidein.value.score_triples`), sends the
results back as small tables and lets the engine join them to every
customer, draw the CLV deciles and write the plain-words reasons.  The same
code runs on DuckDB and Spark; no step pulls all customers.

Two rules a manager sees:

* **the discount rate is yearly** (``[analysis] discount_rate`` in
  ``outsidein.toml``, 10% by default), turned into the weekly rate CLV
  discounts with (``(1 + r) ** (1 / 52) - 1``);
* **P(alive) is not claimed where the model cannot know it.**  BG/NBD lets a
  customer drop out only right after a repeat purchase, so it gives everyone
  who bought once P(alive) = 1, however long ago that was.  Under BG/NBD their
  ``prob_alive`` is left empty (NULL) and their reason says there is too
  little history to tell; expected purchases and CLV still follow the model.
  MBG/NBD and Pareto/NBD estimate it for them, so their value is kept.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from outsidein.config import DEFAULT_DISCOUNT_RATE
from outsidein.errors import ConfigError, MissingDataError
from outsidein.services.progress import Steps
from outsidein.services.value.choice import MODEL_TITLES
from outsidein.services.value.fit import VALUE_MODELS, ValueFit, fit_value, load_fit
from outsidein.services.value.history import history_key, observation_end, orders_of, summary_of
from outsidein.services.value.holdout import load_holdout
from outsidein.services.value.margin import Margin, company_margin
from outsidein.value import (
    PERIODS_PER_YEAR,
    SUMMARY_COLUMNS,
    assemble_reason,
    history_phrases,
    join_scores,
    periodic_rate,
    score_triples,
    spend_line,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from rich.progress import Progress

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

CUSTOMER_VALUE = "customer_value"
#: how the last scoring was done (horizon, discount rate, P(alive) rule), for the report
SCORING_TABLE = "value_scoring"
#: models whose P(alive) is 1 by construction for customers without a repeat purchase
ALIVE_BY_CONSTRUCTION = {"bgnbd": (
    "BG/NBD lets a customer drop out only right after a repeat purchase, so it would call "
    "every one of them 100% likely still active, however long ago they bought")}
#: above this many customers the decile boundaries come from a sample
EXACT_DECILES_MAX = 2_000_000
DECILE_SAMPLE_ROWS = 1_000_000


def score_summary(
    wh: Warehouse,
    summary: ir.Table,
    transaction_model: Any,
    spend_model: Any,
    *,
    margin: float = 1.0,
    horizon_weeks: float = 52,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    time_unit: str = "weeks",
    currency: str = "$",
    table: str = CUSTOMER_VALUE,
    reasons: bool = True,
    steps: Steps | None = None,
    one_time_alive_unknown: bool = False,
) -> dict[str, int]:
    """Score the customers of *summary* into *table* inside the engine.

    *summary* is a table or expression with ``customer_id, frequency,
    recency, T, monetary_value``.  Only its distinct ``(frequency, recency,
    T)`` rows and distinct frequencies come to NumPy; the results go back
    as small tables and the engine joins them to every customer, computes the
    deciles from CLV quantiles and writes the reasons.

    With ``reasons=False`` the ``reason`` column is left out (for callers
    that only need the numbers; the benchmark measures both).
    *discount_rate* is yearly (CLV discounts week by week at the equivalent
    weekly rate).  ``one_time_alive_unknown=True`` leaves ``prob_alive``
    empty for customers without a repeat purchase (a model that cannot
    estimate it for them, see :data:`ALIVE_BY_CONSTRUCTION`).

    Returns
    -------
    dict
        ``{"n_distinct": ...}`` (rows computed in NumPy).
    """
    steps = steps or Steps(None, "scoring", 1)
    steps("computing the model on distinct rows")
    triples = summary.select("frequency", "recency", "T").distinct().to_pyarrow()
    weekly = periodic_rate(discount_rate, PERIODS_PER_YEAR["weeks"])
    scores, spend = _score_histories(triples, transaction_model, spend_model,
                                     horizon_weeks=horizon_weeks, discount_rate=weekly,
                                     time_unit=time_unit)
    steps.done()
    steps("joining scores to customers in the engine")
    score_name, spend_name = f"_{table}_scores", f"_{table}_spend"
    score_tab, spend_tab = _write_score_tables(wh, triples, scores, spend,
                                               score_name=score_name, spend_name=spend_name)
    if one_time_alive_unknown:  # NULL in the engine (a NaN sent from NumPy is not NULL)
        score_tab = score_tab.mutate(prob_alive=ibis.ifelse(
            score_tab.frequency > 0, score_tab.prob_alive, ibis.null("float64")))
    # phrases that depend only on the history: computed per distinct row, in the engine
    phrases = history_phrases(score_tab, time_unit=time_unit, horizon_weeks=horizon_weeks)
    if reasons:
        score_tab = score_tab.mutate(_cadence=phrases["cadence"], _tail=phrases["tail"])
    else:
        score_tab = score_tab.mutate(_cadence=ibis.literal(""), _tail=ibis.literal(""))
    base = summary.select(*SUMMARY_COLUMNS)
    scored = join_scores(base, score_tab, spend_tab, margin)
    sample = _decile_sample(base, scored, score_tab, spend_tab, margin)
    steps.done()
    steps("value deciles and reasons")
    with wh.bulk_writes():
        wh.write_table(table, _with_value_deciles(scored, _decile_cuts(sample), reasons=reasons,
                                                  currency=currency))
    wh.drop_tables(score_name, spend_name)
    steps.done()
    return {"n_distinct": int(len(triples))}


def _score_histories(triples: pa.Table, transaction_model: Any, spend_model: Any, *,
                     horizon_weeks: float, discount_rate: float,
                     time_unit: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The models on each distinct purchase history: expected purchases, P(alive), spend line.

    *discount_rate* is per week here.
    """
    f = triples["frequency"].to_numpy().astype(float)
    r = triples["recency"].to_numpy().astype(float)
    T = triples["T"].to_numpy().astype(float)
    per_unit = 7.0 if time_unit == "weeks" else 1.0
    scores = score_triples(transaction_model, f, r, T, horizon_weeks=horizon_weeks,
                           discount_rate=discount_rate, unit_days=per_unit)
    return scores, spend_line(spend_model, np.unique(f))


def _write_score_tables(wh: Warehouse, triples: pa.Table, scores: dict[str, np.ndarray],
                        spend: dict[str, np.ndarray], *, score_name: str,
                        spend_name: str) -> tuple[ir.Table, ir.Table]:
    """The scores per distinct history and the spend line, sent to the engine as scratch tables."""
    key_types = {"frequency": triples.schema.field("frequency").type,
                 "recency": triples.schema.field("recency").type,
                 "T": triples.schema.field("T").type}
    score_tab = wh.write_table(score_name, pa.table({
        "frequency": triples["frequency"], "recency": triples["recency"], "T": triples["T"],
        **{k: pa.array(v, pa.float64()) for k, v in scores.items()}}), scratch=True)
    spend_tab = wh.write_table(spend_name, pa.table({
        "frequency": pa.array(spend["frequency"]).cast(key_types["frequency"]),
        "spend_base": pa.array(spend["base"], pa.float64()),
        "spend_weight": pa.array(spend["weight"], pa.float64())}), scratch=True)
    return score_tab, spend_tab


def _decile_sample(base: ir.Table, scored: ir.Table, score_tab: ir.Table, spend_tab: ir.Table,
                   margin: float) -> ir.Table:
    """The customers the decile boundaries come from: all, or a sample above EXACT_DECILES_MAX."""
    n_rows = int(base.count().to_pyarrow().as_py())
    if n_rows <= EXACT_DECILES_MAX:
        return scored
    # a deterministic sample: every k-th customer by id hash
    every = max(1, round(n_rows / DECILE_SAMPLE_ROWS))
    return join_scores(base.filter(base.customer_id.hash() % every == 0),
                       score_tab, spend_tab, margin)


def _with_value_deciles(scored: ir.Table, cuts: list[float], *, reasons: bool,
                        currency: str) -> ir.Table:
    """Every customer's value numbers with their value decile (1 = top), and reasons if asked."""
    decile = 1 + sum(((scored.clv < c).cast("int64") for c in cuts), ibis.literal(0))
    ranked = scored.mutate(value_decile=decile.cast("int64"))
    numbers = (*SUMMARY_COLUMNS, "expected_purchases", "prob_alive", "expected_spend",
               "clv", "value_decile")
    if not reasons:
        return ranked.select(*numbers)
    return ranked.select(*numbers, reason=assemble_reason(
        ranked, cadence=ranked._cadence, tail=ranked._tail, currency=currency))


def _decile_cuts(t: ir.Table) -> list[float]:
    """CLV at the 90th, 80th ... 10th percentiles (decile 1 = at or above the first).

    Exact, interpolated quantiles (DuckDB ``quantile_cont``, Spark
    ``percentile``), so both engines draw the same boundaries; customers tied
    at a boundary share the higher decile.  For more than
    :data:`EXACT_DECILES_MAX` customers *t* is a deterministic sample of
    about :data:`DECILE_SAMPLE_ROWS` (customers whose id hashes to 0 modulo
    k; boundaries within ~0.1 percentile).
    """
    qs = [round(1 - k / 10, 1) for k in range(1, 10)]
    cuts = t.aggregate(q=t.clv.quantile(qs)).to_pyarrow()["q"][0].as_py()
    return [float(c) for c in cuts]


@dataclass(frozen=True)
class ScoreReport:
    """What ``score_value`` wrote to ``customer_value``, with the value deciles.

    ``discount_rate`` is yearly, ``discount_rate_weekly`` the rate CLV
    discounted with; ``mean_prob_alive`` is over the customers whose P(alive)
    the model can estimate (``n_alive_unknown`` others, see ``alive_note``).
    """

    n_customers: int
    n_distinct: int
    horizon_weeks: float
    discount_rate: float
    margin: Margin
    total_clv: float
    top_decile_share: float
    mean_prob_alive: float
    deciles: tuple[dict[str, float], ...]
    model: str
    seconds: float
    table: str = CUSTOMER_VALUE
    discount_rate_weekly: float = float("nan")
    n_alive_unknown: int = 0
    alive_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_pandas(self) -> pd.DataFrame:
        """The decile table (1 = most valuable)."""
        return pd.DataFrame(list(self.deciles))

    def __repr__(self) -> str:
        unknown = (f" ({self.n_alive_unknown:,} without an estimate)" if self.n_alive_unknown
                   else "")
        return (f"ScoreReport({self.n_customers:,} customers scored into {self.table!r} with "
                f"{self.model} over {self.horizon_weeks:g} weeks at {self.discount_rate:.0%} a "
                f"year: total CLV {self.total_clv:,.0f}, top 10% hold "
                f"{self.top_decile_share:.0%}, mean P(alive) {self.mean_prob_alive:.0%}{unknown}, "
                f"margin {self.margin.rate:.1%}, {self.seconds:.1f} s)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.to_pandas().to_html(index=False)


def score_value(
    ws: Workspace,
    *,
    horizon_weeks: float = 52,
    discount_rate: float | None = None,
    progress: Progress | None = None,
) -> ScoreReport:
    """Score every customer with the stored models into the ``customer_value`` table.

    Parameters
    ----------
    horizon_weeks
        Horizon of expected purchases and CLV, in weeks.
    discount_rate
        Yearly discount rate (0.1 = 10% a year); default the workspace's
        ``[analysis] discount_rate``.  CLV sums each week's expected purchases
        divided by ``(1 + w) ** week`` with the weekly rate
        ``w = (1 + discount_rate) ** (1 / 52) - 1``.

    Returns
    -------
    ScoreReport
        Counts, total CLV and the decile table.

    Examples
    --------
    >>> score_value(ws, horizon_weeks=26)    # doctest: +SKIP
    ScoreReport(20,000 customers scored into 'customer_value' with bgnbd over 26 weeks: ...)
    """
    if horizon_weeks <= 0:
        raise ConfigError(f"horizon weeks: expected a positive number, got {horizon_weeks}")
    yearly = ws.config.discount_rate if discount_rate is None else float(discount_rate)
    if not 0 <= yearly < 1:
        raise ConfigError(f"discount rate {yearly:g}: expected a yearly rate from 0 to below 1, "
                          "e.g. 0.1 for 10% a year")
    t0 = time.perf_counter()
    fit = load_fit(ws)
    wh = ws.warehouse()
    steps = Steps(progress, "scoring customer value", 4)
    steps("summarising customers")
    orders = orders_of(wh)
    summary = summary_of(wh, time_unit=fit.time_unit, observation_end=observation_end(orders))
    stage = "_customer_value_summary"
    staged = wh.write_table(stage, summary.select(*SUMMARY_COLUMNS), scratch=True)
    margin = company_margin(wh, ws.config.margin_rate)
    steps.done()
    currency = str(ws.config.extra.get("value", {}).get("currency_symbol", "$"))
    unknown = fit.model in ALIVE_BY_CONSTRUCTION
    info = score_summary(wh, staged, fit.transaction_model(), fit.spend_model(),
                         margin=margin.rate, horizon_weeks=horizon_weeks,
                         discount_rate=yearly, time_unit=fit.time_unit,
                         currency=currency, steps=steps, one_time_alive_unknown=unknown)
    wh.drop_tables(stage)
    deciles = decile_table(ws)
    total = float(deciles.clv_total.sum())
    n = int(deciles.customers.sum())
    n_unknown = int(deciles.alive_unknown.sum())
    known = deciles.customers - deciles.alive_unknown
    top = deciles[deciles.value_decile == 1]
    report = ScoreReport(
        n_customers=n, n_distinct=info["n_distinct"], horizon_weeks=float(horizon_weeks),
        discount_rate=yearly, margin=margin, total_clv=total,
        top_decile_share=float(top.clv_total.sum()) / total if total else float("nan"),
        mean_prob_alive=(float((deciles.prob_alive_mean.fillna(0) * known).sum() / known.sum())
                         if known.sum() else float("nan")),
        deciles=tuple(deciles.to_dict("records")), model=fit.model,
        seconds=round(time.perf_counter() - t0, 3),
        discount_rate_weekly=periodic_rate(yearly, PERIODS_PER_YEAR["weeks"]),
        n_alive_unknown=n_unknown,
        alive_note=(f"P(alive) is not estimated for the {n_unknown:,} customers who bought only "
                    f"once: {ALIVE_BY_CONSTRUCTION[fit.model]}" if n_unknown else ""),
    )
    _save_scoring(wh, report)
    return report


def _save_scoring(wh: Warehouse, report: ScoreReport) -> None:
    wh.write_table(SCORING_TABLE, pd.DataFrame([{
        "model": report.model, "horizon_weeks": report.horizon_weeks,
        "discount_rate": report.discount_rate,
        "discount_rate_weekly": report.discount_rate_weekly,
        "n_customers": report.n_customers, "n_alive_unknown": report.n_alive_unknown,
        "alive_note": report.alive_note, "value_basis": report.margin.value_word,
        "margin_rate": report.margin.rate, "value_caveat": report.margin.note,
    }]))


def load_scoring(ws: Workspace) -> dict[str, Any] | None:
    """How the last scoring was done: horizon, yearly and weekly discount rate, P(alive) note."""
    wh = ws.warehouse()
    if not wh.has_table(SCORING_TABLE):
        return None
    df = wh.table(SCORING_TABLE).execute()
    return None if df.empty else dict(df.iloc[0])


def decile_table(ws: Workspace) -> pd.DataFrame:
    """Per value decile (1 = top): customers, CLV total and mean, mean P(alive) and purchases.

    ``prob_alive_mean`` is over the decile's customers with an estimate
    (NaN when none has one); ``alive_unknown`` counts the others.
    """
    t = ws.warehouse().table(CUSTOMER_VALUE)
    df = (t.group_by("value_decile").aggregate(
        customers=t.count(), clv_total=t.clv.sum(), clv_mean=t.clv.mean(),
        prob_alive_mean=t.prob_alive.mean(),
        alive_unknown=t.prob_alive.isnull().cast("int64").sum(),
        expected_purchases_mean=t.expected_purchases.mean(),
        expected_spend_mean=t.expected_spend.mean(), frequency_mean=t.frequency.mean(),
    ).order_by("value_decile").execute())
    df["customers"] = df.customers.astype(int)
    df["alive_unknown"] = df.alive_unknown.astype(int)
    df["value_decile"] = df.value_decile.astype(int)
    total = df.clv_total.sum()
    df["clv_share"] = df.clv_total / total if total else np.nan
    return df


def top_customers(ws: Workspace, n: int = 20) -> pd.DataFrame:
    """The *n* customers with the highest CLV, with their reasons (a small frame)."""
    if n <= 0:
        raise ConfigError(f"--n: expected a positive number of customers, got {n}")
    wh = ws.warehouse()
    if not wh.has_table(CUSTOMER_VALUE):
        raise MissingDataError("no customer values yet; run 'outsidein value score'")
    t = wh.table(CUSTOMER_VALUE)
    return t.order_by([ibis.desc("clv"), "customer_id"]).limit(int(n)).execute()


def run(ws: Workspace, progress: Progress | None = None) -> dict[str, Any]:
    """The pipeline's value step (``outsidein analyze``, ``make demo``): fit if needed, score.

    When the order history is the one the stored fit saw, that fit is reused
    as it is.  The user's last explicit ``outsidein value fit`` is kept: its
    model and holdout are never replaced; when orders were added (or a load
    undone) since, the same model is refitted with the same holdout.  Without
    an explicit fit, the default fit runs (models compared on a holdout of a
    third of the history, at most 26 weeks, when it spans 16 weeks or more).

    Returns
    -------
    dict
        ``fit`` (with ``choice``, and ``reused`` saying what was done),
        ``score`` and ``holdout`` (None without a check).
    """
    fit, reused = _fit_for_analysis(ws, progress)
    report = score_value(ws, progress=progress)
    holdout = fit.holdout if fit.holdout is not None else load_holdout(ws)
    return {"fit": {**fit.to_dict(), "reused": reused}, "score": report.to_dict(),
            "holdout": holdout.to_dict() if holdout is not None else None}


def _fit_for_analysis(ws: Workspace, progress: Progress | None) -> tuple[ValueFit, str]:
    """The stored fit when the history is unchanged; else the user's fit kept, or a default fit."""
    wh = ws.warehouse()
    last = None if wh.is_empty(VALUE_MODELS) else load_fit(ws)
    if last is None:
        return fit_value(ws, progress=progress, origin="analyze"), "default fit"
    obs_end = observation_end(orders_of(wh))
    summary = summary_of(wh, time_unit=last.time_unit, observation_end=obs_end)
    title = MODEL_TITLES.get(last.model, last.model)
    explicit = last.origin == "value fit"
    if history_key(summary, obs_end) == last.history:
        log.info("reusing the %s fit of %s", last.model, last.fitted_at)
        source = "'outsidein value fit'" if explicit else "the default fit"
        return last, f"reused the {title} fit of {source} ({last.fitted_at:%Y-%m-%d %H:%M})"
    if not explicit:
        return fit_value(ws, progress=progress, origin="analyze"), "default fit"
    fit = fit_value(ws, keep=last, progress=progress)
    return fit, (f"refitted {title} with the holdout of 'outsidein value fit' "
                 f"({last.fitted_at:%Y-%m-%d %H:%M}): the order history has changed since")
