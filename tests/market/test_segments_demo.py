"""``outsidein market segments`` on the demo company: the documented JSON, RFM scores a user
can recompute from the order lines, clusters that find the planted buyer types, the
customer_segments table, the words without --json, and the insights for the departments."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.market import quintile_scores
from outsidein.services.market.segments import SEGMENTS_TABLE, read_segments
from outsidein.workspace import Workspace


def _cli(ws: Workspace, *extra: str) -> str:
    ws.close()  # the command opens the workspace itself
    r = CliRunner().invoke(cli, ["--workspace", str(ws.root), "market", "segments", *extra])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def out(demo_ws: Workspace) -> dict[str, Any]:
    return dict(json.loads(_cli(demo_ws, "--json")))


def _table(ws: Workspace, sql: str) -> pd.DataFrame:
    with ws.duckdb_reader() as con:
        return con.execute(sql).df()


def test_json_has_the_documented_keys(out: dict[str, Any]) -> None:
    assert set(out) >= {"segments", "clusters", "matrix", "availability"}
    for s in out["segments"]:
        assert {"name", "customers", "revenue"} <= set(s)
    for a in out["availability"]:
        assert {"segment", "effect", "ci_low", "ci_high"} <= set(a)
    for c in out["clusters"]:
        assert c["profile"] and c["name"] and c["customers"] > 0
    assert sum(s["customers"] for s in out["segments"]) == out["customers"] == 3000
    assert sum(c["customers"] for c in out["clusters"]) == 3000
    assert {"segment", "product_type", "revenue", "margin", "penetration",
            "cross_sell_gap"} <= set(out["matrix"][0])
    scores = out["k_choice"]["scores"]
    assert out["k_choice"]["k"] == int(max(scores, key=scores.get))


def test_rfm_scores_are_what_a_user_recomputes_from_the_order_lines(
        demo_ws: Workspace, out: dict[str, Any]) -> None:
    lines = _table(demo_ws, "SELECT customer_id, order_id, ts, quantity, revenue, is_return "
                            "FROM order_lines")
    ret = lines.is_return.fillna(False) | (lines.quantity < 0)
    buy = lines[~ret & (lines.quantity > 0)]
    end = buy.ts.max()
    per = buy.groupby("customer_id").agg(last=("ts", "max"), orders=("order_id", "nunique"))
    net = (np.where(ret, -1, 1) * lines.revenue.abs()).groupby(lines.customer_id).sum()
    per["recency"] = (end - per["last"]).dt.total_seconds() // 86400
    per["monetary"] = net.reindex(per.index).fillna(0.0).round(2)
    seg = _table(demo_ws, f"SELECT * FROM {SEGMENTS_TABLE}").set_index("customer_id")
    assert len(seg) == len(per) == 3000
    seg = seg.loc[per.index]
    assert (seg.recency_days.to_numpy() == per.recency.to_numpy()).all()
    assert (seg.orders.to_numpy() == per.orders.to_numpy()).all()
    np.testing.assert_allclose(seg.monetary.to_numpy(), per.monetary.to_numpy(), atol=0.011)
    assert (seg.r_score.to_numpy() == quintile_scores(-per.recency.to_numpy())).all()
    assert (seg.f_score.to_numpy() == quintile_scores(per.orders.to_numpy())).all()
    # revenue per segment in the JSON adds up to the customers' net revenue
    total = sum(s["revenue"] for s in out["segments"])
    assert total == pytest.approx(float(per.monetary.sum()), rel=1e-6)
    champions = seg[seg.segment == "champions"]
    assert (champions.r_score >= 4).all() and ((champions.f_score + champions.m_score) >= 7).all()


#: latent buyer type -> the product type it prefers most (demo/orders.py TYPE_PREFS)
PLANTED = {"tech_buyer": "electronics", "home_maker": "home kitchen",
           "pro_trade": "tools hardware"}


def test_clusters_find_the_planted_buyer_types_and_say_so_in_words(demo_ws: Workspace) -> None:
    mix = _table(demo_ws, f"SELECT s.cluster_name, t.segment, count(*) AS n FROM "
                          f"{SEGMENTS_TABLE} s JOIN truth_customers t USING (customer_id) "
                          "GROUP BY ALL")
    share = mix.n / mix.groupby("cluster_name").n.transform("sum")
    for latent, words in PLANTED.items():
        mostly = mix[(mix.segment == latent) & (share >= 0.6)].cluster_name.tolist()
        assert any(words in name.lower() for name in mostly), (latent, mix)


def test_the_saved_result_and_its_insights_for_the_departments(demo_ws: Workspace) -> None:
    result = read_segments(demo_ws)
    assert result is not None and result.customers == 3000
    by_key = {i["key"]: i for i in result.insights()}
    avail = by_key["market.availability"]
    assert {"operations", "marketing"} <= set(avail["departments"])
    assert avail["evidence"]["figures"]["customers_hit"] == 256
    risk = by_key["market.at_risk"]
    n = sum(s["customers"] for s in result.segments if s["key"] in ("at_risk", "cant_lose"))
    assert risk["evidence"]["figures"]["customers"] == n > 0


def test_words_without_json(demo_ws: Workspace) -> None:
    text = _cli(demo_ws)
    assert "RFM segments of 3,000 customers" in text
    assert "Champions" in text and "behavioural clusters" in text
    assert "what stock-outs and slow deliveries cost" in text


def test_an_empty_workspace_gets_one_line_saying_what_to_load(workspace: Workspace) -> None:
    workspace.close()
    r = subprocess.run([sys.executable, "-m", "outsidein", "--workspace", str(workspace.root),
                        "market", "segments"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "outsidein load order_lines" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error:")
    assert read_segments(workspace) is None
