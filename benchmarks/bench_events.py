"""Events over HTTP: ``POST /api/v1/events`` with durable storage, load from another process.

Measured on 127.0.0.1, uvicorn (one worker, uvloop + httptools) serving a fresh workspace,
the load from :mod:`_loadgen` in its own process on the same two cores:

- **max throughput**, single events and batches of 100 (closed loop, 64 connections);
- **latency against offered load** (open loop): p50/p99 at each offered rate of single
  events, so the curve shows where queueing starts;
- on SQLite (WAL) and, when ``$OUTSIDEIN_BENCH_POSTGRES_URL`` or
  ``$OUTSIDEIN_TEST_POSTGRES_URL`` is set, on PostgreSQL (a fresh schema).

Peer, in the same run: the same server stack answering a FastAPI endpoint that does nothing
(no auth, no store) — the ceiling the HTTP layer alone allows here.  Targets (issue 12):
single events >= 2,000/s sustained with p99 <= 100 ms and zero errors; batches of 100 >=
20,000 events/s.

    python benchmarks/bench_events.py [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, write_result

from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

SERVER = """
import sys
from pathlib import Path
import uvicorn
from fastapi import FastAPI
if sys.argv[1] == "peer":
    app = FastAPI()
    @app.post("/api/v1/events")
    async def nothing() -> dict:
        return {}
    @app.get("/healthz")
    async def health() -> dict:
        return {"ok": True}
else:
    from outsidein.web.app import create_app
    app = create_app(Path(sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            access_log=False)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, target: str) -> None:
        self.port = _port()
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, target, str(self.port)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _request(port: int, key: str, batch: int) -> str:
    def one(j: int) -> str:
        return (f'{{"event_id":"e{{n}}-{j}","customer_id":"C{{n}}","ts":'
                f'"2026-03-02T10:00:00+00:00","channel":"web","type":"product_view"}}')
    body = one(0) if batch == 1 else "[" + ",".join(one(j) for j in range(batch)) + "]"
    length = len(body.replace("{n}", "0" * 10))
    return (f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n{body}")


def load(port: int, key: str, *, batch: int = 1, connections: int = 64, seconds: float,
         rate: float = 0) -> dict[str, Any]:
    spec = {"host": "127.0.0.1", "port": port, "connections": connections,
            "seconds": seconds, "rate": rate, "requests": [_request(port, key, batch)]}
    out = subprocess.run([sys.executable, str(ROOT / "_loadgen.py"), json.dumps(spec)],
                         capture_output=True, text=True, timeout=seconds + 120, check=True)
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["batch"] = batch
    res["events_per_s"] = res["achieved_rps"] * batch
    res["errors"] = sum(v for k, v in res["statuses"].items() if k != "200")
    return res


def workspace(root: Path, store_url: str | None) -> tuple[Path, str]:
    ws = Workspace.init(root, store_url=store_url)
    ws.close()
    with session_scope(ws.store_url) as s:
        _, key = accounts.create_api_key(s, name="bench", scopes=["events:write"])
    return root, key


def run_store(label: str, root: Path, store_url: str | None, seconds: float,
              rates: list[int]) -> dict[str, Any]:
    root, key = workspace(root, store_url)
    server = Server(str(root))
    try:
        load(server.port, key, seconds=2)  # warm-up: imports, the writer thread, caches
        single = load(server.port, key, seconds=seconds)
        batches = load(server.port, key, batch=100, connections=8, seconds=seconds)
        curve = [load(server.port, key, seconds=seconds, rate=r) for r in rates]
    finally:
        server.stop()
    print(f"{label}: single {single['events_per_s']:.0f} ev/s p99 {single['p99_ms']:.0f} ms; "
          f"batches {batches['events_per_s']:.0f} ev/s", flush=True)
    return {"single": single, "batch_100": batches, "latency_vs_offered_load": curve}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    rates = [500, 1000, 2000] if args.quick else [250, 500, 1000, 1500, 2000, 2500, 3000]
    peer = Server("peer")
    try:
        peer_single = load(peer.port, "none", seconds=seconds)
    finally:
        peer.stop()
    result: dict[str, Any] = {"seconds_per_point": seconds,
                              "peer": {"what": "FastAPI endpoint that does nothing, same "
                                               "uvicorn settings", "single": peer_single}}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = run_store("sqlite", Path(tmp) / "sqlite", None, seconds, rates)
    pg = os.environ.get("OUTSIDEIN_BENCH_POSTGRES_URL") or os.environ.get(
        "OUTSIDEIN_TEST_POSTGRES_URL")
    if pg:
        import psycopg  # optional extra: only the PostgreSQL part needs it

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in pg else "?"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                result["postgresql"] = run_store(
                    "postgresql", Path(tmp) / "pg", f"{pg}{sep}options=-csearch_path%3D{schema}",
                    seconds, rates)
        finally:
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    s = result["sqlite"]["single"]
    result["figure"] = {"sqlite_single_events_per_s": s["events_per_s"],
                        "sqlite_single_p99_ms": s["p99_ms"],
                        "sqlite_batch100_events_per_s":
                            result["sqlite"]["batch_100"]["events_per_s"],
                        "peer_noop_requests_per_s": peer_single["achieved_rps"],
                        "ratio_to_peer": s["achieved_rps"] / peer_single["achieved_rps"]}
    write_result("events" + ("_quick" if args.quick else ""), result)


if __name__ == "__main__":
    main()
