"""On the full CDNOW cohort the value fit chooses its model by the holdout, and says so.

The 23,570 customers of CDNOW's first-quarter 1997 cohort (69,659 purchase
lines to 1998-06-30), 39 calibration and 39 holdout weeks as in Fader,
Hardie & Lee (2005).  The models are fitted on the 1997-01-01 to 1997-09-30
window and compared on what the customers did in the following 39 weeks.
Published parameters exist only for the 1/10th sample (2,357 customers,
``test_cdnow_models.py``), not for the full cohort, so none are checked here.

Each model's holdout errors, overall and per calibration-frequency bucket, go
to ``test-artifacts/cdnow-model-choice.json`` and to the test's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from outsidein.services.data import load_frame
from outsidein.services.value import fit_value, load_choice, load_holdout_models, score_value
from outsidein.workspace import Workspace

pytestmark = pytest.mark.validation


@pytest.fixture(scope="module")
def cdnow(reference_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The full cohort loaded as order lines (order and product ids made up: the file has none)."""
    raw = pd.read_csv(reference_data / "cdnow" / "CDNOW_master.txt", sep=r"\s+")
    raw.columns = ["customer_id", "date", "cds", "dollars"]
    lines = pd.DataFrame({
        "order_id": [f"{c}-{d}-{i}" for i, (c, d) in enumerate(zip(raw.customer_id, raw.date,
                                                                    strict=True))],
        "customer_id": raw.customer_id.astype(str),
        "product_id": "cd",
        "ts": pd.to_datetime(raw.date.astype(str), format="%Y%m%d"),
        "quantity": raw.cds,
        "revenue": raw.dollars,
    })
    ws = Workspace.init(tmp_path_factory.mktemp("cdnow-full") / "ws")
    report = load_frame(ws, "order_lines", lines, source="CDNOW_master.txt")
    assert report.loaded == 69_659 and report.stubs_created == 23_570
    yield ws, raw
    ws.close()


@pytest.fixture(scope="module")
def chosen(cdnow):
    ws, raw = cdnow
    fit = fit_value(ws, calibration_end="1997-09-30")
    return ws, raw, fit


def test_the_chosen_model_has_the_smallest_holdout_error(chosen, artifacts_dir) -> None:
    ws, raw, fit = chosen
    h = fit.holdout
    assert h is not None and round(h.holdout_weeks) == 39
    # every customer of the cohort is in the holdout check; the actual total is the
    # number of their purchase days after 1997-09-30, counted here from the file
    days = raw[["customer_id", "date"]].drop_duplicates()
    assert h.n_customers == 23_570
    assert h.actual_total == int((days.date > 19970930).sum())
    scores = {s.model: s for s in fit.choice.scores}
    assert set(scores) == {"bgnbd", "mbgnbd", "pareto"}
    assert not any(s.failed for s in scores.values())
    best = min(scores.values(), key=lambda s: s.rmse)
    assert fit.model == best.model and fit.choice.chosen_by == "holdout"
    assert fit.holdout.rmse == pytest.approx(best.rmse)
    # the per-bucket comparison is stored for the report, every model on the same buckets
    reports = load_holdout_models(ws)
    assert [r.model for r in reports][0] == fit.model and len(reports) == 3
    labels = [r.buckets_frame().label.tolist() for r in reports]
    assert labels[0] == labels[1] == labels[2] and labels[0][:2] == ["0", "1"]
    # buckets come from the data: no bucket of repeat buyers (2+) holds most of them
    b = reports[0].buckets_frame()
    repeaters = b[~b.label.isin(["0", "1"])]
    assert len(repeaters) >= 3 and repeaters.customers.max() < 0.5 * repeaters.customers.sum()
    assert b.customers.sum() == 23_570
    stored = load_choice(ws.warehouse())
    assert stored is not None and stored.model == fit.model
    figures = {r.model: {"rmse_per_customer": r.rmse, "error_of_total": r.error,
                         "predicted_total": r.predicted_total, "actual_total": r.actual_total,
                         "buckets": r.buckets_frame()[["label", "customers", "actual_mean",
                                                       "predicted_mean", "rmse"]]
                         .to_dict("records")} for r in reports}
    doc = {"chosen": fit.model, "criterion": fit.choice.criterion, "models": figures}
    (artifacts_dir / "cdnow-model-choice.json").write_text(json.dumps(doc, indent=2))
    for model, f in figures.items():
        print(f"{model}: RMSE {f['rmse_per_customer']:.4f}, total {f['error_of_total']:+.1%}, "
              + ", ".join(f"{x['label']}: {x['predicted_mean']:.2f}/{x['actual_mean']:.2f}"
                          for x in f["buckets"]))


def test_one_time_buyers_are_never_called_certainly_active(chosen) -> None:
    ws, raw, fit = chosen
    once = int((raw.groupby("customer_id").date.nunique() == 1).sum())
    assert once == 12_054
    report = score_value(ws)
    cv = ws.warehouse().table("customer_value").execute()
    one = cv[cv.frequency == 0]
    assert len(one) == once
    # under the chosen model their P(alive) is an estimate below 1, lower when seen longer ago
    alive = one.prob_alive.to_numpy(float)
    if fit.model == "bgnbd":
        assert one.prob_alive.isna().all()
    else:
        assert np.all(alive < 0.9)
        # (the cohort's first purchases span 12 weeks: T is 65 to 78 weeks)
        old, recent = one[one["T"] > 75], one[one["T"] < 68]
        assert old.prob_alive.mean() < recent.prob_alive.mean()
    assert not one.reason.str.contains("100% likely still active").any()
    # under BG/NBD they get no number: the reason and the report say the model cannot tell
    fit_value(ws, model="bgnbd", calibration_end="1997-09-30")
    report = score_value(ws)
    cv = ws.warehouse().table("customer_value").execute()
    one = cv[cv.frequency == 0]
    assert one.prob_alive.isna().all() and cv[cv.frequency > 0].prob_alive.notna().all()
    assert report.n_alive_unknown == once and f"{once:,} customers who bought only once" in \
        report.alive_note
    assert one.reason.str.contains("too little history to tell if still active").all()
    assert not one.reason.str.contains("likely still active").any()
