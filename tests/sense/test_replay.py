"""``outsidein sense replay`` on the demo: journeys filled, each interaction applied once,
and the sensed stage agreeing with the generator's truth far more often than a guess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision
from outsidein.workspace import Workspace

OUTSIDEIN = Path(sys.executable).parent / "outsidein"
LIMIT = 12_000


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    return subprocess.run([str(OUTSIDEIN), *args], capture_output=True, text=True,
                          env={**clean, "COLUMNS": "200"}, timeout=600)


def test_replay_fills_journeys_once_and_senses_stages(demo_ws: Workspace, tmp_path: Path) -> None:
    demo_ws.close()
    root = tmp_path / "ws"
    shutil.copytree(demo_ws.root, root)
    first = _run("-w", str(root), "sense", "replay", "--limit", str(LIMIT), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["events_read"] == report["applied"] == LIMIT
    assert report["compared"] == LIMIT

    with Workspace.open(root) as ws:
        con = ws.warehouse().con
        truth = con.table("truth_stages").order_by(["ts", "customer_id", "channel", "type"])
        stages = Counter(truth.limit(LIMIT).stage.to_pyarrow().to_pylist())
        with session_scope(ws.store_url, write=False) as s:
            assert s.scalar(select(func.count()).select_from(Decision)) == LIMIT
            assert s.scalar(select(func.count()).select_from(CustomerState)) == \
                report["customers"]
    guess = max(stages.values()) / LIMIT  # always answering the commonest true stage
    assert report["stage_accuracy"] > guess + 0.15, (report["stage_accuracy"], guess)

    again = _run("-w", str(root), "sense", "replay", "--limit", str(LIMIT))
    assert again.returncode == 0, again.stderr
    assert f"0 applied, {LIMIT:,} applied before" in again.stdout
    assert "sensed stage agrees" not in again.stdout  # nothing new to compare


def test_replay_without_interactions_says_what_to_load(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "empty").close()
    r = _run("-w", str(tmp_path / "empty"), "sense", "replay")
    assert r.returncode == 2
    assert "outsidein load interactions" in r.stderr
