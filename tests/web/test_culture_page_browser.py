"""The Culture page and the survey admin page in headless Chromium: no serious axe-core
violation, the trend chart drawn, nothing scrolls sideways on a 375 px phone (the heat map
scrolls inside its own box), and the heat map is reached from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from oi_pages import login
from oi_testkit import add_people
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.simulated import seed_illustrative_waves
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace

pytestmark = pytest.mark.browser
PASSWORD = "culture pass phrase"
ADMIN = ("admin@culture.test", "admin", ())
VIEWER = ("viewer@culture.test", "viewer", ("sales",))
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("culture") / "acme"
    ws = Workspace.init(root)
    ws.close()
    add_people(root, [ADMIN, VIEWER], password=PASSWORD, departments=("sales",))
    with session_scope(ws.store_url) as s:
        seed_illustrative_waves(s, load_instrument(), n_orgs=10, mean_size=30, seed=5)
    with live_server(create_app(root)) as server:
        yield server


def _serious(page: Any) -> list[Any]:
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]])
            for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_culture_pages_have_no_serious_axe_violation(site: Any, browser: Any) -> None:
    page = login(browser, site.url, ADMIN[0], PASSWORD)
    for path in ("/culture", "/culture/admin", "/culture?wave=Illustrative+wave+1"):
        page.goto(site.url + path, wait_until="load")
        if page.locator(".plotly-fig").count():
            page.locator(".plotly-fig:not(:has(.main-svg))").first.wait_for(state="detached")
        assert _serious(page) == [], path
    page.context.close()


def test_the_culture_page_fits_a_phone(site: Any, browser: Any, artifacts_dir: Path) -> None:
    page = login(browser, site.url, VIEWER[0], PASSWORD, viewport=PHONE)
    page.goto(site.url + "/culture", wait_until="load")
    page.locator("#fig-culture-trend ~ *, .plotly-fig .main-svg").first.wait_for()
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner + 1, f"the Culture page scrolls sideways ({scroll} > {inner})"
    out = artifacts_dir / "phone"
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "viewer-culture.png"), full_page=True)
    # the heat map is a focusable scroll box: the keyboard can reach and scroll it
    page.locator("#heat-table").focus()
    assert page.evaluate("document.activeElement.id") == "heat-table"
    assert page.locator("#culture-illustrative").is_visible()
    page.context.close()


def test_the_survey_admin_page_fits_a_phone(site: Any, browser: Any) -> None:
    page = login(browser, site.url, ADMIN[0], PASSWORD, viewport=PHONE)
    page.goto(site.url + "/culture/admin", wait_until="load")
    page.fill("#open-wave-name", "phone-wave")
    page.click("#open-wave button[type=submit]")
    page.wait_for_selector("text=Done: opened wave phone-wave")
    page.fill("#invite-count", "2")
    page.click("#invite button[type=submit]")
    page.wait_for_selector("#new-links")
    assert page.locator("#links-text").input_value().count("/survey/") == 2
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner + 1, f"the admin page scrolls sideways ({scroll} > {inner})"
    page.context.close()
