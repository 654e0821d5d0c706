"""Where stage labels exist, a classifier on each customer's past (a filter: nothing after the
interaction is used) learns the stages; on customers it never saw it beats the transparent
scorer, and both beat guessing the commonest stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from outsidein.cli import app
from outsidein.demo.company import generate_demo
from outsidein.sense.sequence import history_features
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = Workspace.init(tmp_path_factory.mktemp("stages") / "acme")
    generate_demo(ws, customers=3000, seed=19)
    ws.close()
    return ws.root


def test_the_classifier_filters_the_demo_stages_near_perfectly(demo: Path) -> None:
    r = CliRunner().invoke(app, ["--workspace", str(demo), "sense", "stage-model", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["customers_tested"] == 1500 and out["interactions_tested"] > 10_000
    # any filter's accuracy is at most the Bayes limit (<= 100%): at 95% the classifier is
    # within 90% of it whatever the limit is
    assert out["classifier_accuracy"] >= 0.95
    assert 0.75 <= out["scorer_accuracy"] < out["classifier_accuracy"]
    assert out["majority_accuracy"] < out["scorer_accuracy"] - 0.3


def test_features_use_only_the_past() -> None:
    """Changing what a customer does later never changes an earlier row's features."""
    rng = np.random.default_rng(4)
    n = 400
    cust, ts = rng.integers(0, 20, n), np.sort(rng.uniform(0, 1e7, n))
    ch, ty = rng.integers(0, 7, n), rng.integers(0, 12, n)
    base = history_features(cust, ts, ch, ty, n_channels=7, n_types=12)
    later = ts > 5e6
    ty2 = ty.copy()
    ty2[later] = (ty2[later] + 3) % 12
    moved = history_features(cust, ts, ch, ty2, n_channels=7, n_types=12)
    assert np.array_equal(base[~later], moved[~later])
    assert not np.array_equal(base[later], moved[later])


def test_without_labels_it_says_what_it_needs(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    r = CliRunner().invoke(app, ["--workspace", str(tmp_path), "sense", "stage-model"])
    assert r.exit_code != 0
    assert "--labels" in str(r.exception)
