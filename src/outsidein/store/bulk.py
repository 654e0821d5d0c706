"""Many rows at once, for the hot paths (the events API, the outbox).

:func:`insert_rows` and :func:`insert_returning` write many rows in one go: on SQLite
straight through the driver, elsewhere one SQLAlchemy Core statement; :func:`among` is
``IN`` a long list of values as one parameter.

Why by hand on SQLite: SQLAlchemy's per-row parameter processing (its SQLite datetime
formatting above all) and its expanding ``IN`` cost more than the statements themselves on
the events path (batches of 100 events over HTTP: 4,009 -> 5,615 events/s with these and
the events path's other changes, ``benchmarks/bench_events.py``).  The values are converted
by the column types' own bind processors, and datetimes are written in SQLAlchemy's SQLite
text format, so rows written here read back through the ORM like any other.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    DateTime,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from outsidein.store.db import json_dumps

__all__ = ["among", "insert_returning", "insert_rows", "select_among"]


def among(session: Session, column: ColumnElement[Any],
          values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values bound as one parameter: a JSON array read with
    ``json_each`` on SQLite, an array (``= ANY``) on PostgreSQL.  SQLAlchemy's expanding
    ``IN`` renders and binds a parameter per value (about 2 us each: a group's 800
    customers took 2 ms to look up in an empty table)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    each = func.json_each(bindparam(None, json_dumps(list(values)), type_=String))
    return column.in_(select(each.table_valued("value").c.value))


def select_among(session: Session, table: Table, columns: Sequence[str], key: str,
                 values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The *columns* of *table*'s rows whose *key* column is among *values* (a plain
    ``SELECT``, no lock), each value as SQLAlchemy would read it.

    Why by hand on SQLite: the events path reads a group's customer states (hundreds of
    rows of JSON) in every transaction; here the driver's rows are taken as they are, with
    no SQLAlchemy statement to build and no result processing per row, and the JSON
    columns are parsed by the engine's own deserializer (orjson), as SQLAlchemy would.
    Columns that SQLAlchemy converts otherwise (datetimes) are refused.  Elsewhere: one
    SQLAlchemy Core statement.
    """
    if not values:
        return []
    if session.get_bind().dialect.name != "sqlite":
        query = select(*(table.c[c] for c in columns)).where(
            among(session, table.c[key], values))
        return [tuple(r) for r in session.connection().execute(query)]
    sql, parsers = _sqlite_select(session.get_bind().dialect, table, tuple(columns), key)
    rows = _driver(session).execute(sql, (json_dumps(list(values)),)).fetchall()
    for i, parse in parsers:  # as SQLAlchemy's SQLite JSON type: a number is kept as is
        rows = [(*r[:i], r[i] if r[i] is None or isinstance(r[i], int | float)
                 else parse(r[i]), *r[i + 1:]) for r in rows]
    return rows


@lru_cache(maxsize=64)
def _sqlite_select(dialect: Dialect, table: Table, columns: tuple[str, ...], key: str
                   ) -> tuple[str, tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The SQL of :func:`select_among` and the (position, parser) of its JSON columns."""
    sql = (f'SELECT {",".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} '
           f'FROM "{table.name}" WHERE "{key}" IN (SELECT value FROM json_each(?))')
    parsers = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, JSON):
            parsers.append((i, dialect._json_deserializer or json.loads))  # type: ignore[attr-defined]
        elif kind.dialect_impl(dialect).result_processor(dialect, None) is not None:
            raise ValueError(f"select_among: column {name!r} needs SQLAlchemy's conversion")
    return sql, tuple(parsers)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *,
                conflict: Sequence[str] = (), update: Sequence[str] = ()) -> int:
    """Insert *rows* (mappings with the same keys) into *table*, in the session's
    transaction; how many rows were written.

    With *conflict* (the columns of a unique index), a row whose key is taken is skipped
    (``ON CONFLICT DO NOTHING``) or, with *update*, updates those columns of the row there
    (``DO UPDATE``).  Columns left out are NULL: SQLAlchemy's Python-side defaults are not
    applied.

    Why by hand on SQLite: SQLAlchemy's per-row parameter processing (its SQLite datetime
    formatting above all) cost more than the insert itself on the events path; here the
    rows go to the driver's ``executemany`` converted as the column types would convert
    them.  Elsewhere: one SQLAlchemy Core statement.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name != "sqlite":
        stmt = _core_insert(session, table, conflict, update).returning(
            *table.primary_key.columns)
        return len(session.connection().execute(stmt, list(rows)).all())
    columns = tuple(rows[0])
    cur = _driver(session).cursor()
    cur.executemany(_sqlite_sql(table, columns, tuple(conflict), tuple(update), (), 1),
                    _sqlite_params(session, table, columns, rows))
    return int(cur.rowcount)


def insert_returning(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                     returning: Sequence[str], *,
                     conflict: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Insert *rows* as :func:`insert_rows` does (a taken key skipped); the *returning*
    columns of each row inserted, in no particular order (return a key to match them).

    On SQLite: multi-row ``INSERT ... RETURNING`` statements (the driver's ``executemany``
    returns no rows) of :data:`RETURNING_ROWS` rows, then one for the rest: the driver
    keeps a statement it has prepared, and one statement of all the rows, its text new for
    each count of rows, was prepared anew every time (3.8 against 1.7 us a row for an
    11-column table with a unique key, in memory).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        stmt = _core_insert(session, table, conflict, ()).returning(
            *(table.c[c] for c in returning))
        return [tuple(r) for r in session.connection().execute(stmt, list(rows))]
    columns = tuple(rows[0])
    conn = _driver(session)
    per = max(1, min(RETURNING_ROWS,
                     conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)))
    params = _sqlite_params(session, table, columns, rows)
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(params), per):
        chunk = params[start:start + per]
        sql = _sqlite_sql(table, columns, tuple(conflict), (), tuple(returning), len(chunk))
        out += conn.execute(sql, list(itertools.chain.from_iterable(chunk))).fetchall()
    return out


#: Rows per ``INSERT ... RETURNING`` on SQLite (:func:`insert_returning`): from 16 to 100
#: rows cost about the same per row; fewer, and the statements' own cost shows.
RETURNING_ROWS = 64


def _driver(session: Session) -> sqlite3.Connection:
    """The SQLite driver's connection under *session*, in its transaction."""
    conn: sqlite3.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
    return conn


def _core_insert(session: Session, table: Table, conflict: Sequence[str],
                 update: Sequence[str]) -> Any:
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = (postgresql.insert if postgres else sqlite_dialect.insert)(table)
    if conflict and update:
        return stmt.on_conflict_do_update(index_elements=list(conflict),
                                          set_={c: stmt.excluded[c] for c in update})
    return stmt.on_conflict_do_nothing(index_elements=list(conflict)) if conflict else stmt


@lru_cache(maxsize=256)
def _sqlite_sql(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...],
                update: tuple[str, ...], returning: tuple[str, ...], n_rows: int) -> str:
    one = "(" + ",".join("?" * len(columns)) + ")"
    sql = (f'INSERT INTO "{table.name}" (' + ",".join(f'"{c}"' for c in columns)
           + ") VALUES " + ",".join([one] * n_rows))
    if conflict:
        sql += " ON CONFLICT (" + ",".join(f'"{c}"' for c in conflict) + ") DO "
        sql += ("UPDATE SET " + ",".join(f'"{c}" = excluded."{c}"' for c in update)
                if update else "NOTHING")
    if returning:
        sql += " RETURNING " + ",".join(f'"{c}"' for c in returning)
    return sql


def _sqlite_params(session: Session, table: Table, columns: tuple[str, ...],
                   rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    values = [list(map(itemgetter(c), rows)) for c in columns]  # column by column: C loops
    for i, convert in _sqlite_converters(session.get_bind().dialect, table, columns):
        values[i] = list(map(convert, values[i]))
    return list(zip(*values, strict=True))


@lru_cache(maxsize=64)
def _sqlite_converters(dialect: Dialect, table: Table, columns: tuple[str, ...]
                       ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position, converter) of the columns whose values the driver cannot take as they are:
    the column type's own bind processor, but datetimes in SQLAlchemy's SQLite text format
    ("2026-03-02 10:00:00.000000") by ``isoformat`` (its ``%`` formatting was the slowest)."""
    out = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        f = (_sqlite_datetime if isinstance(kind, DateTime)
             else kind.dialect_impl(dialect).bind_processor(dialect))
        if f is not None:
            out.append((i, f))
    return tuple(out)


def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:  # its own clock reading, as SQLAlchemy stores it
        return value.isoformat(" ", "microseconds")[:26]
    return _naive_text(value)  # naive UTC: the store's convention


@lru_cache(maxsize=4096)  # a group's rows share their times (received, decided, updated)
def _naive_text(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")
