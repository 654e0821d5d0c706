"""``outsidein sense replay`` on the demo: journeys filled, each interaction applied once,
and the sensed stage agreeing with the generator's truth far more often than a guess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from outsidein.services.sense.events import EventIn, apply_events, stage_decider
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent
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
            decided = select(func.count()).select_from(Decision).join(
                SenseEvent, Decision.event_pk == SenseEvent.id)
            assert s.scalar(decided.where(SenseEvent.source == "replay")) == LIMIT
            # and one decision per stage change by silence up to the history's end
            assert s.scalar(decided) == LIMIT + report["silence_events"]
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


# --- a full replay after a partial one (the demo replays its last 60 days) ---------------

def _json(*args: str) -> dict[str, Any]:
    r = _run(*args, "--json")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def _journeys(root: Path) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """Each customer's state and each interaction's decision, as the journeys show them."""
    with Workspace.open(root) as ws, session_scope(ws.store_url, write=False) as s:
        states = {c.customer_id: (c.stage, round(c.stage_probability, 9), c.events)
                  for c in s.scalars(select(CustomerState))}
        decisions = {eid: (d.stage, round(d.stage_probability, 9), tuple(d.clues))
                     for eid, d in s.execute(select(SenseEvent.event_id, Decision).join(
                         Decision, Decision.event_pk == SenseEvent.id))}
    return states, decisions


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-customer demo, its interactions not replayed yet."""
    root = tmp_path_factory.mktemp("small") / "ws"
    r = _run("-w", str(root), "demo", "-n", "300", "--no-analyze")
    assert r.returncode == 0, r.stderr
    return root


def test_a_full_replay_after_a_partial_one_equals_one_full_replay(small_demo: Path,
                                                                  tmp_path: Path) -> None:
    once, twice = tmp_path / "once", tmp_path / "twice"
    shutil.copytree(small_demo, once)
    shutil.copytree(small_demo, twice)
    full = _json("-w", str(once), "sense", "replay")
    part = _json("-w", str(twice), "sense", "replay", "--last-days", "60")
    assert 0 < part["applied"] < full["applied"]
    after = _json("-w", str(twice), "sense", "replay")
    assert after["stage_accuracy"] == full["stage_accuracy"] > 0.7
    assert after["compared"] == full["compared"] == full["events_read"]
    assert after["rebuilt_customers"] == part["customers"]
    # the same journeys: every customer's stage now, every interaction's decision, each once
    assert _journeys(twice) == _journeys(once)

    again = _run("-w", str(twice), "sense", "replay")
    assert again.returncode == 0, again.stderr
    assert "nothing new to replay" in again.stdout
    assert "customers' stage at each of their" not in again.stdout  # no empty table
    assert "at the end of the history" not in again.stdout


def test_a_customer_with_live_events_is_not_rebuilt(small_demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(small_demo, root)
    _json("-w", str(root), "sense", "replay", "--last-days", "60")
    with Workspace.open(root) as ws:
        with session_scope(ws.store_url, write=False) as s:
            who = s.scalars(select(CustomerState.customer_id).order_by(
                CustomerState.customer_id)).first()
        assert who is not None
        with session_scope(ws.store_url) as s:
            apply_events(s, [EventIn("live-1", who, datetime(2030, 1, 1), "web", "visit")],
                         stage_decider())
    after = _json("-w", str(root), "sense", "replay")
    assert after["late_customers"] == 1
    assert any("customers with live events too: 1" in n for n in after["notes"])
    with Workspace.open(root) as ws, session_scope(ws.store_url, write=False) as s:
        live = s.execute(select(SenseEvent.source, SenseEvent.customer_id).where(
            SenseEvent.event_id == "live-1")).one()
    assert tuple(live) == ("api", who)


def test_a_history_of_orders_only_is_replayed_as_checkouts(tmp_path: Path) -> None:
    """CDNOW-like data: orders, no interactions.  Each order is one checkout (two orders at
    the same time stay two, a return is none); at the history's end a customer silent for
    months reads as lapsed, one who bought last week does not."""
    root = tmp_path / "ws"
    Workspace.init(root).close()
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,customer_id,product_id,ts,quantity,revenue,is_return\n"
                   "O1,OLD,P1,2026-01-05,1,10.0,false\n"
                   "O1,OLD,P2,2026-01-05,1,5.0,false\n"  # a second line of the same order
                   "O2,OLD,P1,2026-01-20,1,10.0,false\n"
                   "O3,NEW,P1,2026-06-20,1,10.0,false\n"
                   "O4,NEW,P2,2026-06-20,1,8.0,false\n"  # another order at the same time
                   "R1,NEW,P2,2026-06-25,1,-8.0,true\n"
                   "O5,LAST,P1,2026-06-30,1,12.0,false\n")
    r = _run("-w", str(root), "load", "order_lines", str(csv))
    assert r.returncode == 0, r.stderr
    hint = _run("-w", str(root), "sense", "replay")
    assert hint.returncode == 2 and "sense replay --orders" in hint.stderr
    report = _json("-w", str(root), "sense", "replay", "--orders")
    assert (report["events_read"], report["applied"], report["customers"]) == (5, 5, 3)
    assert report["history_end"].startswith("2026-06-30")
    assert report["stages_at_end"].get("lapsed") == 1  # OLD: silent since January
    with Workspace.open(root) as ws, session_scope(ws.store_url, write=False) as s:
        ids = set(s.scalars(select(SenseEvent.event_id).where(SenseEvent.source == "replay")))
        stages = dict(s.execute(select(CustomerState.customer_id, CustomerState.stage)).all())
    assert ids == {f"wh:order:O{i}" for i in range(1, 6)}
    assert stages["LAST"] == "purchased"
    assert stages["OLD"] == "lapsed"  # stored too: the silence is sensed, not only reported
    again = _json("-w", str(root), "sense", "replay", "--orders")
    assert (again["applied"], again["duplicates"]) == (0, 5)
