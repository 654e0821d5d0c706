"""Fast pages: answers are gzipped, static files are cached, charts load a partial plotly.js,
and every page of a demo workspace loads in Chromium in under a second, for each role.

The pages come from the app's own routes (:mod:`oi_pages`).  The timings table is printed
(``pytest -s``) and saved to ``test-artifacts/page-timings.txt``.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from plotly.offline import get_plotlyjs

from oi_pages import DEMO_LOGINS, PASSWORD, SAME_FOR_EVERYONE, VIEWER, login, walk
from oi_testkit import add_people, csrf_of, run_demo
from outsidein.services.share import publish_insight
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace

#: Warm page load (navigation start to the load event) every page must beat.
LOAD_BOUND_MS = 1000.0
#: Timed but not bound: the analysis report is one self-contained document with the full
#: plotly.js inline (4.8 MB to parse on every visit), served as it was written.
NOT_BOUND = ("/reports/",)
#: The chart bundle, gzipped, as the browser downloads it (the full bundle: 1.5 MB).
PLOTLY_WIRE_BOUND = 450_000
NAV_TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {load: n.loadEventEnd - n.startTime, server: n.responseStart - n.requestStart,
          bytes: performance.getEntriesByType('resource')
                   .reduce((a, r) => a + r.transferSize, n.transferSize)}; }"""
#: A chart not drawn yet (a selector: the page's CSP forbids the eval of wait_for_function).
UNDRAWN = ".plotly-fig:not(:has(.main-svg))"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("speed") / "acme"
    run_demo(root, customers=3000, days=500, seed=7)
    add_people(root, [VIEWER], password=PASSWORD)
    ws = Workspace.open(root)
    with session_scope(ws.store_url) as s:  # a chart the basic plotly.js bundle cannot draw
        heat = publish_insight(
            s, title="Orders by weekday and hour", statement="Tuesday mornings are busiest.",
            evidence={"chart": {"data": [{"type": "heatmap", "z": [[1, 5, 2], [3, 9, 4]],
                                          "x": ["8h", "9h", "10h"], "y": ["Mon", "Tue"]}]}},
            owner_email=DEMO_LOGINS["advocate"], departments=["marketing"], priority="low",
            source="test", key=None, due_days=7)
    ws.close()
    app = create_app(root)
    with live_server(app) as server:
        yield server, app, heat.id


def _client(url: str, who: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=30)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"email": who, "password": PASSWORD, "csrf_token": token,
                               "next": "/"})
    assert r.status_code == 303, r.text
    return c


def _wire(c: httpx.Client, path: str, encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and the bytes that came over the wire (still encoded)."""
    with c.stream("GET", path, headers={"Accept-Encoding": encoding}) as r:
        raw = b"".join(r.iter_raw())
    return r, raw


def test_pages_scripts_and_styles_are_gzipped_and_cached(demo: Any) -> None:
    server, _, _ = demo
    c = _client(server.url, DEMO_LOGINS["admin"])
    page = c.get("/answers").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any(a.startswith("/static/app.css?v=") for a in assets), assets
    assert any(a.startswith("/static/app.js?v=") for a in assets), assets
    sizes = []
    for path in ["/", "/answers", "/value", "/insights", *assets]:
        if path.endswith(".svg"):
            continue
        plain, plain_raw = _wire(c, path, "identity")
        packed, packed_raw = _wire(c, path, "gzip")
        assert plain.status_code == packed.status_code == 200, path
        assert packed.headers.get("content-encoding") == "gzip", path
        assert "Accept-Encoding" in packed.headers.get("vary", ""), path
        if path.startswith("/static/"):  # pages differ by their per-request nonce
            assert gzip.decompress(packed_raw) == plain_raw, path
        sizes.append((path, len(plain_raw), len(packed_raw)))
        assert len(packed_raw) < 0.6 * len(plain_raw), sizes[-1]
    print("\n".join(f"{p:48s} {a:>9,d} B -> gzip {b:>9,d} B" for p, a, b in sizes))

    # A versioned URL is cached for a year; an unversioned one is revalidated (ETag -> 304).
    css = next(a for a in assets if a.startswith("/static/app.css?v="))
    assert "immutable" in c.get(css).headers["cache-control"]
    r = c.get("/static/app.css")
    assert r.headers["cache-control"] == "no-cache"
    again = c.get("/static/app.css", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    # Pages are never cached (they carry the session's CSRF token).
    assert c.get("/").headers["cache-control"] == "no-store"

    # CSV exports, streamed or not, still download whole and readable through the compression.
    for export in ("/value?format=csv", "/audit-log"):
        csv_plain = c.get(export, headers={"Accept-Encoding": "identity"})
        csv_packed, raw = _wire(c, export, "gzip")
        assert csv_plain.headers["content-type"].startswith("text/csv"), export
        assert csv_packed.headers.get("content-encoding") == "gzip", export
        assert gzip.decompress(raw).decode() == csv_plain.text, export
        assert csv_plain.text.count("\n") > 1, export


def test_charts_load_the_partial_plotly_bundle(demo: Any) -> None:
    server, _, _ = demo
    c = httpx.Client(base_url=server.url, timeout=60)
    full = len(get_plotlyjs().encode())
    r, raw = _wire(c, "/static/plotly.js", "gzip")
    body = gzip.decompress(raw)
    print(f"\nplotly.js: full bundle {full:,d} B; served {len(body):,d} B, gzipped {len(raw):,d} B")
    assert r.headers["content-encoding"] == "gzip"
    assert len(raw) <= PLOTLY_WIRE_BOUND, len(raw)
    assert len(body) < full / 3
    assert body.startswith(b"/**\n* plotly.js (basic")
    # The full bundle stays available, for a figure whose trace type the partial one lacks.
    assert len(c.get("/static/plotly.js?bundle=full").content) == full


def _time(page: Any, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load")
    if page.locator(".plotly-fig").count():
        page.locator(UNDRAWN).first.wait_for(state="detached", timeout=10_000)
    return dict(page.evaluate(NAV_TIMING))


@pytest.mark.browser
def test_every_page_loads_in_under_a_second(demo: Any, browser: Any,
                                            artifacts_dir: Path) -> None:
    server, app, _ = demo
    rows, slow = [], {}
    for role, email in DEMO_LOGINS.items():
        page = login(browser, server.url, email)
        pages = walk(page, server.url, app.state.page_roles, role)
        assert len(pages.pages) >= 6, pages
        for path in pages.pages:
            if role != "admin" and path.startswith(SAME_FOR_EVERYONE):
                continue
            cold = _time(page, server.url + path)
            warm = _time(page, server.url + path)
            for _ in range(2):  # a busy shared machine: the best of three before failing
                if warm["load"] <= LOAD_BOUND_MS or path.startswith(NOT_BOUND):
                    break
                warm = min(warm, _time(page, server.url + path), key=lambda t: t["load"])
            rows.append((role, path, cold, warm))
            if warm["load"] > LOAD_BOUND_MS and not path.startswith(NOT_BOUND):
                slow[f"{role} {path}"] = round(warm["load"])
        page.context.close()
    table = [f"{'role':9s} {'page':34s} {'cold load':>10s} {'server':>7s} {'KiB':>6s}"
             f" {'warm load':>10s} {'server':>7s} {'KiB':>6s}"]
    for role, path, c, w in rows:
        table.append(f"{role:9s} {path:34s} {c['load']:8.0f}ms {c['server']:5.0f}ms"
                     f" {c['bytes'] / 1024:6.0f} {w['load']:8.0f}ms {w['server']:5.0f}ms"
                     f" {w['bytes'] / 1024:6.0f}")
    text = "\n".join(table)
    print("\n" + text)
    (artifacts_dir / "page-timings.txt").write_text(text + "\n")
    assert not slow, f"pages slower than {LOAD_BOUND_MS:.0f} ms warm: {slow}"


@pytest.mark.browser
def test_a_chart_the_partial_bundle_lacks_still_draws(demo: Any, browser: Any) -> None:
    server, _, heat_id = demo
    page = login(browser, server.url, DEMO_LOGINS["member"])
    bundles: list[str] = []
    page.on("request", lambda r: bundles.append(r.url) if "plotly.js" in r.url else None)
    page.goto(f"{server.url}/insights/{heat_id}", wait_until="load")
    page.locator(UNDRAWN).first.wait_for(state="detached", timeout=15_000)
    assert page.locator(".plotly-fig .heatmaplayer image").count() == 1
    assert any("bundle=full" in u for u in bundles), bundles
    page.context.close()
