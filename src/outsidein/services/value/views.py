"""Customer value as the web app reads it: stored results, never recomputed on page load.

The warehouse table ``customer_value`` (written by ``outsidein value score``) is
read through a short-lived read-only connection, so the server never holds the
DuckDB file lock that the CLI needs to write.

>>> rows, value_col, reason_col = top_customer_value(ws, 10)      # doctest: +SKIP
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from outsidein.errors import DataValidationError, MissingDataError, NotFoundError
from outsidein.services.value.scoring import CUSTOMER_VALUE
from outsidein.workspace import Workspace

__all__ = ["HOW_TO_VALUE", "customer_value", "top_customer_value", "value_columns",
]

HOW_TO_VALUE = "run 'outsidein value score' (or 'outsidein analyze') to fill it"
#: The value column shown and ranked on, first present wins.
VALUE_COLUMNS = ("clv", "predicted_clv", "expected_clv", "value", "profit")
REASON_COLUMNS = ("reasons", "reason", "why")


def _value_table(con: Any) -> tuple[Any, str, str | None]:
    if CUSTOMER_VALUE not in con.list_tables():
        raise MissingDataError(
            f"table {CUSTOMER_VALUE!r} is not in the warehouse yet; {HOW_TO_VALUE}")
    t = con.table(CUSTOMER_VALUE)
    value_col = next((c for c in VALUE_COLUMNS if c in t.columns), None)
    if value_col is None:
        numeric = [c for c, typ in t.schema().items() if typ.is_numeric() and c != "customer_id"]
        if not numeric:
            raise DataValidationError(f"table {CUSTOMER_VALUE!r} has no value column "
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
    with ws.reader() as con:
        t, value_col, reason_col = _value_table(con)
        df = t.order_by(t[value_col].desc()).limit(n).execute()
    return _records(df), value_col, reason_col


def value_columns(ws: Workspace) -> tuple[str, str | None]:
    """The names of ``customer_value``'s value column (ranked on) and reason column (or None).

    Raises
    ------
    MissingDataError
        ``outsidein value score`` has not run yet.
    """
    with ws.reader() as con:
        _, value_col, reason_col = _value_table(con)
    return value_col, reason_col


def customer_value(ws: Workspace, customer_id: str) -> dict[str, Any]:
    """The ``customer_value`` row of one customer, or :class:`NotFoundError`."""
    with ws.reader() as con:
        t, _, _ = _value_table(con)
        if "customer_id" not in t.columns:
            raise DataValidationError(f"table {CUSTOMER_VALUE!r} has no customer_id column")
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
        raise NotFoundError(f"customer {customer_id!r} has no row in {CUSTOMER_VALUE!r}")
    return rows[0]
