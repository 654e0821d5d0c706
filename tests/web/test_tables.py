"""Tables people can explore (issue 11): sort, filter, pages and CSV on /value and on every
answer's full list, the same through ``/api/v1/tables``, and an owner for "call these 25".

The rows are planted (tests/oi_tables.py); every expectation is computed from them here.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from oi_tables import CUSTOMERS, FORMULA_ID, FORMULA_REASON, N_CUSTOMERS, PROSPECTS, plant


@pytest.fixture(scope="module")
def planted(site: Any) -> Any:
    plant(site.ws.root, site.ws.warehouse_path)
    return site


def _ids(html: str, prefix: str = "C") -> list[str]:
    """The ids in the first column of the explorable table, in page order."""
    body = html.split('class="tbl explore-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    return [re.search(rf"\b({prefix}\d+)\b", r).group(1) for r in rows]  # type: ignore[union-attr]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


BY_CLV = [r["customer_id"] for r in sorted(CUSTOMERS, key=lambda r: -r["clv"])]


def test_value_sorts_both_ways_and_marks_the_header(planted: Any) -> None:
    c = planted.login("member")
    page = c.get("/value", params={"sort": "clv", "desc": "true", "per_page": 10}).text
    assert _ids(page) == BY_CLV[:10]
    assert re.search(r'<th scope="col" aria-sort="descending"><a [^>]*>Predicted value', page)
    page = c.get("/value", params={"sort": "clv", "per_page": 10}).text
    assert _ids(page) == BY_CLV[::-1][:10]
    assert 'aria-sort="ascending"' in page
    # the header link of the current sort turns it round
    link = re.search(r'aria-sort="ascending"><a href="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "desc=1" in link.replace("&amp;", "&")
    by_alive = sorted(CUSTOMERS, key=lambda r: (-r["prob_alive"], r["customer_id"]))
    page = c.get("/value", params={"sort": "prob_alive", "desc": "1", "per_page": 5}).text
    assert _ids(page) == [r["customer_id"] for r in by_alive[:5]]


def test_value_pages_reach_every_customer(planted: Any) -> None:
    c = planted.login("viewer")
    first = c.get("/value").text  # the default: 50 a page, most valuable first
    assert _ids(first) == BY_CLV[:50]
    assert f"Rows 1–50 of {N_CUSTOMERS}" in first
    third = c.get("/value", params={"page": 3}).text
    assert _ids(third) == BY_CLV[100:]
    assert f"Rows 101–{N_CUSTOMERS} of {N_CUSTOMERS}" in third
    assert "Page 3 of 3" in third and 'rel="prev"' in third and 'rel="next"' not in third
    second = c.get("/value", params={"page": 2}).text
    assert _ids(second)[0] == BY_CLV[50]  # row 51 is reachable
    beyond = c.get("/value", params={"page": 99}).text
    assert f"the {N_CUSTOMERS} rows fill 3 pages" in beyond


def test_filters_and_search_count_the_right_rows(planted: Any) -> None:
    c = planted.login("member")
    want = sorted((r for r in CUSTOMERS if r["clv"] >= 600 and r["value_decile"] <= 7),
                  key=lambda r: -r["clv"])
    page = c.get("/value", params=[("filter", "clv>=600"), ("filter", "value_decile<=7"),
                                   ("per_page", "500")]).text
    assert _ids(page) == [r["customer_id"] for r in want]
    assert f"of {len(want)} matching (of {N_CUSTOMERS})" in page
    assert "Predicted value (CLV) at least 600" in page  # the active filter, in words
    # the filter form (column, condition, value) and the free-text search
    page = c.get("/value", params={"col": "reason", "op": "~", "val": "EVERY 3 WEEKS"}).text
    assert sorted(_ids(page)) == sorted(r["customer_id"] for r in CUSTOMERS
                                        if "every 3 weeks" in r["reason"])
    page = c.get("/value", params={"q": "evil.test"}).text
    assert _ids(page) == [FORMULA_ID]
    page = c.get("/value", params={"filter": "clv>999999"}).text
    assert "No rows match (of 120)" in page


def test_csv_has_every_filtered_row_and_is_neutralised(planted: Any) -> None:
    c = planted.login("member")
    r = c.get("/value", params={"format": "csv", "filter": "clv<900", "sort": "clv",
                                "desc": "true"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _csv(r.text)
    want = [x["customer_id"] for x in sorted(CUSTOMERS, key=lambda x: -x["clv"])
            if x["clv"] < 900]
    assert len(want) > 50  # more than one page: the download is not the page
    assert [x["customer_id"] for x in rows] == want
    evil = next(x for x in rows if x["customer_id"] == FORMULA_ID)
    assert evil["reason"] == "'" + FORMULA_REASON
    assert float(evil["clv"]) == next(x["clv"] for x in CUSTOMERS if x["customer_id"] == FORMULA_ID)
    # the page's "Download CSV" link keeps the filters
    page = c.get("/value", params={"filter": "clv<900"}).text
    href = re.search(r'href="([^"]+)" class="download-csv" download', page).group(1)  # type: ignore[union-attr]
    assert len(_csv(c.get(href.replace("&amp;", "&")).text)) == len(want)


def test_the_api_gives_the_same_rows(planted: Any) -> None:
    key = planted.api_key("value:read")
    api = planted.client(headers={"Authorization": f"Bearer {key}"})
    params = {"sort": "clv", "desc": "true", "filter": "value_decile>=3", "page": 2,
              "per_page": 20}
    body = api.get("/api/v1/tables/customer_value", params=params).json()
    html = planted.login("member").get("/value", params=params).text
    assert [r["customer_id"] for r in body["rows"]] == _ids(html)
    want = [r for r in CUSTOMERS if r["value_decile"] >= 3]
    assert body["matched"] == len(want) and body["total"] == N_CUSTOMERS
    assert body["page"] == 2 and body["pages"] == -(-len(want) // 20)
    labels = {col["name"]: col for col in body["columns"]}
    assert labels["prob_alive"]["label"] == "Chance still active"
    assert labels["T"]["model_term"] is True and labels["clv"]["unit"] == "money"
    r = api.get("/api/v1/tables/customer_value", params={**params, "format": "csv"})
    assert len(_csv(r.text)) == len(want)
    doc = planted.login("member").get("/openapi.json").json()  # it documents the parameters
    for path in ("/api/v1/tables/{name}", "/api/v1/tables/customer_value"):
        names = {p["name"] for p in doc["paths"][path]["get"]["parameters"]}
        assert {"sort", "desc", "q", "filter", "page", "per_page", "format"} <= names
        assert "422" in doc["paths"][path]["get"]["responses"]


@pytest.mark.parametrize("params", [
    {"sort": "no_such_column"}, {"filter": "clv>lots"}, {"filter": "nonsense"},
    {"filter": "ghost=1"}, {"per_page": 501}, {"page": 0}, {"desc": "sideways"},
    {"format": "xlsx"}, {"sort": "clv; DROP TABLE customer_value"}])
def test_bad_parameters_are_422_problems(planted: Any, params: dict[str, Any]) -> None:
    key = planted.api_key("value:read", "answers:read")
    api = planted.client(headers={"Authorization": f"Bearer {key}"})
    for path in ("/api/v1/tables/customer_value", "/api/v1/tables/answer_likely_converts"):
        r = api.get(path, params=params)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 422
    page = planted.login("member").get("/value", params=params)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]


def test_every_answer_row_is_reachable(planted: Any) -> None:
    c = planted.login("member")
    answers = c.get("/answers").text
    assert f"All {len(PROSPECTS)} rows" in answers and f"All {N_CUSTOMERS} rows" in answers
    assert 'href="/tables/answer_likely_converts"' in answers
    page = c.get("/tables/answer_likely_converts", params={"per_page": 100}).text
    assert sorted(_ids(page, "P")) == sorted(p["prospect_id"] for p in PROSPECTS)
    # the default order is the answer's rank (unranked prospects last), 25 a page
    ranked = [p["prospect_id"] for p in PROSPECTS if p["rank"]]
    assert _ids(c.get("/tables/answer_likely_converts").text, "P") == ranked[:25]
    opened = c.get("/tables/answer_likely_converts",
                   params={"filter": "status=open", "sort": "probability"}).text
    want = sorted((p for p in PROSPECTS if p["status"] == "open"),
                  key=lambda p: p["probability"])
    assert _ids(opened, "P") == [p["prospect_id"] for p in want][:25]
    value_list = c.get("/tables/answer_value", params={"page": 5}).text
    assert _ids(value_list) == BY_CLV[100:]  # rows 101-120 of the stored top 25 list
    side = c.get("/tables/answer_value.drivers", params={"sort": "ratio"}).text
    assert side.index(">orders<") < side.index(">margin<")
    assert c.get("/tables/answer_nothing").status_code == 404


def test_the_call_list_gets_an_owner(planted: Any) -> None:
    lead = planted.login("advocate")
    # the insight that asks for the calls links to the list, one click away
    r = lead.post("/answers/likely_converts/publish",
                  data={"csrf_token": planted.csrf_of(lead.get("/answers").text)})
    assert r.status_code == 303
    insight = lead.get(r.headers["location"]).text
    assert 'href="/tables/answer_likely_converts"' in insight
    page = lead.get("/tables/answer_likely_converts").text
    assert "Nobody owns this list yet" in page and "call these 25 prospects first" in page
    r = lead.post("/tables/answer_likely_converts/owner",
                  data={"owner_email": planted.PEOPLE["sales"][0], "note": "by Friday",
                        "csrf_token": planted.csrf_of(page)})
    assert r.status_code == 303
    page = lead.get("/tables/answer_likely_converts").text
    owner = re.search(r'<p id="owner-name">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert planted.PEOPLE["sales"][0] in owner and "by Friday" in owner
    member = planted.login("member")
    assert member.post("/tables/answer_likely_converts/owner",
                       data={"owner_email": planted.PEOPLE["member"][0],
                             "csrf_token": planted.csrf_of(member.get("/").text)}
                       ).status_code == 403
    key = planted.api_key("insights:write", "answers:read", user="advocate")
    api = planted.client(headers={"Authorization": f"Bearer {key}"})
    r = api.put("/api/v1/tables/answer_likely_converts/owner",
                json={"owner_email": planted.PEOPLE["member"][0]})
    assert r.status_code == 200, r.text
    body = api.get("/api/v1/tables/answer_likely_converts", params={"per_page": 1}).json()
    assert body["owner"]["owner_email"] == planted.PEOPLE["member"][0]
    assert api.put("/api/v1/tables/answer_likely_converts/owner",
                   json={"owner_email": "nobody@acme.test"}).status_code == 404
    assert api.put("/api/v1/tables/customer_value/owner",
                   json={"owner_email": planted.PEOPLE["member"][0]}).status_code == 404
