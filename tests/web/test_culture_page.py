"""The Culture page, its CSV export and API, the survey admin page and the overview tile:
empty, then with illustrative waves (hidden groups say why), and the published findings."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import select

from outsidein.services.culture.analysis import run_culture
from outsidein.services.culture.instrument import load_instrument
from outsidein.services.culture.simulated import FOCAL, seed_illustrative_waves
from outsidein.services.publish import publish_analysis_insights
from outsidein.store.db import session_scope
from outsidein.store.models.share import Insight


def test_an_empty_workspace_says_how_to_start(site: Any) -> None:
    viewer = site.login("viewer")
    r = viewer.get("/culture")
    assert r.status_code == 200 and "No survey answers yet" in r.text
    assert "outsidein culture import WAVE FILE.csv" in r.text
    assert 'href="/culture"' in r.text  # in the navigation
    tile = re.search(r'id="panel-culture">(.*?)</section>', viewer.get("/").text, re.S)
    assert tile and "no survey answers yet" in tile.group(1)


def test_the_page_export_and_api_show_the_same_groups_and_hide_the_same(site: Any) -> None:
    with session_scope(site.ws.store_url) as s:
        seed_illustrative_waves(s, load_instrument(), n_orgs=12, mean_size=30, seed=3)
    viewer = site.login("viewer")
    page = viewer.get("/culture")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert f"{FOCAL}, wave Illustrative wave 3" in text
    assert "Illustrative data" in text and "illustrative</strong> norm set" in text
    assert 'id="fig-culture-trend"' in text and 'id="gauge-market_orientation"' in text
    assert "What drives the gap to the top quartile" in text
    assert re.search(r"Across 12 organisations, 10 points more market orientation go with "
                     r"[+-]\d+\.\d points of performance", text)
    # the customer-KPI card says why it has nothing yet (no orders in this workspace)
    assert 'id="culture-kpi-links"' in text
    assert "No customer KPIs: the warehouse has no orders yet" in text

    rows = re.findall(r'<tr data-group="([^"]+)"><th scope="row">.*?</th><td class="num">(\d+)'
                      r'</td>(.*?)</tr>', text, re.S)
    assert rows, "no heat map rows"
    for group, n, cells in rows:
        if int(n) < 5:
            assert "hidden:" in cells and not re.search(r">\d+<", cells), (group, n)

    export = viewer.get("/culture/groups.csv", params={"wave": "Illustrative wave 3"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["group"] for r in table} >= {FOCAL} | {g.split(":", 1)[1] for g, _, _ in rows}
    for r in table:
        hidden = r["shown"] == "False"
        assert (r["market_orientation"] == "") == hidden
        if int(r["n"]) < 5:
            assert hidden and r["reason"]

    key = site.api_key("answers:read")
    api = site.client().get("/api/v1/culture/groups", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    body = api.json()
    assert body["illustrative"] is True and body["org"] == FOCAL
    by_group = {(g["dimension"], g["group"]): g for g in body["groups"]}
    for r in table:
        g = by_group[(r["dimension"], r["group"])]
        assert g["shown"] == (r["shown"] == "True") and g["n"] == int(r["n"])
    no_scope = site.api_key("needs:read")
    r = site.client().get("/api/v1/culture/groups", headers={"Authorization": f"Bearer {no_scope}"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"

    other = viewer.get("/culture", params={"org": "Illustrative org 002"})
    assert other.status_code == 200 and "Illustrative org 002, wave" in other.text
    missing = viewer.get("/culture", params={"org": "Nobody Ltd"})
    assert missing.status_code == 404

    tile = re.search(r'id="panel-culture">(.*?)</section>', viewer.get("/").text, re.S)
    assert tile and "/ 100" in tile.group(1) and "(illustrative)" in tile.group(1)


def test_staff_run_a_wave_from_the_admin_page(site: Any) -> None:
    member = site.login("member")
    assert member.get("/culture/admin").status_code == 403
    admin = site.login("admin")
    page = admin.get("/culture/admin")
    assert page.status_code == 200 and "Open a new wave" in page.text
    token = site.csrf_of(page.text)
    r = admin.post("/culture/admin/orgs", data={"csrf_token": token, "name": "Web Org",
                                                "industry": "Retail", "size": "lots"})
    assert r.status_code == 422 and "size &#39;lots&#39;: expected a whole number" in r.text
    assert 'aria-describedby="add-org-size-error"' in r.text
    assert 'value="Web Org"' in r.text  # what was typed stays
    for url, data in (("/culture/admin/orgs", {"name": "Web Org", "size": "80"}),
                      ("/culture/admin/departments", {"org": "Web Org", "name": "Sales",
                                                      "headcount": "12"}),
                      ("/culture/admin/roles", {"org": "Web Org", "name": "staff"}),
                      ("/culture/admin/waves", {"name": "web-1"})):
        r = admin.post(url, data={"csrf_token": token, **data})
        assert r.status_code == 200 and "Done:" in r.text, (url, r.text[:300])
    r = admin.post("/culture/admin/waves", data={"csrf_token": token, "name": "web-1"})
    assert r.status_code == 409 and "already exists" in r.text
    r = admin.post("/culture/admin/invite", data={"csrf_token": token, "wave": "web-1",
                                                  "org": "Web Org", "count": "3"})
    assert r.status_code == 200
    links = re.findall(r"(http://127\.0\.0\.1:\d+/survey/[A-Za-z0-9_-]{32})", r.text)
    assert len(set(links)) == 3
    assert site.client().get(links[0]).status_code == 200
    rates = admin.get("/culture/admin", params={"wave": "web-1"})
    assert re.search(r"<td>Web Org</td><td>Sales</td><td class=\"num\">0</td>"
                     r"<td class=\"num\">12</td>", rates.text)
    remind = admin.get("/culture/admin/reminders.csv", params={"wave": "web-1"})
    assert remind.status_code == 200 and sorted(remind.text.strip().splitlines()[1:]) == sorted(
        f"Web Org,,{u}" for u in links)
    r = admin.post("/culture/admin/close", data={"csrf_token": token, "wave": "web-1"})
    assert r.status_code == 200 and "closed wave web-1" in r.text
    assert site.client().get(links[0]).status_code == 404


def test_findings_are_published_to_the_departments_concerned(site: Any) -> None:
    findings = run_culture(site.ws)
    drafts = findings.insights()
    assert drafts and drafts[0]["key"] == "culture.market_orientation"
    assert drafts[0]["title"].startswith("Illustrative: Market orientation")
    assert set(findings.departments.values()) <= {"product", "sales"}
    for d in drafts[1:]:
        assert d["key"].startswith("culture.department.") and len(d["departments"]) == 1
        assert d["departments"][0] in {"product", "sales"}
    published = publish_analysis_insights(site.ws, {"culture": findings})
    assert {p["key"] for p in published} == {d["key"] for d in drafts}
    with session_scope(site.ws.store_url, write=False) as s:
        keys = set(s.scalars(select(Insight.key).where(Insight.key.like("culture.%"))))
    assert keys == {d["key"] for d in drafts}
