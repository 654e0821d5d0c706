"""Past campaigns have a home: loaded like any table, their response rates per buying stage
show how much of a push reached people who were not ready (the demo plants the rates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from outsidein.demo.campaigns import RESPONSE_BY_STAGE
from outsidein.demo.company import generate_demo
from outsidein.services.data import load_file
from outsidein.services.sense.campaigns import campaign_summary, wilson
from outsidein.services.sense.replay import replay_interactions
from outsidein.workspace import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(tmp_path_factory.mktemp("campaigns") / "acme")
    generate_demo(ws, customers=3000, seed=8)
    return ws


def test_before_a_replay_the_campaigns_are_described_and_the_next_step_named(
        demo: Workspace) -> None:
    s = campaign_summary(demo)
    assert len(s.campaigns) == 4 and s.contacts == sum(c["contacts"] for c in s.campaigns)
    assert s.sensed == 0 and "outsidein sense replay" in (s.missing or "")
    for c in s.campaigns:
        assert c["ci_low"] <= c["response_rate"] <= c["ci_high"]
        assert c["with_propensity"] == c["contacts"]  # picked at random, chance known


def test_response_rates_per_sensed_stage_recover_the_planted_ones(demo: Workspace) -> None:
    replay_interactions(demo)
    s = campaign_summary(demo)
    assert s.missing is None and s.sensed > 0.95 * s.contacts
    rows = {r["stage"]: r for r in s.by_stage}

    def pooled(*stages: str) -> tuple[int, int]:
        return (sum(rows[x]["responses"] for x in stages if x in rows),
                sum(rows[x]["contacts"] for x in stages if x in rows))

    ready_yes, ready_n = pooled("considering", "deciding")  # the demo's "consideration"
    low, high = wilson(ready_yes, ready_n)
    assert low - 0.02 <= RESPONSE_BY_STAGE["consideration"] <= high + 0.02
    aware_yes, aware_n = pooled("aware")
    gone_yes, gone_n = pooled("at_risk", "lapsed")
    assert ready_yes / ready_n > 2 * aware_yes / aware_n
    assert ready_yes / ready_n > gone_yes / max(gone_n, 1) + 0.05
    assert [r["stage"] for r in s.by_stage][0] in ("aware", "unaware")  # in cycle order


def test_a_contact_with_an_impossible_propensity_is_quarantined_with_its_row(
        tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "own")
    (tmp_path / "contacts.csv").write_text(
        "campaign_id,customer_id,ts,channel,message,responded,propensity\n"
        "K1,C1,2025-03-01 10:00,email,spring,true,0.5\n"
        "K1,C2,2025-03-01 10:00,email,spring,false,1.5\n")
    report = load_file(ws, "campaign_contacts", tmp_path / "contacts.csv")
    assert report.loaded == 1 and report.quarantined == 1
    assert "propensity" in str(report.reasons)
