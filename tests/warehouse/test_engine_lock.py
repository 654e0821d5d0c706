"""A warehouse file held by another process gives a clear error, not DuckDB's raw one."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time

import pytest

from outsidein.config import read_config, write_config
from outsidein.errors import BusyError, ConflictError
from outsidein.warehouse.engine import Warehouse
from outsidein.warehouse.lock import intent_path
from outsidein.workspace import Workspace

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == "ro")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def _hold(path, seconds: float, mode: str = "rw") -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds), mode],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_a_warehouse_in_use_elsewhere_says_so(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    path = ws.warehouse_path
    ws.close()
    cfg = read_config(tmp_path / "ws")
    write_config(tmp_path / "ws", dataclasses.replace(cfg, warehouse_lock_wait=1))
    holder = _hold(path, 60)
    try:
        t0 = time.monotonic()
        with pytest.raises(ConflictError, match=r"in use by another process.*waited 1 s"):
            Workspace.open(tmp_path / "ws").warehouse()
        assert 0.8 < time.monotonic() - t0 < 5
    finally:
        holder.kill()
        holder.wait()
    # once the other process is gone the workspace opens again
    with Workspace.open(tmp_path / "ws") as again:
        assert "order_lines" in again.warehouse().list_tables()


def test_a_writer_waits_for_a_reader_and_gets_in(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    path = ws.warehouse_path
    ws.close()
    reader = _hold(path, 2, "ro")  # a page being read, slowly
    try:
        t0 = time.monotonic()
        with Workspace.open(tmp_path / "ws") as again:
            assert "customers" in again.warehouse().list_tables()
            waited = time.monotonic() - t0
    finally:
        reader.wait(timeout=30)
    assert 1.0 < waited < 10, waited
    assert not intent_path(path).exists()


def test_readers_step_aside_for_a_waiting_writer(tmp_path):
    """A writer announced by a fresh intent file is not kept out by a stream of new readers."""
    ws = Workspace.init(tmp_path / "ws")
    path = ws.warehouse_path
    ws.close()
    intent_path(path).touch()
    t0 = time.monotonic()
    reader = Warehouse.open("duckdb", root=tmp_path / "ws", path=path, read_only=True)
    reader.close()
    assert time.monotonic() - t0 > 1.0  # it waited for the writer (up to READER_WAIT_S)
    intent_path(path).unlink()


def test_a_reader_meets_a_long_write_with_busy(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    path = ws.warehouse_path
    ws.close()
    holder = _hold(path, 8)
    try:
        with pytest.raises(BusyError, match="being updated") as err:
            Warehouse.open("duckdb", root=tmp_path / "ws", path=path, read_only=True)
        assert err.value.http_status == 503 and err.value.retry_after
    finally:
        holder.kill()
        holder.wait()
