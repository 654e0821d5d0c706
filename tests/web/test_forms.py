"""A form error keeps what was typed and shows the problem beside its field; PDF export without
Chromium says how to install it."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest


def _field(page: str, form_id: str, name: str) -> tuple[str, str]:
    """The input (or select/textarea) named *name* in form *form_id*, and the markup after it
    up to the next field."""
    form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
    m = re.search(rf'<(input|textarea|select)[^>]*name="{name}"[^>]*>', form)
    assert m, (form_id, name, form[:500])
    rest = form[m.end():]
    nxt = re.search(r"<label", rest)
    return m.group(0), rest[: nxt.start() if nxt else len(rest)]


def _error_beside(page: str, form_id: str, name: str) -> str:
    tag, after = _field(page, form_id, name)
    m = re.search(rf'<p class="field-error" id="{form_id}-{name}-error"[^>]*>(.*?)</p>', after,
                  re.S)
    assert m, (form_id, name, after[:400])
    assert 'aria-invalid="true"' in tag and f'aria-describedby="{form_id}-{name}-error"' in tag
    return html.unescape(m.group(1))


def test_an_unknown_need_code_keeps_the_item_and_says_which_code(site: Any) -> None:
    adv = site.login("advocate")
    r = adv.post("/alignment/items", data={"kind": "plan", "title": "Drone delivery <pilot>",
                                           "owner": "ops lead", "needs": "N1, N99:partial"})
    assert r.status_code == 422
    page = r.text
    assert "Alignment review" in page  # the page again, not an error page
    message = _error_beside(page, "add-item", "needs")
    assert "N99" in message and "not in the needs register" in message
    assert 'value="Drone delivery &lt;pilot&gt;"' in _field(page, "add-item", "title")[0]
    assert 'value="ops lead"' in _field(page, "add-item", "owner")[0]
    assert 'value="N1, N99:partial"' in _field(page, "add-item", "needs")[0]
    assert '<option value="plan" selected>' in page.split('id="add-item"')[1]
    assert re.search(r'<details class="card" id="add-item" open>', page)
    assert "Drone delivery" not in adv.get("/alignment").text  # nothing was recorded


@pytest.mark.parametrize(("fields", "field", "status", "words"), [
    ({"code": "bad code!"}, "code", 422, "expected up to 20 letters"),
    ({"code": "N1"}, "code", 409, "N1 already exists"),
    ({"importance": "11"}, "importance", 422, "from 0 to 10"),
    ({"satisfaction": "lots"}, "satisfaction", 422, "from 0 to 10"),
])
def test_a_bad_need_keeps_what_was_typed(site: Any, fields: dict[str, str], field: str,
                                         status: int, words: str) -> None:
    adv = site.login("advocate")
    data = {"title": "Know when my parcel comes", "description": "asked 300 times",
            "importance": "8", "satisfaction": "3", "code": ""} | fields
    r = adv.post("/needs", data=data)
    assert r.status_code == status
    assert words in _error_beside(r.text, "add-need", field)
    assert 'value="Know when my parcel comes"' in _field(r.text, "add-need", "title")[0]
    assert "asked 300 times</textarea>" in r.text
    for name in ("importance", "satisfaction", "code"):
        assert f'value="{data[name]}"' in _field(r.text, "add-need", name)[0]
    assert "Unmet needs register" in r.text


def test_alla_forms_keep_what_was_typed(site: Any) -> None:
    member = site.login("member")
    r = member.post("/alla/actions", data={
        "insight_id": str(site.insight_id), "title": "Weekly call-backs", "department": "product",
        "due": "next tuesday", "kpi": "churn %", "kpi_baseline": "12", "kpi_target": "8"})
    assert r.status_code == 422
    assert "next tuesday" in _error_beside(r.text, "add-action", "due")
    assert 'value="Weekly call-backs"' in _field(r.text, "add-action", "title")[0]
    assert 'value="churn %"' in _field(r.text, "add-action", "kpi")[0]
    r = member.post("/alla/actions", data={
        "insight_id": str(site.insight_id), "title": "Weekly call-backs", "department": "product",
        "due": "2031-01-01", "kpi": "churn %", "kpi_baseline": "12", "kpi_target": "eight"})
    assert r.status_code == 422
    assert "expected a number" in _error_beside(r.text, "add-action", "kpi_target")

    adv = site.login("advocate")
    r = adv.post("/alla/questions", data={"text": "  ", "audience": "lapsed buyers"})
    assert r.status_code == 422
    assert "required" in _error_beside(r.text, "add-question", "text")
    assert 'value="lapsed buyers"' in _field(r.text, "add-question", "audience")[0]


def test_admin_forms_keep_what_was_typed_but_never_the_password(site: Any) -> None:
    admin = site.login("admin")
    r = admin.post("/admin/users", data={"email": site.PEOPLE["member"][0], "name": "Twin",
                                         "password": "a long secret pw", "role": "member"})
    assert r.status_code == 409
    assert "already exists" in _error_beside(r.text, "add-user", "email")
    assert 'value="Twin"' in _field(r.text, "add-user", "name")[0]
    assert "a long secret pw" not in r.text
    r = admin.post("/admin/users", data={"email": "new@acme.test", "name": "New",
                                         "password": "short", "role": "member"})
    assert r.status_code == 422
    assert "at least 10 characters" in _error_beside(r.text, "add-user", "password")
    assert 'value="new@acme.test"' in _field(r.text, "add-user", "email")[0]
    r = admin.post("/admin/departments", data={"name": "product"})
    assert r.status_code == 409
    assert "already exists" in _error_beside(r.text, "add-department", "name")


def test_pdf_export_without_chromium_says_how_to_install_it(site: Any,
                                                            monkeypatch: Any) -> None:
    monkeypatch.setenv("OUTSIDEIN_CHROMIUM", "/nonexistent/chromium")
    r = site.login("viewer").get("/alignment/export.pdf")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    message = html.unescape(r.text.split('id="pdf-error"')[1].split("</p>")[0])
    assert "PDF needs Chromium" in message and "install it with 'apt-get install chromium'" \
        in message and "/nonexistent/chromium" in message
    assert 'id="alignment-matrix"' in r.text  # the review is still there, with its HTML export


def test_publishing_an_insight_without_departments_keeps_the_text(site: Any) -> None:
    adv = site.login("advocate")
    r = adv.post("/insights", data={"title": "Churn doubles after two late parcels",
                                    "statement": "Measured over 1,200 customers.",
                                    "priority": "medium", "due_days": "5"})
    assert r.status_code == 422
    assert "department" in _error_beside(r.text, "publish-form", "departments")
    assert 'value="Churn doubles after two late parcels"' in _field(
        r.text, "publish-form", "title")[0]
    assert "Measured over 1,200 customers.</textarea>" in r.text
    assert "<option selected>medium</option>" in r.text and 'value="5"' in r.text
    assert "Churn doubles" not in adv.get("/insights").text.split('id="publish"')[0]
