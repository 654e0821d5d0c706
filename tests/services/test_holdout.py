"""Calibration/holdout: predicted vs actual repeat purchases per bucket and week by week."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import oi_testkit as helpers
from outsidein.cli import app
from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.value import bucket_figure, fit_value, load_holdout, tracking_figure
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def company() -> dict[str, pd.DataFrame]:
    return helpers.simulate_company(n=3000, seed=11)


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, company):
    ws = Workspace.init(tmp_path_factory.mktemp("holdout") / "ws")
    helpers.fill(ws, company)
    fit = fit_value(ws, holdout_weeks=26, model="bgnbd")
    yield ws, fit
    ws.close()


def _days(ts: pd.Series) -> np.ndarray:
    return (ts.astype("datetime64[us]").astype("int64") // 86_400_000_000).to_numpy()


def test_holdout_predicts_repeat_purchases_of_a_bgnbd_company(checked, company) -> None:
    _, fit = checked
    h = fit.holdout
    orders = company["order_lines"]
    end = orders.ts.max()
    assert h.holdout_end == end.to_pydatetime()
    assert h.calibration_end == (end - timedelta(weeks=26)).to_pydatetime()
    # the chosen model is refitted on the whole history; the check starts at holdout_from
    assert fit.calibration_end is None and fit.holdout_from == h.calibration_end
    # the cohort: customers whose first purchase day is on or before the calibration end day
    day = pd.DataFrame({"c": orders.customer_id, "d": _days(orders.ts)}).drop_duplicates()
    first = day.groupby("c").d.min()
    cut = int(pd.Timestamp(h.calibration_end).timestamp() // 86400)
    cohort = first[first <= cut].index
    assert h.n_customers == len(cohort) == fit.n_customers
    mine = day[day.c.isin(cohort)]
    hold = mine[mine.d > cut].groupby("c").size()
    assert h.actual_total == hold.sum()
    assert abs(h.error) < 0.10, h
    b = h.buckets_frame()
    # buckets from the data: 0, 1, then quantiles of the customers with 2+ repeat purchases
    assert list(b.label[:2]) == ["0", "1"] and len(b) >= 5
    assert all(re.fullmatch(r"\d+(-\d+|\+)?", label) for label in b.label)
    repeaters = b.customers[2:]
    assert repeaters.max() < 0.5 * repeaters.sum()
    assert b.customers.sum() == h.n_customers
    assert b.predicted_mean.iloc[-1] > 3 * b.predicted_mean.iloc[1]
    np.testing.assert_allclose(b.predicted_mean, b.actual_mean, atol=0.35)
    # tracking: every repeat purchase day of the cohort is counted once, by the end
    t = h.tracking_frame()
    assert t.actual_cum.iloc[-1] == len(mine) - len(cohort)
    assert t.actual_cum.is_monotonic_increasing and t.expected_cum.is_monotonic_increasing
    assert t.in_holdout.sum() in (26, 27)
    assert h.tracking_mape < 0.05
    assert "26-week holdout" in repr(h)


def test_holdout_figures_show_actual_against_model(checked) -> None:
    _, fit = checked
    bars = bucket_figure(fit.holdout)
    assert [tr.name for tr in bars.data] == ["actual", "predicted (bgnbd)"]
    assert list(bars.data[0].x) == fit.holdout.buckets_frame().label.tolist()
    lines = tracking_figure(fit.holdout)
    assert [tr.name for tr in lines.data] == ["actual", "expected (bgnbd)"]
    assert len(lines.data[0].x) == len(fit.holdout.tracking)
    assert lines.layout.shapes  # the calibration-end marker


def test_holdout_is_stored_for_the_report(checked) -> None:
    ws, fit = checked
    again = load_holdout(ws)
    assert again is not None
    assert again.actual_total == fit.holdout.actual_total
    assert again.predicted_total == pytest.approx(fit.holdout.predicted_total)
    assert again.buckets_frame().label.tolist() == fit.holdout.buckets_frame().label.tolist()
    assert again.tracking_mape == pytest.approx(fit.holdout.tracking_mape)


def test_calibration_end_date_and_bad_windows(checked) -> None:
    ws, _ = checked
    fit = fit_value(ws, calibration_end="2024-06-01", model="pareto")
    assert fit.holdout_from.date().isoformat() == "2024-06-01"
    assert fit.holdout is not None and fit.holdout.model == "pareto"
    assert abs(fit.holdout.error) < 0.15
    with pytest.raises(DataValidationError, match="not before the last order"):
        fit_value(ws, calibration_end="2031-01-01")
    with pytest.raises(DataValidationError, match="expected a date"):
        fit_value(ws, calibration_end="31/05/24")
    with pytest.raises(ConfigError, match="not both"):
        fit_value(ws, calibration_end="2024-06-01", holdout_weeks=10)


def test_cli_fit_with_holdout_prints_numbers(checked) -> None:
    ws, _ = checked
    runner = CliRunner()
    base = ["--workspace", str(ws.root), "value", "fit", "--holdout-weeks", "20"]
    res = runner.invoke(app, [*base, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)["holdout"]
    assert out["holdout_weeks"] == 20 and len(out["buckets"]) >= 5
    assert {"actual_total", "predicted_total", "error", "rmse", "tracking"} <= set(out)
    res = runner.invoke(app, base)
    assert res.exit_code == 0 and "holdout from" in res.stdout
    assert out["buckets"][-1]["label"] in res.stdout
