"""A load is atomic: killing the process (SIGKILL) or Ctrl-C (SIGINT) mid-load changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from outsidein.services.data import load_file
from outsidein.warehouse.schema import LOADS, QUARANTINE, ROLLUP_SPECS, TABLES
from outsidein.workspace import Workspace

ROWS = 1_000_000

CHILD = textwrap.dedent("""
    import sys
    from outsidein.workspace import Workspace
    from outsidein.services.data import load_file

    def tick(step, done, total):
        print(step, flush=True)

    ws = Workspace.open(sys.argv[1])
    try:
        load_file(ws, "order_lines", sys.argv[2], progress=tick)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print("committed", flush=True)
""")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "orders_big.csv"
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT 'b' || i AS order_id, 'c' || (i % 50000) AS customer_id,
                     'p' || (i % 300) AS product_id,
                     TIMESTAMP '2023-01-01' + to_seconds(i * 17) AS ts,
                     1 + i % 4 AS quantity,
                     CASE WHEN i % 1000 = 7 THEN 'oops' ELSE CAST(round(5 + (i % 97) * 1.25, 2)
                          AS VARCHAR) END AS revenue
              FROM range({ROWS}) t(i)) TO '{path}' (HEADER, DELIMITER ',')
    """)
    con.close()
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Row count and a content digest of every table."""
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for name in (*TABLES, QUARANTINE.name, LOADS.name, *(s.name for s in ROLLUP_SPECS)):
            out[name] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(CAST(x AS VARCHAR), '|' "
                f"ORDER BY CAST(x AS VARCHAR)), '')) FROM (SELECT t AS x FROM {name} t)"
            ).fetchone()
        return out
    finally:
        con.close()


@pytest.fixture
def loaded_ws(tmp_path) -> Path:
    ws = Workspace.init(tmp_path / "ws")
    small = tmp_path / "small.csv"
    small.write_text("order_id,customer_id,product_id,ts,quantity,revenue\n"
                     "s1,c1,p1,2024-01-01,1,2.5\ns2,c2,p1,2024-01-02,1,bad\n")
    load_file(ws, "order_lines", small)
    ws.close()
    return ws.root


def interrupt_at_write(root: Path, csv: Path, sig: int) -> tuple[int, list[str]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(csv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.strip())
        if line.strip() == "writing":
            proc.send_signal(sig)
            break
    out, err = proc.communicate(timeout=120)
    seen += out.split()
    return proc.returncode, seen


@pytest.mark.slow
def test_sigkill_mid_load_leaves_every_table_unchanged(loaded_ws, big_csv):
    before = snapshot(loaded_ws)
    code, seen = interrupt_at_write(loaded_ws, big_csv, signal.SIGKILL)
    assert code == -signal.SIGKILL and "committed" not in seen
    assert snapshot(loaded_ws) == before
    # the warehouse recovers and the same file is not taken as already loaded
    ws = Workspace.open(loaded_ws)
    r = load_file(ws, "order_lines", big_csv)
    ws.close()
    assert (r.loaded, r.quarantined) == (ROWS - ROWS // 1000, ROWS // 1000)


@pytest.mark.slow
def test_ctrl_c_mid_load_rolls_back(loaded_ws, big_csv):
    before = snapshot(loaded_ws)
    code, seen = interrupt_at_write(loaded_ws, big_csv, signal.SIGINT)
    assert code == 130 and "interrupted" in seen and "committed" not in seen
    assert snapshot(loaded_ws) == before
