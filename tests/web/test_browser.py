"""End to end in headless Chromium: acknowledgement seen by the advocate, the alignment
matrix, escaped XSS attempts, and API docs that load without a network.

Screenshots go to ``test-artifacts/web-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


class Watch:
    """Console errors (CSP violations show up here), dialogs and requests of a page."""

    def __init__(self, page: Any, site_url: str) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

        def route(r: Any) -> None:
            if r.request.url.startswith(site_url) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _open(browser: Any, site: Any, who: str) -> tuple[Any, Any, Watch]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    watch = Watch(page, site.url)
    page.goto(site.url + "/")
    assert "/login" in page.url
    page.fill("input[name=email]", site.PEOPLE[who][0])
    page.fill("input[name=password]", site.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/")
    return ctx, page, watch


def _shot(page: Any, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"web-{name}.png"), full_page=True)


def test_member_acknowledges_and_the_advocate_sees_it(site: Any, browser: Any,
                                                      artifacts_dir: Path) -> None:
    actx, adv, adv_watch = _open(browser, site, "advocate")
    adv.goto(f"{site.url}/insights/{site.insight_id}/status")
    product = adv.locator("[data-department=product]")
    assert "0 of 1 acknowledged" in product.inner_text()
    assert "not yet" in product.inner_text()
    _shot(adv, artifacts_dir, "advocate-before")

    mctx, mem, mem_watch = _open(browser, site, "member")
    awaiting = mem.locator("#awaiting")
    assert "Top 10% of customers bring 62% of profit" in awaiting.inner_text()
    _shot(mem, artifacts_dir, "overview-member")
    awaiting.get_by_role("link", name="Top 10% of customers bring 62% of profit").click()
    mem.wait_for_selector(".plotly-fig .main-svg")  # the evidence chart drew
    _shot(mem, artifacts_dir, "insight-member")
    with mem.expect_response(lambda r: r.url.endswith("/ack")) as sent:
        mem.click("#ack-button")
    request = sent.value.request
    assert request.headers.get("hx-request") == "true"  # htmx, not a full page post
    token = mem.locator("meta[name=csrf-token]").get_attribute("content")
    assert token and request.headers.get("x-csrf-token") == token
    assert sent.value.status == 200
    box = mem.locator("#ack-box")
    box.wait_for()
    assert "Acknowledged version 1" in box.inner_text()
    _shot(mem, artifacts_dir, "insight-acknowledged")
    mem.goto(site.url + "/")
    assert "Nothing waiting" in mem.locator("#awaiting").inner_text()

    adv.reload()
    product = adv.locator("[data-department=product]")
    assert "1 of 1 acknowledged" in product.inner_text() and "complete" in product.inner_text()
    assert "member@acme.test" in product.locator("tr.acked").inner_text()
    sales = adv.locator("[data-department=sales]")
    assert "0 of 1 acknowledged" in sales.inner_text()
    _shot(adv, artifacts_dir, "advocate-after")
    assert adv_watch.errors == [] and mem_watch.errors == []
    assert adv_watch.outside == [] and mem_watch.outside == []
    actx.close()
    mctx.close()


def test_alignment_matrix_and_alla_board(site: Any, browser: Any, artifacts_dir: Path) -> None:
    ctx, page, watch = _open(browser, site, "advocate")
    page.get_by_role("link", name="Alignment").click()
    matrix = page.locator("#alignment-matrix")
    matrix.wait_for()
    first = matrix.locator("tbody tr").first
    assert "Delivery within 48 hours" in first.inner_text()
    assert first.locator("td.cell-addressed").count() == 1
    assert first.locator("td.cell-missed").count() == 1
    _shot(page, artifacts_dir, "alignment")
    page.get_by_role("link", name="Ask · Listen · Learn · Act").click()
    assert "24-hour call-back rule" in page.locator("main").inner_text()
    _shot(page, artifacts_dir, "alla")
    page.get_by_role("link", name="Needs").click()
    _shot(page, artifacts_dir, "needs")
    assert watch.errors == [] and watch.outside == []
    ctx.close()


def test_script_in_an_insight_is_shown_as_text(site: Any, browser: Any,
                                               artifacts_dir: Path) -> None:
    title = '<script>alert("xss-title")</script>'
    statement = '<img src=x onerror="alert(\'xss-img\')"> and "><svg onload=alert(3)>'
    ins = site.publish(title=title, statement=statement, departments=["product"],
                       evidence={"figures": {"<b>name</b>": "<script>alert(4)</script>"},
                                 "link": "javascript:alert(5)"})
    ctx, page, watch = _open(browser, site, "member")
    page.goto(f"{site.url}/insights")
    assert title in page.locator("#insight-list").inner_text()
    page.goto(f"{site.url}/insights/{ins.id}")
    assert page.locator("#insight-title").inner_text() == title
    assert page.locator("#insight-statement").inner_text() == statement
    assert page.locator("a[href^='javascript']").count() == 0
    page.goto(site.url + "/")
    page.wait_for_timeout(300)
    _shot(page, artifacts_dir, "xss-escaped")
    assert watch.dialogs == []
    ctx.close()


def test_api_docs_load_without_a_network(site: Any, browser: Any, artifacts_dir: Path) -> None:
    ctx, page, watch = _open(browser, site, "viewer")
    page.goto(site.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Outside-In API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path[data-path='/api/v1/insights/{insight_id}/"
                 "acknowledgements']").wait_for()
    _shot(page, artifacts_dir, "api-docs")
    assert watch.outside == [], f"/docs reached outside the server: {watch.outside}"
    assert watch.errors == []
    ctx.close()


def test_admin_creates_an_api_key_in_the_browser(site: Any, browser: Any,
                                                 artifacts_dir: Path) -> None:
    ctx, page, watch = _open(browser, site, "admin")
    page.get_by_role("link", name="Admin").click()
    form = page.locator("#apikeys form").last
    form.locator("input[name=name]").fill("warehouse-sync")
    form.locator("input[value='needs:read']").check()
    form.get_by_role("button", name="Create key").click()
    secret = page.locator("#api-secret").inner_text()
    assert secret.startswith("oi_")
    row = page.locator("#apikeys tr", has_text="warehouse-sync")
    assert "needs:read" in row.inner_text() and "active" in row.inner_text()
    _shot(page, artifacts_dir, "admin")
    assert watch.errors == [] and watch.outside == []
    ctx.close()
