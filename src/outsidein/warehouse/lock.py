"""Sharing a DuckDB warehouse file between one writer and short-lived readers.

DuckDB lets one process open a file for writing, or any number of processes open it
read-only, never both at once.  The web app reads the warehouse through a read-only
connection per request (milliseconds), and a load or ``value score`` needs the write
lock.  Without care, a load that starts while a page is being read fails at once
("warehouse in use"), and a steady stream of page views could keep it out for ever.

So:

- a **writer** retries for up to ``[warehouse] lock_wait`` seconds (default
  :data:`WRITER_WAIT_S`, 30) and, while it waits, keeps a small *intent* file beside
  the warehouse (``warehouse.duckdb.writer-waiting``) fresh;
- a **reader** that sees a fresh intent file steps aside (waits up to
  :data:`READER_WAIT_S`), so readers drain and the writer gets in within
  milliseconds of the last read finishing;
- a reader that meets a writer holding the file waits up to :data:`READER_WAIT_S`
  and then raises :class:`~outsidein.errors.BusyError` (HTTP 503 with
  ``Retry-After``): while a load runs, pages that read the warehouse answer "the
  warehouse is being updated, try again in a few seconds" and pages that read only
  the store work as usual.

An intent file older than :data:`INTENT_STALE_S` (its writer was killed) is ignored.

>>> from pathlib import Path
>>> intent_path(Path("acme/warehouse.duckdb")).name
'warehouse.duckdb.writer-waiting'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from outsidein.errors import BusyError, ConflictError

__all__ = ["INTENT_STALE_S", "READER_WAIT_S", "WRITER_WAIT_S", "intent_path", "open_waiting"]

#: Seconds a writer waits for readers and other writers by default.
WRITER_WAIT_S = 30.0
#: Seconds a reader waits for a writer before :class:`BusyError`.
READER_WAIT_S = 3.0
#: An intent file not refreshed for this long belongs to a writer that is gone.
INTENT_STALE_S = 5.0
_POLL_S = 0.02
_POLL_MAX_S = 0.25

T = TypeVar("T")


def intent_path(path: Path) -> Path:
    """The file a waiting writer keeps fresh beside the warehouse *path*."""
    return path.with_name(path.name + ".writer-waiting")


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _writer_waiting(intent: Path) -> bool:
    try:
        return time.time() - intent.stat().st_mtime < INTENT_STALE_S
    except FileNotFoundError:
        return False


def open_waiting(path: Path, connect: Callable[[], T], *, read_only: bool,
                 wait: float | None = None) -> T:
    """Call *connect* (which opens *path*), waiting for the file lock as described above.

    Parameters
    ----------
    path
        The DuckDB file.
    connect
        Opens it (read-only when *read_only*); raises ``duckdb.IOException`` on a lock.
    read_only
        A reader (steps aside for a waiting writer) or a writer (announces itself).
    wait
        Seconds to wait at most (default :data:`READER_WAIT_S` or :data:`WRITER_WAIT_S`).

    Raises
    ------
    BusyError
        A reader: a writer held the file for longer than *wait*.
    ConflictError
        A writer: another process held the file for longer than *wait*.
    """
    wait = (READER_WAIT_S if read_only else WRITER_WAIT_S) if wait is None else wait
    deadline = time.monotonic() + wait
    intent = intent_path(path)
    pause = _POLL_S
    announced = False
    try:
        while True:
            if read_only:
                while _writer_waiting(intent) and time.monotonic() < deadline:
                    time.sleep(_POLL_S)
            try:
                return connect()
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise
                left = deadline - time.monotonic()
                if left <= 0:  # the whole wait spent, never less: the error says how long
                    raise _gave_up(path, read_only, wait) from exc
            if not read_only:
                intent.touch()
                announced = True
            time.sleep(min(pause, left))
            pause = min(pause * 1.5, _POLL_MAX_S)
    finally:
        if announced:
            intent.unlink(missing_ok=True)


def _gave_up(path: Path, read_only: bool, wait: float) -> Exception:
    if read_only:
        return BusyError("the warehouse is being updated (a load or 'outsidein value score' "
                         "is writing it); try again in a few seconds", retry_after=5)
    return ConflictError(
        f"warehouse {path} is in use by another process (DuckDB allows one writer: a load, "
        f"'outsidein value score' or a notebook holding it open); waited {wait:g} s. Wait "
        "for it to finish or stop it, then try again (or raise [warehouse] lock_wait in "
        "outsidein.toml)")
