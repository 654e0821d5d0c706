"""``outsidein sense evaluate`` recovers planted response rates from the engine's own log:
customers answer offer_a 60% of the time, offer_b 10%, and 5% buy with no message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from oi_testkit import TWO_OFFERS
from outsidein.cli import app
from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import parse_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.workspace import Workspace

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
RATE = {"offer_a": 0.6, "offer_b": 0.1, None: 0.05}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,600 customers put something in their cart; the engine (25% control group, learning
    as it goes) answers each; they buy an hour later at the planted rate of what they got."""
    root = tmp_path_factory.mktemp("evaluate")
    ws = Workspace.init(root)
    url = ws.store_url
    ws.close()
    rng = np.random.default_rng(11)
    r = Responder(parse_catalogue(TWO_OFFERS, "offers.toml"), control=ControlGroup(share=0.25),
                  seed=5)
    for batch in range(16):
        at = T0 + timedelta(days=batch)
        who = [f"C{batch}-{i}" for i in range(100)]
        with session_scope(url) as s:
            got = apply_events(s, [EventIn(f"{c}-cart", c, at, "web", "cart_add")
                                   for c in who], r, plan=r.plan)
        buy = [EventIn(f"{c}-buy", c, at + timedelta(hours=1), "web", "purchase")
               for c, res in zip(who, got, strict=True)
               if rng.random() < RATE[res.decision["action"]]]
        with session_scope(url) as s:
            apply_events(s, buy, r, plan=r.plan)
    return root


def evaluate(root: Path, policy: str) -> dict[str, object]:
    res = CliRunner().invoke(app, ["--workspace", str(root), "sense", "evaluate",
                                   "--policy", policy, "--bootstrap", "300", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize(("policy", "truth"), [("always:offer_a", 0.6),
                                                ("always:offer_b", 0.1), ("none", 0.05),
                                                ("greedy", 0.6)])
def test_each_estimator_brackets_the_planted_rate(logged: Path, policy: str,
                                                  truth: float) -> None:
    out = evaluate(logged, policy)
    assert 1600 <= out["rounds"] < 1700  # the carts, and the few purchases still "deciding"
    for name, est in out["estimates"].items():
        assert abs(est["estimate"] - truth) < 0.1, (name, est)
        if name != "dm":  # dm's interval leaves out the reward model's own error
            assert est["ci_low"] - 0.02 <= truth <= est["ci_high"] + 0.02, (name, est)


def test_the_control_group_and_the_logged_policy_are_reported(logged: Path) -> None:
    out = evaluate(logged, "uniform")
    assert out["control_rounds"] > 300
    assert abs(out["control_value"] - 0.05) < 0.04
    assert out["logged_value"] > out["control_value"] + 0.2  # the engine found offer_a
    assert abs(out["estimates"]["dr"]["estimate"] - 0.35) < 0.08  # half a, half b


def outsidein(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "outsidein"), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_a_policy_naming_an_unknown_message_is_a_clear_error(logged: Path) -> None:
    res = outsidein("--workspace", str(logged), "sense", "evaluate", "--policy", "always:offer_c")
    assert res.returncode == 2
    assert "always:NAME" in res.stderr and "offer_a" in res.stderr
    assert "Traceback" not in res.stderr


def test_an_empty_log_says_what_to_do(tmp_path: Path) -> None:
    Workspace.init(tmp_path).close()
    res = outsidein("--workspace", str(tmp_path), "sense", "evaluate")
    assert res.returncode != 0 and "POST /api/v1/events" in res.stderr


def test_the_control_comparison_is_per_customer_with_its_interval(logged: Path) -> None:
    """Held-out customers are never capped, so they log more rounds each: the comparison
    shown is per customer, from each one's first decision, as the Sense & respond page's."""
    out = evaluate(logged, "greedy")
    lift = out["lift_per_customer"]
    assert 300 <= lift["control"] <= 500 and 1100 <= lift["treated"] <= 1300, lift
    assert abs(lift["control_rate"] - 0.05) < 0.04, lift
    assert lift["low"] < lift["lift"] < lift["high"] and lift["low"] > 0.2, lift
    assert out["cautions"] == []  # 1,600 rounds, every interval within 0-100%
    text = outsidein("--workspace", str(logged), "sense", "evaluate", "--bootstrap", "200")
    assert text.returncode == 0, text.stderr
    said = " ".join(text.stdout.split())
    assert (f"{lift['treated_rate']:.1%} of {lift['treated']:,} messaged customers" in said
            and f"{lift['control_rate']:.1%} of {lift['control']:,} held out" in said), said
    assert "Caution" not in said


def test_few_decisions_come_with_a_caution_in_words(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "small")
    url = ws.store_url
    ws.close()
    r = Responder(parse_catalogue(TWO_OFFERS, "offers.toml"), control=ControlGroup(share=0.25),
                  seed=5)
    who = [f"S{i}" for i in range(30)]
    with session_scope(url) as s:
        apply_events(s, [EventIn(f"{c}-cart", c, T0, "web", "cart_add") for c in who], r,
                     plan=r.plan)
    with session_scope(url) as s:
        apply_events(s, [EventIn(f"{c}-buy", c, T0 + timedelta(hours=1), "web", "purchase")
                         for c in who[:12]], r, plan=r.plan)
    text = outsidein("--workspace", str(ws.root), "sense", "evaluate", "--policy",
                     "always:offer_a", "--bootstrap", "200")
    assert text.returncode == 0, text.stderr
    said = " ".join(text.stdout.split())
    few = re.search(r"Caution: only (\d+) logged decisions: the intervals are wide", said)
    assert few and 30 <= int(few.group(1)) < 60, said  # the carts, and control customers' buys
