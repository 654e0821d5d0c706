"""The web app under load: N = 1, 2, 8 and 32 concurrent clients, SQLite and PostgreSQL.

Each client is a person with their own API keys and browser session.  It loops, for
``--seconds`` per N, over a mix of one read (``GET /api/v1/insights/{id}``), one
acknowledgement (``POST /api/v1/insights/{id}/acknowledgements``, a new row each time
until the insights run out), another read and one page view (``GET /insights/{id}``).
The server is ``uvicorn`` in its own process (one worker) on 127.0.0.1, and once more
with two worker processes at the largest N; the clients are httpx (async) in this
process, on the same cores.

Reported per store and N: throughput (requests/s), p50 and p99 latency, non-2xx and 5xx
counts.  Target: zero 5xx and p99 under 200 ms at 32 clients on SQLite.  The peer, measured
in the same run against the same server, is ``GET /healthz`` alone (HTTP + framework, no
store): the ratio says what the store and the pages cost on top.

PostgreSQL runs when ``$OUTSIDEIN_BENCH_POSTGRES_URL`` (or ``$OUTSIDEIN_TEST_POSTGRES_URL``)
names a server where a database may be created (it makes and drops ``bench_web_load``).

    python benchmarks/bench_web_load.py [--seconds 10] [--clients 1,2,8,32] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import write_result

from outsidein.services import accounts
from outsidein.services.share import publish_insight
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

PASSWORD = "correct horse battery"
SERVER = """
import sys
from pathlib import Path
import uvicorn
from outsidein.web.app import create_app
workers = int(sys.argv[3])
if workers == 1:
    uvicorn.run(create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
                log_level="warning", access_log=False)
else:  # OUTSIDEIN_WORKSPACE names the workspace for the factory
    uvicorn.run("outsidein.web.app:app_from_env", factory=True, workers=workers,
                host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_workspace(root: Path, store_url: str | None, people: int, insights: int) -> list[Any]:
    """A workspace with *people* members of one department and *insights* insights for it."""
    ws = Workspace.init(root, store_url=store_url)
    ws.close()
    with session_scope(ws.store_url) as s:
        accounts.create_department(s, "product")
        accounts.create_user(s, email="advocate@bench.test", name="Advocate", password=PASSWORD,
                             role="advocate")
        for i in range(people):
            accounts.create_user(s, email=f"p{i}@bench.test", name=f"P{i}", password=PASSWORD,
                                 role="member", departments=["product"])
    out = []
    with session_scope(ws.store_url) as s:
        for i in range(insights):
            out.append(publish_insight(s, title=f"Insight {i}", statement=f"Statement {i}.",
                                       evidence={"figures": {"n": i}},
                                       owner_email="advocate@bench.test",
                                       departments=["product"], source="bench"))
    return out


def make_keys(store_url: str, people: int) -> list[tuple[str, str]]:
    """(read key, ack key) per person, fresh for each run (so acks insert new rows)."""
    keys = []
    with session_scope(store_url) as s:
        users = {u.email: u.id for u in accounts.list_users(s)}
        for i in range(people):
            uid = users[f"p{i}@bench.test"]
            _, read = accounts.create_api_key(s, name="r", scopes=["insights:read"], user_id=uid)
            _, ack = accounts.create_api_key(s, name="a", scopes=["acks:write"], user_id=uid)
            keys.append((read, ack))
    return keys


class Server:
    """uvicorn serving the workspace in a child process."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(root), str(self.port), str(workers)],
            env={**os.environ, "OUTSIDEIN_WORKSPACE": str(root)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not start in 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


async def _login(c: httpx.AsyncClient, email: str) -> None:
    token = CSRF.search((await c.get("/login")).text)
    r = await c.post("/login", data={"email": email, "password": PASSWORD,
                                     "csrf_token": token.group(1) if token else ""})
    if r.status_code != 303:
        raise RuntimeError(f"login of {email} failed: {r.status_code}")


async def _client(c: httpx.AsyncClient, n: int, keys: tuple[str, str], insights: list[Any],
                  deadline: float, health_only: bool, out: list[tuple[float, int, str]]) -> None:
    read_h = {"Authorization": f"Bearer {keys[0]}"}
    ack_h = {"Authorization": f"Bearer {keys[1]}"}
    i = 0
    while time.monotonic() < deadline:
        ins = insights[(n * 7 + i) % len(insights)]
        t0 = time.perf_counter()
        if health_only:
            kind, r = "health", await c.get("/healthz")
        elif i % 4 in (0, 2):
            kind, r = "read", await c.get(f"/api/v1/insights/{ins.id}", headers=read_h)
        elif i % 4 == 1:
            ack = insights[(i // 4) % len(insights)]
            kind, r = "ack", await c.post(f"/api/v1/insights/{ack.id}/acknowledgements",
                                          headers=ack_h, json={"version_hash": ack.version_hash})
        else:
            kind, r = "page", await c.get(f"/insights/{ins.id}")
        out.append((time.perf_counter() - t0, r.status_code, kind))
        i += 1


def run_load(url: str, keys: list[tuple[str, str]], insights: list[Any], n: int,
             seconds: float, health_only: bool = False) -> dict[str, Any]:
    """*n* clients for *seconds*: throughput, p50/p99 (ms), non-2xx and 5xx counts.

    The clients log in first (argon2, not timed); then all start together.
    """
    out: list[tuple[float, int, str]] = []

    async def main() -> float:
        clients = [httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=False)
                   for _ in range(n)]
        try:
            if not health_only:
                for k, c in enumerate(clients):
                    await _login(c, f"p{k}@bench.test")
            t0 = time.perf_counter()
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(_client(c, k, keys[k], insights, deadline, health_only, out)
                                   for k, c in enumerate(clients)))
            return time.perf_counter() - t0
        finally:
            for c in clients:
                await c.aclose()

    wall = asyncio.run(main())
    lat = sorted(x for x, _, _ in out)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else lat * 99
    by_kind = {}
    for kind in sorted({k for _, _, k in out}):
        ks = sorted(x for x, _, k in out if k == kind)
        kq = statistics.quantiles(ks, n=100) if len(ks) >= 2 else ks * 99
        by_kind[kind] = {"requests": len(ks), "p50_ms": 1000 * statistics.median(ks),
                         "p99_ms": 1000 * kq[98]}
    return {"clients": n, "requests": len(out), "seconds": wall,
            "throughput_rps": len(out) / wall, "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * q[98], "non_2xx": sum(1 for _, s, _ in out if not 200 <= s < 300),
            "5xx": sum(1 for _, s, _ in out if s >= 500), "by_kind": by_kind}


def bench_store(label: str, root: Path, store_url: str | None, counts: list[int],
                seconds: float, peer: bool) -> dict[str, Any]:
    people = max(counts)
    insights = build_workspace(root, store_url, people, insights=400)
    ws_url = Workspace.open(root).store_url
    server = Server(root)
    results: dict[str, Any] = {"mixed": [], "peer_healthz": []}
    try:
        for n in counts:
            keys = make_keys(ws_url, n)
            row = run_load(server.url, keys, insights, n, seconds)
            results["mixed"].append(row)
            print(f"{label:10s} N={n:3d} {row['throughput_rps']:7.1f} req/s  "
                  f"p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:7.1f} ms  "
                  f"non-2xx {row['non_2xx']}  5xx {row['5xx']}", flush=True)
            if peer:
                prow = run_load(server.url, keys, insights, n, seconds, health_only=True)
                results["peer_healthz"].append(prow)
                print(f"{'  peer':10s} N={n:3d} {prow['throughput_rps']:7.1f} req/s  "
                      f"p50 {prow['p50_ms']:6.1f} ms  p99 {prow['p99_ms']:7.1f} ms  (/healthz)",
                      flush=True)
    finally:
        server.stop()
    server = Server(root, workers=2)  # the same load on two uvicorn processes (2 cores)
    try:
        n = max(counts)
        row = run_load(server.url, make_keys(ws_url, n), insights, n, seconds)
        results["two_workers"] = row
        print(f"{label:10s} N={n:3d} {row['throughput_rps']:7.1f} req/s  "
              f"p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:7.1f} ms  "
              f"non-2xx {row['non_2xx']}  5xx {row['5xx']}  (2 workers)", flush=True)
    finally:
        server.stop()
    return results


def postgres_url() -> str | None:
    return (os.environ.get("OUTSIDEIN_BENCH_POSTGRES_URL")
            or os.environ.get("OUTSIDEIN_TEST_POSTGRES_URL"))


def fresh_postgres(admin_url: str, name: str) -> str | None:
    """Create database *name* on *admin_url*'s server; its URL, or None if unreachable."""
    try:
        import psycopg  # optional heavy dependency: only when PostgreSQL is benchmarked
    except ImportError:
        return None
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {exc}", flush=True)
        return None
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(admin_url: str, name: str) -> None:
    import psycopg  # optional heavy dependency: only when PostgreSQL is benchmarked

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,2,8,32")
    parser.add_argument("--quick", action="store_true", help="3 s per N")
    args, _ = parser.parse_known_args()
    seconds = 3.0 if args.quick else args.seconds
    counts = [int(x) for x in args.clients.split(",")]
    payload: dict[str, Any] = {"seconds_per_n": seconds, "clients": counts,
                               "mix": "read, ack, read, page view (repeat)"}
    with tempfile.TemporaryDirectory() as tmp:
        payload["sqlite"] = bench_store("sqlite", Path(tmp) / "sqlite", None, counts, seconds,
                                        peer=True)
        admin = postgres_url()
        pg = fresh_postgres(admin, "bench_web_load") if admin else None
        if admin and pg:
            try:
                payload["postgresql"] = bench_store("postgresql", Path(tmp) / "pg", pg, counts,
                                                    seconds, peer=False)
            finally:
                drop_postgres(admin, "bench_web_load")
        else:
            payload["postgresql"] = "skipped: set OUTSIDEIN_BENCH_POSTGRES_URL"
    top = payload["sqlite"]["mixed"][-1]
    peer = payload["sqlite"]["peer_healthz"][-1]
    payload["figures"] = {
        "sqlite_clients": top["clients"], "sqlite_throughput_rps": top["throughput_rps"],
        "sqlite_p50_ms": top["p50_ms"], "sqlite_p99_ms": top["p99_ms"],
        "sqlite_5xx": sum(r["5xx"] for r in payload["sqlite"]["mixed"]),
        "sqlite_non_2xx": sum(r["non_2xx"] for r in payload["sqlite"]["mixed"]),
        "peer_healthz_throughput_rps": peer["throughput_rps"],
        "peer_healthz_p99_ms": peer["p99_ms"],
        "throughput_ratio_to_peer": top["throughput_rps"] / peer["throughput_rps"],
        "sqlite_two_workers_throughput_rps": payload["sqlite"]["two_workers"]["throughput_rps"],
        "sqlite_two_workers_p99_ms": payload["sqlite"]["two_workers"]["p99_ms"],
        "sqlite_two_workers_5xx": payload["sqlite"]["two_workers"]["5xx"],
    }
    if isinstance(payload["postgresql"], dict):
        pg_top = payload["postgresql"]["mixed"][-1]
        payload["figures"].update({
            "postgresql_throughput_rps": pg_top["throughput_rps"],
            "postgresql_p99_ms": pg_top["p99_ms"],
            "postgresql_5xx": sum(r["5xx"] for r in payload["postgresql"]["mixed"])})
    payload["target"] = "zero 5xx; p99 < 200 ms at 32 clients on SQLite"
    write_result("web_load" if not args.quick else "web_load_quick", payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
