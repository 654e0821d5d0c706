"""A live Outside-In server for the web tests: real uvicorn on 127.0.0.1, real SQLite store.

Each test module gets its own workspace, seeded with five people (one per role, two
departments), one insight addressed to both departments, and the server running in a
thread on a free port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn

from oi_testkit import csrf_of, pg_schema
from outsidein.services import accounts, share
from outsidein.services.share import publish_insight
from outsidein.store.db import session_scope
from outsidein.web.app import create_app
from outsidein.workspace import Workspace

PASSWORD = "correct horse battery"
#: key -> (e-mail, role, departments)
PEOPLE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "admin": ("admin@acme.test", "admin", ()),
    "advocate": ("advocate@acme.test", "advocate", ()),
    "member": ("member@acme.test", "member", ("product",)),
    "sales": ("sales@acme.test", "member", ("sales",)),
    "viewer": ("viewer@acme.test", "viewer", ("product",)),
}
ROLE_USER = {"admin": "admin", "advocate": "advocate", "member": "member", "viewer": "viewer"}
class LiveServer:
    """uvicorn serving *app* in a daemon thread on an OS-chosen free port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws="none", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class Site:
    """The running app, its workspace and the seeded records."""

    #: Constants of the seeded site, for the test modules (which cannot import conftest).
    PEOPLE: ClassVar[dict[str, tuple[str, str, tuple[str, ...]]]] = PEOPLE
    ROLE_USER: ClassVar[dict[str, str]] = ROLE_USER
    PASSWORD: ClassVar[str] = PASSWORD

    url: str
    app: Any
    ws: Workspace
    insight_id: int
    insight_hash: str
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kw: Any) -> httpx.Client:
        c = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, **kw)
        self.clients.append(c)
        return c

    def login(self, who: str) -> httpx.Client:
        """A client logged in as PEOPLE[who]; ``c.headers['X-CSRF-Token']`` is set."""
        c = self.client()
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"email": PEOPLE[who][0], "password": PASSWORD,
                                   "csrf_token": token, "next": "/"})
        assert r.status_code == 303, r.text
        c.headers["X-CSRF-Token"] = csrf_of(c.get("/").text)
        return c

    @staticmethod
    def csrf_of(html: str) -> str:
        return csrf_of(html)

    def api_key(self, *scopes: str, user: str | None = None) -> str:
        with session_scope(self.ws.store_url) as s:
            uid = None
            if user:
                uid = next(u.id for u in accounts.list_users(s) if u.email == PEOPLE[user][0])
            _, secret = accounts.create_api_key(s, name="test", scopes=scopes, user_id=uid)
        return secret

    def publish(self, **kw: Any) -> Any:
        args: dict[str, Any] = {"evidence": {}, "owner_email": PEOPLE["advocate"][0],
                                "departments": ["product", "sales"], "priority": "high",
                                "source": "test", "key": None, "due_days": 7}
        args.update(kw)
        with session_scope(self.ws.store_url) as s:
            return publish_insight(s, **args)


def seed(ws: Workspace) -> None:
    with session_scope(ws.store_url) as s:
        for dep in ("product", "sales"):
            accounts.create_department(s, dep)
        for email, role, deps in PEOPLE.values():
            accounts.create_user(s, email=email, name=email.split("@")[0].title(),
                                 password=PASSWORD, role=role, departments=deps)


def seed_loop(ws: Workspace, insight_id: int) -> None:
    """Needs, plans/messages/training and one Ask-Listen-Learn-Act chain."""
    with session_scope(ws.store_url) as s:
        share.add_need(s, code="N1", title="Delivery within 48 hours", importance=9,
                       satisfaction=4, evidence={"complaints": 212})
        share.add_need(s, code="N2", title="One contact who knows my account", importance=8,
                       satisfaction=5)
        share.add_need(s, code="N3", title="Clear invoices", importance=5, satisfaction=6)
        share.add_item(s, kind="plan", title="Regional micro-warehouses", needs={"N1": "full"})
        share.add_item(s, kind="message", title="Fast delivery campaign", needs={"N1": "partial"})
        share.add_item(s, kind="training", title="Account ownership for reps",
                       needs={"N2": "full"})
        share.add_item(s, kind="message", title="Brand refresh", needs={})
        q = share.ask(s, text="Why do top customers leave?", asked_by_email=PEOPLE["advocate"][0],
                      audience="lapsed top-decile customers", channel="phone")
        share.listen(s, question_id=q.id, summary="Late deliveries after a complaint",
                     source="call centre")
        share.learn(s, question_id=q.id, insight_id=insight_id, note="complaint handling")
        share.act(s, insight_id=insight_id, title="24-hour call-back rule",
                  owner_email=PEOPLE["member"][0], department="product", due="2030-01-31",
                  kpi="top-decile churn %", kpi_baseline=12.0, kpi_target=8.0)


@contextmanager
def serve_site(root: Path, store_url: str | None = None) -> Iterator[Site]:
    """A workspace at *root* (store at *store_url*, default SQLite) with PEOPLE, one insight
    and a filled loop, served by a live uvicorn."""
    ws = Workspace.init(root, store_url=store_url)
    ws.close()
    seed(ws)
    app = create_app(root)
    with LiveServer(app) as server:
        s = Site(url=server.url, app=app, ws=ws, insight_id=0, insight_hash="")
        ins = s.publish(title="Top 10% of customers bring 62% of profit",
                        statement="Call a top customer back within 24 hours of a complaint.",
                        evidence={"figures": {"share_of_profit_top_decile": 0.62,
                                              "customers": 1200},
                                  "chart": {"data": [{"type": "bar", "x": ["top 10%", "rest"],
                                                      "y": [62, 38]}],
                                            "layout": {"title": {"text": "Share of profit"}}},
                                  "link": "/answers", "snapshot_id": "demo-2026-11",
                                  "next_action": {"text": "call 120 top customers this week",
                                                  "count": 120, "amount": 5400.0}})
        s.insight_id, s.insight_hash = ins.id, ins.version_hash
        seed_loop(ws, ins.id)
        yield s
        for c in s.clients:
            c.close()
    ws.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(tmp_path_factory.mktemp("web") / "acme") as s:
        yield s


@pytest.fixture(scope="module")
def pg_site(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Site]:
    """:func:`site` with its store in a fresh PostgreSQL schema (dropped after)."""
    with pg_schema(postgres_url, "web") as url, \
            serve_site(tmp_path_factory.mktemp("web-pg") / "acme", store_url=url) as s:
        yield s


@pytest.fixture(scope="session")
def live_server() -> type[LiveServer]:
    """The LiveServer class, for modules that serve an app of their own."""
    return LiveServer


@pytest.fixture(scope="session")
def chromium_args(request: pytest.FixtureRequest) -> list[str]:
    """CHROMIUM_ARGS of tests/conftest.py (conftest modules cannot be imported by name)."""
    root = Path(__file__).resolve().parents[1] / "conftest.py"
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) and Path(plugin.__file__).resolve() == root:
            return list(plugin.CHROMIUM_ARGS)
    raise RuntimeError("tests/conftest.py with CHROMIUM_ARGS not loaded")


@pytest.fixture(scope="module")
def browser(chromium_path: str, chromium_args: list[str]) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright  # optional test dependency: browser tests only

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=chromium_args, headless=True)
        yield b
        b.close()
