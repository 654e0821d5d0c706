"""The five answers as values: what each answer holds, and its JSON layout.

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
      "value_basis": "margin" | "revenue",            # what "profit" rests on (see below)
      "answers": {                                     # always the five names below
        "value" | "cost_to_serve" | "advocates" | "ideal_prospects" | "likely_converts": {
          "name": "cost_to_serve",
          "question": "Which customers cost more time, energy and money than they are worth?",
          "title": "212 customers cost $48k more than they bring",   # short, for the hub
          "headline": "212 customers (4%) cost more to serve than they bring ...",
          "missing_data": null,          # or "no service costs loaded: ...; load them with
                                         #     'outsidein load service_costs FILE'"
          "caveats": ["'profit' here is revenue: ..."],   # what the answer cannot know
          "value_basis": "margin" | "revenue",
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

``value_basis`` is ``"revenue"`` when most order lines have no product cost
(no ``unit_cost``, no product id) and ``outsidein.toml`` sets no
``[analysis] margin_rate``: customer "profit" is then revenue less discounts,
returns and cost to serve, the headlines say "revenue", and ``caveats`` names
the fix.  ``caveats`` also counts what an answer skipped (order lines without a
product id, in the product-type comparison).

Per answer (``rows`` columns / ``tables`` / main ``figures``):

* ``value``: rank, customer_id, clv, value_decile, profit, revenue, orders, reason /
  ``drivers`` (driver, kind, top_decile, rest, ratio, difference, effect,
  effect_size, top_customers, unit, top_text, rest_text, difference_text: see
  :mod:`outsidein.value.drivers`) / total_profit, top_decile_share (share of
  profit from the top 10% by profit), peak_pct_of_total, peak_customer_share,
  tail_destroys, profitable_customers, loss_makers, loss_makers_loss (whale
  curve), top_decile_clv_share, order_lines_without_product.
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

>>> import pandas as pd

>>> a = missing_answer("advocates", "Who are our advocates?", "no referrals loaded",
...                    ("marketing",), "answer_advocates")
>>> a
Answer(advocates: no referrals loaded)
>>> FiveAnswers((a,), None, None, 25, datetime(2026, 1, 1)).to_dict()["answers"][
...     "advocates"]["missing_data"]
'no referrals loaded'
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from outsidein.services.questions.insights import answer_insight
from outsidein.services.questions.results import StoredAnswers
from outsidein.services.share import InsightDraft

__all__ = ["NAMES", "JSON_VERSION", "Answer", "FiveAnswers", "NextAction", "missing_answer"]

NAMES = ("value", "cost_to_serve", "advocates", "ideal_prospects", "likely_converts")
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
    caveats: tuple[str, ...] = ()
    value_basis: str | None = None

    def to_dict(self, *, plot: bool = True) -> dict[str, Any]:
        """The answer as plain JSON types (the layout in this module's docstring)."""
        d: dict[str, Any] = {
            "name": self.name, "question": self.question, "title": self.title,
            "headline": self.headline,
            "missing_data": self.missing_data,
            "caveats": list(self.caveats), "value_basis": self.value_basis,
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
        body += "".join(f"<p><i>Note: {html.escape(c)}</i></p>" for c in self.caveats)
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
    value_basis: str | None = None

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
            "value_basis": self.value_basis,
            "answers": {a.name: a.to_dict(plot=plot) for a in self.answers},
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per answer: headline, next action (count, amount) and missing data."""
        return pd.DataFrame([{
            "name": a.name, "headline": a.headline,
            "next_action": a.next_action.text if a.next_action else None,
            "count": a.next_action.count if a.next_action else None,
            "amount": a.next_action.amount if a.next_action else None,
            "missing_data": a.missing_data,
            "caveats": "; ".join(a.caveats) or None} for a in self.answers])

    def insights(self) -> list[InsightDraft]:
        """Each answered question as an insight, built from the saved layout.

        Goes through the same JSON text as ``results/five_questions.json`` and the
        one builder (:func:`~outsidein.services.questions.insights.answer_insight`),
        so publishing from the web page or from ``outsidein analyze`` is identical.
        """
        stored = StoredAnswers.from_dict(json.loads(self.to_json()), source="five answers")
        return [answer_insight(a) for a in stored if not a.missing_data]

    def to_json(self) -> str:
        """The JSON text saved in ``results/five_questions.json`` (plots included)."""
        return json.dumps(self.to_dict(plot=True), allow_nan=False, default=str)

    def __repr__(self) -> str:
        lines = [f"FiveAnswers({len(self.answers)} answers, top {self.top_n})"]
        lines += [f"  {a!r}" for a in self.answers]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "".join(a._repr_html_() for a in self.answers)
