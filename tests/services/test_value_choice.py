"""The value fit chooses its model on a holdout, analyze keeps the user's fit, and the
answers say what they do not know (P(alive) of one-time buyers, the yearly discount rate)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import oi_testkit as helpers
from outsidein.cli import app, main
from outsidein.errors import ConfigError
from outsidein.report.sections.value import value_section
from outsidein.services.data import load_frame
from outsidein.services.value import (
    fit_value,
    load_fit,
    load_holdout,
    run,
    score_value,
)
from outsidein.services.value.holdout import frequency_buckets
from outsidein.value import clv
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def company() -> dict[str, pd.DataFrame]:
    return helpers.simulate_company(n=1200, seed=21)


def _filled(root: Path, company: dict[str, pd.DataFrame]) -> Workspace:
    ws = Workspace.init(root)
    helpers.fill(ws, company)
    return ws


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory, company):
    """Models compared on the default holdout, then BG/NBD forced and scored."""
    ws = _filled(tmp_path_factory.mktemp("choice") / "ws", company)
    auto = fit_value(ws)
    yield ws, auto
    ws.close()


def test_the_fit_compares_three_models_and_keeps_the_smallest_holdout_error(fitted) -> None:
    ws, fit = fitted
    scores = {s.model: s for s in fit.choice.scores}
    assert set(scores) == {"bgnbd", "mbgnbd", "pareto"}
    assert fit.model == min(scores.values(), key=lambda s: s.rmse).model
    assert fit.choice.chosen_by == "holdout" and "smallest holdout error" in fit.choice.reason
    # the default holdout: a third of the (104-week) history, at most 26 weeks
    assert fit.holdout.holdout_weeks == pytest.approx(26, abs=0.01)
    # every model is measured on the same customers and the same actual purchases
    assert len({s.actual_total for s in scores.values()}) == 1
    for s in scores.values():
        assert s.rmse > 0 and s.predicted_total > 0
        assert sum(b["customers"] for b in s.buckets) == fit.holdout.n_customers
    # the chosen model was refitted on the whole history, after the calibration window
    assert fit.calibration_end is None and fit.n_customers == 1200
    assert fit.holdout_from == fit.holdout.calibration_end
    assert fit.params != pytest.approx(scores[fit.model].params, rel=1e-3)
    again = load_fit(ws)
    assert again.model == fit.model and again.choice is not None
    assert again.choice.to_pandas().set_index("model").rmse.to_dict() == pytest.approx(
        {m: s.rmse for m, s in scores.items()})


def test_forcing_a_model_still_reports_the_others_and_says_so(fitted) -> None:
    ws, auto = fitted
    other = next(m for m in ("bgnbd", "mbgnbd", "pareto") if m != auto.model)
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "value", "fit", "--model", other,
                                   "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["model"] == other and doc["choice"]["chosen_by"] == "forced"
    assert {m["model"] for m in doc["choice"]["models"]} == {"bgnbd", "mbgnbd", "pareto"}
    assert f"--model {other}" in doc["choice"]["reason"]
    assert "smaller holdout error" in doc["choice"]["reason"]  # the forced one is not the best
    text = CliRunner().invoke(app, ["--workspace", str(ws.root), "value", "fit"]).stdout
    for words in ("models compared on the holdout", "RMSE", "BG/NBD", "MBG/NBD",
                  "Pareto/NBD", "criterion: root mean squared error"):
        assert words in text, words


def test_one_time_buyers_get_no_p_alive_under_bgnbd(fitted) -> None:
    ws, _ = fitted
    fit_value(ws, model="bgnbd")
    report = score_value(ws)
    cv = ws.warehouse().table("customer_value").execute()
    once = cv[cv.frequency == 0]
    assert len(once) > 100
    assert once.prob_alive.isna().all()
    assert cv[cv.frequency > 0].prob_alive.between(0, 1).all()
    assert once.reason.str.contains("bought once so far").all()
    assert once.reason.str.contains("too little history to tell if still active").all()
    assert not cv.reason.str.contains("100% likely still active").any()
    assert report.n_alive_unknown == len(once)
    assert f"{len(once):,} customers who bought only once" in report.alive_note
    assert 0 < report.mean_prob_alive < 1
    section = value_section(ws)
    assert f"for the {len(once):,} who bought only once the model cannot tell" in section.summary
    assert "100%" not in section.summary
    # the CLI shows "n/a", never a made-up percentage
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "value", "score"])
    assert res.exit_code == 0 and "P(alive):" in res.stdout and "bought only once" in res.stdout


def test_pareto_estimates_p_alive_of_one_time_buyers(fitted) -> None:
    ws, _ = fitted
    fit_value(ws, model="pareto")
    report = score_value(ws)
    cv = ws.warehouse().table("customer_value").execute()
    once = cv[cv.frequency == 0]
    assert once.prob_alive.notna().all() and (once.prob_alive < 1).all()
    # seen longer ago, less likely to be active
    by_age = once.sort_values("T")
    assert np.all(np.diff(by_age.prob_alive.to_numpy()) <= 1e-12)
    assert report.n_alive_unknown == 0 and report.alive_note == ""


def test_clv_is_discounted_at_ten_percent_a_year_by_default(fitted) -> None:
    ws, _ = fitted
    fit = fit_value(ws, model="bgnbd", holdout_weeks=0)
    assert fit.holdout is None and fit.choice.chosen_by == "forced"
    report = score_value(ws)
    assert report.discount_rate == 0.10
    weekly = 1.1 ** (1 / 52) - 1  # compounds to 10% over 52 weeks
    assert report.discount_rate_weekly == pytest.approx(weekly, rel=1e-12)
    cv = ws.warehouse().table("customer_value").execute().sample(100, random_state=2)
    f, r, T, m = (cv[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    np.testing.assert_allclose(cv.clv, clv(fit.transaction_model(), fit.spend_model(), f, r, T, m,
                                           horizon=52, discount_rate=weekly,
                                           margin=report.margin.rate), rtol=1e-8)
    section = value_section(ws)
    assert "discounted at 10.0% a year (0.183% a week)" in section.body_html
    # a higher yearly rate, from the command line: less value
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "value", "score",
                                   "--discount-rate", "0.3", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["total_clv"] < report.total_clv
    with pytest.raises(ConfigError, match="yearly rate"):
        score_value(ws, discount_rate=10)  # 10 meant as 10%


def test_the_discount_rate_comes_from_outsidein_toml(tmp_path: Path, company) -> None:
    ws = _filled(tmp_path / "ws", company)
    ws.close()
    toml = ws.root / "outsidein.toml"
    text = toml.read_text(encoding="utf-8")
    assert "discount_rate = 0.1" in text  # a new workspace shows the setting
    toml.write_text(text.replace("discount_rate = 0.1", "discount_rate = 0.25"),
                    encoding="utf-8")
    ws = Workspace.open(ws.root)
    fit_value(ws, model="bgnbd", holdout_weeks=0)
    assert score_value(ws).discount_rate == 0.25
    ws.close()
    toml.write_text(text.replace("discount_rate = 0.1", "discount_rate = 12"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[analysis\] discount_rate 12: expected a yearly"):
        Workspace.open(ws.root)


def test_analyze_keeps_the_users_model_and_holdout(tmp_path: Path, company) -> None:
    ws = _filled(tmp_path / "ws", company)
    ws.close()
    runner = CliRunner()
    res = runner.invoke(app, ["--workspace", str(ws.root), "value", "fit", "--model", "pareto",
                              "--holdout-weeks", "39"])
    assert res.exit_code == 0, res.output
    ws = Workspace.open(ws.root)
    out = run(ws)  # the pipeline's value step, as 'outsidein analyze' runs it
    assert out["fit"]["model"] == "pareto" and out["fit"]["reused"].startswith("reused")
    assert out["holdout"]["holdout_weeks"] == pytest.approx(39, abs=0.01)
    stored = load_fit(ws)
    assert stored.model == "pareto" and stored.holdout_weeks == 39
    assert load_holdout(ws).holdout_weeks == pytest.approx(39, abs=0.01)
    assert load_holdout(ws).model == "pareto"
    # new orders arrive: analyze refits the same model with the same 39-week holdout
    end = company["order_lines"].ts.max()
    more = pd.DataFrame({"order_id": ["new1", "new2"], "customer_id": ["c00001", "c00002"],
                         "product_id": ["p1", "p1"],
                         "ts": [end + timedelta(days=3), end + timedelta(days=5)],
                         "quantity": [1, 1], "revenue": [20.0, 30.0], "discount": [0.0, 0.0]})
    load_frame(ws, "order_lines", more, source="test:more")
    out = run(ws)
    assert out["fit"]["model"] == "pareto" and out["fit"]["reused"].startswith("refitted")
    assert out["fit"]["choice"]["chosen_by"] == "kept"
    h = load_holdout(ws)
    assert h.model == "pareto" and h.holdout_weeks == pytest.approx(39, abs=0.01)
    assert h.holdout_end.date() == (end + timedelta(days=5)).date()
    assert load_fit(ws).origin == "value fit"  # the next analyze keeps it too
    ws.close()


def test_analyze_without_an_earlier_fit_chooses_the_model(tmp_path: Path, company) -> None:
    ws = _filled(tmp_path / "ws", company)
    out = run(ws)
    assert out["fit"]["choice"]["chosen_by"] == "holdout" and out["fit"]["origin"] == "analyze"
    assert len(out["fit"]["choice"]["models"]) == 3
    assert out["holdout"]["model"] == out["fit"]["model"]
    ws.close()


def test_holdout_buckets_follow_the_data() -> None:
    # a grocery-like panel: 2,394 households, most of them buying every week or two
    rng = np.random.default_rng(0)
    freq = np.concatenate([np.zeros(150), np.ones(120), rng.integers(2, 7, 225),
                           rng.integers(7, 120, 1_899)])
    buckets = frequency_buckets(freq)
    lows = np.array([lo for lo, _ in buckets])
    which = np.searchsorted(lows, freq, side="right") - 1
    sizes = np.bincount(which)
    assert buckets[:2] == [(0, 0), (1, 1)]
    assert sizes.sum() == len(freq) and (sizes > 0).all()
    assert len(buckets) == 7 and sizes[2:].max() < 0.3 * sizes[2:].sum()
    # the fixed buckets put 1,899 households in "7+"; here no bucket holds a third of them
    assert sizes.max() < len(freq) / 3


def test_a_holdout_longer_than_the_history_is_an_error_in_words(tmp_path: Path,
                                                               capsys) -> None:
    data = helpers.simulate_company(n=200, seed=8, weeks=78)
    start = helpers.ORIGIN
    ends = pd.DataFrame({"order_id": ["first", "last"], "customer_id": ["c00000", "c00001"],
                         "product_id": ["p1", "p1"],
                         "ts": [start, start + timedelta(weeks=78)],
                         "quantity": [1, 1], "revenue": [10.0, 10.0], "discount": [0.0, 0.0]})
    data = {**data, "order_lines": pd.concat([data["order_lines"], ends], ignore_index=True)}
    ws = _filled(tmp_path / "ws", data)
    ws.close()

    def cli(*args: str) -> tuple[int, str]:
        """The command as a user runs it: errors mapped to exit codes and one red line."""
        with pytest.raises(SystemExit) as stop:
            main(["--workspace", str(ws.root), *args])
        return int(stop.value.code or 0), " ".join(capsys.readouterr().err.split())

    code, message = cli("value", "fit", "--holdout-weeks", "100")
    assert code == 2
    assert "the order history is 78 weeks long" in message
    assert "hold out at most 39 weeks" in message
    code, message = cli("value", "fit", "--calibration-end", "2022-12-01")
    assert code == 2 and "not after the first order" in message
