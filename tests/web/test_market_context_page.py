"""The "What events drive" page (/market/context): first how to fill it, then on the demo the
planted Pop-Tarts with its uplift, interval, q-value, events, obvious flag and extra stock,
and a plot of its sales around the storms."""

from __future__ import annotations

import html as h
import re
from typing import Any

from outsidein.demo.company import generate_demo
from outsidein.services.market.context import run_market_context


def test_empty_workspace_says_how_to_fill_the_page(site: Any) -> None:
    r = site.login("viewer").get("/market/context")
    assert r.status_code == 200, r.text
    assert "No result yet" in r.text and "outsidein market context" in r.text


def test_findings_and_the_plot_on_a_demo(site: Any) -> None:
    generate_demo(site.ws, customers=3000, seed=7)
    result = run_market_context(site.ws)
    site.ws.close()  # the app reads the file with its own connection
    page = site.login("viewer").get("/market/context")
    assert page.status_code == 200, page.text
    pop = next(r for r in result.to_dict()["findings"] if r["name"] == "Strawberry Pop-Tarts")
    row = re.search(rf'<tr data-key="storm_warning/{pop["product_id"]}">(.*?)</tr>', page.text,
                    re.S)
    assert row, page.text
    cells = row.group(1)
    assert f"{pop['rate_ratio']:.1f}x" in cells
    assert f"{pop['ci_low']:.1f} to {pop['ci_high']:.1f}" in cells
    assert "<td>no</td>" in cells and f'<td class="num">{pop["n_events"]}</td>' in cells
    assert h.escape(f"{pop['extra_stock']['units_per_event']:,.0f} units per event") in cells
    assert 'data-figure="fig-context-0"' in page.text
