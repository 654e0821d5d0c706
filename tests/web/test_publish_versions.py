"""Regression: publishing an answer from the web page and from ``outsidein analyze`` is the
same insight (one builder), so neither path adds a version that nothing changed.

Before the fix the page built the insight with its own link and evidence: publish from the
web, then ``analyze`` again, and every department was asked to acknowledge twice more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from oi_testkit import csrf_of, run_demo
from outsidein.cli import app as cli
from outsidein.services.share import get_insight_by_key, list_versions
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("versions") / "acme"
    run_demo(root, customers=800, days=400, seed=5)
    with live_server(create_app(root)) as server:
        yield server.url, Workspace.open(root)


@contextmanager
def _advocate(url: str) -> Iterator[httpx.Client]:
    # An httpx client cannot be entered after it sent a request: log in inside the block.
    with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"email": "advocate@demo.outsidein",
                                   "password": "outsidein-demo", "csrf_token": token, "next": "/"})
        assert r.status_code == 303, r.text
        c.headers["X-CSRF-Token"] = csrf_of(c.get("/").text)
        yield c


def _versions(ws: Workspace, name: str) -> list[Any]:
    with session_scope(ws.store_url) as s:
        insight = get_insight_by_key(s, f"five_questions.{name}")
        return list(list_versions(s, insight.id))


@pytest.mark.parametrize("name", ["value", "cost_to_serve"])
def test_web_publish_then_analyze_adds_no_version(demo: Any, name: str) -> None:
    url, ws = demo
    before = _versions(ws, name)  # `outsidein demo` published every answer once
    with _advocate(url) as c:
        r = c.post(f"/answers/{name}/publish", data={"csrf_token": c.headers["X-CSRF-Token"]})
    assert r.status_code == 303, r.text
    assert len(_versions(ws, name)) == len(before), "the web page built a different insight"
    r = CliRunner().invoke(cli, ["--workspace", str(ws.root), "analyze"])
    assert r.exit_code == 0, r.output
    after = _versions(ws, name)
    assert len(after) == len(before)
    assert after[-1].version_hash == before[-1].version_hash
