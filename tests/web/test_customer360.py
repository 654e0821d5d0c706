"""The customer 360 (/customers/{id}, its search and its API) on a planted customer.

A customer, "Marta Planted" (C-PLANT-1), is loaded through the real loader with known
orders, contacts, service costs, referrals in and out, an NPS answer and a predicted
value; an insight names her, another names only C-PLANT-12.  Every figure the tests look
for is written here by hand, never produced by the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from outsidein.errors import NotFoundError
from outsidein.services.customers import customer_360, search_customers
from outsidein.services.data import load_frame
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

D = datetime
CUSTOMERS = pd.DataFrame({
    "customer_id": ["C-PLANT-1", "C-REF-0", "C-KID-1", "C-KID-2", "C-GRANDKID", "C-PLANT-12"],
    "first_seen": [D(2024, 1, 5), D(2023, 6, 1), D(2024, 3, 1), D(2024, 4, 1), D(2024, 6, 1),
                   D(2024, 1, 9)],
    "region": ["north", "south", "north", "east", "west", "north"],
    "acquisition_channel": ["referral", "web", "referral", "referral", "referral", "web"],
    "nps": [3, 10, None, None, None, None],
    "name": ["Marta Planted", "Ruth Referrer", "Kim Kid", "Kai Kid", "Gus Grandkid", "Other One"],
})
PRODUCTS = pd.DataFrame({"product_id": ["p1", "p2"], "name": ["Blue Kettle", "Green Teapot"],
                         "product_type": ["home", "home"], "unit_cost": [10.0, 5.0]})
ORDERS = pd.DataFrame({
    "order_id": ["O1", "O1", "O2", "O3", "R1", "X1"],
    "customer_id": ["C-PLANT-1"] * 5 + ["C-REF-0"],
    "product_id": ["p1", "p2", "p1", "p2", "p2", "p1"],
    "ts": [D(2024, 2, 10), D(2024, 2, 10), D(2024, 5, 20), D(2024, 9, 1), D(2024, 9, 10),
           D(2024, 3, 3)],
    "quantity": [1, 2, 4, 3, -1, 1],
    "revenue": [100.0, 50.0, 200.0, 75.25, -25.0, 40.0],
    "is_return": [False, False, False, False, True, False],
})
INTERACTIONS = pd.DataFrame({
    "customer_id": ["C-PLANT-1", "C-PLANT-1"],
    "ts": [D(2024, 3, 1), D(2024, 9, 12)],
    "channel": ["web", "call_center"],
    "type": ["visit", "complaint"],
})
COSTS = pd.DataFrame({"customer_id": ["C-PLANT-1", "C-PLANT-1"],
                      "ts": [D(2024, 2, 11), D(2024, 9, 12)],
                      "kind": ["delivery", "support"], "amount": [7.5, 12.5]})
REFERRALS = pd.DataFrame({
    "referrer_id": ["C-REF-0", "C-PLANT-1", "C-PLANT-1", "C-KID-1"],
    "referred_id": ["C-PLANT-1", "C-KID-1", "C-KID-2", "C-GRANDKID"],
    "ts": [D(2024, 1, 1), D(2024, 3, 1), D(2024, 4, 1), D(2024, 6, 1)],
})
PROSPECTS = pd.DataFrame({
    "prospect_id": ["PR-PLANT-1", "PR-CONV"], "created": [D(2024, 7, 1), D(2023, 12, 1)],
    "source": ["trade_show", "web_form"], "region": ["north", "north"],
    "industry": ["retail", None], "converted_customer_id": [None, "C-PLANT-1"],
})
VALUE = pd.DataFrame({
    "customer_id": ["C-PLANT-1", "C-REF-0", "C-KID-1"], "frequency": [2, 0, 0],
    "recency": [29.0, 0.0, 0.0], "T": [40.0, 60.0, 30.0], "monetary_value": [137.63, 40.0, 0.0],
    "expected_purchases": [3.1, 0.2, 0.4], "prob_alive": [0.87, 0.3, 0.5],
    "expected_spend": [140.0, 40.0, 50.0], "clv": [1234.5, 12.0, 310.0],
    "value_decile": [1, 9, 2],
    "reason": ["planted: buys every 3 months, complained once", "planted low", "planted kid"],
})
IDEAL = pd.DataFrame({"rank": [1], "prospect_id": ["PR-PLANT-1"], "score": [0.61],
                      "score_decile": [1], "status": ["open"],
                      "reason": ["like top customers: planted in retail (3.0x)"]})
CONVERTS = pd.DataFrame({"rank": [2], "prospect_id": ["PR-PLANT-1"], "probability": [0.42],
                         "source": ["trade_show"], "status": ["open"],
                         "reason": ["from the trade show, planted reason"]})


def _plant(ws: Workspace) -> None:
    for table, df in (("customers", CUSTOMERS), ("products", PRODUCTS), ("order_lines", ORDERS),
                      ("interactions", INTERACTIONS), ("service_costs", COSTS),
                      ("referrals", REFERRALS), ("prospects", PROSPECTS)):
        report = load_frame(ws, table, df, source=f"test:{table}")
        assert report.quarantined == 0, (table, report)
    wh = ws.warehouse()
    wh.write_table("customer_value", VALUE)
    wh.write_table("answer_ideal_prospects", IDEAL)
    wh.write_table("answer_likely_converts", CONVERTS)
    ws.close()


@pytest.fixture(scope="module")
def planted(site: Any) -> Iterator[Any]:
    _plant(site.ws)
    site.marta = site.publish(title="Call Marta back",
                              statement="C-PLANT-1 complained twice; call her back today.")
    site.other = site.publish(title="Someone else entirely",
                              statement="Only a look-alike id here.",
                              evidence={"figures": {"who": "C-PLANT-12"}})
    yield site


def test_the_planted_customer_shows_every_panel(planted: Any) -> None:
    r = planted.login("member").get("/customers/C-PLANT-1")
    assert r.status_code == 200
    page = r.text
    # who, value now and the reason in words
    assert "Marta Planted" in page and "north" in page
    assert "$1,234.50" in page and "87%" in page and "top 10%" in page
    assert "planted: buys every 3 months, complained once" in page
    assert "How this was computed" in page and "P(alive)" in page
    # orders: 3 purchases worth 100 + 50 + 200 + 75.25, the return listed
    assert "3 orders worth $425.25" in page and "$25.00 returned" in page
    assert "Blue Kettle, Green Teapot" in page and "10 Feb 2024" in page
    # interactions, service costs
    assert "2 contacts" in page and "1 complaint" in page
    assert "Cost to serve so far: <strong>$20.00</strong>" in page
    # referrals in and out: her referrer, two children and a grandchild
    assert 'Referred by <a href="/customers/C-REF-0"' in page
    for kid in ("C-KID-1", "C-KID-2", "C-GRANDKID"):
        assert f'<a href="/customers/{kid}" class="customer-link">{kid}</a>' in page
    assert "Brought 2 customers directly and 3 in all over 2 levels" in page
    # NPS, the prospect she was, the insight that names her (not the look-alike id's)
    assert "3 out of 10" in page and "detractor" in page
    assert '<a href="/customers/PR-CONV"' in page
    assert f'<a href="/insights/{planted.marta.id}">Call Marta back</a>' in page
    assert "Someone else entirely" not in page
    # the journey (sense and respond) and segment (market sensing) panels say what fills them
    assert "outsidein sense replay" in page and "Buying stage and journey" in page
    assert "Market segment" in page and "outsidein market segments" in page


def test_the_api_returns_the_same_figures(planted: Any) -> None:
    key = planted.api_key("value:read")
    r = planted.client(headers={"Authorization": f"Bearer {key}"}).get(
        "/api/v1/customers/C-PLANT-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "customer" and body["name"] == "Marta Planted"
    s = {x["key"]: x for x in body["sections"]}
    assert s["value"]["figures"]["clv"] == 1234.5 and s["value"]["figures"]["value_decile"] == 1
    assert s["orders"]["figures"]["orders"] == 3
    assert s["orders"]["figures"]["revenue"] == pytest.approx(425.25)
    assert [o["order_id"] for o in s["orders"]["rows"]] == ["R1", "O3", "O2", "O1"]
    assert s["service_costs"]["figures"]["cost_to_serve"] == pytest.approx(20.0)
    assert s["referrals"]["figures"]["referred_by"] == "C-REF-0"
    assert {n["customer_id"]: n["depth"] for n in s["referrals"]["rows"]} == {
        "C-KID-1": 1, "C-GRANDKID": 2, "C-KID-2": 1}
    assert s["nps"]["figures"] == {"score": 3, "category": "detractor"}
    assert [i["title"] for i in s["insights"]["rows"]] == ["Call Marta back"]
    assert s["journey"]["available"] is False and "sense replay" in s["journey"]["missing"]
    month = {m["month"][:7]: m["net"] for m in s["history"]["rows"]}
    assert list(month)[0] == "2024-02" and list(month)[-1] == "2024-09" and len(month) == 8
    assert {k: v for k, v in month.items() if v} == {
        "2024-02": 150.0, "2024-05": 200.0, "2024-09": pytest.approx(50.25)}


def test_a_prospect_shows_its_scores_and_reasons(planted: Any) -> None:
    page = planted.login("member").get("/customers/PR-PLANT-1").text
    assert "Prospect score" in page and "61%" in page and "42%" in page
    assert "like top customers: planted in retail (3.0x)" in page
    assert "from the trade show, planted reason" in page
    body = planted.login("member").get("/api/v1/customers/PR-PLANT-1").json()
    assert body["kind"] == "prospect"
    scores = {x["key"]: x for x in body["sections"]}["prospect"]["rows"]
    assert [(x["score"], x["rank"]) for x in scores] == [(0.61, 1), (0.42, 2)]


def test_a_panel_without_data_says_what_would_fill_it(planted: Any) -> None:
    page = planted.login("member").get("/customers/C-KID-2").text
    assert "no orders from this customer in the warehouse" in page
    assert "no Net Promoter answer recorded" in page and "nps column" in page


def test_unknown_id_is_a_404_problem_and_a_friendly_page(planted: Any) -> None:
    r = planted.login("member").get("/api/v1/customers/NO-SUCH-ONE")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and "NO-SUCH-ONE" in r.json()["detail"]
    page = planted.login("member").get("/customers/NO-SUCH-ONE")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "NO-SUCH-ONE" in page.text
    assert planted.login("member").get("/customers/bad%00id").status_code == 422


def test_search_by_name_and_by_id(planted: Any) -> None:
    member = planted.login("member")
    page = member.get("/customers", params={"q": "marta"}).text
    assert '<a href="/customers/C-PLANT-1" class="customer-link">C-PLANT-1</a>' in page
    assert "Marta Planted" in page and "C-KID-1" not in page
    hits = member.get("/api/v1/customers", params={"q": "c-kid"}).json()
    assert [(h["id"], h["label"]) for h in hits] == [("C-KID-1", "Kim Kid"), ("C-KID-2", "Kai Kid")]
    hits = member.get("/api/v1/customers", params={"q": "pr-plant"}).json()
    assert [(h["kind"], h["id"]) for h in hits] == [("prospect", "PR-PLANT-1")]
    exact = member.get("/api/v1/customers", params={"q": "C-PLANT-1"}).json()
    assert [h["id"] for h in exact] == ["C-PLANT-1", "C-PLANT-12"]
    assert "No customer or prospect" in member.get("/customers", params={"q": "zzz"}).text
    # the header search box, labelled for screen readers, on every page
    value_page = member.get("/value").text
    assert '<label for="header-customer-q"' in value_page and 'action="/customers"' in value_page


def test_who_may_open_it_is_who_may_open_value(planted: Any) -> None:
    viewer = planted.login("viewer")
    assert viewer.get("/value").status_code == 200
    assert viewer.get("/customers/C-PLANT-1").status_code == 200
    assert viewer.get("/api/v1/customers/C-PLANT-1").status_code == 200
    anonymous = planted.client()
    r = anonymous.get("/customers/C-PLANT-1")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert anonymous.get("/api/v1/customers/C-PLANT-1").status_code == 401
    key = planted.api_key("insights:read")
    r = planted.client(headers={"Authorization": f"Bearer {key}"}).get(
        "/api/v1/customers/C-PLANT-1")
    assert r.status_code == 403 and "value:read" in r.json()["detail"]


def test_an_empty_workspace_says_which_data_to_load(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    load_frame(ws, "customers", CUSTOMERS.head(1), source="test:customers")
    ws.close()
    with session_scope(ws.store_url, write=False) as s:
        view = customer_360(ws, s, "C-PLANT-1")
        with pytest.raises(NotFoundError, match="C-NOBODY"):
            customer_360(ws, s, "C-NOBODY")
    missing = {x.key: x.missing for x in view.sections if not x.available}
    assert "outsidein load order_lines" in missing["orders"]
    assert "outsidein value score" in missing["value"]
    assert "outsidein load referrals" in missing["referrals"]
    assert "outsidein load service_costs" in missing["service_costs"]
    assert "outsidein load interactions" in missing["interactions"]
    assert view.section("profile").figures["region"] == "north"
    assert [h.label for h in search_customers(ws, "marta")] == ["Marta Planted"]


# --- the journey panel and API (sense and respond) -------------------------------------

def _post_events(site: Any, *events: dict[str, Any]) -> None:
    writer = site.client(headers={"Authorization": f"Bearer {site.api_key('events:write')}"})
    r = writer.post("/api/v1/events", json=list(events))
    assert r.status_code == 200 and r.json()["applied"] == len(events), r.text


def _reader(site: Any) -> Any:
    return site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"})


def test_the_journey_of_an_id_with_a_slash_can_be_read(planted: Any) -> None:
    _post_events(planted, {"event_id": "slash-1", "customer_id": "acct/42",
                           "ts": "2026-03-02T10:00:00+00:00", "channel": "web",
                           "type": "cart_add"})
    r = _reader(planted).get("/api/v1/customers/acct%2F42/journey")
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["customer_id"] == "acct/42" and j["stage"] == "deciding" and j["events"] == 1


def test_the_360_page_of_an_id_with_a_slash_opens(planted: Any) -> None:
    load_frame(planted.ws, "customers", pd.DataFrame({"customer_id": ["gid://shop/Customer/7"],
                                                      "name": ["Sol Slash"]}),
               source="test:slash")
    planted.ws.close()
    page = planted.login("viewer").get("/customers/gid%3A%2F%2Fshop%2FCustomer%2F7")
    assert page.status_code == 200, page.text
    assert "Sol Slash" in page.text and "gid://shop/Customer/7" in page.text


def test_a_bad_id_on_the_journey_is_named_in_words(planted: Any) -> None:
    r = _reader(planted).get("/api/v1/customers/bad%00id/journey")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "control characters" in detail and "customer_id" in detail
    assert "pattern" not in detail and "\\x" not in detail


def test_the_360_timeline_shows_what_was_sent_and_its_outcome(planted: Any) -> None:
    from sqlalchemy import select, update

    from outsidein.services.sense.outbox import enqueue
    from outsidein.store.models.sense import Decision, Delivery, SenseEvent

    _post_events(planted, {"event_id": "t360-1", "customer_id": "C-PLANT-12",
                           "ts": "2026-03-02T10:00:00+00:00", "channel": "web",
                           "type": "cart_add"})
    with session_scope(planted.ws.store_url) as s:  # what the deliverer records
        d = s.scalars(select(Decision).join(SenseEvent, SenseEvent.id == Decision.event_pk)
                      .where(SenseEvent.event_id == "t360-1")).one()
        enqueue(s, d, action="cart_advice", channel="email", send_at=D(2026, 3, 2, 10),
                step="planted")
        s.execute(update(Delivery).where(Delivery.idempotency_key.like("%-planted"))
                  .values(status="sent", sent_at=D(2026, 3, 2, 10, 5), attempts=1))
    _post_events(planted, {"event_id": "t360-2", "customer_id": "C-PLANT-12",
                           "ts": "2026-03-02T11:00:00+00:00", "channel": "web",
                           "type": "checkout"})
    page = planted.login("member").get("/customers/C-PLANT-12").text
    panel = page[page.index("Buying stage and journey"):]
    assert "message: cart advice by email" in panel
    assert "sent 2026-03-02 10:05 UTC by email" in panel
    assert "responded: checkout (web) at 2026-03-02 11:00 UTC, within 7 days" in panel
    # newest first: the checkout's stage change comes before the message it answered
    assert panel.index("stage: purchased") < panel.index("message: cart advice by email")
    j = _reader(planted).get("/api/v1/customers/C-PLANT-12/journey").json()
    sent = next(m for m in j["messages"] if m["status"] == "sent")
    assert sent["outcome"]["result"] == "responded"


def test_the_api_reads_a_customer_whose_id_holds_slashes(planted: Any) -> None:
    """Shopify ids ("gid://shop/Customer/9") and account paths ("acct/42") are customer ids:
    the 360 API answers for them, encoded or not, and the routes with a suffix (journey,
    value) still answer theirs."""
    load_frame(planted.ws, "customers",
               pd.DataFrame({"customer_id": ["acct/42", "gid://shop/Customer/9"],
                             "name": ["Ada Account", "Gil Gid"]}), source="test:slash-api")
    planted.ws.close()
    _post_events(planted, {"event_id": "slash-api-1", "customer_id": "acct/42",
                           "ts": "2026-03-03T10:00:00+00:00", "channel": "web",
                           "type": "cart_add"})
    reader = _reader(planted)
    for path, cid, name in (
            ("acct%2F42", "acct/42", "Ada Account"), ("acct/42", "acct/42", "Ada Account"),
            ("gid%3A%2F%2Fshop%2FCustomer%2F9", "gid://shop/Customer/9", "Gil Gid")):
        r = reader.get(f"/api/v1/customers/{path}")
        assert r.status_code == 200, (path, r.text)
        assert r.json()["customer_id"] == cid and r.json()["name"] == name
    journey = reader.get("/api/v1/customers/acct%2F42/journey")
    assert journey.status_code == 200, journey.text
    assert journey.json()["customer_id"] == "acct/42" and journey.json()["events"] >= 1
    # the value route, not the 360 (which would answer 200): no customer_value row for her
    value = reader.get("/api/v1/customers/acct/42/value")
    assert value.status_code == 404, value.text
    assert "'acct/42'" in value.json()["detail"] and "customer_value" in value.json()["detail"]
    missing = reader.get("/api/v1/customers/gid%3A%2F%2Fshop%2FCustomer%2F404")
    assert missing.status_code == 404 and "gid://shop/Customer/404" in missing.json()["detail"]
