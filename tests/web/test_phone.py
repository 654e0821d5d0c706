"""Phone layout: at 390 px no page of the demo scrolls sideways and no chart title is cut
(they move above the chart), for each role that sees different pages. Screenshots go to
``test-artifacts/phone/<role>-<page>.png``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oi_pages import walk
from oi_testkit import add_people, run_demo
from outsidein.web import create_app

pytestmark = pytest.mark.browser
PASSWORD = "demo pass phrase"
PHONE = {"width": 390, "height": 844}
#: role key -> (e-mail, role, departments)
PEOPLE = {
    "admin": ("admin@phone.test", "admin", ()),
    "advocate": ("lead@phone.test", "advocate", ()),
    "member": ("rep@phone.test", "member", ("sales",)),
}
#: Pages visited besides those the nav links to (skipped where the role gets 403/404).
EXTRA = ("/", "/answers", "/value", "/admin", "/insights", "/needs", "/alignment", "/alla",
         "/advocate", "/overview")


@pytest.fixture(scope="module")
def phone_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("phone") / "acme"
    run_demo(root, customers=400, days=300, seed=7)
    add_people(root, list(PEOPLE.values()), password=PASSWORD, departments=("sales",))
    return root


@pytest.fixture(scope="module")
def demo(phone_root: Path, live_server: Any) -> Iterator[Any]:
    with live_server(create_app(phone_root)) as server:
        yield server


def test_the_reports_chart_titles_move_above_the_charts_on_a_phone(phone_root: Path,
                                                                  browser: Any) -> None:
    """The static report (opened from a file, no server): Plotly would cut each chart's
    title at 390 px; each one shows above its chart instead."""
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto((phone_root / "reports" / "report.html").as_uri(), wait_until="load")
    charts = page.locator(".plotly-graph-div").count()
    assert charts >= 5
    assert page.locator(".plotly-graph-div .gtitle").count() == 0
    titles = page.locator("p.fig-title")
    assert titles.count() == charts
    assert all(titles.nth(i).text_content().strip() for i in range(charts))
    assert _width(page)[0] <= _width(page)[1] + 1, "the report scrolls sideways"
    ctx.close()


def _name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "overview"


def _width(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("who", list(PEOPLE))
def test_no_page_scrolls_sideways_on_a_phone(demo: Any, browser: Any, artifacts_dir: Path,
                                             who: str) -> None:
    server = demo
    out = artifacts_dir / "phone"
    out.mkdir(parents=True, exist_ok=True)
    # Not is_mobile: a mobile viewport zooms out to fit wide content, hiding the overflow.
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto(server.url + "/login")
    assert _width(page)[0] <= _width(page)[1] + 1, "login page scrolls sideways"
    page.fill("input[name=email]", PEOPLE[who][0])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")

    # The navigation collapses behind a "Menu" button and opens without widening the page.
    menu = page.locator(".topbar .nav-toggle")
    assert menu.is_visible() and not page.locator("nav[aria-label=main]").is_visible()
    menu.click()
    assert page.locator("nav[aria-label=main]").is_visible()
    assert menu.get_attribute("aria-expanded") == "true"
    scroll, inner = _width(page)
    assert scroll <= inner + 1, "the open menu scrolls sideways"
    page.screenshot(path=str(out / f"{who}-menu-open.png"), full_page=True)

    nav = page.locator("nav[aria-label=main] a")
    paths = [nav.nth(i).get_attribute("href") for i in range(nav.count())]
    assert paths, "no nav links"
    # every page of the app this role may open (from its routes, ids filled from links)
    found = walk(page, server.url, server.server.config.app.state.page_roles, PEOPLE[who][1])
    todo = list(dict.fromkeys([*paths, *EXTRA, *found.pages]))
    assert any(p.startswith("/customers/") for p in todo), "the customer 360 was not reached"

    wide: dict[str, tuple[int, int]] = {}
    cut: dict[str, str] = {}
    seen = []
    for path in todo:
        resp = page.goto(server.url + path)
        if resp is None or resp.status in (403, 404):
            if os.environ.get("OI_PHONE_REPORT"):
                print(f"{who} {path} skipped ({resp and resp.status})")
            continue
        assert resp.status < 400, (path, resp.status)
        page.wait_for_load_state("load")
        if page.locator(".plotly-fig").count():
            page.wait_for_timeout(300)  # let Plotly size the charts
            # a title inside the chart's SVG is cut at the phone's width: they move above it
            if page.locator(".plotly-fig .gtitle").count():
                cut[path] = page.locator(".plotly-fig .gtitle").first.text_content() or ""
        scroll, inner = _width(page)
        seen.append((path, scroll))
        if os.environ.get("OI_PHONE_REPORT"):
            print(f"{who} {path} {scroll}/{inner}")
        page.screenshot(path=str(out / f"{who}-{_name(path)}.png"), full_page=True)
        if scroll > inner + 1:
            wide[path] = (scroll, inner)
    assert len(seen) >= 3
    assert wide == {}, f"pages wider than the phone ({who}): {wide}"
    assert cut == {}, f"chart titles drawn inside the chart on a phone ({who}): {cut}"
    ctx.close()
