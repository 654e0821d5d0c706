"""The value service on DuckDB: fit in the warehouse, score into customer_value, the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oi_testkit import ORIGIN, TRUTH, fill, simulate_company  # noqa: F401
from outsidein.cli import app
from outsidein.errors import ConfigError, MissingDataError
from outsidein.services.value import (
    company_margin,
    fit_value,
    load_fit,
    score_value,
    scoring,
    top_customers,
)
from outsidein.value import clv
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def company() -> dict[str, pd.DataFrame]:
    return simulate_company()


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, company: dict[str, pd.DataFrame]):
    ws = Workspace.init(tmp_path_factory.mktemp("value") / "ws")
    fill(ws, company)
    fit = fit_value(ws, model="bgnbd", holdout_weeks=0)  # BG/NBD on the whole history
    report = score_value(ws)
    yield ws, fit, report
    ws.close()


def test_fit_recovers_the_simulated_parameters_and_is_stored(scored) -> None:
    ws, fit, _ = scored
    for k, v in TRUTH.items():
        assert abs(fit.params[k] - v) <= 3 * fit.standard_errors[k], (k, fit.params[k], v)
    assert fit.n_customers == 1500
    assert fit.n_distinct is not None and fit.n_distinct < fit.n_customers
    stored = ws.warehouse().table("value_models").execute()
    assert set(stored.model) == {"bgnbd", "gamma_gamma"}
    assert {"model", "param", "value", "se", "log_likelihood", "fitted_at",
            "n_customers"} <= set(stored.columns)
    again = load_fit(ws)
    assert again.params == pytest.approx(fit.params)
    assert again.spend_params == pytest.approx(fit.spend_params)
    assert "bgnbd" in repr(fit) and "r=" in repr(fit)
    # what `outsidein value fit --json` prints: plain JSON, same numbers, ISO dates
    doc = json.loads(json.dumps(fit.to_dict(), allow_nan=False, default=_iso))
    assert doc["params"] == pytest.approx(fit.params) and doc["model"] == "bgnbd"
    assert doc["observation_end"] == fit.observation_end.isoformat()
    assert doc["n_customers"] == fit.n_customers and doc["holdout"] is None


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def test_customer_value_has_one_scored_row_per_buyer(scored, company) -> None:
    ws, _, report = scored
    cv = ws.warehouse().table("customer_value").execute()
    assert list(cv.columns) == [
        "customer_id", "frequency", "recency", "T", "monetary_value", "expected_purchases",
        "prob_alive", "expected_spend", "clv", "value_decile", "reason"]
    assert len(cv) == company["order_lines"].customer_id.nunique() == report.n_customers
    assert cv.customer_id.is_unique
    # BG/NBD cannot tell whether a one-time buyer is still active: no number for them
    assert cv.prob_alive.isna().equals(cv.frequency == 0)
    assert cv.prob_alive.dropna().between(0, 1).all() and (cv.expected_purchases >= 0).all()
    assert set(cv.value_decile) == set(range(1, 11))
    means = cv.groupby("value_decile").clv.mean()
    assert means.is_monotonic_decreasing
    assert cv.groupby("value_decile").size().between(100, 200).all()
    assert report.n_distinct < report.n_customers
    assert 0 < report.top_decile_share < 1
    assert not any(t.startswith("_customer_value") for t in ws.warehouse().list_tables())


def test_scores_match_the_models_directly(scored) -> None:
    ws, fit, report = scored
    cv = ws.warehouse().table("customer_value").execute().sample(200, random_state=1)
    tm, sm = fit.transaction_model(), fit.spend_model()
    f, r, T = (cv[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    rep = f > 0
    np.testing.assert_allclose(cv.prob_alive[rep], tm.prob_alive(f, r, T)[rep], rtol=1e-10)
    assert cv.prob_alive[~rep].isna().all()
    np.testing.assert_allclose(cv.expected_purchases, tm.expected_purchases(52, f, r, T),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cv.expected_spend[rep],
                               sm.expected_spend(f[rep], cv.monetary_value[rep].to_numpy(float)),
                               rtol=1e-10)
    m = cv.monetary_value.to_numpy(float)
    weekly = 1.1 ** (1 / 52) - 1  # the default: 10% a year
    np.testing.assert_allclose(cv.clv, clv(tm, sm, f, r, T, m, horizon=52, discount_rate=weekly,
                                           margin=report.margin.rate), rtol=1e-8)


def test_margin_is_the_company_margin_on_revenue(scored, company) -> None:
    ws, _, report = scored
    o = company["order_lines"].merge(company["products"], on="product_id")
    expected = (o.revenue.sum() - o.discount.sum() - (o.unit_cost * o.quantity).sum()) \
        / o.revenue.sum()
    assert company_margin(ws.warehouse()).rate == pytest.approx(expected, rel=1e-9)
    assert report.margin.rate == pytest.approx(expected, rel=1e-9)


def test_reasons_are_plain_words_that_match_the_numbers(scored) -> None:
    ws, _, _ = scored
    top = top_customers(ws, n=10)
    assert len(top) == 10 and top.clv.is_monotonic_decreasing
    row = top.iloc[0]
    assert row.reason.startswith("top 10% by value: buys every ")
    assert f"{round(row.prob_alive * 100)}% likely still active" in row.reason
    assert f"average order ${round(row.monetary_value)}" in row.reason
    cv = ws.warehouse().table("customer_value")
    once = cv.filter(cv.frequency == 0).limit(1).execute().iloc[0]
    assert "bought once so far" in once.reason and "average order" not in once.reason


def test_cli_value_top_and_score_json(scored) -> None:
    ws, _, _ = scored
    runner = CliRunner()
    res = runner.invoke(app, ["--workspace", str(ws.root), "value", "top", "--n", "3", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["customers"]
    assert len(rows) == 3 and rows[0]["clv"] >= rows[1]["clv"] >= rows[2]["clv"]
    assert rows[0]["reason"].startswith("top 10% by value")


def test_cli_fit_and_score_print_results(tmp_path: Path, company) -> None:
    ws = Workspace.init(tmp_path / "ws")
    fill(ws, company)
    ws.close()
    runner = CliRunner()
    base = ["--workspace", str(ws.root), "value"]
    res = runner.invoke(app, [*base, "fit", "--model", "mbgnbd", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["model"] == "mbgnbd" and set(out["params"]) == {"r", "alpha", "a", "b"}
    res = runner.invoke(app, [*base, "score", "--horizon-weeks", "26", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["horizon_weeks"] == 26 and out["n_customers"] == 1500
    assert len(out["deciles"]) == 10
    res = runner.invoke(app, [*base, "top", "--n", "5"])
    assert res.exit_code == 0 and "top 10% by value" in res.stdout


def test_clear_errors_before_data_or_fit(workspace: Workspace) -> None:
    with pytest.raises(MissingDataError, match="outsidein load order_lines"):
        fit_value(workspace)
    with pytest.raises(MissingDataError, match="outsidein value fit"):
        score_value(workspace)
    with pytest.raises(ConfigError, match="bgnbd, mbgnbd, pareto"):
        fit_value(workspace, model="lifetimes")
    with pytest.raises(MissingDataError, match="outsidein value score"):
        top_customers(workspace)


def test_sampled_decile_boundaries_for_large_tables(scored, monkeypatch) -> None:
    """Above EXACT_DECILES_MAX customers the boundaries come from a sample (here ~1/2)."""
    ws, fit, report = scored
    monkeypatch.setattr(scoring, "EXACT_DECILES_MAX", 500)
    monkeypatch.setattr(scoring, "DECILE_SAMPLE_ROWS", 750)
    wh = ws.warehouse()
    source = wh.table("customer_value").select(*scoring.SUMMARY_COLUMNS)
    scoring.score_summary(wh, source, fit.transaction_model(), fit.spend_model(),
                          margin=report.margin.rate, table="cv_sampled")
    sampled = wh.table("cv_sampled").execute().set_index("customer_id").sort_index()
    exact = wh.table("customer_value").execute().set_index("customer_id").sort_index()
    np.testing.assert_allclose(sampled.clv, exact.clv, rtol=1e-12)
    assert sampled.groupby("value_decile").size().between(100, 200).all()
    assert (sampled.value_decile - exact.value_decile).abs().max() <= 1
    assert (sampled.value_decile == exact.value_decile).mean() > 0.8
