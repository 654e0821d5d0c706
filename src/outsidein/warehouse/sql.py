"""Small DuckDB SQL helpers shared by the loader and the rollup: quoting and counting rows.

>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute(f"CREATE TABLE {q('my table')} AS SELECT {lit('a b')} AS word")
>>> count_rows(con, q("my table"))
1
"""

from __future__ import annotations

from typing import Any

__all__ = ["count_rows", "lit", "q"]


def q(name: str) -> str:
    """Quote an SQL identifier for DuckDB.

    >>> print(q("order id"), q('a"b'))
    "order id" "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """An SQL string literal.

    >>> print(lit("O'Brien"))
    'O''Brien'
    """
    return "'" + text.replace("'", "''") + "'"


def count_rows(con: Any, relation: str, *, at_most: int | None = None) -> int:
    """Rows of *relation* on the DuckDB connection *con*, counting no further than *at_most*.

    *relation* is a table name or a parenthesised query, optionally followed
    by a ``WHERE`` clause.  ``count_rows(con, rel, at_most=1) == 0`` asks
    whether it is empty without counting a big table.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> count_rows(con, "range(1000)"), count_rows(con, "range(1000) WHERE range < 10")
    (1000, 10)
    >>> count_rows(con, "range(1000)", at_most=1)
    1
    """
    if at_most is not None:
        relation = f"(SELECT 1 FROM {relation} LIMIT {int(at_most)})"
    return int(con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0])
