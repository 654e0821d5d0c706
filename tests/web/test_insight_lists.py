"""Long lists of insights come a page at a time: the API (limit, offset, X-Total-Count, Link),
the insights page (50 a page, with Next and Previous) and the overview's to-do and progress
lists (the first 25, and how many more there are)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

#: Insights published on top of the site's one: more than a page of /insights (50).
EXTRA = 60


@pytest.fixture(scope="module")
def many(site: Any) -> Iterator[Any]:
    site.extra = [site.publish(title=f"Finding number {n:02d}", statement=f"Statement {n}.",
                               priority=("high", "medium", "low")[n % 3],
                               departments=["product"])
                  for n in range(EXTRA)]
    yield site


def _links(r: httpx.Response) -> dict[str, str]:
    return {m.group(2): m.group(1)
            for m in re.finditer(r'<([^>]+)>; rel="(\w+)"', r.headers.get("link", ""))}


def test_the_api_pages_through_every_insight_in_order(many: Any) -> None:
    api = many.client(headers={"Authorization": f"Bearer {many.api_key('insights:read')}"})
    everything = api.get("/api/v1/insights", params={"limit": 500})
    assert everything.status_code == 200
    total = EXTRA + 1
    assert int(everything.headers["x-total-count"]) == total and len(everything.json()) == total
    assert "link" not in everything.headers  # one page holds them all
    # high priority first, the newest first within a priority
    ranks = [("high", "medium", "low").index(i["priority"]) for i in everything.json()]
    assert ranks == sorted(ranks)
    first = api.get("/api/v1/insights")  # the default page holds them all at this size
    assert [i["id"] for i in first.json()] == [i["id"] for i in everything.json()]
    seen: list[int] = []
    r = api.get("/api/v1/insights", params={"limit": 7})
    pages = 0
    while True:
        assert r.status_code == 200 and int(r.headers["x-total-count"]) == total
        assert 1 <= len(r.json()) <= 7
        seen += [i["id"] for i in r.json()]
        pages += 1
        links = _links(r)
        if pages > 1:
            assert "prev" in links
        if "next" not in links:
            break
        r = api.get(links["next"])
    assert pages == 9 and seen == [i["id"] for i in everything.json()]
    beyond = api.get("/api/v1/insights", params={"offset": 1000})
    assert beyond.json() == [] and beyond.headers["x-total-count"] == str(total)
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        r = api.get("/api/v1/insights", params=bad)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] in bad


def test_the_insights_page_shows_fifty_and_links_the_rest(many: Any) -> None:
    member = many.login("member")
    first = member.get("/insights")
    assert first.status_code == 200
    ids1 = [int(i) for i in re.findall(r'<a href="/insights/(\d+)">', first.text)]
    assert len(ids1) == 50 and "Insights 1–50 of 61" in first.text
    assert 'href="/insights?page=2" rel="next"' in first.text and 'rel="prev"' not in first.text
    second = member.get("/insights?page=2")
    ids2 = [int(i) for i in re.findall(r'<a href="/insights/(\d+)">', second.text)]
    assert len(ids2) == 11 and "Insights 51–61 of 61" in second.text
    assert 'href="/insights" rel="prev"' in second.text and 'rel="next"' not in second.text
    assert set(ids1) | set(ids2) == {many.insight_id, *(i.id for i in many.extra)}
    # the member (product) has acknowledged none: every one on page 2 is marked
    assert second.text.count("awaiting your acknowledgement") == 11
    # a filter stays on the page links
    sales = member.get("/insights?department=product&mine=true")
    assert 'href="/insights?department=product&amp;mine=true&amp;page=2"' in sales.text
    past = member.get("/insights?page=9")
    assert past.status_code == 200 and "No insights on page 9" in past.text


def test_the_overview_lists_the_first_and_says_how_many_more(many: Any) -> None:
    member = many.login("member").get("/").text
    waiting = member.split('id="awaiting"')[1].split("</div>")[0]
    assert len(re.findall(r'<a href="/insights/\d+">', waiting)) == 25
    assert "The first 25 of 61 insights awaiting your acknowledgement" in member
    advocate = many.login("advocate").get("/").text
    pending = advocate.split('id="pending"')[1].split("</section>")[0]
    assert len(re.findall(r'<li id="progress-\d+">', pending)) == 25
    assert "The 25 least acknowledged of 61 insights" in pending
    # the tile still counts every insight: 2 expected (member, sales) on the first, 1 on each
    # product-only one; nobody has acknowledged
    tile = re.search(r'id="kpi-ack_progress".*?</section>', advocate, re.S)
    assert tile is not None and f"0 of {2 + EXTRA} acknowledgements" in tile.group(0)
