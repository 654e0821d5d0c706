"""The insight page shows the list it asks people to act on, links to the served report, and
after acknowledging offers "log an action" and the next insight awaiting the reader."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest

REPORT_SCRIPT = "document.body.dataset.ready = 'yes';"
REPORT = ("<!doctype html><html><head><meta charset='utf-8'><title>Outside-In report</title>"
          f"<script>{REPORT_SCRIPT}</script></head><body>"
          "<h3 id='five-questions-value'>Which customers are most valuable?</h3></body></html>")
ROWS = [{"rank": i, "customer_id": f"C{i:04d}", "clv": 1000.0 - i, "reason": f"reason {i}"}
        for i in range(1, 31)]


@pytest.fixture(scope="module")
def analysis(site: Any) -> Any:
    """An analysis insight (as 'outsidein analyze' publishes it), its saved answer and report."""
    results = site.ws.root / "results"
    results.mkdir(exist_ok=True)
    answer = {"name": "value", "question": "Which customers are most valuable?",
              "headline": "The top decile holds 39% of future value", "missing_data": None,
              "figures": {"customers": 30}, "rows": ROWS, "table": "answer_value",
              "next_action": {"text": "protect the 30 top customers", "count": 30},
              "title": "Top customers hold 39% of value", "departments": ["product"],
              "priority": "high"}
    (results / "five_questions.json").write_text(json.dumps(
        {"version": 1, "generated_at": "2026-11-28T10:00:00+00:00", "top_n": 30,
         "answers": {"value": answer}}), encoding="utf-8")
    (site.ws.reports_dir / "report.html").write_text(REPORT, encoding="utf-8")
    return site.publish(title="Top customers hold 39% of value", key="five_questions.value",
                        statement="The top decile holds 39% of future value.",
                        departments=["product"], source="five_questions",
                        evidence={"figures": {"customers": 30}, "link": "/answers#q-value",
                                  "table": "answer_value",
                                  "next_action": {"text": "protect the 30 top customers"}})


def test_no_template_object_on_any_insight_page(site: Any, analysis: Any) -> None:
    legacy = site.publish(title="Legacy analysis link", statement="From an older analyze run.",
                          evidence={"link": "reports/report.html#five-questions-value",
                                    "table": "answer_value"})
    member = site.login("member")
    ids = [int(i) for i in re.findall(r'href="/insights/(\d+)"', member.get("/insights").text)]
    assert {analysis.id, legacy.id, site.insight_id} <= set(ids)
    for insight_id in sorted(set(ids)):
        page = member.get(f"/insights/{insight_id}").text
        assert "<Macro" not in page and "&lt;Macro" not in page, insight_id
    page = member.get(f"/insights/{analysis.id}").text
    assert "Full list: warehouse table <code>answer_value</code>" in page
    assert 'href="/tables/answer_value" id="full-list-link"' in page  # one click to the list
    legacy_page = member.get(f"/insights/{legacy.id}").text
    assert 'href="/reports/latest#five-questions-value"' in legacy_page
    assert "reports/report.html" not in legacy_page


def test_the_insight_shows_the_list_to_act_on(site: Any, analysis: Any) -> None:
    page = site.login("member").get(f"/insights/{analysis.id}").text
    listing = page.split('id="action-list"')[1].split("</section>")[0]
    assert "first 25 of 30" in listing
    shown = list(dict.fromkeys(re.findall(r"C\d{4}", listing)))  # an id may also be a link
    assert shown == [r["customer_id"] for r in ROWS[:25]]
    assert "reason 1" in listing and "C0026" not in listing


def test_the_report_is_served_to_people_who_are_logged_in(site: Any, analysis: Any) -> None:
    page = site.login("viewer").get(f"/insights/{analysis.id}").text
    link = re.search(r'href="(/reports/latest#[^"]+)" id="report-link"', page)
    assert link and link.group(1) == "/reports/latest#five-questions-value"
    viewer = site.login("viewer")
    r = viewer.get("/reports/latest")
    assert r.status_code == 200 and r.text == REPORT
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(REPORT_SCRIPT.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp and "sandbox" in csp and "unsafe-inline" not in \
        csp.split("script-src")[1].split(";")[0]
    assert viewer.get("/reports/report.html").text == REPORT
    again = viewer.get("/reports/latest", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""  # unchanged: not sent again
    assert "no-store" not in r.headers["cache-control"]

    anon = site.client()
    for path in ("/reports/latest", "/reports/report.html"):
        r = anon.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert "Outside-In report" not in r.text


def test_reports_outside_the_reports_folder_are_refused(site: Any, analysis: Any) -> None:
    secret = site.ws.root / "outside.html"
    secret.write_text("<p>not a report</p>", encoding="utf-8")
    (site.ws.reports_dir / "link.html").symlink_to(secret)
    (site.ws.reports_dir / "notes.txt").write_text("private", encoding="utf-8")
    viewer = site.login("viewer")
    for path in ("/reports/..%2Foutside.html", "/reports/%2e%2e%2foutside.html",
                 "/reports/..%2F..%2Fetc%2Fpasswd", "/reports/link.html", "/reports/notes.txt",
                 "/reports/.web-secret", "/reports/..%5Coutside.html", "/reports/%00.html",
                 "/reports/outsidein.toml"):
        r = viewer.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert "not a report" not in r.text and "private" not in r.text
    assert viewer.get("/reports/report.html").status_code == 200


def test_ack_then_next_awaiting_then_log_an_action(site: Any) -> None:
    member = site.login("member")
    member.post(f"/insights/{site.insight_id}/ack", data={"version_hash": site.insight_hash})
    for other in re.findall(r'href="/insights/(\d+)"', member.get("/").text.split(
            'id="awaiting"')[1].split("</div>")[0]):  # earlier tests' insights: out of the way
        ins = member.get(f"/insights/{other}").text
        digest = re.search(r'name="version_hash" value="([0-9a-f]+)"', ins)
        if digest:
            member.post(f"/insights/{other}/ack", data={"version_hash": digest.group(1)})
    high = site.publish(title="First: high priority", statement="a", departments=["product"],
                        priority="high")
    medium = site.publish(title="Second: medium priority", statement="b",
                          departments=["product"], priority="medium")
    low = site.publish(title="Third: low priority", statement="c", departments=["product"],
                       priority="low")
    site.publish(title="Sales only", statement="d", departments=["sales"], priority="high")

    hx = {"HX-Request": "true"}
    expected_next = {high.id: medium.id, medium.id: low.id}
    for ins in (high, medium):
        r = member.post(f"/insights/{ins.id}/ack", data={"version_hash": ins.version_hash},
                        headers=hx)
        assert r.status_code == 200 and "Acknowledged version 1" in r.text
        assert "data-focus-after-swap" in r.text and 'tabindex="-1"' in r.text
        nxt = re.search(r'href="/insights/(\d+)" id="next-awaiting"', r.text)
        assert nxt and int(nxt.group(1)) == expected_next[ins.id]
        assert f'href="/alla?insight={ins.id}#add-action"' in r.text
    r = member.post(f"/insights/{low.id}/ack", data={"version_hash": low.version_hash},
                    headers=hx)
    assert "No other insight awaits your acknowledgement" in r.text
    assert 'id="next-awaiting"' not in r.text

    alla = member.get(f"/alla?insight={medium.id}").text
    form = alla.split('id="add-action"')[1].split("</details>")[0]
    assert " open>" in form.split("<summary>")[0]
    assert f'<option value="{medium.id}" selected>' in form
    r = member.post("/alla/actions", data={
        "insight_id": str(medium.id), "title": "Fix the medium thing", "department": "product",
        "due": "2031-01-31", "kpi": "complaints per week", "kpi_baseline": "10",
        "kpi_target": "5"})
    assert r.status_code == 303
    assert "Fix the medium thing" in member.get("/alla").text
    todo = member.get("/").text.split('id="my-actions"')[1].split("</div>")[0]
    assert "Fix the medium thing" in todo and f"insight #{medium.id}" in todo
