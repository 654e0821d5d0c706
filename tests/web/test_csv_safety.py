"""CSV exports are safe to open in a spreadsheet (issue 11; OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from outsidein.services.share import neutralise_cell, to_csv

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


@pytest.mark.parametrize("first", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(first: str) -> None:
    assert neutralise_cell(f"{first}cmd|' /C calc'!A0") == f"'{first}cmd|' /C calc'!A0"


def test_plain_text_and_numbers_are_left_alone() -> None:
    assert neutralise_cell("top 10%") == "top 10%"
    assert neutralise_cell(-2.5) == -2.5
    assert _cells(to_csv([{"a": "=1+1", "b": None, "c": 3}], ("a", "b", "c"))) == [
        "a", "b", "c", "'=1+1", "", "3"]


@pytest.fixture(scope="module")
def hostile(site: Any) -> dict[str, Any]:
    """An action and an outcome whose free text starts like spreadsheet formulas."""
    key = site.api_key("insights:read", "insights:write", user="member")
    c = site.client(headers={"Authorization": f"Bearer {key}"})
    r = c.post("/api/v1/actions", json={
        "insight_id": site.insight_id, "title": "=HYPERLINK(\"http://evil.test\",\"x\")",
        "department": "product", "due": "2030-01-31", "kpi": "+churn",
        "kpi_baseline": 1.0, "kpi_target": 2.0})
    assert r.status_code == 201, r.text
    action_id = r.json()["id"]
    r = c.post(f"/api/v1/actions/{action_id}/outcomes",
               json={"kpi_value": 1.5, "measured_at": "2030-02-01", "note": "@SUM(A1:A9)"})
    assert r.status_code == 201, r.text
    return {"action_id": action_id}


def _assert_safe(text: str) -> None:
    cells = _cells(text)
    assert any(c.startswith("'=HYPERLINK") for c in cells), cells
    for cell in cells:
        assert not cell.startswith(DANGEROUS), cell


def test_the_api_audit_log_csv_is_neutralised(site: Any, hostile: Any) -> None:
    key = site.api_key("insights:write")
    c = site.client(headers={"Authorization": f"Bearer {key}"})
    r = c.get("/api/v1/audit-log", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    _assert_safe(r.text)


def test_the_audit_log_download_page_is_neutralised(site: Any, hostile: Any) -> None:
    r = site.login("advocate").get("/audit-log", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    _assert_safe(r.text)


def test_json_keeps_the_text_as_it_was_typed(site: Any, hostile: Any) -> None:
    rows = site.login("advocate").get("/audit-log", params={"format": "json"}).json()
    assert any(r["detail"].startswith("=HYPERLINK") for r in rows)
