"""On the demo company, what stock-outs and slow deliveries cost: the planted hit customers
found, and the planted repeat-purchase multiplier inside the reported interval."""

from __future__ import annotations

from typing import Any

import pytest

from outsidein.services.market.segments import SegmentsResult, run_segments
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def result(demo_ws: Workspace) -> SegmentsResult:
    return run_segments(demo_ws)


def _truth(ws: Workspace, sql: str) -> Any:
    with ws.duckdb_reader() as con:
        return con.execute(sql).fetchone()[0]


def _row(result: SegmentsResult, segment: str, outcome: str) -> dict[str, Any]:
    return next(a for a in result.availability
                if a["segment"] == segment and a["outcome"] == outcome)


def test_the_planted_effect_is_inside_the_interval(demo_ws: Workspace,
                                                   result: SegmentsResult) -> None:
    planted = _truth(demo_ws, "SELECT value FROM truth_effects "
                              "WHERE effect = 'stockout_repeat_multiplier'")
    hit = _truth(demo_ws, "SELECT count(*) FROM truth_customers WHERE hit_by_stockout")
    row = _row(result, "all customers", "repeat purchases")
    assert row["customers"] == hit  # every planted hit customer, and only they
    assert row["ci_low"] <= planted <= row["ci_high"], row
    assert row["ci_high"] < 1.0  # and the loss is clear
    assert row["ci_high"] - row["ci_low"] < 0.3
    # both causes are measured on their own
    causes = {a["segment"] for a in result.availability if a["grouping"] == "cause"}
    assert causes == {"stock-out", "slow delivery"}


def test_complaints_show_no_effect_where_none_was_planted(result: SegmentsResult) -> None:
    row = _row(result, "all customers", "complaints")
    assert row["ci_low"] <= 1.0 <= row["ci_high"], row


def test_every_cluster_is_measured_or_says_too_few(result: SegmentsResult) -> None:
    per = [a for a in result.availability
           if a["grouping"] == "cluster" and a["outcome"] == "repeat purchases"]
    assert {a["segment"] for a in per} <= {c["name"] for c in result.clusters}
    for a in per:
        assert (a["effect"] is None) == (a["customers"] < 10)
