"""Helpers shared by test modules (on ``sys.path`` through pytest's ``pythonpath``).

``simulate_company`` draws a small BG/NBD company with known parameters; ``fill``
loads it into a workspace through the real loader; ``run_demo`` builds a demo
workspace with ``outsidein demo``; ``csrf_of`` reads a page's CSRF token.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.services.data import load_frame
from outsidein.workspace import Workspace

ORIGIN = datetime(2023, 1, 2)
TRUTH = {"r": 0.8, "alpha": 6.0, "a": 0.8, "b": 3.0}


def simulate_company(n: int = 1500, seed: int = 3, weeks: float = 104) -> dict[str, pd.DataFrame]:
    """A small BG/NBD company: first purchases over a year, two years of history."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    spend = rng.gamma(6.0, 10.0, n)
    start = rng.uniform(0, 52, n)
    rows = []
    for i in range(n):
        t = start[i]
        rows.append((i, t))
        while True:
            t += rng.exponential(1 / lam[i])
            if t > weeks:
                break
            rows.append((i, t))
            if rng.random() < p[i]:
                break
    cust = np.array([r[0] for r in rows])
    when = np.array([r[1] for r in rows])
    k = len(rows)
    qty = rng.integers(1, 4, k)
    orders = pd.DataFrame({
        "order_id": [f"o{j}" for j in range(k)],
        "customer_id": [f"c{i:05d}" for i in cust],
        "product_id": np.where(rng.random(k) < 0.5, "p1", "p2"),
        "ts": [ORIGIN + timedelta(weeks=float(w)) for w in when],
        "quantity": qty,
        "revenue": np.round(spend[cust] * rng.gamma(20, 1 / 20, k), 2),
        "discount": np.round(rng.choice([0.0, 5.0], k), 2),
    })
    products = pd.DataFrame({"product_id": ["p1", "p2"], "name": ["mug", "tea"],
                             "product_type": ["home", "food"], "unit_cost": [8.0, 3.0]})
    customers = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(n)]})
    return {"customers": customers, "products": products, "order_lines": orders}


def fill(ws: Workspace, data: dict[str, pd.DataFrame]) -> None:
    for table in ("customers", "products", "order_lines"):
        load_frame(ws, table, data[table], source=f"test:{table}")


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its ``<meta name="csrf-token">``."""
    m = _CSRF.search(html)
    assert m, "page has no CSRF meta tag"
    return m.group(1)


def run_demo(root: Path, *, customers: int, days: int, seed: int) -> Path:
    """``outsidein demo`` into *root* (as a user runs it); the workspace folder."""
    r = CliRunner().invoke(cli, ["--workspace", str(root), "demo", "--customers", str(customers),
                                 "--days", str(days), "--seed", str(seed)])
    assert r.exit_code == 0, r.output
    return root


def add_people(root: Path, people: list[tuple[str, str, tuple[str, ...]]], *, password: str,
               departments: tuple[str, ...] = ()) -> None:
    """Create *departments* that do not exist yet, then each ``(email, role, departments)``."""
    from outsidein.services import accounts
    from outsidein.store.db import session_scope

    ws = Workspace.open(root)
    try:
        with session_scope(ws.store_url) as s:
            known = {d.name for d in accounts.list_departments(s)}
            for dep in departments:
                if dep not in known:
                    accounts.create_department(s, dep)
            for email, role, deps in people:
                accounts.create_user(s, email=email, name=email.split("@")[0].title(),
                                     password=password, role=role, departments=list(deps))
    finally:
        ws.close()


@contextmanager
def pg_schema(postgres_url: str, prefix: str = "t") -> Iterator[str]:
    """A URL of *postgres_url* whose search path is a fresh schema, dropped (with its
    engine) afterwards: each PostgreSQL test gets a store of its own."""
    import psycopg  # the optional postgres extra; only PostgreSQL tests need it

    from outsidein.store.db import make_engine

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        make_engine(url).dispose()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


#: A catalogue of two sales offers for a customer who is deciding (sense tests: which one
#: works is planted by the test).
TWO_OFFERS = """
[[actions]]
name = "offer_a"
need = "sales"
channels = ["web"]
stages = ["deciding"]
template = "Offer A"

[[actions]]
name = "offer_b"
need = "sales"
channels = ["web"]
stages = ["deciding"]
template = "Offer B"
"""


class Post(NamedTuple):
    """One POST a :class:`Webhook` received."""

    path: str
    key: str  # its Idempotency-Key header ("" without one)
    body: dict[str, Any]
    raw: bytes = b""  # the body's bytes as received (what a signature covers)
    headers: dict[str, str] = {}  # noqa: RUF012 (a NamedTuple default, never mutated)


class Webhook:
    """A webhook receiver on 127.0.0.1 (a port the system picks): records each POST and
    answers from :attr:`script` (status codes, in order; then 200), after :attr:`delay`."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.script: list[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                time.sleep(outer.delay)
                with outer.lock:
                    outer.posts.append(Post(self.path, self.headers.get("Idempotency-Key", ""),
                                            body, raw, dict(self.headers.items())))
                    code = outer.script.pop(0) if outer.script else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hooks(self, channels: tuple[str, ...] = ("email", "web", "mobile", "call_center")
              ) -> dict[str, str]:
        """A URL per channel (``/<channel>``), as ``[sense.webhooks]`` gives them."""
        return {ch: f"{self.base}/{ch}" for ch in channels}

    def keys(self) -> list[str]:
        return [p.key for p in self.posts]

    def bodies(self) -> list[dict[str, Any]]:
        return [p.body for p in self.posts]

    def sent(self) -> list[tuple[str, str]]:
        """(channel, action) of each message posted to :meth:`hooks`, in order."""
        return [(p.path.strip("/"), p.body["action"]) for p in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
