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

Bulk writes for the hot paths (the events API) live in :mod:`outsidein.store.bulk`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
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

