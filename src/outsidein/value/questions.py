"""The five crucial questions, answered with evidence (service function).

:func:`answer_five_questions` reads the warehouse, answers

1. ``value``            which customers are most valuable, and why;
2. ``cost_to_serve``    which cost more than they are worth;
3. ``advocates``        who brings new business by referral;
4. ``ideal_prospects``  which prospects look like the best customers;
5. ``likely_converts``  which prospects are most likely to convert, and why;

writes the full ranked lists to the warehouse tables ``answer_value``,
``answer_cost_to_serve``, ``answer_advocates``, ``answer_ideal_prospects`` and
``answer_likely_converts`` (and every customer's margin, cost to serve by kind
and profit over the period to ``answer_customer_profit``), and the summary to
``<workspace>/results/five_questions.json``.  An answer whose data is missing
carries a ``missing_data`` message (which data, and how to load it) instead
of failing.

JSON layout (``outsidein answer --json`` prints it without the ``plot``
entries; the file keeps them).  Stable: fields are only ever added::

    {
      "version": 1,
      "generated_at": "2026-11-23T16:00:00+00:00",   # UTC, ISO 8601
      "period": {"start": "2024-01-01T00:00:00", "end": "2025-12-31T23:10:00"},
      "top_n": 25,
      "seconds": 12.3,                                 # time taken
      "answers": {                                     # always the five names below
        "value" | "cost_to_serve" | "advocates" | "ideal_prospects" | "likely_converts": {
          "name": "cost_to_serve",
          "question": "Which customers cost more time, energy and money than they are worth?",
          "title": "212 customers cost $48k more than they bring",   # short, for the hub
          "headline": "212 customers (4%) cost more to serve than they bring ...",
          "missing_data": null,          # or "no service costs loaded: ...; load them with
                                         #     'outsidein load service_costs FILE'"
          "figures": {"unprofitable_customers": 212, "loss": -48210.5, ...},  # numbers
          "next_action": {"text": "review service terms for these 212 customers: ...",
                          "count": 212, "amount": 48210.5},                 # or null
          "rows": [{"rank": 1, "customer_id": "C000123", ..., "reason": "..."}],  # top_n
          "tables": {"segments": [{...}], ...},    # supporting comparison tables
          "table": "answer_cost_to_serve",         # warehouse table with the full list
          "departments": ["service", "finance", "operations"],
          "priority": "high" | "medium" | "low",
          "plot": {...}                            # Plotly figure JSON (file only)
        }
      }
    }

Per answer (``rows`` columns / ``tables`` / main ``figures``):

* ``value``: rank, customer_id, clv, value_decile, profit, revenue, orders, reason /
  ``drivers`` (driver, top_decile, rest, ratio) / total_profit, top_decile_share
  (share of profit from the top 10% by profit), peak_pct_of_total,
  peak_customer_share, tail_destroys (whale curve), top_decile_clv_share.
* ``cost_to_serve``: rank, customer_id, profit, margin, cost_to_serve, main_cost,
  n_support, n_return, profit_at_median_cost, reason / ``segments``, ``components`` /
  unprofitable_customers, unprofitable_share, loss, median_cost_to_serve,
  whatif_profit_gain, whatif_unprofitable_profit, unprofitable_cost_<kind>.
* ``advocates``: rank, customer_id, direct, tree_size, depth, referral_score,
  direct_revenue, direct_value, advocacy_value, nps, reason / ``comparison``
  (measure, advocates, others, ratio) / referrers, referred_customers,
  top_tree_customers, top_advocacy_value, decay.
* ``ideal_prospects``: rank (among open prospects), prospect_id, score,
  score_decile (1 = top 10% of all prospects), reason / ``profile`` (attribute,
  value, customers, top_customers, support, base_share, confidence, lift) /
  prospects, open_prospects, top_decile_open_prospects, best_lift.
* ``likely_converts``: rank, prospect_id, probability (calibrated), source, reason /
  ``calibration`` (predicted, observed, prospects per bin) / auc (held-out),
  brier, trained_prospects, held_out_prospects, conversion_rate,
  expected_conversions_open, expected_conversions_top.

>>> from outsidein.value.questions import answer_five_questions
>>> answers = answer_five_questions(ws)                    # doctest: +SKIP
>>> answers["cost_to_serve"].headline                      # doctest: +SKIP
'212 customers (4%) cost more to serve than they bring ...'
"""

from __future__ import annotations

import html
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

NAMES = ("value", "cost_to_serve", "advocates", "ideal_prospects", "likely_converts")
RESULT_FILE = "five_questions.json"
JSON_VERSION = 1


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso"))


def _num(x: Any) -> Any:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


@dataclass(frozen=True)
class NextAction:
    """What to do next: words, how many customers or prospects, and the money at stake."""

    text: str
    count: int
    amount: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "count": int(self.count), "amount": round(float(self.amount), 2)}


@dataclass(frozen=True)
class Answer:
    """One of the five answers: a headline, ranked rows with reasons, figures and a plot."""

    name: str
    question: str
    headline: str
    rows: pd.DataFrame = field(repr=False)
    figures: dict[str, Any] = field(default_factory=dict, repr=False)
    next_action: NextAction | None = None
    missing_data: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    figure: Any = field(default=None, repr=False)
    departments: tuple[str, ...] = ()
    priority: str = "medium"
    table: str = ""
    title: str = ""

    def to_dict(self, *, plot: bool = True) -> dict[str, Any]:
        """The answer as plain JSON types (the layout in this module's docstring)."""
        d: dict[str, Any] = {
            "name": self.name, "question": self.question, "title": self.title,
            "headline": self.headline,
            "missing_data": self.missing_data,
            "figures": {k: _num(v) for k, v in self.figures.items()},
            "next_action": self.next_action.to_dict() if self.next_action else None,
            "rows": _records(self.rows),
            "tables": {k: _records(v) for k, v in self.tables.items()},
            "table": self.table, "departments": list(self.departments), "priority": self.priority,
        }
        if plot:
            d["plot"] = json.loads(self.figure.to_json()) if self.figure is not None else None
        return d

    def to_pandas(self) -> pd.DataFrame:
        return self.rows.copy()

    def __repr__(self) -> str:
        text = self.missing_data if self.missing_data else self.headline
        return f"Answer({self.name}: {text})"

    def _repr_html_(self) -> str:
        body = (f"<p><b>{html.escape(self.question)}</b><br>{html.escape(self.headline)}</p>")
        if self.missing_data:
            return body + f"<p><i>{html.escape(self.missing_data)}</i></p>"
        if self.next_action:
            body += f"<p>Next: {html.escape(self.next_action.text)}</p>"
        return body + self.rows.head(10).to_html(index=False)


def missing_answer(name: str, question: str, message: str, departments: tuple[str, ...],
                   table: str) -> Answer:
    """An answer that says which data is missing and how to load it."""
    return Answer(name=name, question=question, headline=f"Not answered yet: {message}",
                  rows=pd.DataFrame(), missing_data=message, departments=departments,
                  priority="low", table=table, title=f"{question} (data missing)")


@dataclass(frozen=True)
class FiveAnswers:
    """The five answers, the period they cover and when they were made."""

    answers: tuple[Answer, ...]
    period_start: datetime | None
    period_end: datetime | None
    top_n: int
    generated_at: datetime
    seconds: float = 0.0

    def __getitem__(self, name: str) -> Answer:
        for a in self.answers:
            if a.name == name:
                return a
        raise KeyError(f"no answer {name!r}; expected one of {', '.join(NAMES)}")

    def __iter__(self) -> Any:
        return iter(self.answers)

    def to_dict(self, *, plot: bool = True) -> dict[str, Any]:
        """The documented JSON layout (see the module docstring)."""
        iso = (lambda d: d.isoformat() if d is not None else None)  # noqa: E731
        return {
            "version": JSON_VERSION, "generated_at": self.generated_at.isoformat(),
            "period": {"start": iso(self.period_start), "end": iso(self.period_end)},
            "top_n": self.top_n, "seconds": round(self.seconds, 2),
            "answers": {a.name: a.to_dict(plot=plot) for a in self.answers},
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per answer: headline, next action (count, amount) and missing data."""
        return pd.DataFrame([{
            "name": a.name, "headline": a.headline,
            "next_action": a.next_action.text if a.next_action else None,
            "count": a.next_action.count if a.next_action else None,
            "amount": a.next_action.amount if a.next_action else None,
            "missing_data": a.missing_data} for a in self.answers])

    def insights(self) -> list[dict[str, Any]]:
        """Each answered question as an insight for the insight hub."""
        out = []
        for a in self.answers:
            if a.missing_data:
                continue
            statement = a.headline + (f" Next: {a.next_action.text}." if a.next_action else "")
            evidence: dict[str, Any] = {
                "figures": {k: _num(v) for k, v in a.figures.items()},
                "link": f"reports/report.html#five-questions-{a.name}",
                "table": a.table,
            }
            if a.figure is not None:
                evidence["chart"] = json.loads(a.figure.to_json())
            if a.next_action:
                evidence["next_action"] = a.next_action.to_dict()
            out.append({"key": f"five_questions.{a.name}", "title": a.title or a.question,
                        "statement": statement, "evidence": evidence,
                        "departments": list(a.departments), "priority": a.priority})
        return out

    def __repr__(self) -> str:
        lines = [f"FiveAnswers({len(self.answers)} answers, top {self.top_n})"]
        lines += [f"  {a!r}" for a in self.answers]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "".join(a._repr_html_() for a in self.answers)


# -- reading the warehouse ------------------------------------------------------------


@dataclass
class Inputs:
    """What the answers read: per-customer frames (never order lines) and small tables."""

    ws: Workspace
    period_start: datetime | None
    period_end: datetime | None
    profit: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    value: pd.DataFrame | None = None
    value_missing: str | None = None
    has_service_costs: bool = False
    query_start: datetime | None = None  # the period as asked (None: unbounded)
    query_end: datetime | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def frame(expr: Any) -> pd.DataFrame:
    """Execute an Ibis table expression into pandas (through Arrow, same on every backend)."""
    return expr.to_pyarrow().to_pandas()


def is_empty(wh: Any, name: str) -> bool:
    """True when warehouse table *name* is absent or has no rows."""
    return (not wh.has_table(name)) or wh.table(name).count().to_pyarrow().as_py() == 0


def _period_bounds(wh: Any) -> tuple[datetime | None, datetime | None]:
    t = wh.table("order_lines")
    row = frame(t.aggregate(lo=t.ts.min(), hi=t.ts.max())).iloc[0]
    lo, hi = row["lo"], row["hi"]
    return (None if pd.isna(lo) else pd.Timestamp(lo).to_pydatetime(),
            None if pd.isna(hi) else pd.Timestamp(hi).to_pydatetime())


def _customer_value(ws: Workspace) -> tuple[Any, str | None]:
    """The ``customer_value`` table as an Ibis expression (computed first when absent)."""
    wh = ws.warehouse()
    if is_empty(wh, "customer_value"):
        try:
            from outsidein.value.service import run
        except ImportError:
            return None, ("customer value is not computed yet (table customer_value is missing): "
                          "run 'outsidein value fit' first; answers use realised profit meanwhile")
        try:
            run(ws)
        except Exception as exc:  # the answers still stand on realised profit
            log.warning("customer value failed: %s", exc)
            log.debug("customer value failure", exc_info=True)
            return None, (f"customer value could not be computed ({type(exc).__name__}: {exc}); "
                          "run 'outsidein value fit'; answers use realised profit meanwhile")
        if is_empty(wh, "customer_value"):
            return None, "customer value could not be computed; run 'outsidein value fit'"
    t = wh.table("customer_value")
    cols = [c for c in VALUE_COLUMNS if c in t.columns]
    expr = t.select(*cols)
    if "reason" in cols:
        expr = expr.rename(value_reason="reason")
    return expr, None


#: per-customer margin, cost to serve by kind and profit over the period (one row each)
PROFIT_TABLE = "answer_customer_profit"
VALUE_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value",
                 "expected_purchases", "prob_alive", "clv", "value_decile", "reason")
CUSTOMER_COLUMNS = ("customer_id", "first_seen", "region", "industry", "company_size",
                    "age_band", "acquisition_channel", "nps")


def read_inputs(ws: Workspace, period_start: datetime | None,
                period_end: datetime | None) -> Inputs:
    """Aggregate and join in the warehouse; bring back one row per customer.

    Customers, their profit over the period and their predicted value are
    joined in the engine (one query), so pandas only sees the joined result.
    """
    from outsidein.value.profit import customer_profit

    wh = ws.warehouse()
    if period_start is None and period_end is None and not is_empty(wh, "order_lines"):
        shown_start, shown_end = _period_bounds(wh)
    else:
        shown_start, shown_end = period_start, period_end
    inp = Inputs(ws=ws, period_start=shown_start, period_end=shown_end,
                 query_start=period_start, query_end=period_end)
    inp.has_service_costs = not is_empty(wh, "service_costs")
    parts: dict[str, Any] = {}
    if not is_empty(wh, "order_lines") and wh.has_table("products"):
        sc = wh.table("service_costs") if inp.has_service_costs else None
        expr = customer_profit(wh.table("order_lines"), wh.table("products"), sc,
                               period_start=period_start, period_end=period_end)
        # materialised once: the join below reads it twice, and it is worth keeping
        wh.con.create_table(PROFIT_TABLE, expr, overwrite=True)
        parts["profit"] = wh.table(PROFIT_TABLE).mutate(_in_profit=True)
    if not is_empty(wh, "customers"):
        t = wh.table("customers")
        parts["customers"] = t.select(*[c for c in CUSTOMER_COLUMNS if c in t.columns]).mutate(
            _in_customers=True)
    value, inp.value_missing = _customer_value(ws)
    if value is not None:
        parts["value"] = value.mutate(_in_value=True)
    if not parts:
        return inp
    exprs = list(parts.values())
    ids = exprs[0].select("customer_id")
    for e in exprs[1:]:
        ids = ids.union(e.select("customer_id"), distinct=True)
    joined = ids.distinct()
    for e in exprs:
        joined = joined.left_join(e, "customer_id").drop("customer_id_right")
    df = frame(joined)
    for name, e in parts.items():
        flag = f"_in_{name}"
        mask = df[flag].fillna(False).astype(bool).to_numpy()
        cols = [c for c in e.columns if c != flag]
        if name == "profit":  # with the segment attributes, for cost-to-serve segments
            cols += [c for c in CUSTOMER_COLUMNS[2:] if c in df.columns and c not in cols]
        setattr(inp, name, df.loc[mask, cols].reset_index(drop=True))
        df = df.drop(columns=flag)
    inp.extras["customer_frame"] = _finish_frame(inp, df)
    return inp


def _finish_frame(inp: Inputs, df: pd.DataFrame) -> pd.DataFrame:
    end = pd.Timestamp(inp.period_end) if inp.period_end is not None else None
    if "first_order" in df.columns and end is not None:
        start = df["first_order"]
        if "first_seen" in df.columns:
            start = df["first_seen"].fillna(start)
        df["tenure_weeks"] = (end - pd.to_datetime(start)).dt.total_seconds() / (7 * 86400)
    if "channel" not in df.columns and "acquisition_channel" in df.columns:
        df["channel"] = df["acquisition_channel"]
    return df


def customer_frame(inp: Inputs) -> pd.DataFrame:
    """One row per customer: attributes, profit and predicted value (where known)."""
    if "customer_frame" in inp.extras:
        return inp.extras["customer_frame"]
    frames = [f for f in (inp.customers, inp.profit, inp.value) if f is not None]
    if not frames:
        return pd.DataFrame(columns=["customer_id"])
    df = frames[0]
    for f in frames[1:]:
        df = df.merge(f, on="customer_id", how="outer")
    inp.extras["customer_frame"] = _finish_frame(inp, df)
    return inp.extras["customer_frame"]


def write_table(ws: Workspace, name: str, df: pd.DataFrame) -> None:
    """Replace warehouse table *name* with *df* (the full ranked list)."""
    import pyarrow as pa

    wh = ws.warehouse()
    data = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    if wh.backend == "duckdb":
        # raw DuckDB: Ibis 12's create_table from memory emits a bad DROP VIEW with sqlglot 30
        con = wh.duckdb
        con.register("_oi_answer_frame", data)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _oi_answer_frame')
        finally:
            con.unregister("_oi_answer_frame")
    else:
        wh.con.create_table(name, data, overwrite=True)


def results_dir(ws: Workspace) -> Path:
    path = ws.root / "results"
    path.mkdir(exist_ok=True)
    return path


def answer_five_questions(
    ws: Workspace,
    *,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    top_n: int = 25,
    progress: Progress | None = None,
) -> FiveAnswers:
    """Answer the five crucial questions on the workspace's data and save the results.

    Parameters
    ----------
    ws
        The workspace (its warehouse holds the canonical tables and ``customer_value``).
    period_start, period_end
        Period ``[start, end)`` for profit and cost to serve; default: all order history.
    top_n
        Rows per answer in the summary (the warehouse tables hold the full lists).
    progress
        Optional Rich progress bar (the CLI passes one).

    Returns
    -------
    FiveAnswers
        Also written to ``<workspace>/results/five_questions.json`` and to the
        ``answer_*`` warehouse tables.
    """
    from outsidein.value.questions_answers import BUILDERS

    t0 = time.perf_counter()
    task = progress.add_task("five questions", total=len(NAMES) + 1) if progress else None
    inp = read_inputs(ws, period_start, period_end)
    if progress and task is not None:
        progress.advance(task)
    answers = []
    for fn in BUILDERS:
        a0 = time.perf_counter()
        answer, full = fn(inp, top_n=top_n)
        if full is not None:
            write_table(ws, answer.table, full)
        answers.append(answer)
        log.info("answer %s in %.2f s", answer.name, time.perf_counter() - a0)
        if progress and task is not None:
            progress.advance(task)
    result = FiveAnswers(tuple(answers), inp.period_start, inp.period_end, top_n,
                         datetime.now(UTC), time.perf_counter() - t0)
    path = results_dir(ws) / RESULT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_dict(plot=True), allow_nan=False, default=str),
                   encoding="utf-8")
    tmp.replace(path)
    return result


def load_five_answers(ws: Workspace) -> dict[str, Any] | None:
    """The saved ``results/five_questions.json`` (None when not answered yet)."""
    path = ws.root / "results" / RESULT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
