"""The "Market" page and the customer 360's segment panel: first empty (how to fill them),
then, on a small demo company, the segments, clusters in words, the matrix and what stock-outs
cost with its interval."""

from __future__ import annotations

import html as h
import re
from typing import Any

from outsidein.demo.company import generate_demo
from outsidein.services.market.segments import run_segments


def test_empty_workspace_says_how_to_fill_the_page(site: Any) -> None:
    viewer = site.login("viewer")
    r = viewer.get("/market")
    assert r.status_code == 200, r.text
    assert "No segments yet" in r.text and "outsidein market segments" in r.text
    assert 'href="/market"' in r.text  # the nav offers the page to a viewer


def test_segments_clusters_matrix_and_availability_on_a_demo(site: Any) -> None:
    generate_demo(site.ws, customers=1500, seed=7)
    result = run_segments(site.ws)
    site.ws.close()  # the app reads the file with its own connection
    page = site.login("viewer").get("/market")
    assert page.status_code == 200, page.text
    html = page.text
    champions = next(s for s in result.segments if s["key"] == "champions")
    row = re.search(r'<tr data-segment="champions">(.*?)</tr>', html, re.S)
    assert row and f'<td class="num">{champions["customers"]:,}</td>' in row.group(1)
    for c in result.clusters:  # every cluster with its profile in words
        assert h.escape(c["profile"]) in html
    assert 'data-figure="fig-market-matrix"' in html and 'id="matrix-table"' in html
    overall = next(a for a in result.availability if a["segment"] == "all customers")
    assert (f"{overall['ci_low']:.2f} to {overall['ci_high']:.2f}") in html
    assert "bought again at" in html and 'data-figure="fig-market-availability"' in html

    # the customer 360 shows the customer's segment and cluster
    c = site.login("viewer").get("/customers/C0000001")
    assert c.status_code == 200
    with site.ws.duckdb_reader() as con:
        seg, cluster = con.execute("SELECT segment_label, cluster_name FROM customer_segments "
                                   "WHERE customer_id = 'C0000001'").fetchone()
    panel = c.text[c.text.index("Market segment"):]
    assert h.escape(seg) in panel and h.escape(cluster) in panel
    api = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"})
    body = api.get("/api/v1/customers/C0000001").json()
    seg_panel = next(s for s in body["sections"] if s["key"] == "segment")
    assert seg_panel["figures"]["segment"] == seg and seg_panel["figures"]["cluster"] == cluster
