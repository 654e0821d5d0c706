"""The dashboard in Chromium for each role (screenshots saved), keyboard focus after
acknowledging, and the analysis report running its charts under its own CSP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from oi_testkit import add_people, run_demo
from outsidein.demo import DEMO_PASSWORD
from outsidein.web import create_app
from outsidein.workspace import Workspace

pytestmark = pytest.mark.browser
SERIOUS = ("serious", "critical")
VIEWER = "viewer@demo.test"
#: role -> account of the demo (the viewer is added)
ACCOUNTS = {"admin": "admin@demo.outsidein", "advocate": "advocate@demo.outsidein",
            "member": "sales@demo.outsidein", "viewer": VIEWER}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("dashboard") / "acme"
    run_demo(root, customers=800, days=400, seed=5)
    add_people(root, [(VIEWER, "viewer", ("sales",))], password=DEMO_PASSWORD)
    ws = Workspace.open(root)
    with live_server(create_app(root)) as server:
        yield server
    ws.close()


def _login(browser: Any, url: str, email: str, width: int = 1280) -> Any:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def test_the_dashboard_of_each_role(demo: Any, browser: Any, artifacts_dir: Path) -> None:
    for role, email in ACCOUNTS.items():
        page = _login(browser, demo.url, email)
        tiles = page.locator("#kpis .kpi")
        assert tiles.count() == 5
        for key in ("customers_active", "revenue", "repeat_rate", "clv", "ack_progress"):
            tile = page.locator(f"#kpi-{key}")
            assert tile.locator(".big").inner_text().strip() not in ("", "—"), (role, key)
            assert tile.locator("svg.spark polyline").count() == 1, (role, key)
        assert page.locator("#kpi-revenue .big").inner_text().startswith("$")
        assert page.locator("#kpi-repeat_rate .big").inner_text().endswith("%")
        first_card = page.locator("main .card").first.get_attribute("id")
        assert first_card == "todo", role
        has_progress = page.locator("#pending progress").count() > 0
        assert has_progress == (role in ("admin", "advocate")), role
        page.screenshot(path=str(artifacts_dir / f"dashboard-{role}.png"), full_page=True)
        violations = [(v["id"], [n["target"] for n in v["nodes"][:3]])
                      for v in Axe().run(page).response["violations"] if v["impact"] in SERIOUS]
        assert violations == [], (role, violations)
        page.context.close()
    phone = _login(browser, demo.url, ACCOUNTS["advocate"], width=390)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(artifacts_dir / "dashboard-advocate-phone.png"), full_page=True)
    phone.context.close()


def test_acknowledging_keeps_keyboard_focus_and_offers_what_next(demo: Any,
                                                                 browser: Any) -> None:
    page = _login(browser, demo.url, ACCOUNTS["member"])
    page.locator("#awaiting a").first.click()
    page.wait_for_selector("#ack-button")
    page.wait_for_load_state("load")  # htmx (deferred) is ready
    page.focus("#ack-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ack-box")
    for _ in range(50):  # focus moves when htmx has settled (wait_for_function needs eval)
        if page.evaluate("document.activeElement && document.activeElement.id") == "ack-box":
            break
        page.wait_for_timeout(100)
    assert page.evaluate("document.activeElement.id") == "ack-box"
    assert "Acknowledged version" in page.locator("#ack-box").inner_text()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "log-action"  # the next thing to do is one key press away
    nxt = page.locator("#next-awaiting")
    if nxt.count():
        href = nxt.get_attribute("href")
        nxt.click()
        page.wait_for_url(demo.url + href)
        assert page.locator("#ack-button").count() == 1
    page.context.close()


def test_the_report_link_opens_the_report_with_its_charts(demo: Any, browser: Any) -> None:
    page = _login(browser, demo.url, ACCOUNTS["viewer"])
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    page.goto(demo.url + "/insights")
    links = page.locator("a[href^='/insights/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))")
    for href in links:  # the first insight drawn from the five answers (it links the report)
        page.goto(demo.url + href)
        if page.locator("#report-link").count():
            break
    page.locator("#report-link").click()
    page.wait_for_url("**/reports/latest#five-questions-*")
    page.locator(".main-svg").first.wait_for(timeout=30_000)  # plotly ran: its scripts allowed
    assert blocked == []
    page.context.close()


def test_a_form_error_is_beside_its_field_and_accessible(demo: Any, browser: Any,
                                                         artifacts_dir: Path) -> None:
    page = _login(browser, demo.url, ACCOUNTS["advocate"])
    page.goto(demo.url + "/alignment")
    page.locator("#add-item summary").click()
    page.fill("#add-item input[name=title]", "Drone delivery pilot")
    page.fill("#add-item input[name=needs]", "N1, N42")
    page.locator("#add-item button[type=submit]").click()
    error = page.locator("#add-item-needs-error")
    error.wait_for()
    assert "N42" in error.inner_text()
    assert page.input_value("#add-item input[name=title]") == "Drone delivery pilot"
    assert page.input_value("#add-item input[name=needs]") == "N1, N42"
    needs_box = page.locator("#add-item input[name=needs]").bounding_box()
    error_box = error.bounding_box()
    assert needs_box and error_box and 0 <= error_box["y"] - (needs_box["y"] +
                                                              needs_box["height"]) < 40
    page.screenshot(path=str(artifacts_dir / "form-error-alignment.png"), full_page=True)
    violations = [v["id"] for v in Axe().run(page).response["violations"]
                  if v["impact"] in SERIOUS]
    assert violations == []
    page.context.close()
