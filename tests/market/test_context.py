"""``outsidein market context`` finds the products the demo plants as storm-sensitive
(``truth_products.storm_sensitive``) on the fixture demo and on a second seed, with the
planted lifts inside the reported intervals; the obvious ones are flagged, the others are
published as insights; a rate ratio a user can check by hand; a clear error without events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from outsidein.cli import main
from outsidein.demo.company import generate_demo
from outsidein.market.context import ContextLift, mantel_haenszel
from outsidein.services.data import load_frame
from outsidein.services.market.context import (
    CONTEXT_TABLE,
    context_lift,
    read_context,
)
from outsidein.workspace import Workspace

KEYS = {"kind", "product_id", "product_type", "rate_ratio", "ci_low", "ci_high", "q_value",
        "n_events", "obvious", "extra_stock"}


def _run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    ws.close()  # the command opens the workspace itself
    capsys.readouterr()
    try:
        main(["--workspace", str(ws.root), "market", "context", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _truth(ws: Workspace) -> pd.DataFrame:
    with ws.duckdb_reader() as con:
        return con.execute("SELECT product_id, name, storm_lift FROM truth_products "
                           "WHERE storm_sensitive").df()


def _check_planted(findings: list[dict[str, Any]], truth: pd.DataFrame) -> None:
    storm = [f for f in findings if f["kind"] == "storm_warning"]
    found = {f["product_id"] for f in storm}
    planted = set(truth["product_id"])
    precision = len(found & planted) / max(len(found), 1)
    recall = len(found & planted) / len(planted)
    assert precision >= 0.9 and recall >= 0.9, (found, planted)
    lift = dict(zip(truth["product_id"], truth["storm_lift"], strict=True))
    for f in storm:
        if f["product_id"] in planted and f["window"] == "before":
            assert f["ci_low"] <= lift[f["product_id"]] <= f["ci_high"], f


@pytest.fixture(scope="module")
def second_demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A demo seed the method was not tuned on (the fixture demo is seed 7)."""
    ws = Workspace.init(tmp_path_factory.mktemp("ctx") / "ws")
    generate_demo(ws, customers=3_000, seed=11)
    ws.close()
    return ws


def test_demo_finds_the_planted_products(demo_ws: Workspace,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(demo_ws, capsys, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["findings"] and all(KEYS <= set(f) for f in doc["findings"])
    assert all(f["q_value"] <= 0.05 for f in doc["findings"])
    _check_planted(doc["findings"], _truth(demo_ws))
    by_name = {f["name"]: f for f in doc["findings"] if f["kind"] == "storm_warning"}
    assert by_name["Flashlight"]["obvious"] and by_name["AA Batteries"]["obvious"]
    pop = by_name["Strawberry Pop-Tarts"]
    assert not pop["obvious"] and pop["n_events"] == 35      # 7 storms in each of 5 regions
    stock = pop["extra_stock"]
    assert stock["days_before"] == 3 and stock["units_per_event"] > 0
    assert {r["region"] for r in stock["regions"]} == {"north", "south", "east", "west",
                                                       "coast"}
    # the non-obvious come first
    assert doc["findings"][0]["name"] == "Strawberry Pop-Tarts"


def test_a_second_seed(second_demo: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(second_demo, capsys, "--json")
    assert code == 0
    _check_planted(json.loads(out)["findings"], _truth(second_demo))


def test_all_results_saved_and_words(demo_ws: Workspace,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(demo_ws, capsys, "--all", "--json")
    assert code == 0
    every = json.loads(out)["findings"]
    assert len(every) > 500 and sum(f["significant"] for f in every) >= 3
    saved = read_context(demo_ws)
    assert saved is not None and len(saved["findings"]) == len(every)
    assert any(k.startswith("storm_warning/") for k in saved["profiles"])
    with demo_ws.duckdb_reader() as con:
        assert con.execute(f"SELECT count(*) FROM {CONTEXT_TABLE}").fetchone()[0] == len(every)
    code, out, _ = _run(demo_ws, capsys)
    assert code == 0 and "tested; 3 significant" in out and "Pop-" in out


def test_insights_name_the_surprising_product(demo_ws: Workspace) -> None:
    result = context_lift(demo_ws)
    demo_ws.close()
    drafts = result.insights()
    assert [d["key"].rsplit(".", 1)[0] for d in drafts] == ["market_context.storm_warning.before"]
    assert "Strawberry Pop-Tarts" in drafts[0]["title"]
    assert "operations" in drafts[0]["departments"]


def test_rate_ratio_by_hand() -> None:
    # two strata, each with window rate twice the baseline: MH = 2
    r = mantel_haenszel(np.array([10.0, 20.0]), np.array([10.0, 10.0]),
                        np.array([10.0, 20.0]), np.array([20.0, 20.0]))
    assert r["rate_ratio"] == pytest.approx(2.0)
    # stratum weights matter: the crude ratio of the pooled counts would be 30/20 / 30/40
    strata = pd.DataFrame({"kind": "storm", "window": "before", "product_id": "p",
                           "product_type": "t", "region": ["n", "s"], "stratum": ["n", "s"],
                           "a": [10, 20], "t1": [10, 10], "b": [10, 20], "t0": [20, 20],
                           "b_units": [10, 20]})
    f = ContextLift().fit(strata, n_events={"storm": 4}).findings_.iloc[0]
    assert f["rate_ratio"] == pytest.approx(2.0) and f["n_events"] == 4


def test_no_events_is_one_line_exit_2(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.init(tmp_path / "shop")
    load_frame(ws, "customers", pd.DataFrame({"customer_id": ["c1"], "region": ["north"]}),
               source="t")
    code, _, err = _run(ws, capsys)
    assert code == 2
    assert "load context_events" in err and "Traceback" not in err
