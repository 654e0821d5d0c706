"""Read-only views the pages show: stored analysis results, never recomputed on page load.

- the five answers: ``<workspace>/results/five_questions.json`` written by
  ``outsidein answer`` (:func:`outsidein.value.questions.answer_five_questions`);
- customer value: the warehouse table ``customer_value`` written by the value engine,
  read through a short-lived read-only connection so the server never holds the
  DuckDB file lock that the CLI needs to write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from outsidein.errors import ConflictError, DataValidationError, MissingDataError, NotFoundError
from outsidein.workspace import Workspace

ANSWERS_FILE = Path("results") / "five_questions.json"
HOW_TO_ANSWER = "run 'outsidein answer' in the workspace (after 'outsidein demo' or loading data)"
VALUE_TABLE = "customer_value"
HOW_TO_VALUE = "run 'outsidein value score' (or 'outsidein analyze') to fill it"
#: The value column shown and ranked on, first present wins.
VALUE_COLUMNS = ("clv", "predicted_clv", "expected_clv", "value", "profit")
REASON_COLUMNS = ("reasons", "reason", "why")


@dataclass(frozen=True)
class Answer:
    """One of the five answers as stored by ``outsidein answer``."""

    key: str
    question: str
    headline: str
    next_action: str
    missing_data: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)  # Plotly figure dicts
    numbers: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    departments: tuple[str, ...] = ()
    priority: str = "medium"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _next_action(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return str(value or "")


def _answer(key: str, entry: dict[str, Any]) -> Answer:
    figs: list[dict[str, Any]] = []
    numbers: dict[str, Any] = {}
    raw = entry.get("figures")
    if isinstance(raw, dict) and not ({"data", "layout"} & raw.keys()):
        for name, val in raw.items():
            if isinstance(val, dict) and "data" in val:
                figs.append(val)
            else:
                numbers[name] = val
    else:
        figs = [f for f in _as_list(raw) if isinstance(f, dict) and "data" in f]
    plot = entry.get("plot")
    plots = [plot] if isinstance(plot, dict) else _as_list(plot)
    figs += [f for f in plots if isinstance(f, dict) and "data" in f]
    rows = [r for r in _as_list(entry.get("rows")) if isinstance(r, dict)]
    return Answer(
        key=str(entry.get("name") or key),
        question=str(entry.get("question") or entry.get("title") or key),
        headline=str(entry.get("headline") or ""),
        next_action=_next_action(entry.get("next_action")),
        missing_data=tuple(str(m) for m in _as_list(entry.get("missing_data")) if m),
        rows=rows, figures=figs, numbers=numbers, title=str(entry.get("title") or ""),
        departments=tuple(str(d) for d in _as_list(entry.get("departments"))),
        priority=str(entry.get("priority") or "medium"))


def read_answers(ws: Workspace) -> tuple[list[Answer], dict[str, Any]] | None:
    """The stored five answers and the file's other top-level fields, or None when absent.

    The file's layout is documented in :mod:`outsidein.value.questions` (``answers`` maps
    each question's name to its headline, rows, figures, plot, next_action, missing_data).
    """
    path = ws.root / ANSWERS_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"{path}: not valid JSON ({exc}); {HOW_TO_ANSWER} again") from exc
    if not isinstance(doc, dict):
        raise DataValidationError(f"{path}: expected a JSON object; {HOW_TO_ANSWER} again")
    entries = doc.get("answers", doc)
    items = entries.items() if isinstance(entries, dict) else (
        (str(e.get("name", i + 1)), e) for i, e in enumerate(entries) if isinstance(e, dict))
    answers = [_answer(str(k), e) for k, e in items if isinstance(e, dict) and "headline" in e]
    meta = {k: v for k, v in doc.items() if k != "answers" and not (
        isinstance(v, dict) and "headline" in v)}
    return answers, meta


@contextmanager
def _warehouse_reader(ws: Workspace) -> Iterator[Any]:
    """An Ibis connection for reading: read-only DuckDB, or the workspace's own backend."""
    if ws.config.warehouse_backend != "duckdb":
        yield ws.warehouse().con
        return
    import ibis

    if not ws.warehouse_path.is_file():
        raise MissingDataError(f"no warehouse at {ws.warehouse_path}; run 'outsidein init'")
    try:
        con = ibis.duckdb.connect(str(ws.warehouse_path), read_only=True)
    except Exception as exc:  # duckdb.IOException: another process holds the write lock
        raise ConflictError("the warehouse is busy (an 'outsidein' command is writing it); "
                            "try again when it finishes") from exc
    try:
        yield con
    finally:
        con.disconnect()


def _value_table(con: Any) -> tuple[Any, str, str | None]:
    if VALUE_TABLE not in con.list_tables():
        raise MissingDataError(f"table {VALUE_TABLE!r} is not in the warehouse yet; {HOW_TO_VALUE}")
    t = con.table(VALUE_TABLE)
    value_col = next((c for c in VALUE_COLUMNS if c in t.columns), None)
    if value_col is None:
        numeric = [c for c, typ in t.schema().items() if typ.is_numeric() and c != "customer_id"]
        if not numeric:
            raise DataValidationError(f"table {VALUE_TABLE!r} has no value column "
                                      f"(expected one of {', '.join(VALUE_COLUMNS)})")
        value_col = numeric[0]
    reason_col = next((c for c in REASON_COLUMNS if c in t.columns), None)
    return t, value_col, reason_col


def _records(df: Any) -> list[dict[str, Any]]:
    for col in df.columns:  # DECIMAL columns arrive as Decimal objects; JSON needs numbers
        values = df[col].dropna()
        if df[col].dtype == object and len(values) and isinstance(values.iloc[0], Decimal):
            df[col] = df[col].astype(float)
    return json.loads(df.to_json(orient="records", date_format="iso"))


def top_customer_value(ws: Workspace, n: int = 50) -> tuple[list[dict[str, Any]], str, str | None]:
    """The *n* most valuable customers from ``customer_value``, the value and reason columns."""
    with _warehouse_reader(ws) as con:
        t, value_col, reason_col = _value_table(con)
        df = t.order_by(t[value_col].desc()).limit(n).execute()
    return _records(df), value_col, reason_col


def customer_value(ws: Workspace, customer_id: str) -> dict[str, Any]:
    """The ``customer_value`` row of one customer, or :class:`NotFoundError`."""
    with _warehouse_reader(ws) as con:
        t, _, _ = _value_table(con)
        if "customer_id" not in t.columns:
            raise DataValidationError(f"table {VALUE_TABLE!r} has no customer_id column")
        col = t["customer_id"]
        key: Any = customer_id
        if col.type().is_integer():
            try:
                key = int(customer_id)
            except ValueError:
                raise NotFoundError(f"customer {customer_id!r} not found") from None
        df = t.filter(col == key).limit(1).execute()
    rows = _records(df)
    if not rows:
        raise NotFoundError(f"customer {customer_id!r} has no row in {VALUE_TABLE!r}")
    return rows[0]
