"""``outsidein sense simulate``: the documented JSON, the targets on a seed not tuned on, the
words without --json, and the result kept for the page and the report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.workspace import Workspace

POLICIES = ("sense_and_respond", "push", "none", "oracle")
FIGURES = ("conversions", "revenue", "messages", "opt_outs")


def _simulate(root: Path, *extra: str) -> str:
    r = CliRunner().invoke(cli, ["--workspace", str(root), "sense", "simulate", "--seed", "21",
                                 "--customers", "2000", "--weeks", "30", *extra])
    assert r.exit_code == 0, r.output
    return r.output


def test_json_has_the_documented_keys_and_meets_the_targets(workspace: Workspace) -> None:
    out = json.loads(_simulate(workspace.root, "--json"))
    for p in POLICIES:
        for k in FIGURES:
            assert isinstance(out["policies"][p][k], int | float), (p, k)
    sr, push, none = (out["policies"][p] for p in ("sense_and_respond", "push", "none"))
    assert sr["conversions"] > push["conversions"]
    assert sr["messages"] < push["messages"] and sr["opt_outs"] < push["opt_outs"]
    assert none["messages"] == 0 and none["opt_outs"] == 0
    gain = (sr["conversions"] - none["conversions"]) / (
        out["policies"]["oracle"]["conversions"] - none["conversions"])
    assert abs(out["share_of_oracle_gain"] - gain) < 1e-9
    assert out["share_of_oracle_gain"] >= 0.7
    assert 1 / 7 < out["stage_accuracy"] <= 1 and 1 / 7 < out["bayes_limit_accuracy"] <= 1
    # kept for the page and the report
    kept = json.loads((workspace.root / "results" / "sense_simulation.json").read_text())
    assert kept["policies"]["push"]["messages"] == push["messages"]
    assert out["saved_to"].endswith("sense_simulation.json")


def test_without_json_it_prints_a_table_in_words(workspace: Workspace) -> None:
    text = " ".join(_simulate(workspace.root).split())
    assert "Sense and respond" in text and "No message" in text and "opt-outs" in text
    assert "of the extra conversions an oracle" in text


def test_a_market_too_small_to_judge_by_says_so(workspace: Workspace) -> None:
    r = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "sense", "simulate",
                                 "--seed", "12", "--customers", "100", "--weeks", "4"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "95% interval" in text
    assert "Too small to judge" in text and "simulate more customers or more weeks" in text
    big = " ".join(_simulate(workspace.root).split())
    assert "95% interval" in big and "Too small to judge" not in big
