"""Planted tables for the explorable-table tests (tests/web/test_tables*.py, test_labels.py):
a customer_value table and two saved answers with their full lists in the warehouse.

Every expected value in the tests is computed from :data:`CUSTOMERS` / :data:`PROSPECTS`
here, by plain Python, never by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

N_CUSTOMERS = 120
N_PROSPECTS = 60
#: The customer whose reason starts like a spreadsheet formula.
FORMULA_ID = "C0007"
FORMULA_REASON = '=HYPERLINK("http://evil.test","click")'


def _customer(i: int) -> dict[str, Any]:
    return {"customer_id": f"C{i:04d}", "frequency": i % 9, "recency": 10.0 + i / 7,
            "T": 60.0 + i / 3, "monetary_value": 20.0 + (i * 13) % 90,
            "expected_purchases": 1.0 + (i % 11) / 2, "prob_alive": round(0.2 + (i % 80) / 100, 4),
            "expected_spend": 19.5 + (i * 13) % 90,
            # planted: all distinct, not in id order
            "clv": float((i * 37) % N_CUSTOMERS) * 10 + 5.25,
            "value_decile": 1 + ((i * 37) % N_CUSTOMERS) * 10 // N_CUSTOMERS,
            "reason": FORMULA_REASON if i == 7 else
            f"buys every {2 + i % 5} weeks, last seen {i} days ago"}


CUSTOMERS: list[dict[str, Any]] = [_customer(i) for i in range(1, N_CUSTOMERS + 1)]
PROSPECTS: list[dict[str, Any]] = [
    {"rank": i if i % 4 else None, "prospect_id": f"P{i:03d}",
     "probability": round(0.9 - i / 100, 3), "source": "trade_show" if i % 3 else "web_form",
     "reason": f"visited pricing {i % 5} times", "status": "open" if i % 4 else "converted",
     "split": "train" if i % 2 else "test", "converted": i % 4 == 0}
    for i in range(1, N_PROSPECTS + 1)]

VALUE_FIGURES = {"customers": N_CUSTOMERS, "total_profit": 5144805.2,
                 "peak_pct_of_total": 105.206088, "tail_destroys": 267843.08,
                 "top_decile_share": 0.422932, "whatif_profit_gain": 363043.455}
CONVERT_FIGURES = {"auc": 0.720408, "brier": 0.191929, "conversion_rate": 0.333417,
                   "trained_prospects": 40, "held_out_prospects": 20}
DRIVERS = [{"driver": "margin", "kind": "measure", "top_text": "$1.1k", "rest_text": "$225",
            "difference_text": "+$882", "ratio": 4.9, "effect": 3.2},
           {"driver": "orders", "kind": "measure", "top_text": "21.9", "rest_text": "8.2",
            "difference_text": "+13.7", "ratio": 2.7, "effect": 1.9}]


def _answer(name: str, table: str, rows: list[dict[str, Any]], figures: dict[str, Any],
            tables: dict[str, Any], title: str, action: str) -> dict[str, Any]:
    return {"name": name, "question": f"question {name}?", "title": title,
            "headline": f"headline of {name}", "missing_data": None, "figures": figures,
            "next_action": {"text": action, "count": 25, "amount": 2724.93}, "rows": rows,
            "tables": tables, "table": table, "departments": ["sales"], "priority": "high"}


def plant(ws_root: Path, warehouse: Path) -> None:
    """Write ``customer_value``, ``answer_value`` and ``answer_likely_converts`` and the
    saved answers (their first 25 rows only, as ``outsidein answer`` saves them)."""
    con = duckdb.connect(str(warehouse))
    try:
        for name, rows in (("customer_value", CUSTOMERS), ("answer_likely_converts", PROSPECTS)):
            frame = pd.DataFrame(rows)  # noqa: F841  (read by DuckDB by name)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")
        ranked = sorted(CUSTOMERS, key=lambda r: -r["clv"])
        value_rows = [{"rank": k + 1, "customer_id": r["customer_id"], "clv": r["clv"],
                       "profit": r["clv"] / 2, "reason": r["reason"]}
                      for k, r in enumerate(ranked)]
        frame = pd.DataFrame(value_rows)  # noqa: F841
        con.execute("CREATE OR REPLACE TABLE answer_value AS SELECT * FROM frame")
    finally:
        con.close()
    doc = {"version": 1, "generated_at": "2026-11-28T10:00:00+00:00",
           "period": {"start": None, "end": None}, "top_n": 25, "seconds": 1.0,
           "answers": {
               "value": _answer("value", "answer_value", value_rows[:25], VALUE_FIGURES,
                                {"drivers": DRIVERS}, "Top customers",
                                "protect the top-decile customers"),
               "likely_converts": _answer(
                   "likely_converts", "answer_likely_converts",
                   [{k: p[k] for k in ("rank", "prospect_id", "probability", "source",
                                       "reason")} for p in PROSPECTS if p["rank"]][:25],
                   CONVERT_FIGURES, {}, "25 prospects likely to convert",
                   "call these 25 prospects first")}}
    (ws_root / "results").mkdir(exist_ok=True)
    (ws_root / "results" / "five_questions.json").write_text(json.dumps(doc))
