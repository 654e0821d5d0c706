"""A warehouse file held by another process gives a clear error, not DuckDB's raw one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from outsidein.errors import ConflictError
from outsidein.workspace import Workspace

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(60)
""")


def test_a_warehouse_in_use_elsewhere_says_so(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    path = ws.warehouse_path
    ws.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(ConflictError, match="in use by another process"):
            Workspace.open(tmp_path / "ws").warehouse()
    finally:
        holder.kill()
        holder.wait()
    # once the other process is gone the workspace opens again
    with Workspace.open(tmp_path / "ws") as again:
        assert "order_lines" in again.warehouse().list_tables()
