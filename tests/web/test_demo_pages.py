"""On the demo company: the overview and the five-questions page show what ``outsidein answer``
found, and the customer value page ranks customers as ``customer_value`` does, in Chromium.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from oi_testkit import add_people, run_demo
from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace

pytestmark = pytest.mark.browser
PASSWORD = "demo pass phrase"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("demo") / "acme"
    run_demo(root, customers=1500, days=400, seed=7)
    add_people(root, [("lead@demo.test", "advocate", ()), ("rep@demo.test", "member", ("sales",))],
               password=PASSWORD,
               departments=("marketing", "sales", "service", "finance", "operations"))
    ws = Workspace.open(root)
    with live_server(create_app(root)) as server:
        yield server, ws


def _login(browser: Any, url: str, email: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


def test_the_five_answers_in_the_browser(demo: Any, browser: Any, artifacts_dir: Path) -> None:
    server, ws = demo
    doc = json.loads((ws.root / "results" / "five_questions.json").read_text())
    page = _login(browser, server.url, "lead@demo.test")
    overview = page.locator("#answers").inner_text()
    for answer in doc["answers"].values():
        assert answer["headline"][:60] in overview
    page.screenshot(path=str(artifacts_dir / "web-demo-overview.png"), full_page=True)

    page.get_by_role("link", name="Five questions").click()
    page.locator(".plotly-fig > div .main-svg").nth(4).wait_for()  # all five plots drew
    cost = page.locator("#q-cost_to_serve")
    first = doc["answers"]["cost_to_serve"]["rows"][0]["customer_id"]
    assert first in cost.locator("table").inner_text()
    page.screenshot(path=str(artifacts_dir / "web-demo-five-questions.png"), full_page=True)

    # The advocate turns the cost-to-serve answer into an insight for its departments.
    cost.locator("form.publish-answer button").click()
    page.wait_for_selector("#insight-title")
    assert "/insights/" in page.url
    assert doc["answers"]["cost_to_serve"]["headline"][:60] in page.locator(
        "#insight-statement").inner_text()
    page.screenshot(path=str(artifacts_dir / "web-demo-insight-from-answer.png"), full_page=True)
    title = page.locator("#insight-title").inner_text()
    rep = _login(browser, server.url, "rep@demo.test")  # sales is one of its departments
    assert title in rep.locator("#awaiting").inner_text()


def test_customer_value_page_ranks_like_the_warehouse(demo: Any, browser: Any,
                                                      artifacts_dir: Path) -> None:
    server, ws = demo
    con = duckdb.connect(str(ws.warehouse_path), read_only=True)
    top = con.execute("SELECT customer_id, clv FROM customer_value "
                      "ORDER BY clv DESC, customer_id LIMIT 3").fetchall()
    con.close()
    page = _login(browser, server.url, "rep@demo.test")
    page.get_by_role("link", name="Customer value").click()
    rows = page.locator("table.tbl tbody tr")
    assert rows.count() == 50
    for i, (customer_id, _) in enumerate(top):
        assert str(customer_id) in rows.nth(i).inner_text()
    assert rows.nth(0).locator("td.reasons").inner_text().strip() != ""
    page.screenshot(path=str(artifacts_dir / "web-demo-customer-value.png"), full_page=True)
    with session_scope(ws.store_url) as s:
        _, secret = accounts.create_api_key(s, name="t", scopes=["value:read"])
    r = httpx.get(f"{server.url}/api/v1/customers/{top[0][0]}/value",
                  headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["values"]["clv"] == pytest.approx(top[0][1])


def test_the_demo_shows_sense_and_respond_proven_on_a_simulated_market(
        demo: Any, browser: Any, artifacts_dir: Path) -> None:
    """``outsidein demo`` runs the market simulation too: the Sense & respond page shows the
    four policies and both plots without a further command."""
    server, ws = demo
    sim = json.loads((ws.root / "results" / "sense_simulation.json").read_text())
    page = _login(browser, server.url, "lead@demo.test")
    page.goto(server.url + "/sense")
    section = page.locator("#sense-simulation")
    assert "No simulation yet" not in section.inner_text()
    rows = section.locator("#simulation-table tbody tr")
    assert rows.count() == 4
    conversions = sim["policies"]["sense_and_respond"]["conversions"]
    assert f"{conversions:,}" in section.inner_text() or str(conversions) in section.inner_text()
    section.locator("[data-figure='fig-sense-learning'] .main-svg").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "web-demo-sense.png"), full_page=True)
