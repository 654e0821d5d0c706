"""Score every customer with the stored models into ``customer_value``, in the engine.

:func:`score_summary` pulls only the distinct ``(frequency, recency, T)``
rows and distinct frequencies of a customer summary, evaluates the models on
them in NumPy (:func:`outsidein.value.score_triples`), sends the
results back as small tables and lets the engine join them to every
customer, draw the CLV deciles and write the plain-words reasons.  The same
code runs on DuckDB and Spark; no step pulls all customers.
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

from outsidein.errors import ConfigError, MissingDataError
from outsidein.services.progress import Steps
from outsidein.services.value.fit import (
    fit_value,
    load_fit,
    observation_end,
    orders_of,
    summary_of,
)
from outsidein.services.value.margin import Margin, company_margin
from outsidein.value import (
    SUMMARY_COLUMNS,
    assemble_reason,
    history_phrases,
    join_scores,
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
    discount_rate: float = 0.01,
    time_unit: str = "weeks",
    currency: str = "$",
    table: str = CUSTOMER_VALUE,
    reasons: bool = True,
    steps: Steps | None = None,
) -> dict[str, int]:
    """Score the customers of *summary* into *table* inside the engine.

    *summary* is a table or expression with ``customer_id, frequency,
    recency, T, monetary_value``.  Only its distinct ``(frequency, recency,
    T)`` rows and distinct frequencies come to NumPy; the results go back
    as small tables and the engine joins them to every customer, computes the
    deciles from CLV quantiles and writes the reasons.

    With ``reasons=False`` the ``reason`` column is left out (for callers
    that only need the numbers; the benchmark measures both).

    Returns
    -------
    dict
        ``{"n_distinct": ...}`` (rows computed in NumPy).
    """
    steps = steps or Steps(None, "scoring", 1)
    steps("computing the model on distinct rows")
    triples = summary.select("frequency", "recency", "T").distinct().to_pyarrow()
    scores, spend = _score_histories(triples, transaction_model, spend_model,
                                     horizon_weeks=horizon_weeks, discount_rate=discount_rate,
                                     time_unit=time_unit)
    steps.done()
    steps("joining scores to customers in the engine")
    score_name, spend_name = f"_{table}_scores", f"_{table}_spend"
    score_tab, spend_tab = _write_score_tables(wh, triples, scores, spend,
                                               score_name=score_name, spend_name=spend_name)
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
    """The models on each distinct purchase history: expected purchases, P(alive), spend line."""
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
    """What ``score_value`` wrote to ``customer_value``, with the value deciles."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_pandas(self) -> pd.DataFrame:
        """The decile table (1 = most valuable)."""
        return pd.DataFrame(list(self.deciles))

    def __repr__(self) -> str:
        return (f"ScoreReport({self.n_customers:,} customers scored into {self.table!r} with "
                f"{self.model} over {self.horizon_weeks:g} weeks: total CLV {self.total_clv:,.0f}, "
                f"top 10% hold {self.top_decile_share:.0%}, mean P(alive) "
                f"{self.mean_prob_alive:.0%}, margin {self.margin.rate:.1%}, {self.seconds:.1f} s)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.to_pandas().to_html(index=False)


def score_value(
    ws: Workspace,
    *,
    horizon_weeks: float = 52,
    discount_rate: float = 0.01,
    progress: Progress | None = None,
) -> ScoreReport:
    """Score every customer with the stored models into the ``customer_value`` table.

    Parameters
    ----------
    horizon_weeks
        Horizon of expected purchases and CLV, in weeks.
    discount_rate
        Discount rate per week (CLV sums each week's expected purchases
        divided by ``(1 + discount_rate) ** week``).

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
    if not -1 < discount_rate < 1:
        raise ConfigError(f"discount rate: expected a weekly rate like 0.01, got {discount_rate}")
    t0 = time.perf_counter()
    fit = load_fit(ws)
    wh = ws.warehouse()
    steps = Steps(progress, "scoring customer value", 4)
    steps("summarising customers")
    orders = orders_of(wh)
    summary = summary_of(wh, time_unit=fit.time_unit, observation_end=observation_end(orders))
    stage = "_customer_value_summary"
    staged = wh.write_table(stage, summary.select(*SUMMARY_COLUMNS), scratch=True)
    margin = company_margin(wh)
    steps.done()
    currency = str(ws.config.extra.get("value", {}).get("currency_symbol", "$"))
    info = score_summary(wh, staged, fit.transaction_model(), fit.spend_model(),
                         margin=margin.rate, horizon_weeks=horizon_weeks,
                         discount_rate=discount_rate, time_unit=fit.time_unit,
                         currency=currency, steps=steps)
    wh.drop_tables(stage)
    deciles = decile_table(ws)
    total = float(deciles.clv_total.sum())
    n = int(deciles.customers.sum())
    top = deciles[deciles.value_decile == 1]
    return ScoreReport(
        n_customers=n, n_distinct=info["n_distinct"], horizon_weeks=float(horizon_weeks),
        discount_rate=float(discount_rate), margin=margin, total_clv=total,
        top_decile_share=float(top.clv_total.sum()) / total if total else float("nan"),
        mean_prob_alive=float((deciles.prob_alive_mean * deciles.customers).sum() / n),
        deciles=tuple(deciles.to_dict("records")), model=fit.model,
        seconds=round(time.perf_counter() - t0, 3),
    )


def decile_table(ws: Workspace) -> pd.DataFrame:
    """Per value decile (1 = top): customers, CLV total and mean, mean P(alive) and purchases."""
    t = ws.warehouse().table(CUSTOMER_VALUE)
    df = (t.group_by("value_decile").aggregate(
        customers=t.count(), clv_total=t.clv.sum(), clv_mean=t.clv.mean(),
        prob_alive_mean=t.prob_alive.mean(), expected_purchases_mean=t.expected_purchases.mean(),
        expected_spend_mean=t.expected_spend.mean(), frequency_mean=t.frequency.mean(),
    ).order_by("value_decile").execute())
    df["customers"] = df.customers.astype(int)
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
    """Fit and score with defaults (``make demo`` and ``outsidein analyze``).

    When the history spans at least 16 weeks, first checks the model on a
    holdout (the last third of the history, at most 26 weeks) for the report,
    then fits on the whole history and scores every customer.
    """
    wh = ws.warehouse()
    orders = orders_of(wh)
    span = orders.aggregate(lo=orders.ts.min(), hi=orders.ts.max()).execute().iloc[0]
    weeks = (pd.Timestamp(span.hi) - pd.Timestamp(span.lo)).days / 7
    holdout = None
    if weeks >= 16:
        holdout = fit_value(ws, holdout_weeks=float(min(26, round(weeks / 3))),
                            progress=progress).holdout
    fit = fit_value(ws, progress=progress)
    report = score_value(ws, progress=progress)
    return {"fit": fit.to_dict(), "score": report.to_dict(),
            "holdout": holdout.to_dict() if holdout is not None else None}
