"""Scoring customers in the warehouse: model maths on distinct rows, joins in the engine.

:func:`score_summary` pulls only the distinct ``(frequency, recency, T)``
rows and distinct frequencies of a customer summary, evaluates the models on
them in NumPy (:func:`score_triples`, :func:`spend_line`), sends the results
back as small tables and lets the engine join them to every customer, draw
the CLV deciles and write the plain-words reasons into ``customer_value``.
The same code runs on DuckDB and Spark; no step pulls all customers.

>>> from outsidein.value.scoring import model_from_params, score_triples
>>> m = model_from_params("BetaGeo", {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259})
>>> out = score_triples(m, np.array([2.0]), np.array([30.43]), np.array([38.86]),
...                     horizon_weeks=39, discount_rate=0.0, unit_days=7)
>>> round(float(out["expected_purchases"][0]), 3)
1.226
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from outsidein.value.reasons import assemble_reason, history_phrases

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from rich.progress import Progress

    from outsidein.warehouse.engine import Warehouse

log = logging.getLogger(__name__)

__all__ = ["CUSTOMER_VALUE", "SUMMARY_COLUMNS", "Steps", "drop_tables", "model_from_params",
           "new_model", "score_summary", "score_triples", "spend_line", "write_table"]

CUSTOMER_VALUE = "customer_value"
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
#: above this many customers the decile boundaries come from a sample
EXACT_DECILES_MAX = 2_000_000
DECILE_SAMPLE_ROWS = 1_000_000

_MODEL_MODULES = {"BetaGeo": "btyd", "ModifiedBetaGeo": "btyd", "ParetoNBD": "btyd",
                  "GammaGamma": "spend"}


def new_model(class_name: str) -> Any:
    module = importlib.import_module(f"outsidein.value.{_MODEL_MODULES[class_name]}")
    return getattr(module, class_name)()


def model_from_params(class_name: str, params: dict[str, float]) -> Any:
    """A model of class *class_name* ready to predict with the given fitted *params*."""
    model = new_model(class_name)
    model.params_ = dict(params)
    return model


def score_triples(model: Any, f: np.ndarray, r: np.ndarray, T: np.ndarray, *,
                  horizon_weeks: float, discount_rate: float, unit_days: float
                  ) -> dict[str, np.ndarray]:
    """P(alive), expected purchases over the horizon and discounted expected purchases.

    For BG/NBD, MBG/NBD and Pareto/NBD the conditional expectation factors
    as ``P(alive | x, t_x, T) * g(t; x, T)``: given that a customer is alive,
    the future depends on the history only through ``x`` and ``T``.  So the
    expensive hypergeometric part runs once per distinct ``(x, T)`` pair and
    per weekly step, and only the cheap ``P(alive)`` per distinct triple.  The
    factorisation is checked on a sample; a model without it is evaluated
    directly.  Weekly discounting: the purchases expected in week *k* count
    ``1 / (1 + discount_rate) ** k``.
    """
    step = 7.0 / unit_days  # one week in model time units
    n_steps = int(np.ceil(horizon_weeks - 1e-9))
    weeks = np.minimum(np.arange(1, n_steps + 1, dtype=float), horizon_weeks)
    t = weeks * step
    disc = (1.0 + discount_rate) ** -np.arange(1, n_steps + 1, dtype=float)
    pa = model.prob_alive(f, r, T)
    t_codes, t_values = pd.factorize(T, sort=False)
    x_codes, x_values = pd.factorize(f, sort=False)
    codes, pair_keys = pd.factorize(x_codes.astype(np.int64) * len(t_values) + t_codes,
                                    sort=False)
    xu = np.asarray(x_values, dtype=float)[pair_keys // len(t_values)]
    Tu = np.asarray(t_values, dtype=float)[pair_keys % len(t_values)]
    ru = np.where(xu > 0, Tu, 0.0)
    pa_u = model.prob_alive(xu, ru, Tu)
    sample = np.random.default_rng(0).choice(f.size, size=min(f.size, 256), replace=False)
    if np.all(pa_u > 1e-200):
        g = model.expected_purchases(t[None, :], xu[:, None], ru[:, None], Tu[:, None])
        g = g / pa_u[:, None]
        direct = model.expected_purchases(t[-1], f[sample], r[sample], T[sample])
        if np.allclose(direct, pa[sample] * g[codes[sample], -1], rtol=1e-7, atol=1e-12):
            inc = np.diff(g, axis=1, prepend=0.0)
            return {"prob_alive": pa, "expected_purchases": pa * g[codes, -1],
                    "discounted_purchases": pa * (inc @ disc)[codes]}
    log.info("model %s does not factor; scoring %d rows directly", type(model).__name__, f.size)
    ep = np.zeros((f.size, n_steps))
    for k in range(n_steps):
        ep[:, k] = model.expected_purchases(t[k], f, r, T)
    inc = np.diff(ep, axis=1, prepend=0.0)
    return {"prob_alive": pa, "expected_purchases": ep[:, -1], "discounted_purchases": inc @ disc}


def spend_line(model: Any, frequencies: np.ndarray) -> dict[str, np.ndarray]:
    """Gamma-Gamma's expected spend as ``base + weight * mean_spend`` per distinct frequency.

    The conditional expectation is linear in the observed mean spend (a
    weighted average of it and the population mean), so two evaluations per
    frequency give it exactly; with no repeat purchase the weight is 0 and
    the base is the population mean.
    """
    freqs = np.asarray(frequencies, dtype=float)
    at0 = model.expected_spend(freqs, np.zeros_like(freqs))
    at1 = model.expected_spend(freqs, np.ones_like(freqs))
    return {"frequency": freqs, "base": at0, "weight": at1 - at0}


class Steps:
    """Advance one Rich progress task through named steps (no-op without a bar)."""

    def __init__(self, progress: Progress | None, title: str, total: int) -> None:
        self.progress, self.title, self.total, self.completed = progress, title, total, 0
        self.task = progress.add_task(title, total=total) if progress is not None else None

    def __call__(self, what: str) -> None:
        log.info("%s: %s", self.title, what)
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=f"{self.title}: {what}")

    def done(self) -> None:
        self.completed += 1
        if self.progress is not None and self.task is not None:
            final = self.completed >= self.total
            self.progress.update(self.task, advance=1,
                                 description=self.title if final else None)


def write_table(wh: Warehouse, name: str, obj: Any, *, scratch: bool = False) -> ir.Table:
    """Create or replace table *name* in the engine from an Ibis expression or a frame.

    ``scratch=True`` marks a working table dropped after use: on DuckDB it is
    an in-memory temporary table (several times cheaper to write than a
    table in the file).  On Spark a frame is written through
    ``spark.createDataFrame`` (a Parquet table under the workspace's
    ``spark-warehouse``) rather than an Ibis memtable, which would leave a
    temporary view behind in the catalog.
    """
    if wh.backend == "pyspark" and not isinstance(obj, ibis.Expr):
        frame = obj.to_pandas() if isinstance(obj, pa.Table) else obj
        wh.spark.createDataFrame(frame).write.mode("overwrite").format("parquet") \
            .saveAsTable(name)
        return wh.con.table(name)
    temp = scratch and wh.backend == "duckdb"
    return wh.con.create_table(name, obj, overwrite=True, temp=temp) if temp \
        else wh.con.create_table(name, obj, overwrite=True)


def drop_tables(wh: Warehouse, *names: str) -> None:
    """Drop working tables (scratch or not) if they exist."""
    for name in names:
        if wh.backend == "duckdb":
            wh.duckdb.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
        if wh.has_table(name):
            wh.con.drop_table(name, force=True)


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
    f = triples["frequency"].to_numpy().astype(float)
    r = triples["recency"].to_numpy().astype(float)
    T = triples["T"].to_numpy().astype(float)
    per_unit = 7.0 if time_unit == "weeks" else 1.0
    scores = score_triples(transaction_model, f, r, T, horizon_weeks=horizon_weeks,
                                   discount_rate=discount_rate, unit_days=per_unit)
    spend = spend_line(spend_model, np.unique(f))
    steps.done()
    steps("joining scores to customers in the engine")
    score_name, spend_name = f"_{table}_scores", f"_{table}_spend"
    key_types = {"frequency": triples.schema.field("frequency").type,
                 "recency": triples.schema.field("recency").type,
                 "T": triples.schema.field("T").type}
    score_tab = write_table(wh, score_name, pa.table({
        "frequency": triples["frequency"], "recency": triples["recency"], "T": triples["T"],
        **{k: pa.array(v, pa.float64()) for k, v in scores.items()}}), scratch=True)
    spend_tab = write_table(wh, spend_name, pa.table({
        "frequency": pa.array(spend["frequency"]).cast(key_types["frequency"]),
        "spend_base": pa.array(spend["base"], pa.float64()),
        "spend_weight": pa.array(spend["weight"], pa.float64())}), scratch=True)
    # phrases that depend only on the history: computed per distinct row, in the engine
    phrases = history_phrases(score_tab, time_unit=time_unit, horizon_weeks=horizon_weeks)
    if reasons:
        score_tab = score_tab.mutate(_cadence=phrases["cadence"], _tail=phrases["tail"])
    else:
        score_tab = score_tab.mutate(_cadence=ibis.literal(""), _tail=ibis.literal(""))
    base = summary.select(*SUMMARY_COLUMNS)
    scored = _join_scores(base, score_tab, spend_tab, margin)
    # deciles: exact CLV quantiles; above EXACT_DECILES_MAX customers, from a sample
    n_rows = int(base.count().to_pyarrow().as_py())
    sample = scored
    if n_rows > EXACT_DECILES_MAX:  # a deterministic sample: every k-th customer by id hash
        every = max(1, round(n_rows / DECILE_SAMPLE_ROWS))
        sample = _join_scores(base.filter(base.customer_id.hash() % every == 0),
                              score_tab, spend_tab, margin)
    steps.done()
    steps("value deciles and reasons")
    with _bulk_writes(wh):
        cuts = _decile_cuts(sample)
        decile = 1 + sum(((scored.clv < c).cast("int64") for c in cuts), ibis.literal(0))
        ranked = scored.mutate(value_decile=decile.cast("int64"))
        numbers = (*SUMMARY_COLUMNS, "expected_purchases", "prob_alive", "expected_spend",
                   "clv", "value_decile")
        final = ranked.select(*numbers, reason=assemble_reason(
            ranked, cadence=ranked._cadence, tail=ranked._tail, currency=currency)
        ) if reasons else ranked.select(*numbers)
        write_table(wh, table, final)
    drop_tables(wh, score_name, spend_name)
    steps.done()
    return {"n_distinct": int(len(f))}


def _join_scores(base: ir.Table, scores: ir.Table, spend: ir.Table, margin: float) -> ir.Table:
    """Every customer of *base* with the scores of its history row and its CLV."""
    joined = base.join(scores, ["frequency", "recency", "T"]).join(spend, "frequency")
    money = joined.monetary_value.cast("float64").fill_null(0)
    expected_spend = joined.spend_base + joined.spend_weight * money
    return joined.select(
        *SUMMARY_COLUMNS,
        expected_purchases=joined.expected_purchases,
        prob_alive=joined.prob_alive,
        expected_spend=expected_spend,
        clv=float(margin) * expected_spend * joined.discounted_purchases,
        _cadence=joined._cadence, _tail=joined._tail,
    )


@contextmanager
def _bulk_writes(wh: Warehouse) -> Iterator[None]:
    """On DuckDB, let a big CREATE TABLE AS write rows in any order (much faster, less memory)."""
    if wh.backend != "duckdb":
        yield
        return
    con = wh.duckdb
    before = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


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
