"""What people see on the pages and what machines get from the API (live server, real store)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import duckdb

from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.web.routes import api, pages


def test_overview_says_how_to_answer_then_shows_the_five_headlines(site: Any) -> None:
    member = site.login("member")
    page = member.get("/").text
    assert "Not answered yet" in page and "outsidein answer" in page
    assert "no customer events yet" in page  # the buying-stage funnel tile
    assert "no survey answers yet" in page and "outsidein culture import" in page
    assert "Top 10% of customers bring 62% of profit" in page  # awaiting acknowledgement
    results = site.ws.root / "results"
    results.mkdir(exist_ok=True)
    names = ("value", "cost_to_serve", "advocates", "ideal_prospects", "likely_converts")
    doc = {"version": 1, "generated_at": "2026-11-23T16:00:00+00:00", "top_n": 25,
           "answers": {n: {
               "name": n, "question": f"Question {i}", "headline": f"Headline number {i}",
               "missing_data": None, "figures": {"customers": 100 * i},
               "next_action": {"text": f"Do thing {i}", "count": i, "amount": 10.0 * i},
               "rows": [{"rank": 1, "customer_id": f"C{i:03d}", "reason": "buys often"}],
               "plot": {"data": [{"type": "bar", "x": ["a"], "y": [i]}], "layout": {}},
               "title": f"Title {i}", "departments": ["sales"], "priority": "high"}
               for i, n in enumerate(names, start=1)}}
    doc["answers"]["ideal_prospects"]["missing_data"] = (
        "no prospects loaded: load them with 'outsidein load prospects FILE'")
    doc["answers"]["ideal_prospects"]["next_action"] = None
    (results / "five_questions.json").write_text(json.dumps(doc), encoding="utf-8")
    try:
        page = member.get("/").text
        for i in range(1, 6):
            assert f"Headline number {i}" in page and (i == 4 or f"Do thing {i}" in page)
        assert "no prospects loaded" in page
        answers = member.get("/answers").text
        assert answers.count('class="plotly-fig"') == 5 and "/static/plotly.js" in answers
        assert "C003" in answers and "buys often" in answers and "2026-11-23" in answers
        assert "Publish as an insight" not in answers  # members do not publish
        assert "Publish as an insight" not in site.login("viewer").get("/answers").text
        adv = site.login("advocate")
        assert adv.get("/answers").text.count("Publish as an insight for sales") == 4
        token = adv.headers["X-CSRF-Token"]
        r = adv.post("/answers/cost_to_serve/publish", data={"csrf_token": token})
        assert r.status_code == 303
        page = adv.get(r.headers["location"]).text
        assert "Title 2" in page and "Headline number 2 Next: Do thing 2." in page
        r = adv.post("/answers/ideal_prospects/publish", data={"csrf_token": token})
        assert r.status_code == 409 and "no prospects loaded" in r.text
        api = member.get("/api/v1/answers").json()
        assert api["available"]
        assert api["answers"][0]["headline"] == "Headline number 1"
    finally:
        (results / "five_questions.json").unlink()


def test_the_advocate_sees_what_is_not_yet_acknowledged(site: Any) -> None:
    page = site.login("advocate").get("/").text
    pending = page.split('id="pending"')[1].split("</section>")[0]
    assert "Top 10% of customers bring 62% of profit" in pending
    assert f'href="/insights/{site.insight_id}/status"' in pending
    assert "You belong to no department" in page
    assert 'id="pending"' not in site.login("member").get("/").text


def test_plotly_and_vendor_scripts_are_served_locally(site: Any) -> None:
    c = site.client()
    r = c.get("/static/plotly.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000 and b"plotly" in r.content[:5000]
    assert c.get("/static/vendor/htmx.min.js").status_code == 200
    assert c.get("/static/vendor/swagger-ui-bundle.js").status_code == 200


def test_insight_page_shows_evidence_version_and_acknowledge_button(site: Any) -> None:
    member = site.login("member")
    page = member.get(f"/insights/{site.insight_id}").text
    assert "Share of profit top decile" in page and "62%" in page
    assert site.insight_hash[:12] in page and "demo-2026-11" in page
    assert "What to do next:</strong> call 120 top customers this week" in page
    assert 'id="ack-button"' in page and 'hx-post=' in page
    viewer = site.login("viewer")
    page = viewer.get(f"/insights/{site.insight_id}").text
    assert 'id="ack-button"' not in page and "Viewers read insights" in page


def test_advocate_publishes_and_member_acknowledges_through_the_api(site: Any) -> None:
    advocate_key = site.api_key("insights:write", "insights:read", user="advocate")
    adv = site.client(headers={"Authorization": f"Bearer {advocate_key}"})
    r = adv.post("/api/v1/insights", json={
        "title": "Slow delivery costs loyalty", "statement": "Orders late by 3+ days halve repeat "
        "purchase.", "departments": ["sales"], "priority": "medium",
        "evidence": {"figures": {"repeat_rate_late": 0.21, "repeat_rate_on_time": 0.44}}})
    assert r.status_code == 201, r.text
    ins = r.json()
    assert ins["version"] == 1 and ins["owner_email"] == site.PEOPLE["advocate"][0]
    status = adv.get(f"/api/v1/insights/{ins['id']}/ack-status").json()
    assert status["acknowledged_count"] == 0 and status["departments"][0]["department"] == "sales"

    sales = site.client(headers={"Authorization":
                                 f"Bearer {site.api_key('acks:write', user='sales')}"})
    r = sales.post(f"/api/v1/insights/{ins['id']}/acknowledgements",
                   json={"version_hash": ins["version_hash"]})
    assert r.status_code == 201, r.text
    assert r.json()["user_email"] == site.PEOPLE["sales"][0]
    status = adv.get(f"/api/v1/insights/{ins['id']}/ack-status").json()
    assert status["acknowledged_count"] == 1 == status["expected_count"]
    # A member of another department cannot acknowledge it: 403 problem+json.
    other = site.client(headers={"Authorization":
                                 f"Bearer {site.api_key('acks:write', user='member')}"})
    r = other.post(f"/api/v1/insights/{ins['id']}/acknowledgements",
                   json={"version_hash": ins["version_hash"]})
    assert r.status_code == 403 and "not a member" in r.json()["detail"]
    audit = adv.get("/api/v1/audit-log?format=csv")
    rows = list(csv.DictReader(io.StringIO(audit.text)))
    assert any(r["event"] == "acknowledgement" and r["user_email"] == site.PEOPLE["sales"][0]
               and r["version_hash"] == ins["version_hash"] for r in rows)


def test_a_key_of_no_person_must_name_who_owns_or_acknowledges(site: Any) -> None:
    machine = site.client(headers={"Authorization": "Bearer " + site.api_key(
        "insights:write", "acks:write")})
    insight = {"title": "Returns peak in January", "statement": "Staff the returns desk.",
               "departments": ["sales"]}
    r = machine.post("/api/v1/insights", json=insight)
    assert r.status_code == 422 and r.json()["detail"].startswith("owner_email: required")
    r = machine.post("/api/v1/insights", json={**insight, "owner_email": site.PEOPLE["admin"][0]})
    assert r.status_code == 201 and r.json()["owner_email"] == site.PEOPLE["admin"][0]
    ins = r.json()
    url = f"/api/v1/insights/{ins['id']}/acknowledgements"
    r = machine.post(url, json={"version_hash": ins["version_hash"]})
    assert r.status_code == 422 and r.json()["detail"].startswith("user_email: required")
    r = machine.post(url, json={"version_hash": ins["version_hash"],
                                "user_email": site.PEOPLE["sales"][0]})
    assert r.status_code == 201 and r.json()["user_email"] == site.PEOPLE["sales"][0]
    action = {"insight_id": ins["id"], "title": "Two more desk staff", "department": "sales",
              "due": "2031-01-31", "kpi": "queue minutes", "kpi_baseline": 30, "kpi_target": 10}
    r = machine.post("/api/v1/actions", json=action)
    assert r.status_code == 422 and r.json()["detail"].startswith("owner_email: required")


def test_alla_needs_and_alignment_pages(site: Any) -> None:
    viewer = site.login("viewer")
    alla = viewer.get("/alla").text
    assert "Why do top customers leave?" in alla and "Late deliveries after a complaint" in alla
    assert "24-hour call-back rule" in alla and "top-decile churn %" in alla
    needs = viewer.get("/needs").text
    assert needs.index("Delivery within 48 hours") < needs.index("One contact who knows") \
        < needs.index("Clear invoices")
    assert "14.0" in needs  # 9 + max(9 - 4, 0)
    page = viewer.get("/alignment").text
    assert 'id="alignment-matrix"' in page and "disconnect" in page
    assert "Brand refresh" in page.split('id="off-target"')[1]
    html = viewer.get("/alignment/export.html")
    assert html.headers["content-disposition"].startswith("attachment")
    assert "Delivery within 48 hours" in html.text
    api = viewer.get("/api/v1/alignment").json()
    first = api["rows"][0]
    assert first["need"]["code"] == "N1"
    assert [c["status"] for c in first["cells"]] == ["addressed", "partly", "missed"]
    assert [n["code"] for n in viewer.get("/api/v1/needs?top=2").json()] == ["N1", "N2"]


def test_alignment_exports_a_pdf(site: Any) -> None:
    r = site.login("advocate").get("/alignment/export.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_audit_log_download_for_the_advocate(site: Any) -> None:
    adv = site.login("advocate")
    r = adv.get("/audit-log?format=json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    seeded = [e for e in json.loads(r.text) if e["event"] == "action"
              and e["detail"].startswith("24-hour call-back rule")]
    assert [(e["user_email"], e["insight_id"], e["department"]) for e in seeded] == [
        (site.PEOPLE["member"][0], site.insight_id, "product")]


def test_value_page_and_api_say_how_to_fill_customer_value(site: Any) -> None:
    member = site.login("member")
    page = member.get("/value").text
    assert "customer_value" in page and "outsidein value score" in page
    r = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"}).get(
        "/api/v1/customers/1/value")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "customer_value" in r.json()["detail"]

    con = duckdb.connect(str(site.ws.warehouse_path))
    con.execute("CREATE TABLE customer_value AS SELECT * FROM (VALUES "
                "('C001', 120.5, 3, 'orders often'), ('C002', 980.0, 1, 'big baskets'), "
                "('C003', 15.0, 10, 'one order')) AS t(customer_id, clv, value_decile, reason)")
    con.close()
    try:
        page = member.get("/value").text
        assert page.index("C002") < page.index("C001") < page.index("C003")
        assert "big baskets" in page and "$980" in page  # money with its currency
        r = site.client(headers={"Authorization": f"Bearer {site.api_key('value:read')}"}).get(
            "/api/v1/customers/C002/value")
        assert r.status_code == 200 and r.json()["values"]["clv"] == 980.0
    finally:
        con = duckdb.connect(str(site.ws.warehouse_path))
        con.execute("DROP TABLE customer_value")
        con.close()


def test_admin_adds_a_person_who_can_then_log_in(site: Any) -> None:
    admin = site.login("admin")
    token = admin.headers["X-CSRF-Token"]
    r = admin.post("/admin/users", data={
        "csrf_token": token, "email": "new.hire@acme.test", "name": "New Hire",
        "password": "a long enough pass", "role": "member", "departments": ["sales"]})
    assert r.status_code == 200 and "added new.hire@acme.test" in r.text
    r = admin.post("/admin/users", data={
        "csrf_token": token, "email": "short@acme.test", "name": "Short", "password": "short",
        "role": "member"})
    assert r.status_code == 422 and "at least 10 characters" in r.text
    r = admin.post("/admin/apikeys", data={"csrf_token": token, "name": "crm",
                                           "scopes": ["insights:read"]})
    secret = r.text.split('id="api-secret">')[1].split("<")[0]
    assert admin.get("/admin").text.count(secret) == 0  # shown once only
    c = site.client(headers={"Authorization": f"Bearer {secret}"})
    assert c.get("/api/v1/insights").status_code == 200
    person = site.client()
    tok = site.csrf_of(person.get("/login").text)
    r = person.post("/login", data={"email": "new.hire@acme.test",
                                    "password": "a long enough pass", "csrf_token": tok})
    assert r.status_code == 303
    assert "New Hire" in person.get("/").text


def test_needs_items_actions_and_outcomes_are_recorded(site: Any) -> None:
    key = site.api_key("needs:write", "needs:read", "insights:write", "insights:read",
                       user="advocate")
    api = site.client(headers={"Authorization": f"Bearer {key}"})
    r = api.post("/api/v1/needs", json={"title": "Know when my order ships", "importance": 10,
                                        "satisfaction": 2, "evidence": {"complaints": 400}})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert r.json()["opportunity"] == 18.0
    r = api.post("/api/v1/alignment/items", json={"kind": "training", "title": "Shipping FAQ",
                                                  "needs": {code: "full"}})
    assert r.status_code == 201, r.text
    assert api.get("/api/v1/needs?top=1").json()[0]["code"] == code

    adv = site.login("advocate")
    token = adv.headers["X-CSRF-Token"]
    r = adv.post("/needs", data={"csrf_token": token, "title": "Fair returns", "importance": "6",
                                 "satisfaction": "5"})
    assert r.status_code == 303 and "Fair returns" in adv.get("/needs").text
    r = adv.post("/alignment/items", data={"csrf_token": token, "kind": "plan",
                                           "title": "Tracking page", "needs": f"{code}:partial"})
    assert r.status_code == 303
    matrix = adv.get("/alignment").text
    assert "Know when my order ships" in matrix and "Tracking page" in matrix

    member = site.login("member")
    token = member.headers["X-CSRF-Token"]
    r = member.post("/alla/actions", data={
        "csrf_token": token, "insight_id": str(site.insight_id), "title": "Ship-date e-mails",
        "department": "product", "due": "2030-06-30", "kpi": "where-is-my-order calls",
        "kpi_baseline": "900", "kpi_target": "300"})
    assert r.status_code == 303, r.text
    action = next(a for a in site.client(headers={"Authorization": f"Bearer {key}"})
                  .get("/api/v1/alla").json()["chains"][0]["actions"]
                  if a["title"] == "Ship-date e-mails")
    r = member.post(f"/alla/actions/{action['id']}/outcome", data={
        "csrf_token": token, "kpi_value": "250", "measured_at": "2030-07-15"})
    assert r.status_code == 303
    board = member.get("/alla").text
    row = board.split("Ship-date e-mails")[1].split("</tr>")[0]
    assert "succeeded" in row and "250" in row

    r = api.post("/api/v1/actions", json={
        "insight_id": site.insight_id, "title": "Proactive delay notices", "department": "sales",
        "due": "2030-03-31", "kpi": "complaints per week", "kpi_baseline": 40, "kpi_target": 20})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "open" and r.json()["owner_email"] == site.PEOPLE["advocate"][0]
    r = api.post(f"/api/v1/actions/{r.json()['id']}/outcomes",
                 json={"kpi_value": 45, "measured_at": "2030-04-15", "note": "worse"})
    assert r.status_code == 201 and r.json()["success"] is False
    assert api.get("/api/v1/alla").json()["failures"] == 1


def test_the_advocate_asks_listens_and_learns(site: Any) -> None:
    adv = site.login("advocate")
    token = adv.headers["X-CSRF-Token"]
    r = adv.post("/alla/questions", data={"csrf_token": token, "text": "What slows reorders?",
                                          "audience": "B2B buyers", "channel": "survey"})
    assert r.status_code == 303
    key = site.api_key("insights:read")
    board = site.client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/alla").json()
    q = next(c["question"] for c in board["chains"]
             if c["question"] and c["question"]["text"] == "What slows reorders?")
    assert adv.post(f"/alla/questions/{q['id']}/heard", data={
        "csrf_token": token, "summary": "Reordering takes 9 clicks", "source": "survey"}
    ).status_code == 303
    assert adv.post(f"/alla/questions/{q['id']}/learned", data={
        "csrf_token": token, "insight_id": str(site.insight_id)}).status_code == 303
    chain = adv.get("/alla").text.split("What slows reorders?")[1].split("</section>")[0]
    assert "Reordering takes 9 clicks" in chain and "Top 10% of customers" in chain
    member = site.login("member")
    r = member.post("/alla/questions", data={"csrf_token": member.headers["X-CSRF-Token"],
                                             "text": "Members do not ask here"})
    assert r.status_code == 403


def test_plan_message_and_training_items_are_imported_from_csv(site: Any) -> None:
    adv = site.login("advocate")
    token = adv.headers["X-CSRF-Token"]
    good = "kind,title,owner,needs\ntraining,Invoice walkthrough,Sales ops,N3\n"
    r = adv.post("/alignment/import", data={"csrf_token": token},
                 files={"file": ("items.csv", good.encode(), "text/csv")})
    assert r.status_code == 303, r.text
    assert "Invoice walkthrough" in adv.get("/alignment").text
    bad = "kind,title,owner,needs\nposter,Wall poster,,N1\n"
    r = adv.post("/alignment/import", data={"csrf_token": token},
                 files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "poster" in r.text
    r = adv.post("/alignment/import", files={"file": ("items.csv", good.encode(), "text/csv")},
                 headers={"X-CSRF-Token": ""})
    assert r.status_code == 403  # multipart forms need the CSRF token too


def test_a_deactivated_person_is_logged_out_and_their_keys_stop(site: Any) -> None:
    with session_scope(site.ws.store_url) as s:
        leaver = accounts.create_user(s, email="leaver@acme.test", name="Leaver",
                                      password=site.PASSWORD, role="member",
                                      departments=["sales"])
    person = site.client()
    tok = site.csrf_of(person.get("/login").text)
    assert person.post("/login", data={"email": "leaver@acme.test", "password": site.PASSWORD,
                                       "csrf_token": tok}).status_code == 303
    assert person.get("/").status_code == 200
    with session_scope(site.ws.store_url) as s:
        _, secret = accounts.create_api_key(s, name="leaver", scopes=["insights:read"],
                                            user_id=leaver.id)
    key = site.client(headers={"Authorization": f"Bearer {secret}"})
    assert key.get("/api/v1/insights").status_code == 200

    admin = site.login("admin")
    r = admin.post(f"/admin/users/{leaver.id}", data={
        "csrf_token": admin.headers["X-CSRF-Token"], "role": "member",
        "departments": ["product"]})  # no "active": the box is unticked
    assert r.status_code == 200 and "updated leaver@acme.test" in r.text
    row = r.text.split('data-user="leaver@acme.test"')[1].split("</tr>")[0]
    assert "product" in row and "<td>no</td>" in row
    assert person.get("/").status_code == 303
    assert key.get("/api/v1/insights").status_code == 401
    # The admin cannot lock themselves out.
    admin_id = next(u for u in site_users(site) if u.email == "admin@acme.test").id
    r = admin.post(f"/admin/users/{admin_id}", data={
        "csrf_token": admin.headers["X-CSRF-Token"], "role": "viewer", "active": "true"})
    assert r.status_code == 409 and "cannot remove your own admin role" in r.text


def site_users(site: Any) -> list[Any]:
    with session_scope(site.ws.store_url) as s:
        return accounts.list_users(s)


def test_an_unexpected_error_is_a_500_without_internals(site: Any,
                                                        monkeypatch: Any) -> None:
    def broken(ws: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api, "read_answers", broken)
    monkeypatch.setattr(pages, "read_answers", broken)
    viewer = site.login("viewer")
    r = viewer.get("/api/v1/answers")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in r.text and r.json()["status"] == 500
    r = viewer.get("/answers")
    assert r.status_code == 500 and "Internal server error" in r.text
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
