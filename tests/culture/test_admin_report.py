"""``outsidein culture simulate`` and ``outsidein culture report --wave W --json``: the JSON a
consultant's tools read, with group scores only where the anonymity rules show them."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.culture.instrument import MO_COMPONENTS
from outsidein.services.culture.analysis import read_report
from outsidein.services.culture.views import culture_view
from outsidein.workspace import Workspace


def run(ws: Workspace, *args: str) -> Any:
    r = CliRunner().invoke(cli, ["--workspace", str(ws.root), "culture", *args])
    assert r.exit_code == 0, r.output
    return r


def test_the_report_json_has_every_part_and_hides_small_groups(workspace: Workspace) -> None:
    seeded = json.loads(run(workspace, "simulate", "--waves", "1", "--orgs", "8", "--size",
                            "30", "--seed", "4", "--json").output)
    assert seeded["waves"] == ["Illustrative wave 1"] and seeded["orgs"] == 8
    out = json.loads(run(workspace, "report", "--wave", "Illustrative wave 1", "--json").output)
    assert {"reliability", "cfa", "invariance", "aggregation", "groups", "kpi_links"} <= set(out)
    assert any(n.startswith("No customer KPIs: the warehouse has no orders yet")
               for n in out["kpi_links"]["notes"])
    assert out["illustrative"] is True and out["n"] == seeded["responses"]
    for comp in MO_COMPONENTS:
        rel = out["reliability"][comp]
        assert 0.5 < rel["alpha"] < 1 and 0.5 < rel["omega"] < 1, (comp, rel)
        agg = out["aggregation"]["components"][comp]
        assert {"icc1", "icc2", "mean_rwg"} <= set(agg)
    assert {"chi2", "df", "cfi", "tli", "rmsea", "srmr"} <= set(out["cfa"])
    assert out["cfa"]["df"] > 0 and 0 <= out["cfa"]["srmr"] < 0.1
    orgs = {g["org"] for g in out["groups"]} - {"(all)"}
    assert len(orgs) == 8
    small = [g for g in out["groups"] if g["n"] < 5]
    assert small, "a simulated department has fewer than 5 people"
    for g in out["groups"]:
        assert set(g) >= {"org", "dimension", "group", "n", "show_score"}
        if not g["show_score"]:
            assert g["market_orientation"] is None and g["customer_orientation"] is None
    # kept for the page and the report
    kept = read_report(workspace, "Illustrative wave 1")
    assert kept is not None and kept["cfa"]["chi2"] == out["cfa"]["chi2"]
    view = culture_view(workspace)
    assert view.wave == "Illustrative wave 1" and view.illustrative


def test_the_report_of_an_empty_or_unknown_wave_fails_in_one_line(workspace: Workspace) -> None:
    run(workspace, "wave", "open", "nobody-yet")
    r = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "culture", "report",
                                 "--wave", "nobody-yet"])
    assert r.exit_code != 0 and "no responses" in str(r.exception)
    r = CliRunner().invoke(cli, ["--workspace", str(workspace.root), "culture", "report",
                                 "--wave", "missing"])
    assert r.exit_code != 0 and "wave 'missing' not found; known: nobody-yet" in str(r.exception)
