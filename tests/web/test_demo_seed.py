"""A fresh ``outsidein demo`` leaves no page blank: needs, alignment items, Ask-Listen-Learn-Act
chains and some acknowledgement progress are there on the first visit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from oi_testkit import csrf_of, run_demo
from outsidein.demo import DEMO_PASSWORD, seed_demo_loop
from outsidein.services.share import alignment_review, alla_board, ranked_needs
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("demo-seed") / "acme"
    run_demo(root, customers=800, days=400, seed=11)
    ws = Workspace.open(root)
    with live_server(create_app(root)) as server:
        yield server, ws


def _login(url: str, email: str) -> httpx.Client:
    c = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    r = c.post("/login", data={"email": email, "password": DEMO_PASSWORD, "next": "/",
                               "csrf_token": csrf_of(c.get("/login").text)})
    assert r.status_code == 303, r.text
    return c


def _counts(ws: Workspace) -> tuple[int, int, int, int]:
    with session_scope(ws.store_url) as s:
        board = alla_board(s)
        review = alignment_review(s)
        items = sum(len(c.full) + len(c.partial) for r in review.rows for c in r.cells)
        return len(ranked_needs(s)), items, board.questions, board.actions


def test_the_demo_seeds_needs_alignment_and_alla(demo: Any) -> None:
    server, ws = demo
    needs, linked_items, questions, actions = _counts(ws)
    assert needs >= 5 and linked_items >= 5 and questions >= 2 and actions >= 3
    with session_scope(ws.store_url) as s:
        board = alla_board(s)
        assert board.successes >= 1 and board.heard >= 2 and board.insights >= 2
        assert alignment_review(s).off_target  # an item that addresses no top need
    seed_demo_loop(ws)  # running the demo again adds nothing
    assert _counts(ws) == (needs, linked_items, questions, actions)


def test_no_page_is_blank_on_the_first_visit(demo: Any) -> None:
    server, _ = demo
    member = _login(server.url, "sales@demo.outsidein")
    for path, empty in (("/alla", "Nothing yet"), ("/needs", "No needs recorded yet"),
                        ("/alignment", 'id="alignment-matrix"')):
        page = member.get(path).text
        if empty.startswith("id="):
            assert empty in page, path
        else:
            assert empty not in page, path
    assert "Why do our most valuable customers stop buying?" in member.get("/alla").text
    assert "Someone who knows my account when I call" in member.get("/needs").text
    overview = _login(server.url, "advocate@demo.outsidein").get("/").text
    share = re.search(r'id="kpi-ack_progress".*?data-value="([^"]+)"', overview, re.S)
    assert share and 0 < float(share.group(1)) < 1  # some acknowledged, some to remind
    assert 'id="pending"' in overview and "Remind" in overview
