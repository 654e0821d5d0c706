"""Events over HTTP: ``POST /api/v1/events`` with durable storage, load from another process.

Measured on 127.0.0.1, uvicorn (uvloop + httptools, no access log) serving a fresh
workspace with one worker and with two (``outsidein serve --workers 2``: each worker has
its own group-commit writer; customer state and the learned counts live in the store, so
any worker serves any event), the load from :mod:`_loadgen` in its own process on the same
two cores:

- **sustained single events** (closed loop, 64 connections, 60 s; ``--quick``: 3 s) and
  **batches of 100** (8 connections), in two shapes:

  - ``batch_100`` (the target's figure): each request holds events of 100 different
    customers, as a real batch from a source does (a customer-data platform's webhook
    batch, a channel's export).  Three quarters of them recur across requests (a pool of
    :data:`BATCH_TEMPLATES` x 75 customers, each heard from again every
    :data:`BATCH_TEMPLATES` requests: their state is read and moved on), the rest are new
    customers (their state row is created).
  - ``batch_100_one_customer`` (kept for comparison with earlier figures): 100 events of
    one customer at one instant per request.  It is the cheap case (one state row read and
    written per request, the customer's events decided in a row) and was the only batch
    shape measured before; it flatters the store's per-customer cost, hence the shape
    above for the target;
- **latency against offered load** (open loop): p50/p99 at each offered rate of single
  events, so the curve shows where queueing starts;
- **durability**: under load, ``kill -9`` of the server; then every event whose request got
  a 2xx must be in the store (lost = 0), and after a restart, sending them all again must
  apply none of them twice (every one answered ``duplicate``);
- on SQLite (WAL) and, when ``$OUTSIDEIN_BENCH_POSTGRES_URL`` or
  ``$OUTSIDEIN_TEST_POSTGRES_URL`` is set, on PostgreSQL (a fresh schema).

Peer, in the same run: the same server stack answering a FastAPI endpoint that does nothing
(no auth, no store) — the ceiling the HTTP layer alone allows here.  Targets (issue 12):
single events >= 2,000/s sustained for 60 s with p99 <= 100 ms and zero errors; batches of
100 >= 20,000 events/s.

    python benchmarks/bench_events.py [--seconds 10] [--quick] [--workers 1,2]
        [--only batch] [--profile DIR]

``--only batch`` measures the two batch shapes alone (SQLite, no peer, no curve, no
``kill -9``; results in ``events_batch.json``), the quick loop while working on the events
path.  ``--profile DIR`` records the server with py-spy (next to the interpreter, e.g.
``.venv/bin/py-spy``) while each batch shape runs: ``DIR/<store>_w<workers>_<shape>.txt``,
collapsed stacks (``py-spy record --format raw``: one line per stack, then its sample
count), and a summary of the functions with the most samples (``.top.txt``).  A sample is
a thread that is not idle, waiting for the GIL included, so shares are of wall time of
the busy threads, not of CPU; the run is slower while it is recorded.  Each batch shape
also reports ``server_cpu_us_per_event`` (:func:`cpu_seconds`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, write_result
from sqlalchemy import select

from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.store.models.sense import SenseEvent
from outsidein.workspace import Workspace

SERVER = """
import os, sys
from pathlib import Path
import uvicorn
from fastapi import FastAPI
port, workers = int(sys.argv[2]), int(sys.argv[3])
if sys.argv[1] == "peer":
    app = FastAPI()
    @app.post("/api/v1/events")
    async def nothing() -> dict:
        return {}
    @app.get("/healthz")
    async def health() -> dict:
        return {"ok": True}
elif workers > 1:  # as 'outsidein serve --workers N' runs them
    os.environ["OUTSIDEIN_WORKSPACE"] = sys.argv[1]
    uvicorn.run("outsidein.web.app:app_from_env", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False)
    sys.exit(0)
else:
    from outsidein.web.app import create_app
    app = create_app(Path(sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, target: str, workers: int = 1, port: int | None = None) -> None:
        self.port = port or _port()
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, target, str(self.port),
                                      str(workers)], start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).is_success:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """kill -9 the server and its workers (its whole process group)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


#: Request templates of the many-customer batch (the load generator uses them round robin).
BATCH_TEMPLATES = 64


def _event(run: str, j: int, customer: str) -> str:
    return (f'{{"event_id":"{run}{{n}}-{j}","customer_id":"{customer}","ts":'
            f'"2026-03-02T10:00:00+00:00","channel":"web","type":"product_view"}}')


def _requests(port: int, key: str, batch: int, run: str, shape: str = "customers"
              ) -> list[str]:
    """The requests, their event ids unique to this *run* (a repeated id would be answered
    as a cheaper duplicate); ``{n}`` is the request's number (:mod:`_loadgen`).

    *shape* (batches only): ``customers``, 100 different customers per request, three
    quarters of them from a pool that recurs every :data:`BATCH_TEMPLATES` requests and
    the rest new; ``one_customer``, every event of a request for one new customer.
    """
    if batch == 1:
        bodies = [_event(run, 0, "C{n}")]
    elif shape == "one_customer":
        bodies = ["[" + ",".join(_event(run, j, "C{n}") for j in range(batch)) + "]"]
    elif shape == "customers":
        recurring = batch * 3 // 4
        bodies = ["[" + ",".join(_event(run, j, f"R{t}-{j}" if j < recurring else f"N{{n}}-{j}")
                                 for j in range(batch)) + "]"
                  for t in range(BATCH_TEMPLATES)]
    else:
        raise ValueError(f"shape: expected 'customers' or 'one_customer', got {shape!r}")
    out = []
    for body in bodies:
        length = len(body.replace("{n}", "0" * 10))
        out.append(f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {length}\r\n\r\n{body}")
    return out


#: Runs ``_loadgen.py SPEC`` with SPEC read from a file: the many-customer batches' spec is
#: longer than Linux allows one command-line argument to be.
_LOADGEN_FROM_FILE = ("import runpy, sys; sys.argv = [sys.argv[2], open(sys.argv[1]).read()]; "
                      "runpy.run_path(sys.argv[0], run_name='__main__')")


def load(port: int, key: str, *, batch: int = 1, connections: int = 64, seconds: float,
         rate: float = 0, acked_path: str | None = None, shape: str = "customers"
         ) -> dict[str, Any]:
    run = f"r{uuid.uuid4().hex[:8]}-"
    spec = {"host": "127.0.0.1", "port": port, "connections": connections,
            "seconds": seconds, "rate": rate,
            "requests": _requests(port, key, batch, run, shape),
            "acked_path": acked_path}
    with tempfile.TemporaryDirectory() as tmp:  # the spec outgrows one argument (128 KiB)
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(spec))
        out = subprocess.run([sys.executable, "-c", _LOADGEN_FROM_FILE, str(path),
                              str(ROOT / "_loadgen.py")],
                             capture_output=True, text=True, timeout=seconds + 120, check=True)
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["run"] = run
    res["batch"] = batch
    if batch > 1:
        res["shape"] = shape
    res["events_per_s"] = res["achieved_rps"] * batch
    res["errors"] = sum(v for k, v in res["statuses"].items() if k != "200")
    return res


def workspace(root: Path, store_url: str | None) -> tuple[Path, str]:
    ws = Workspace.init(root, store_url=store_url)
    ws.close()
    with session_scope(ws.store_url) as s:
        _, key = accounts.create_api_key(s, name="bench", scopes=["events:write"])
    return root, key


def stored_events(root: Path) -> set[str]:
    """The event ids in the workspace's store."""
    ws = Workspace.open(root)
    try:
        with session_scope(ws.store_url, write=False) as s:
            return set(s.scalars(select(SenseEvent.event_id)))
    finally:
        ws.close()


def durability(root: Path, store_url: str | None, *, seconds: float = 6.0) -> dict[str, Any]:
    """kill -9 under load, on a fresh workspace; count the acknowledged events lost, then
    resend them all after a restart and count those applied again."""
    root, key = workspace(root, store_url)
    server = Server(str(root))
    acked_file = root / "acked.txt"
    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(load, server.port, key, seconds=seconds,
                                  acked_path=str(acked_file))
            time.sleep(seconds / 2)
            server.kill()
            res = running.result()
    finally:
        if server.proc.poll() is None:
            server.stop()
    acked = {f"{res['run']}{int(n):010d}-0" for n in acked_file.read_text().split()}
    stored = {e for e in stored_events(root) if e.startswith(res["run"])}
    again = Server(str(root))
    try:
        twice = 0
        ids = sorted(acked)
        for i in range(0, len(ids), 1000):  # everything acknowledged, sent again
            body = [{"event_id": e, "customer_id": "C" + e[len(res["run"]):].split("-")[0],
                     "ts": "2026-03-02T10:00:00+00:00", "channel": "web",
                     "type": "product_view"} for e in ids[i:i + 1000]]
            r = httpx.post(f"http://127.0.0.1:{again.port}/api/v1/events", json=body,
                           headers={"Authorization": f"Bearer {key}"}, timeout=60)
            r.raise_for_status()
            twice += r.json()["applied"]
    finally:
        again.stop()
    return {"acknowledged": len(acked), "lost": len(acked - stored),
            "stored_not_acknowledged": len(stored - acked), "applied_twice": twice,
            "answers_before_kill": res["statuses"]}


def cpu_seconds(group: int) -> float:
    """CPU seconds (user + system) used so far by the processes of process group *group*
    (the server and its workers), from ``/proc``; 0.0 where there is no ``/proc``.

    The server's CPU per event is steadier than its throughput on shared cores: it does
    not move with what else runs there."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # fields from the state on: pgrp is the third
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def with_cpu(server: Server, run: Any) -> dict[str, Any]:
    """*run()* (a :func:`load`), with the server's CPU microseconds per event answered."""
    before = cpu_seconds(server.proc.pid)
    res: dict[str, Any] = run()
    used = cpu_seconds(server.proc.pid) - before
    res["server_cpu_us_per_event"] = 1e6 * used / max(res["answered"] * res["batch"], 1)
    return res


class Profile:
    """py-spy recording the server (and its workers) while a load runs, when *folder* is set:
    collapsed stacks in ``folder/name.txt`` and the functions with the most samples, self
    and inclusive, in ``folder/name.top.txt``."""

    def __init__(self, folder: Path | None, name: str, pid: int) -> None:
        self.path = folder / f"{name}.txt" if folder else None
        self.pid = pid
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profile:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            spy = Path(sys.executable).with_name("py-spy")
            self.proc = subprocess.Popen(
                [str(spy), "record", "--format", "raw", "--subprocesses", "--nonblocking",
                 "-r", "200", "-o", str(self.path), "--pid", str(self.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # py-spy attaches
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.path is None:
            return
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on ^C
        self.proc.wait(timeout=60)
        self.path.with_suffix(".top.txt").write_text(top_functions(self.path))


def top_functions(path: Path, n: int = 40) -> str:
    """The *n* functions with the most samples in a collapsed-stack file, self and
    inclusive, as a share of all samples (idle threads are not sampled)."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    # a line is "frame;frame;... count"; with --subprocesses the first frame is the
    # process and its command line, which runs over several lines (the server's -c script)
    text = re.sub(r'^process \d+:".*?";', "", path.read_text(), flags=re.S | re.M)
    for stack, count in re.findall(r"^(.*) (\d+)$", text, flags=re.M):
        k = int(count)
        total += k
        frames = [f.rsplit(":", 1)[0] for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + k
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + k

    def table(counts: dict[str, int]) -> str:
        rows = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
        return "\n".join(f"{100 * c / max(total, 1):5.1f}%  {f}" for f, c in rows)

    return (f"{total} samples\n\nself:\n{table(own)}\n\ninclusive:\n"
            f"{table(inclusive)}\n")


def run_store(label: str, root: Path, store_url: str | None, seconds: float,
              sustained: float, rates: list[int], workers: int, *, only: str = "all",
              profile: Path | None = None) -> dict[str, Any]:
    root, key = workspace(root, store_url)
    server = Server(str(root), workers)
    tag = f"{label}_w{workers}"
    try:
        load(server.port, key, seconds=2)  # warm-up: imports, the writer thread, caches
        single = (with_cpu(server, lambda: load(server.port, key, seconds=sustained))
                  if only == "all" else None)
        with Profile(profile, f"{tag}_batch_100", server.proc.pid):
            batches = with_cpu(server, lambda: load(server.port, key, batch=100,
                                                    connections=8, seconds=seconds))
        with Profile(profile, f"{tag}_batch_100_one_customer", server.proc.pid):
            one_customer = with_cpu(server, lambda: load(
                server.port, key, batch=100, connections=8, seconds=seconds,
                shape="one_customer"))
        curve = ([load(server.port, key, seconds=seconds, rate=r) for r in rates]
                 if only == "all" else [])
    finally:
        server.stop()
    print(f"{label}, {workers} worker(s): " + (
        f"single {single['events_per_s']:.0f} ev/s p99 {single['p99_ms']:.0f} ms; "
        if single else "") + f"batches {batches['events_per_s']:.0f} ev/s, server CPU "
          f"{batches['server_cpu_us_per_event']:.0f} us/event (one customer per batch "
          f"{one_customer['events_per_s']:.0f} ev/s, "
          f"{one_customer['server_cpu_us_per_event']:.0f} us/event)", flush=True)
    out = {"workers": workers, "single": single, "batch_100": batches,
           "batch_100_one_customer": one_customer,
           "latency_vs_offered_load": curve}
    if only == "batch":
        return out
    if workers == 1:
        out["durability_kill_9"] = durability(root.with_name(root.name + "-kill9"), store_url)
        print(f"{label}: kill -9 under load: {out['durability_kill_9']}", flush=True)
    return out


def _pg_runs(pg: str, seconds: float, sustained: float, rates: list[int],
             workers: list[int]) -> dict[str, Any]:
    import psycopg  # optional extra: only the PostgreSQL part needs it

    out: dict[str, Any] = {}
    for n in workers:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in pg else "?"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out[f"workers_{n}"] = run_store(
                    "postgresql", Path(tmp) / "pg", f"{pg}{sep}options=-csearch_path%3D{schema}",
                    seconds, sustained, rates, n)
        finally:
            with psycopg.connect(pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--sustained", type=float, default=60.0,
                    help="seconds of the sustained single-event run")
    ap.add_argument("--workers", default="1,2", help="uvicorn worker counts to measure")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["all", "batch"], default="all",
                    help="'batch': the two batch shapes on SQLite alone")
    ap.add_argument("--profile", type=Path, default=None,
                    help="folder for py-spy profiles of the server under the batch loads")
    args = ap.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    sustained = 3.0 if args.quick else args.sustained
    workers = [int(w) for w in args.workers.split(",")]
    rates = [500, 1000, 2000] if args.quick else [250, 500, 1000, 1500, 2000, 2500, 3000]
    if args.only == "batch":
        batch_only(seconds, workers, args.profile)
        return
    peer = Server("peer")
    try:
        peer_single = load(peer.port, "none", seconds=seconds)
    finally:
        peer.stop()
    result: dict[str, Any] = {"seconds_per_point": seconds, "sustained_seconds": sustained,
                              "peer": {"what": "FastAPI endpoint that does nothing, same "
                                               "uvicorn settings", "single": peer_single},
                              "sqlite": {}}
    for n in workers:
        with tempfile.TemporaryDirectory() as tmp:
            result["sqlite"][f"workers_{n}"] = run_store(
                "sqlite", Path(tmp) / "sqlite", None, seconds, sustained, rates, n)
    pg = os.environ.get("OUTSIDEIN_BENCH_POSTGRES_URL") or os.environ.get(
        "OUTSIDEIN_TEST_POSTGRES_URL")
    if pg:
        result["postgresql"] = _pg_runs(pg, seconds, sustained, rates, workers)
    figure: dict[str, Any] = {"peer_noop_requests_per_s": peer_single["achieved_rps"]}
    for store in ("sqlite", "postgresql"):
        for key, run in result.get(store, {}).items():
            tag = f"{store}_{key}"
            figure[f"{tag}_single_events_per_s"] = run["single"]["events_per_s"]
            figure[f"{tag}_single_p99_ms"] = run["single"]["p99_ms"]
            figure[f"{tag}_single_errors"] = run["single"]["errors"]
            figure[f"{tag}_batch100_events_per_s"] = run["batch_100"]["events_per_s"]
            figure[f"{tag}_batch100_one_customer_events_per_s"] = (
                run["batch_100_one_customer"]["events_per_s"])
            figure[f"{tag}_ratio_to_peer"] = (run["single"]["achieved_rps"]
                                              / peer_single["achieved_rps"])
            if "durability_kill_9" in run:
                d = run["durability_kill_9"]
                figure[f"{tag}_kill9_acknowledged"] = d["acknowledged"]
                figure[f"{tag}_kill9_lost"] = d["lost"]
                figure[f"{tag}_kill9_applied_twice"] = d["applied_twice"]
    result["figure"] = figure
    write_result("events" + ("_quick" if args.quick else ""), result)


def batch_only(seconds: float, workers: list[int], profile: Path | None) -> None:
    """The batch shapes alone, on SQLite (``--only batch``)."""
    result: dict[str, Any] = {"seconds_per_point": seconds, "sqlite": {}}
    for n in workers:
        with tempfile.TemporaryDirectory() as tmp:
            result["sqlite"][f"workers_{n}"] = run_store(
                "sqlite", Path(tmp) / "sqlite", None, seconds, 0.0, [], n, only="batch",
                profile=profile)
    result["figure"] = {
        f"sqlite_{key}_{shape}_{what}": run[shape][what]
        for key, run in result["sqlite"].items()
        for shape in ("batch_100", "batch_100_one_customer")
        for what in ("events_per_s", "server_cpu_us_per_event")}
    write_result("events_batch", result)


if __name__ == "__main__":
    main()
