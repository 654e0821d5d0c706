"""``run`` (the demo pipeline's value step) and the value section of the HTML report."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

import oi_testkit as helpers
from outsidein.report.html import build_report
from outsidein.report.sections.value import value_section
from outsidein.services.value import run
from outsidein.workspace import Workspace


def test_no_section_before_scoring(workspace: Workspace) -> None:
    assert value_section(workspace) is None


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def test_run_then_report_shows_deciles_holdout_and_reasons(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    helpers.fill(ws, helpers.simulate_company(n=800, seed=5))
    out = run(ws)
    doc = json.loads(json.dumps(out, allow_nan=False, default=_iso))  # what --json prints
    assert set(doc) == {"fit", "score", "holdout"}
    assert doc["score"]["total_clv"] == pytest.approx(out["score"]["total_clv"])
    assert doc["score"]["total_clv"] > 0
    assert out["holdout"]["holdout_weeks"] == pytest.approx(26, abs=0.01)
    assert out["fit"]["calibration_end"] is None  # scoring uses the whole history
    assert out["score"]["n_customers"] == 800
    section = value_section(ws)
    assert section is not None and section.anchor == "value"
    assert section.summary.startswith("The top 10% of 800 customers hold ")
    top_reason = ws.warehouse().table("customer_value").order_by(
        [ws.warehouse().table("customer_value").clv.desc()]).limit(1).execute().reason[0]
    body = section.body_html
    for text in ("Value deciles", "Top customers and why", "Fitted models", "Holdout check",
                 "BG/NBD", "Gamma-Gamma", top_reason):
        assert text in body, text
    assert body.count("plotly-graph-div") == 2
    page = build_report(ws).read_text(encoding="utf-8")
    assert 'id="value"' in page and "Most valuable customers, and why" in page
    ws.close()
