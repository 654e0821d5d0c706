"""The five answers find the truths planted in a demo company (seed 2026, used nowhere else).

20,000 customers (5,000 prospects): the conversion check compares AUCs on the
~1,000 held-out prospects; with fewer the AUC's own sampling noise is about
the size of the 0.03 tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from outsidein.demo.company import generate_demo
from outsidein.services.questions import answer_five_questions, read_answers
from outsidein.workspace import Workspace

SEED = 2026
CUSTOMERS = 20_000


def _frame(ws: Workspace, name: str) -> pd.DataFrame:
    return ws.warehouse().table(name).to_pyarrow().to_pandas()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    ws = Workspace.init(tmp_path_factory.mktemp("five") / "ws")
    generate_demo(ws, customers=CUSTOMERS, seed=SEED)
    answers = answer_five_questions(ws, top_n=25)
    yield ws, answers
    ws.close()


def test_precision_at_k_of_planted_cost_drainers(demo) -> None:
    ws, answers = demo
    truth = _frame(ws, "truth_customers")
    drainers = set(truth.loc[truth["is_cost_drainer"], "customer_id"])
    k = len(drainers)
    ranked = _frame(ws, "answer_cost_to_serve").sort_values("rank")
    precision = len(set(ranked["customer_id"].head(k)) & drainers) / k
    assert precision >= 0.9, f"precision@{k} = {precision:.3f}"
    assert answers["cost_to_serve"].next_action.count >= 0.9 * k


def test_planted_strong_advocates_are_the_top_advocates(demo) -> None:
    ws, answers = demo
    truth = _frame(ws, "truth_customers")
    strong = set(truth.loc[truth["is_strong_advocate"], "customer_id"])
    ranked = _frame(ws, "answer_advocates").sort_values("rank")
    k = len(strong)
    top_k = set(ranked["customer_id"].head(k))
    assert len(top_k & strong) >= 0.9 * k
    assert strong <= set(ranked["customer_id"].head(2 * k))
    # and they are promoters: the answer's comparison shows it
    cmp_ = answers["advocates"].tables["comparison"].set_index("measure")
    assert cmp_.loc["nps", "advocates"] > cmp_.loc["nps", "others"] + 1


def test_planted_lookalikes_rank_in_top_decile_of_ideal_prospect_scores(demo) -> None:
    ws, _ = demo
    truth = _frame(ws, "truth_prospects")[["prospect_id", "is_lookalike"]]
    scores = _frame(ws, "answer_ideal_prospects").merge(truth, on="prospect_id")
    look = scores[scores["is_lookalike"]]
    assert len(look) > 50
    assert (look["score_decile"] == 1).mean() >= 0.9


def test_conversion_auc_within_003_of_the_true_probabilities(demo) -> None:
    ws, answers = demo
    truth = _frame(ws, "truth_prospects")[["prospect_id", "p_convert", "converted"]]
    held = _frame(ws, "answer_likely_converts").merge(truth, on="prospect_id",
                                                      suffixes=("", "_true"))
    held = held[held["split"] == "test"]
    assert len(held) > 500
    auc = roc_auc_score(held["converted"], held["probability"])
    true_auc = roc_auc_score(held["converted"], held["p_convert"])
    assert abs(auc - true_auc) <= 0.03, f"model AUC {auc:.3f}, true-probability AUC {true_auc:.3f}"
    assert answers["likely_converts"].figures["auc"] == pytest.approx(auc)


def test_value_answer_on_the_demo(demo) -> None:
    ws, answers = demo
    a = answers["value"]
    assert a.missing_data is None
    assert 0.2 < a.figures["top_decile_share"] < 1.0
    drivers = a.tables["drivers"].set_index("driver")
    assert drivers.loc["orders in the period", "ratio"] > 1.5
    doc = read_answers(ws).to_dict()
    assert doc["answers"]["value"]["figures"]["top_decile_share"] == pytest.approx(
        a.figures["top_decile_share"], rel=1e-5)


@pytest.mark.parametrize("table", ["service_costs", "referrals", "prospects"])
def test_missing_inputs_give_missing_data_answers(demo, tmp_path: Path, table: str) -> None:
    """Each optional input emptied in turn: the answers that need it say how to load it."""
    src, _ = demo
    ws = Workspace.init(tmp_path / "ws")
    try:
        con = ws.warehouse().duckdb
        for name in ("customers", "products", "order_lines", "service_costs", "referrals",
                     "prospects", "customer_value"):
            if name == table:
                continue
            data = src.warehouse().table(name).to_pyarrow()
            con.register("copy_frame", data)
            verb = "INSERT INTO" if name != "customer_value" else "CREATE TABLE"
            con.execute(f'{verb} "{name}" {"" if verb == "CREATE TABLE" else ""}'
                        f'{"AS " if verb == "CREATE TABLE" else ""}SELECT * FROM copy_frame')
            con.unregister("copy_frame")
        res = answer_five_questions(ws, top_n=5)
        expect = {"service_costs": ["cost_to_serve"], "referrals": ["advocates"],
                  "prospects": ["ideal_prospects", "likely_converts"]}[table]
        for a in res:
            if a.name in expect:
                assert f"outsidein load {table} FILE" in a.missing_data
                assert a.rows.empty and a.next_action is None
            else:
                assert a.missing_data is None, a.missing_data
        doc = json.loads((ws.root / "results" / "five_questions.json").read_text())
        assert all(doc["answers"][n]["missing_data"] for n in expect)
    finally:
        ws.close()
