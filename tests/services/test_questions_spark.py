"""`outsidein analyze` on a Spark workspace gives DuckDB's five answers for the same demo.

One small demo company (same seed) goes into a DuckDB and a local-mode Spark
workspace; ``outsidein analyze`` runs on both through the CLI.  Each answer must
agree: the same data status, the same ids in the same rank order (in the saved
summary and in the full ``answer_*`` table), money equal to the cent, counts
equal, model probabilities equal to rounding.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from outsidein.services.questions import NAMES, StoredAnswers, read_answers
from outsidein.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CUSTOMERS, SEED, DAYS = 800, 11, 240
BACKENDS = ("duckdb", "pyspark")


#: per answer: its id column, the ranking value(s), money columns (compared in cents),
#: counts and words (equal), model scores (to 1e-9)
SPECS: dict[str, dict[str, Any]] = {
    "value": {"id": "customer_id", "key": ["clv", "profit"],
              "money": ["clv", "profit", "revenue"], "exact": ["value_decile", "orders", "reason"]},
    "cost_to_serve": {"id": "customer_id", "key": ["profit"],
                      "money": ["profit", "margin", "cost_to_serve", "profit_at_median_cost"],
                      "exact": ["n_support", "n_return", "main_cost", "reason"]},
    "advocates": {"id": "customer_id", "key": ["referral_score", "advocacy_value"],
                  "money": ["direct_revenue", "direct_value", "advocacy_value"],
                  "exact": ["direct", "tree_size", "depth", "reason"], "prob": ["referral_score"]},
    "ideal_prospects": {"id": "prospect_id", "key": ["score"],
                        "money": [], "exact": ["score_decile", "reason"], "prob": ["score"]},
    "likely_converts": {"id": "prospect_id", "key": ["probability"],
                        "money": [], "exact": ["source", "reason"], "prob": ["probability"]},
}


def _analyze(folder: Path, backend: str) -> tuple[StoredAnswers, dict[str, pd.DataFrame]]:
    from outsidein.cli import app
    from outsidein.demo.accounts import seed_demo_people
    from outsidein.demo.company import generate_demo

    ws = Workspace.init(folder, backend=backend)
    generate_demo(ws, customers=CUSTOMERS, seed=SEED, days=DAYS)
    seed_demo_people(ws)
    ws.close()  # the CLI opens the workspace itself (a no-op on Spark: the session is shared)
    result = CliRunner().invoke(app, ["--workspace", str(folder), "analyze", "--json"])
    assert result.exit_code == 0, result.output + "".join(
        traceback.format_exception(*result.exc_info) if result.exc_info else [])
    report = json.loads(result.output)
    assert {s["name"]: s["status"] for s in report["steps"]} == {
        "value": "ok", "five_questions": "ok", "sense": "ok", "market_segments": "ok",
        "market_watch": "ok", "market_context": "ok", "culture": "ok", "insights": "ok"}, report
    ws = Workspace.open(folder)
    wh = ws.warehouse()
    assert wh.backend == backend
    stored = read_answers(ws)
    assert stored is not None
    tables = {name: wh.table(stored[name].table).to_pyarrow().to_pandas() for name in NAMES}
    ws.close()
    return stored, tables


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("pyspark")
    # the Spark session is shared by the test run (engine.spark_session) and outlives this
    return {b: _analyze(tmp_path_factory.mktemp(b) / "ws", b) for b in BACKENDS}


def _in_rank_order(df: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Rows by rank (unranked rows last, by id); ids tied on the ranking value sorted by id."""
    df = df.copy()
    df["_rank"] = pd.to_numeric(df["rank"], errors="coerce") if "rank" in df else np.arange(len(df))
    df = df.sort_values(["_rank", spec["id"]], na_position="last").reset_index(drop=True)
    ranked = df["_rank"].notna()
    key = df[spec["key"]].astype(float)
    # a new block where the rank is missing or any ranking value changes (NaN == NaN here)
    same_as_prev = (key.eq(key.shift()) | (key.isna() & key.shift().isna())).all(axis=1)
    block = (~(same_as_prev & ranked & ranked.shift(fill_value=False))).cumsum()
    df["_block"] = np.where(ranked, block, len(df) + 1)
    return df.sort_values(["_block", spec["id"]], kind="stable").reset_index(drop=True)


def _cents(s: pd.Series) -> list[int | None]:
    """Amounts as integer cents, half up.  Float sums differ in the last bits across engines,
    and a median or mean of cent amounts often ends in exactly half a cent: the noise is
    rounded away (to 1e-4 cent) before the half-up step, so it cannot flip a cent."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    c = np.floor(np.round(v * 100, 4) + 0.5)
    return [None if np.isnan(x) else int(x) for x in c]


def _exact(s: pd.Series) -> list[Any]:
    return s.astype(object).where(s.notna(), None).tolist()


def _assert_same_rows(duck: pd.DataFrame, spark: pd.DataFrame, spec: dict[str, Any],
                      what: str) -> None:
    d, s = _in_rank_order(duck, spec), _in_rank_order(spark, spec)
    assert len(d) == len(s), f"{what}: {len(d)} rows on DuckDB, {len(s)} on Spark"
    assert d[spec["id"]].tolist() == s[spec["id"]].tolist(), f"{what}: ranked ids differ"
    assert _exact(d["_rank"]) == _exact(s["_rank"]), f"{what}: ranks differ"
    for col in spec["money"]:
        if col in d:
            assert _cents(d[col]) == _cents(s[col]), f"{what}: {col} differs in cents"
    for col in spec["exact"]:
        if col in d:
            assert _exact(d[col]) == _exact(s[col]), f"{what}: {col} differs"
    for col in spec.get("prob", []):
        np.testing.assert_allclose(s[col].astype(float), d[col].astype(float), rtol=1e-9,
                                   atol=1e-12, err_msg=f"{what}: {col}")


@pytest.mark.parametrize("name", NAMES)
def test_spark_gives_duckdbs_answer(runs: dict[str, Any], name: str) -> None:
    (d_stored, d_tables), (s_stored, s_tables) = runs["duckdb"], runs["pyspark"]
    d, s = d_stored[name], s_stored[name]
    assert d.missing_data is None, d.missing_data  # the demo has the data for all five
    assert s.missing_data == d.missing_data
    spec = SPECS[name]
    _assert_same_rows(pd.DataFrame(d.rows), pd.DataFrame(s.rows), spec, f"{name} summary rows")
    _assert_same_rows(d_tables[name], s_tables[name], spec, f"{name} full table {d.table}")
    # figures and the next action: counts equal, amounts to the cent, shares and scores
    # to rounding (float sums over customers differ in the last bits)
    assert d.figures.keys() == s.figures.keys()
    for key, dv in d.figures.items():
        sv = s.figures[key]
        if dv is None or sv is None:
            assert dv == sv, key
        else:
            assert _cents(pd.Series([sv])) == _cents(pd.Series([dv])), (key, dv, sv)
            assert sv == pytest.approx(dv, rel=1e-6, abs=1e-9), (key, dv, sv)
    assert (s.headline, s.title) == (d.headline, d.title)
    assert (d.next_action is None) == (s.next_action is None)
    if d.next_action:
        assert s.next_action["text"] == d.next_action["text"]
        assert s.next_action["count"] == d.next_action["count"]
        assert _cents(pd.Series([s.next_action["amount"]])) == \
            _cents(pd.Series([d.next_action["amount"]]))
