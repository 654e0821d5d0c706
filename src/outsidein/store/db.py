"""Engine and session helpers for the store (SQLite WAL by default, PostgreSQL by URL).

Writes complete in milliseconds however many requests arrive at once:

- SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (another process's
  writer is waited for, not failed), and one writer at a time per process: a write
  session takes the process's writer lock and starts with ``BEGIN IMMEDIATE``, so two
  writers never both hold a read snapshot and then race to upgrade it (SQLite answers
  that race with "database is locked" at once, whatever the busy timeout).
- PostgreSQL: a connection pool; the database serialises what needs it.

Read sessions (``session_scope(url, write=False)``) take no lock and start a plain
``BEGIN``.  Every session commits or rolls back when its ``with`` block ends, so keep the
block short.

:func:`insert_rows` and :func:`insert_returning` write many rows at once for the hot paths
(the events API): on SQLite straight through the driver, elsewhere one SQLAlchemy Core
statement.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, Dialect, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session, sessionmaker

from outsidein.errors import BusyError

#: Milliseconds SQLite waits for another process's writer before giving up.
BUSY_TIMEOUT_MS = 10_000
#: Seconds a write session waits for this process's writer lock.
WRITER_WAIT_S = 30.0
_IMMEDIATE = "outsidein_immediate"


class StoreBusyError(BusyError):
    """The store's writer lock stayed taken for longer than :data:`WRITER_WAIT_S`."""

    http_status = 503


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions itself: _sqlite_begin does (DEFERRED or IMMEDIATE).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_dumps(value: Any) -> str:
    """JSON text for a store column: orjson (the events path writes a customer's state and a
    decision per event; the standard library took a quarter of the decider's time), the
    standard library for what orjson refuses (integers beyond 64 bits, say)."""
    try:
        return orjson.dumps(value, option=_ORJSON).decode()
    except TypeError:
        return json.dumps(value)


@lru_cache(maxsize=16)
def make_engine(url: str) -> Engine:
    """An engine for *url*, cached per URL. SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        # A connection per web thread (SQLite connections are cheap): a request never waits
        # for the pool while another holds the writer lock.
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               pool_size=20, max_overflow=100, pool_timeout=30,
                               json_serializer=json_dumps, json_deserializer=orjson.loads)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # Enough connections for the web app's thread pool (40 threads) to rarely wait.
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30,
                               pool_timeout=30, json_serializer=json_dumps,
                               json_deserializer=orjson.loads)
    return engine


class FairLock:
    """A lock that writers get in the order they asked for it (``threading.Lock`` is not fair:
    under load one writer could wait for seconds while later ones get in first).

    >>> lock = FairLock()
    >>> lock.acquire(timeout=1), lock.acquire(timeout=0.01)
    (True, False)
    >>> lock.release(); lock.acquire(timeout=0.01)
    True
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over just as the wait ended: it is ours
                return True
        return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # the next in line owns it now
            else:
                self._held = False


@lru_cache(maxsize=16)
def _writer_lock(url: str) -> FairLock:
    return FairLock()


def sessionmaker_for(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=make_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str, *, write: bool = True,
                  wait: float = WRITER_WAIT_S) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error.

    Parameters
    ----------
    url
        The store's URL.
    write
        The session may write.  On SQLite it waits for this process's writer lock (one
        writer at a time, :class:`StoreBusyError` after :data:`WRITER_WAIT_S`) and begins
        ``IMMEDIATE``.  ``False`` for sessions that only read: no lock, no waiting.
    wait
        Seconds to wait for the writer lock before :class:`StoreBusyError`.
    """
    sqlite = url.startswith("sqlite")
    lock = _writer_lock(url) if write and sqlite else None
    if lock is not None and not lock.acquire(timeout=wait):
        raise StoreBusyError(f"the store at {url} had a writer for over {wait:g} s; "
                             "try again in a moment")
    try:
        session = sessionmaker_for(url)()
        session.info["store_url"] = url
        try:
            if lock is not None:
                session.connection(execution_options={_IMMEDIATE: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def write_transaction(session: Session, *, wait: float = WRITER_WAIT_S) -> Iterator[Session]:
    """Make *session* (from a read :func:`session_scope`) write, here and now, then commit.

    The writer lock is taken, the transaction begun (``IMMEDIATE`` on SQLite), the body run
    and the commit made in the calling thread, so the lock is held only while this thread
    works (the web app's one-hop write routes: ``outsidein.web.routes._common.writes``).
    """
    url = session.info["store_url"]
    lock = _writer_lock(url) if url.startswith("sqlite") else None
    session.rollback()  # end the read snapshot: the write must see the latest commit
    if lock is not None and not lock.acquire(timeout=wait):
        raise StoreBusyError(f"the store at {url} had a writer for over {wait:g} s; "
                             "try again in a moment")
    try:
        if lock is not None:
            session.connection(execution_options={_IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        if lock is not None:
            lock.release()


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

    On SQLite: one multi-row ``INSERT ... RETURNING`` per as many rows as the driver takes
    parameters (its ``executemany`` returns no rows).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        stmt = _core_insert(session, table, conflict, ()).returning(
            *(table.c[c] for c in returning))
        return [tuple(r) for r in session.connection().execute(stmt, list(rows))]
    columns = tuple(rows[0])
    conn = _driver(session)
    per = max(1, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns))
    params = _sqlite_params(session, table, columns, rows)
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(params), per):
        chunk = params[start:start + per]
        sql = _sqlite_sql(table, columns, tuple(conflict), (), tuple(returning), len(chunk))
        out += conn.execute(sql, list(itertools.chain.from_iterable(chunk))).fetchall()
    return out


def _driver(session: Session) -> sqlite3.Connection:
    """The driver's connection under *session*, in its transaction."""
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
    convert = _sqlite_converters(session.get_bind().dialect, table, columns)
    # itemgetter of one name answers the value, not a tuple of it
    get: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
        itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],))
    if not convert:
        return [get(row) for row in rows]
    out = []
    for row in rows:
        values = list(get(row))
        for i, f in convert:
            values[i] = f(values[i])
        out.append(tuple(values))
    return out


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
    # naive UTC by the store's convention; an offset, as SQLAlchemy does, is left out
    return None if value is None else value.isoformat(" ", "microseconds")[:26]
