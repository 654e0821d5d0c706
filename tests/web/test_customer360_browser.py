"""The customer 360 in headless Chromium: from a customer id on /value to the 360 page.

Screenshots go to ``test-artifacts/web-customer360*.png``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from outsidein.services.data import load_frame

pytestmark = pytest.mark.browser

D = datetime


def _plant(site: Any) -> None:
    ws = site.ws
    load_frame(ws, "customers", pd.DataFrame({
        "customer_id": ["C-TOP-1", "C-TOP-2"], "region": ["north", "south"], "nps": [9, 6],
        "name": ["Tess Topbuyer", "Tom Second"]}), source="test:customers")
    load_frame(ws, "order_lines", pd.DataFrame({
        "order_id": ["O1", "O2", "O3"], "customer_id": ["C-TOP-1", "C-TOP-1", "C-TOP-2"],
        "ts": [D(2024, 1, 10), D(2024, 6, 3), D(2024, 2, 2)], "quantity": [1, 2, 1],
        "revenue": [120.0, 80.0, 30.0]}), source="test:order_lines")
    ws.warehouse().write_table("customer_value", pd.DataFrame({
        "customer_id": ["C-TOP-1", "C-TOP-2"], "clv": [987.65, 12.0], "prob_alive": [0.91, 0.2],
        "value_decile": [1, 10], "reason": ["planted: the best buyer", "planted: the other"]}))
    ws.close()


def _login(browser: Any, site: Any, width: int = 1280) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site.url + "/login")
    page.fill("input[name=email]", site.PEOPLE["viewer"][0])
    page.fill("input[name=password]", site.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/")
    return ctx, page, errors


def test_a_click_on_a_customer_id_opens_the_customer_360(site: Any, browser: Any,
                                                          artifacts_dir: Path) -> None:
    _plant(site)
    ctx, page, errors = _login(browser, site)
    page.goto(site.url + "/value")
    assert "C-TOP-1" in page.locator("main").inner_text()
    link = page.locator('main a[href="/customers/C-TOP-1"]')
    if link.count():
        link.first.click()
    else:  # /value does not link its ids yet: find the customer from the header's search box
        page.get_by_label("Find a customer by id or name").fill("C-TOP-1")
        page.keyboard.press("Enter")
        page.wait_for_url("**/customers?q=C-TOP-1")
        page.locator('#customer-hits a[href="/customers/C-TOP-1"]').click()
    page.wait_for_url(site.url + "/customers/C-TOP-1")
    assert page.locator("h1").inner_text().startswith("Tess Topbuyer")
    main = page.locator("main").inner_text()
    assert "$987.65" in main and "91%" in main and "planted: the best buyer" in main
    assert "2 orders worth $200.00" in main
    how = page.locator("details.how").first
    assert not how.locator("p").first.is_visible()
    how.locator("summary").click()  # the model terms behind the disclosure
    assert "P(alive)" in how.inner_text()
    page.screenshot(path=str(artifacts_dir / "web-customer360.png"), full_page=True)
    assert errors == []
    ctx.close()

    phone, page, errors = _login(browser, site, width=390)
    page.goto(site.url + "/customers/C-TOP-1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / "web-customer360-phone.png"), full_page=True)
    page.goto(site.url + "/customers?q=tom")
    assert page.locator('#customer-hits a[href="/customers/C-TOP-2"]').count() == 1
    assert errors == []
    phone.close()
