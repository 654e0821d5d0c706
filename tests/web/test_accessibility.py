"""Accessibility in Chromium: axe-core finds no serious or critical violation on any page, for
each role; a keyboard user skips the navigation and passes a chart in one Tab press.

The pages come from the app's own routes (:mod:`oi_pages`), so a new page is checked
without editing this file.  axe-core is the copy bundled by ``axe-playwright-python``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from oi_pages import DEMO_LOGINS, PASSWORD, SAME_FOR_EVERYONE, VIEWER, login, walk
from oi_testkit import add_people, run_demo
from outsidein.services.share import publish_insight
from outsidein.store.db import session_scope
from outsidein.web import create_app
from outsidein.workspace import Workspace

pytestmark = pytest.mark.browser
SERIOUS = ("serious", "critical")
CHART_TITLE = "Keyboard test: repeat buyers by month"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("a11y") / "acme"
    run_demo(root, customers=400, days=300, seed=7)
    add_people(root, [VIEWER], password=PASSWORD)
    ws = Workspace.open(root)
    with session_scope(ws.store_url) as s:  # an insight with a chart the member must acknowledge
        insight = publish_insight(
            s, title=CHART_TITLE, statement="Repeat buyers rose in spring.",
            evidence={"chart": {"data": [{"type": "bar", "x": ["Mar", "Apr", "May"],
                                          "y": [120, 180, 240]}],
                                "layout": {"title": {"text": "Repeat buyers"}}}},
            owner_email=DEMO_LOGINS["advocate"], departments=["marketing"], priority="high",
            source="test", key=None, due_days=7)
    ws.close()
    app = create_app(root)
    with live_server(app) as server:
        yield server, app, insight.id


def _axe(page: Any) -> list[dict[str, Any]]:
    return [v for v in Axe().run(page).response["violations"] if v["impact"] in SERIOUS]


def _describe(path: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{path}:"]
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'][:200]!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("role", list(DEMO_LOGINS))
def test_no_serious_axe_violation_on_any_page(demo: Any, browser: Any, role: str) -> None:
    server, app, _ = demo
    found: dict[str, list[dict[str, Any]]] = {}
    if role == "admin":  # the login page, once
        anon = browser.new_context().new_page()
        anon.goto(server.url + "/login")
        found["/login"] = _axe(anon)
        anon.context.close()
    page = login(browser, server.url, DEMO_LOGINS[role])
    pages = walk(page, server.url, app.state.page_roles, role)
    assert len(pages.pages) >= 6, pages
    assert not pages.unreached, f"no link found to these pages: {pages.unreached}"
    for path in [*pages.pages, "/no-such-page"]:  # and the error page
        if role != "admin" and path.startswith(SAME_FOR_EVERYONE):
            continue
        page.goto(server.url + path, wait_until="load")
        if page.locator(".plotly-fig").count():
            # every chart drawn (a selector: the CSP forbids wait_for_function's eval)
            page.locator(".plotly-fig:not(:has(.main-svg))").first.wait_for(state="detached")
        found[path] = _axe(page)
    page.context.close()
    bad = {path: v for path, v in found.items() if v}
    assert not bad, f"{role}: serious or critical axe-core violations\n" + "\n".join(
        _describe(path, v) for path, v in bad.items())


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => { const e = document.activeElement;
        return {id: e.id, text: (e.textContent || '').trim().slice(0, 40), tag: e.tagName,
                inChart: !!e.closest('.plotly-fig')}; }""")


def test_keyboard_skips_the_navigation_and_passes_a_chart_in_one_press(
        demo: Any, browser: Any) -> None:
    server, _, insight_id = demo
    page = login(browser, server.url, DEMO_LOGINS["member"])
    page.goto(f"{server.url}/insights/{insight_id}", wait_until="load")
    page.wait_for_selector(".plotly-fig .modebar")
    assert page.locator("#ack-button").is_visible()

    # From the top of the page: the first Tab stop is "Skip to content", and it is visible.
    page.keyboard.press("Tab")
    first = _focused(page)
    assert first["text"] == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    presses, chart_stops = 0, 0
    while presses < 40:
        page.keyboard.press("Tab")
        presses += 1
        now = _focused(page)
        chart_stops += now["inChart"]
        if now["id"] == "ack-button":
            break
    assert now["id"] == "ack-button", f"Acknowledge not reached in {presses} presses"
    assert chart_stops == 1, f"the chart takes {chart_stops} Tab presses"
    # Skip link, back link, the chart's toolbar, Acknowledge (and a few more links at most).
    assert presses <= 6, f"{presses} Tab presses after the skip link to reach Acknowledge"

    # Inside the chart's toolbar the arrow keys move between its buttons.
    page.keyboard.press("Shift+Tab")
    while not _focused(page)["inChart"]:
        page.keyboard.press("Shift+Tab")
    before = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert _focused(page)["inChart"] and before != after, (before, after)
    page.context.close()
