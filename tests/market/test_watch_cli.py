"""``outsidein market watch`` as a user runs it: JSON, publishing, custom KPIs, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outsidein.cli import app
from outsidein.workspace import Workspace

runner = CliRunner()


def watch(ws_root, *args: str):
    return runner.invoke(app, ["--workspace", str(ws_root), "market", "watch", *args])


def run_cli(ws_root, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, with its error-to-exit-code mapping (one red line)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    return subprocess.run([str(Path(sys.executable).parent / "outsidein"), "--workspace",
                           str(ws_root), "market", "watch", *args], capture_output=True,
                          text=True, env={**clean, "COLUMNS": "200"}, timeout=300)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from outsidein.demo.accounts import seed_demo_people
    from outsidein.demo.company import generate_demo

    ws = Workspace.init(tmp_path_factory.mktemp("watchcli") / "ws")
    generate_demo(ws, customers=3_000, seed=7)
    seed_demo_people(ws)
    ws.close()
    return ws.root


def test_json_names_kpi_segment_date_size_and_evidence(small_demo):
    r = watch(small_demo, "--json", "--kpi", "repeat_rate")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {k["kpi"] for k in doc["kpis"]} == {"repeat_rate"}
    assert doc["alerts"], "the planted change of the demo"
    for a in doc["alerts"]:
        assert {"kpi", "segment", "changed_at", "before", "after", "evidence"} <= set(a)
    planted = [a for a in doc["alerts"] if a["segment"] == "region=coast"]
    assert planted and planted[0]["changed_at"].startswith("2025-08")


def test_publish_puts_each_alert_in_the_departments_inbox_and_the_outbox(small_demo):
    from outsidein.services.share import list_insights, list_outbox
    from outsidein.store.db import session_scope

    r = watch(small_demo, "--json", "--kpi", "repeat_rate", "--publish")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["published"]) == len({(a["kpi"], a["segment"]) for a in doc["alerts"]})
    ws = Workspace.open(small_demo)
    try:
        with session_scope(ws.store_url) as s:
            keys = {i.key for i in list_insights(s, department="marketing")}
            assert "market.watch.repeat_rate.region=coast" in keys
            assert any("Repeat rate" in (e.subject or "") for e in list_outbox(s))
    finally:
        ws.close()


def test_a_kpi_of_your_own_from_outsidein_toml(small_demo):
    toml = small_demo / "outsidein.toml"
    before = toml.read_text()
    toml.write_text(before + '\n[market.kpis.units_per_line]\nsql = "avg(quantity)"\n'
                    'title = "Units per line"\n')
    try:
        r = watch(small_demo, "--json", "--kpi", "units_per_line")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert [k["title"] for k in doc["kpis"]] == ["Units per line"]
        assert doc["kpis"][0]["latest"]["value"] >= 1.0  # quantities are whole and positive
        toml.write_text(before + '\n[market.kpis.broken]\nsql = "avg(no_such_column)"\n')
        r = run_cli(small_demo, "--kpi", "broken")
        assert r.returncode == 2
        assert "market.kpis.broken" in r.stderr and "no_such_column" in r.stderr
    finally:
        toml.write_text(before)


def test_bad_settings_and_no_data_say_what_to_do(tmp_path):
    ws = Workspace.init(tmp_path / "empty")
    ws.close()
    r = run_cli(ws.root)
    assert r.returncode == 2 and "no orders yet" in r.stderr
    toml = ws.root / "outsidein.toml"
    toml.write_text(toml.read_text() + '\n[market.watch]\nlapse_days = "soon"\n')
    r = run_cli(ws.root)
    assert r.returncode == 2 and "[market.watch] lapse_days" in r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: outsidein.toml [market.watch] lapse_days: expected a whole number of days >= 1, "
        "got 'soon'"]
