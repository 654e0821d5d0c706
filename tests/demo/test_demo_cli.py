"""Generating the demo company: regeneration, safety of other data, `outsidein demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from outsidein.cli import app, main
from outsidein.demo.company import generate_demo
from outsidein.errors import ConflictError, DataValidationError
from outsidein.services.data import load_frame
from outsidein.workspace import Workspace

SMALL = {"customers": 300, "days": 200}


def fingerprint(ws: Workspace) -> tuple:
    con = ws.warehouse().duckdb
    return con.execute(
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM order_lines), "
        "(SELECT round(sum(revenue), 2) FROM order_lines), (SELECT count(*) FROM interactions), "
        "(SELECT count(*) FROM truth_customers)").fetchone()


def test_regenerating_replaces_the_previous_demo(workspace: Workspace) -> None:
    first = generate_demo(workspace, seed=3, **SMALL)
    before = fingerprint(workspace)
    assert first.counts["customers"] == 300 and first.truth["truth_customers"] == 300
    assert before[1] == first.counts["order_lines"]
    again = generate_demo(workspace, seed=3, **SMALL)
    assert fingerprint(workspace) == before          # same seed, same company, nothing doubled
    assert again.counts == first.counts
    generate_demo(workspace, seed=4, **SMALL)
    assert fingerprint(workspace) != before
    loads = workspace.warehouse().duckdb.execute(
        "SELECT count(DISTINCT table_name) FROM loads").fetchone()[0]
    assert loads == 11  # only the latest demo's loads remain (9 tables + the 2 campaign ones)


def test_other_data_is_not_overwritten_without_force(workspace: Workspace) -> None:
    load_frame(workspace, "products", pd.DataFrame({"product_id": ["mine"]}), source="mine.csv")
    with pytest.raises(ConflictError, match="--force"):
        generate_demo(workspace, seed=3, **SMALL)
    con = workspace.warehouse().duckdb
    assert con.execute("SELECT product_id FROM products").fetchall() == [("mine",)]
    generate_demo(workspace, seed=3, force=True, **SMALL)
    assert con.execute("SELECT count(*) FROM products WHERE product_id = 'mine'").fetchone()[0] == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"customers": 10}, "customers: expected 100"),
    ({"start": "31/12/2024"}, "start: expected a date like 2024-01-01"),
    ({"days": 30}, "days: expected 120"),
])
def test_bad_settings_are_refused_with_a_clear_message(workspace: Workspace, kwargs: dict,
                                                       message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        generate_demo(workspace, **kwargs)


def test_demo_command_creates_the_workspace_and_reports_json(tmp_path: Path) -> None:
    folder = tmp_path / "new-company"
    result = CliRunner().invoke(app, ["--workspace", str(folder), "demo", "--customers", "300",
                                      "--seed", "5", "--days", "200", "--no-analyze", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["demo"]["counts"]["customers"] == 300
    assert payload["demo"]["counts"]["availability"] == 200 * 5 * 201
    assert payload["demo"]["truth"]["truth_customers"] == 300
    assert payload["analyses"] is None
    assert Path(payload["report"]).is_file()
    assert (folder / "outsidein.toml").is_file()


def test_demo_command_runs_the_analyses_and_writes_the_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "demo",
                                      "--customers", "1000", "--seed", "11", "--days", "365"])
    assert "demo company (seed 11" in result.stdout
    assert "report:" in result.stdout
    page = (tmp_path / "ws" / "reports" / "report.html").read_text(encoding="utf-8")
    assert "Outside-In report" in page


def test_demo_command_errors_are_one_red_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.init(tmp_path / "ws")
    load_frame(ws, "products", pd.DataFrame({"product_id": ["mine"]}), source="mine.csv")
    ws.close()
    with pytest.raises(SystemExit) as exit_info:
        main(["--workspace", str(tmp_path / "ws"), "demo", "--customers", "300"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "--force" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["--workspace", str(tmp_path / "ws"), "demo", "--customers", "10"])
    assert exit_info.value.code == 2
