"""The insight lists at scale: 4,000 insights, one client, the pages and the API one by one.

What a person waits for when the hub holds many insights: the insights page
(``GET /insights``), the overview (``GET /``: the advocate's acknowledgement progress, a
member's to-do), one insight's page (``GET /insights/{id}``: its "next awaiting" link) and
the API list (``GET /api/v1/insights``, its default page, and the ones awaiting
acknowledgement).  The workspace has ``--insights`` insights (default 4,000) for one
department of ten members; the first member has acknowledged every other one, so "awaiting"
filters for real.  The server is ``uvicorn`` in its own process on 127.0.0.1 (as in
``bench_web_load.py``); each request is timed ``--repeat`` times after one untimed call,
one at a time, and the median is reported (ms).  Peer, in the same run: ``GET /healthz``
on the same server (what a request costs with no store and no template); each figure's
``ratio_to_peer`` is its median over the peer's.

    python benchmarks/bench_insight_lists.py [--insights 4000] [--repeat 15] [--keep DIR]

``--keep DIR`` builds the workspace in DIR once and reuses it on the next run (the same
data before and after a change).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import write_result
from bench_web_load import CSRF, PASSWORD, Server, build_workspace

from outsidein.services import accounts
from outsidein.services.share import acknowledge
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

PEOPLE = 10


def build(root: Path, insights: int) -> None:
    """The workspace: *insights* insights, PEOPLE members; p0 acknowledged every other one."""
    published = build_workspace(root, None, PEOPLE, insights)
    ws = Workspace.open(root)
    with session_scope(ws.store_url) as s:
        p0 = next(u.id for u in accounts.list_users(s) if u.email == "p0@bench.test")
        for ins in published[::2]:
            acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=p0)
    ws.close()


def login(url: str, email: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=120, follow_redirects=False)
    token = CSRF.search(c.get("/login").text)
    r = c.post("/login", data={"email": email, "password": PASSWORD,
                               "csrf_token": token.group(1) if token else ""})
    if r.status_code != 303:
        raise RuntimeError(f"login of {email} failed: {r.status_code}")
    return c


def timed(c: httpx.Client, path: str, repeat: int) -> dict[str, Any]:
    """Median and spread (ms) of *repeat* GETs of *path*, after one untimed; its size."""
    first = c.get(path)
    if first.status_code != 200:
        raise RuntimeError(f"{path}: {first.status_code} {first.text[:300]}")
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = c.get(path)
        out.append(1000 * (time.perf_counter() - t0))
        r.raise_for_status()
    return {"median_ms": statistics.median(out), "min_ms": min(out), "max_ms": max(out),
            "bytes": len(first.content), "total_header": first.headers.get("x-total-count")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insights", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.keep or Path(tmp)) / f"insights-{args.insights}"
        if not (root / "outsidein.toml").exists():
            t0 = time.perf_counter()
            build(root, args.insights)
            print(f"built {args.insights} insights in {time.perf_counter() - t0:.0f} s",
                  flush=True)
        ws = Workspace.open(root)
        with session_scope(ws.store_url) as s:
            p0 = next(u.id for u in accounts.list_users(s) if u.email == "p0@bench.test")
            _, key = accounts.create_api_key(s, name="bench", scopes=["insights:read"],
                                             user_id=p0)
        ws.close()
        server = Server(root)
        try:
            member = login(server.url, "p0@bench.test")
            advocate = login(server.url, "advocate@bench.test")
            api = httpx.Client(base_url=server.url, timeout=120,
                               headers={"Authorization": f"Bearer {key}"})
            cases = {
                "insights page (member)": (member, "/insights"),
                "overview (advocate)": (advocate, "/"),
                "overview (member)": (member, "/"),
                "one insight page (member: next awaiting)": (member, "/insights/2"),
                "api list (default page)": (api, "/api/v1/insights"),
                "api list awaiting acknowledgement": (api,
                                                      "/api/v1/insights?awaiting_ack_only=true"),
            }
            results = {}
            for name, (client, path) in cases.items():
                results[name] = {"path": path, **timed(client, path, args.repeat)}
                r = results[name]
                print(f"{name:45s} {r['median_ms']:8.1f} ms  (min {r['min_ms']:.1f}, "
                      f"max {r['max_ms']:.1f}; {r['bytes']:,} bytes)", flush=True)
            # the peer, in the same run: the server's cheapest answer (no store, no template)
            peer = {"path": "/healthz", **timed(api, "/healthz", args.repeat)}
            print(f"{'peer: /healthz':45s} {peer['median_ms']:8.1f} ms", flush=True)
            for r in results.values():
                r["ratio_to_peer"] = round(r["median_ms"] / peer["median_ms"], 1)
            for c in (member, advocate, api):
                c.close()
        finally:
            server.stop()
    write_result("insight_lists", {"insights": args.insights, "people": PEOPLE,
                                   "repeat": args.repeat, "results": results,
                                   "peer": {"name": "GET /healthz, same server, same run",
                                            **peer}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
