"""Reads never block a load: the web app reading the warehouse while the CLI loads into it.

Against a real uvicorn server and real ``outsidein load`` processes: two clients read pages
that open the DuckDB warehouse (read-only, per request) without pause while three loads run
one after another.  Every load must succeed within seconds, and no read may get a 5xx other
than a 503 "being updated" with ``Retry-After``.  While another process holds the write lock
for longer than a reader waits, a read answers that 503 with words a person understands.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx

from outsidein.warehouse.lock import READER_WAIT_S, intent_path

OUTSIDEIN = [sys.executable, "-m", "outsidein"]


def _customers_csv(path: Path, start: int, n: int) -> Path:
    lines = ["customer_id,name,signup_date"]
    lines += [f"L{i},Customer {i},2024-01-{1 + i % 28:02d}" for i in range(start, start + n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _reader(client: httpx.Client, paths: list[str], stop: threading.Event,
            seen: list[tuple[int, float, str]]) -> None:
    deadline = time.monotonic() + 60
    i = 0
    while not stop.is_set() and time.monotonic() < deadline and i < 5000:
        path = paths[i % len(paths)]
        t0 = time.monotonic()
        r = client.get(path)
        seen.append((r.status_code, time.monotonic() - t0, r.headers.get("retry-after", "")))
        i += 1


def test_loads_succeed_while_pages_read_the_warehouse(site, tmp_path):
    readers = [site.login("viewer"), site.login("admin")]
    key = site.api_key("value:read")
    api = site.client(headers={"Authorization": f"Bearer {key}"})
    stop = threading.Event()
    seen: list[tuple[int, float, str]] = []
    threads = [threading.Thread(target=_reader, args=(c, ["/value", "/admin"], stop, seen))
               for c in readers]
    threads.append(threading.Thread(target=_reader, args=(
        api, ["/api/v1/customers/L1/value"], stop, seen)))
    for t in threads:
        t.start()
    took: list[float] = []
    try:
        time.sleep(0.5)
        for k in range(3):
            src = _customers_csv(tmp_path / f"c{k}.csv", k * 2000, 2000)
            t0 = time.monotonic()
            done = subprocess.run([*OUTSIDEIN, "-w", str(site.ws.root), "load", "customers",
                                   str(src)], capture_output=True, text=True, timeout=120)
            took.append(time.monotonic() - t0)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "in use" not in done.stdout + done.stderr
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    statuses = [s for s, _, _ in seen]
    assert len(seen) > 30, "the readers did not run alongside the loads"
    server_errors = [s for s in statuses if s >= 500 and s != 503]
    assert not server_errors, f"reads answered {server_errors[:5]}"
    assert all(ra for s, _, ra in seen if s == 503), "a 503 without Retry-After"
    assert max(took) < 30, f"a load waited too long for the readers: {took}"
    # once the loads are done the readers see the new customers
    assert api.get("/api/v1/customers/L5999/value").status_code in (200, 404, 409)
    assert not intent_path(site.ws.warehouse_path).exists()


HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def test_a_read_during_a_long_write_says_so_and_recovers(site):
    api = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"})
    viewer = site.login("viewer")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(site.ws.warehouse_path),
                               str(READER_WAIT_S + 4)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        r = api.get("/api/v1/customers/L1/value")
        waited = time.monotonic() - t0
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) > 0
        assert "being updated" in r.json()["detail"]
        assert READER_WAIT_S - 0.5 <= waited < READER_WAIT_S + 3
        page = viewer.get("/value")
        assert page.status_code == 503 and "being updated" in page.text
        assert "Retry-After" in page.headers
    finally:
        holder.wait(timeout=30)
    assert api.get("/api/v1/customers/L1/value").status_code != 503
