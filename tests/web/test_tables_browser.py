"""In Chromium: sort, filter and download CSV on /value (issue 11, "Tables people can explore").

The customer_value rows are planted (tests/oi_tables.py); the expected order and counts are
computed from them here.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from oi_tables import CUSTOMERS, FORMULA_ID, FORMULA_REASON, N_CUSTOMERS, plant

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def planted(site: Any) -> Any:
    plant(site.ws.root, site.ws.warehouse_path)
    return site


def _first_ids(page: Any, n: int) -> list[str]:
    cells = page.locator("table.explore-table tbody tr td:first-child")
    return [cells.nth(i).inner_text().strip() for i in range(n)]


def test_sort_filter_and_download_on_value(planted: Any, browser: Any,
                                           artifacts_dir: Path) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(planted.url + "/login")
    page.fill("input[name=email]", planted.PEOPLE["member"][0])
    page.fill("input[name=password]", planted.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(planted.url + "/")
    page.goto(planted.url + "/value")
    assert page.locator("table.explore-table tbody tr").count() == 50
    assert f"of {N_CUSTOMERS}" in page.locator(".table-status").inner_text()

    # sort: a click on a header sorts all rows, biggest first, and says so to screen readers
    header = page.locator("th", has_text="Chance still active")
    header.locator("a").click()
    page.wait_for_url("**sort=prob_alive**")
    assert page.locator("th", has_text="Chance still active").get_attribute(
        "aria-sort") == "descending"
    by_alive = sorted(CUSTOMERS, key=lambda r: (-r["prob_alive"], r["customer_id"]))
    assert _first_ids(page, 5) == [r["customer_id"] for r in by_alive[:5]]
    page.locator("th", has_text="Chance still active").locator("a").click()
    page.locator('th[aria-sort="ascending"]', has_text="Chance still active").wait_for()
    lowest = sorted(CUSTOMERS, key=lambda r: (r["prob_alive"], r["customer_id"]))
    assert _first_ids(page, 3) == [r["customer_id"] for r in lowest[:3]]

    # filter with the form: predicted value at most 600, still in the chosen order
    page.select_option("select[name=col]", "clv")
    page.select_option("select[name=op]", "<=")
    page.fill("input[name=val]", "600")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**val=600**")
    want = sorted((r for r in CUSTOMERS if r["clv"] <= 600),
                  key=lambda r: (r["prob_alive"], r["customer_id"]))
    status = page.locator(".table-status").inner_text()
    assert f"of {len(want)} matching (of {N_CUSTOMERS})" in status
    assert _first_ids(page, 3) == [r["customer_id"] for r in want[:3]]
    page.screenshot(path=str(artifacts_dir / "web-tables-value-filtered.png"), full_page=True)

    # download: every matching row (not just this page), in the same order, neutralised
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "customer_value.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [r["customer_id"] for r in rows] == [r["customer_id"] for r in want]
    assert len(rows) > 50  # more than the page shows
    formula = next(r for r in rows if r["customer_id"] == FORMULA_ID)
    assert formula["reason"] == "'" + FORMULA_REASON  # opens as text, not as a formula
    ctx.close()
