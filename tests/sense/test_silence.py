"""Stages that change by silence show live: the sweep applies them as silence events.

Planted truths: a buyer who goes quiet is, after a sweep as of someone else's later event,
in the stage the scorer gives at that time (asked directly, not through the search); the
journey shows the silence step at the second the stage changed; a second sweep applies
nothing; an at-risk-by-silence customer with consent gets a retention message in the outbox
from the live decider; a silence is no response to a message and tells nothing about
contact.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text

from outsidein.sense.bandit import ControlGroup
from outsidein.sense.evidence import EvidenceScorer, EvidenceState
from outsidein.sense.sequence import LiveStageClassifier, StageClassifier, history_features
from outsidein.sense.silence import FLOOR_S, next_stage_change, stage_changes
from outsidein.sense.stages import CHANNELS, INTERACTION_TYPES, STAGES
from outsidein.services.data import load_file
from outsidein.services.sense.analysis import sense_summary
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events, stage_decider
from outsidein.services.sense.journey import customer_journey
from outsidein.services.sense.replay import replay_interactions
from outsidein.services.sense.respond import Responder
from outsidein.services.sense.silence import (
    FIRST_LOOK_S,
    housekeeping,
    silences_before,
    sweep_silence,
    sweep_silence_all,
)
from outsidein.store import migrate
from outsidein.store.db import make_engine, session_scope
from outsidein.store.models.sense import CustomerState, Decision, Delivery, SenseEvent
from outsidein.workspace import Workspace

DAY = 86400.0
T0 = datetime(2026, 1, 5, 12, 0)
SC = EvidenceScorer().fit()


def _at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _epoch(ts: datetime) -> float:
    return ts.replace(tzinfo=UTC).timestamp()


def _apply(url: str, events: list[EventIn], decide: Any = None, plan: Any = None) -> None:
    with session_scope(url) as s:
        apply_events(s, events, decide or stage_decider(SC), plan=plan)


def _state(url: str, customer: str) -> CustomerState:
    with session_scope(url, write=False) as s:
        row = s.get(CustomerState, customer)
        assert row is not None
        s.expunge(row)
        return row


# --- the pure search ------------------------------------------------------------------------

def _random_states(n: int, seed: int) -> list[EvidenceState]:
    rng = random.Random(seed)
    types = ["visit", "product_view", "search", "cart_add", "checkout", "email_open",
             "email_click", "complaint", "review", "pricing_view", "support_call"]
    out = []
    for _ in range(n):
        st, t = SC.new_state(), 0.0
        for _ in range(rng.randint(1, 6)):
            t += rng.expovariate(1 / (3 * DAY))
            SC.update(st, t, rng.choice(["web", "email", "store"]), rng.choice(types))
        out.append(st)
    return out


def test_the_search_finds_every_change_a_brute_force_scan_finds_to_the_second() -> None:
    step = 900.0  # the scan looks every 15 minutes over 200 days
    for st in _random_states(40, seed=3):
        assert st.ts is not None
        found = stage_changes(SC, st, st.ts, st.ts + 200 * DAY)
        scanned, stage, t = [], SC.stage(st, st.ts), st.ts
        while t < st.ts + 200 * DAY:
            t += step
            now = SC.stage(st, t)
            if now != stage:
                scanned.append(t)
                stage = now
        assert len(found) == len(scanned), (found, scanned)
        for f, b in zip(found, scanned, strict=True):
            assert b - step < f <= b + 1.0  # in the scan's interval
            # and exact to the stated tolerance: new stage at f, the old one a second before
            assert SC.stage(st, f) != SC.stage(st, f - 1.0)


def test_a_lapsed_customer_never_changes_again_and_a_prospect_never_moves() -> None:
    bought = SC.update(SC.new_state(), 0.0, "web", "checkout")
    changes = stage_changes(SC, bought, 0.0, 1000 * DAY)
    # a buyer is past looking: the faded purchase never goes back to aware; one purchase is
    # no loyalty: a one-time buyer stays purchased until silence makes them at risk
    assert [SC.stage(bought, t) for t in changes] == ["at_risk", "lapsed"]
    again = SC.update(bought.copy(), 30 * DAY, "web", "checkout")  # a repeat buyer is loyal
    assert [SC.stage(again, t) for t in stage_changes(SC, again, 30 * DAY, 1000 * DAY)] == [
        "loyal", "at_risk", "lapsed"]
    assert next_stage_change(SC, bought, changes[-1]) is None
    assert next_stage_change(SC, SC.new_state(), 0.0) is None
    assert FLOOR_S <= 60.0


def test_a_silence_adds_no_evidence_and_is_no_activity() -> None:
    st = SC.update(SC.new_state(), 0.0, "web", "checkout")
    before = st.to_dict()
    SC.update(st, 40 * DAY, "web", "silence")
    assert st.to_dict() == before  # the silence counts from the last interaction still


# --- the sweep through the one path -----------------------------------------------------------

def test_a_silent_buyer_is_sensed_in_the_stage_of_now_and_the_journey_shows_when(
        sqlite_url: str) -> None:
    url = sqlite_url
    _apply(url, [EventIn("b1", "QUIET", T0, "web", "checkout"),
                 EventIn("o1", "OTHER", _at(50), "email", "email_open")])
    assert _state(url, "QUIET").stage == "purchased"  # as of its last event, before

    with session_scope(url) as s:
        done = sweep_silence(s, stage_decider(SC), SC)
    assert done.as_of == _at(50).replace(tzinfo=UTC).isoformat()  # the newest event's time
    row = _state(url, "QUIET")
    ev = EvidenceState.from_dict(row.state["evidence"])
    k, _ = SC.stage_probability(ev, _epoch(_at(50)))  # the truth, asked directly
    assert row.stage == STAGES[k] == "at_risk"
    assert (done.changed, done.events) == (1, 1)  # one purchase: purchased, then at risk
    assert row.resense_at is not None and row.resense_at > _epoch(_at(50))  # lapsed: later

    with session_scope(url, write=False) as s:
        journey = customer_journey(s, "QUIET", now=_at(50))
    assert journey.stage == "at_risk"
    assert (journey.events, journey.silences) == (1, done.events)  # the checkout, apart
    step = journey.history[0]
    assert step["stage"] == "at_risk" and step["moved_by"] == "silence"  # no channel of its own
    since = datetime.fromisoformat(step["since"])
    assert SC.stage(ev, since.timestamp()) == "at_risk"
    assert SC.stage(ev, since.timestamp() - 1) == "purchased"  # to the second
    # the probability is the stage's as it changed (the decision's time)
    assert row.stage_probability == pytest.approx(
        SC.stage_probability(ev, since.timestamp())[1])
    assert any("no interaction for" in c for c in step["clues"])

    with session_scope(url) as s:
        again = sweep_silence(s, stage_decider(SC), SC)
    with session_scope(url, write=False) as s:
        n = s.scalar(select(func.count()).select_from(SenseEvent)
                     .where(SenseEvent.type == "silence"))
    assert (again.events, n) == (0, done.events)  # nothing applied twice


def test_the_events_path_sets_the_first_look(sqlite_url: str) -> None:
    _apply(sqlite_url, [EventIn("v1", "C", T0, "web", "visit")])
    assert _state(sqlite_url, "C").resense_at == _epoch(T0) + FIRST_LOOK_S


def _responder() -> Responder:
    return Responder(load_catalogue(), control=ControlGroup(share=0.0))


def test_an_at_risk_by_silence_customer_gets_a_retention_message(sqlite_url: str) -> None:
    url, r = sqlite_url, _responder()
    _apply(url, [EventIn("b1", "GONE", T0, "web", "checkout", attributes={"consent": ["email"]}),
                 EventIn("o1", "OTHER", _at(45), "web", "visit")], decide=r, plan=r.plan)
    with session_scope(url) as s:
        housekeeping(r)(s)  # what the web app's event writer runs every minute
    with session_scope(url, write=False) as s:
        rows = s.execute(select(Decision, Delivery).join(
            Delivery, Delivery.decision_id == Decision.id)
            .where(Delivery.customer_id == "GONE", Decision.stage == "at_risk",
                   Delivery.reason == "decision")).all()
    assert rows, "no message queued for the customer at risk"
    decision, delivery = rows[0]
    retention = {e.name for e in load_catalogue().entries
                 if e.need == "retention" and e.eligible("at_risk")}
    assert decision.need == "retention" and delivery.action in retention
    assert (delivery.status, delivery.channel) == ("pending", "email")  # consented
    assert delivery.send_at == decision.send_at < _at(45)  # as of the change, not the sweep


def test_a_silence_is_no_response_and_tells_nothing_about_contact() -> None:
    r = _responder()
    state, d = r(None, EventIn("c1", "C", T0, "web", "cart_add"))
    assert d["action"] is not None  # a message now awaits its outcome
    state["contacts"]["ignored_in_a_row"] = 1
    after, _ = r(state, EventIn("s1", "C", _at(2), "web", "silence"))
    assert all(v[0] == 0.0 for v in r.learning.unsaved().values())  # no response counted
    assert after["contacts"]["consent"] == state["contacts"]["consent"]
    assert after["contacts"]["ignored_in_a_row"] >= 1  # not "engaged": still ignored
    clicked, _ = r(state, EventIn("k1", "C", _at(2), "email", "email_click"))
    assert any(v[0] == 1.0 for v in r.learning.unsaved().values())  # a click is one


def test_after_a_replay_the_funnel_is_the_end_of_history_table(tmp_path: Path) -> None:
    rng = random.Random(5)
    lines = ["order_id,customer_id,product_id,ts,quantity,revenue"]
    for c in range(60):
        day = datetime(1997, 1, 1) + timedelta(days=rng.randint(0, 400))
        for i in range(rng.randint(1, 4)):
            when = day + timedelta(days=i * rng.randint(5, 90))
            lines.append(f"O{c}-{i},C{c},P1,{when:%Y-%m-%d},1,10.0")
    csv = tmp_path / "orders.csv"
    csv.write_text("\n".join(lines) + "\n")
    with Workspace.init(tmp_path / "ws") as ws:
        load_file(ws, "order_lines", csv)
        report = replay_interactions(ws, orders=True)
        summary = sense_summary(ws, detail=False)
        funnel = {r["stage"]: r["customers"] for r in summary.funnel if r["customers"]}
        assert report.silence_events > 0
        assert funnel == report.stages_at_end
        # the page says how many events were the customers' and how many silence's
        assert (summary.events, summary.silences) == (report.applied, report.silence_events)
        again = sweep_silence_all(ws.store_url, stage_decider(SC), SC)
        assert again.events == 0


def test_silences_before_an_event_stop_at_it_and_apply_once(url: str) -> None:
    _apply(url, [EventIn("b1", "GONE", T0, "web", "checkout"),
                 EventIn("b2", "LATE", _at(100), "web", "checkout")])
    due = {"GONE": _epoch(_at(200)), "LATE": _epoch(_at(50)), "NONE": _epoch(_at(9))}
    with session_scope(url) as s:
        done = silences_before(s, stage_decider(SC), SC, due)
    bought = SC.update(SC.new_state(), _epoch(T0), "web", "checkout")
    truth = stage_changes(SC, bought, _epoch(T0), _epoch(_at(200)))
    assert [SC.stage(bought, t) for t in truth] == ["at_risk", "lapsed"]
    assert (done.looked, done.changed, done.events) == (2, 1, 2)  # LATE: newer than its time
    with session_scope(url, write=False) as s:
        at = [_epoch(ts) for ts in s.scalars(select(SenseEvent.ts).where(
            SenseEvent.customer_id == "GONE", SenseEvent.type == "silence")
            .order_by(SenseEvent.ts))]
    assert at == pytest.approx(truth, abs=1.0)
    assert _state(url, "GONE").stage == "lapsed"
    with session_scope(url) as s:  # a second call finds the same changes: applied once
        again = silences_before(s, stage_decider(SC), SC, due)
    assert again.events == 0


@pytest.mark.parametrize("chunk", [1, 5000])  # one order per chunk, and all in one
def test_a_replay_shows_the_silence_between_two_purchases_where_it_fell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    # a customer who bought, went quiet for eight months and came back: at risk and lapsed
    # in between, at the times the scorer gives, as a live server's sweep would have shown
    import outsidein.services.sense.replay as replay  # its chunk size, set for this test

    monkeypatch.setattr(replay, "CHUNK", chunk)
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,customer_id,product_id,ts,quantity,revenue\n"
                   "O1,BACK,P1,1997-01-01,1,10.0\nO2,OTHER,P1,1997-05-01,1,10.0\n"
                   "O3,BACK,P1,1997-09-01,1,10.0\nO4,SOON,P1,1997-01-01,1,10.0\n"
                   "O5,SOON,P1,1997-01-03,1,10.0\n")
    with Workspace.init(tmp_path / "ws") as ws:
        load_file(ws, "order_lines", csv)
        report = replay_interactions(ws, orders=True)
        with session_scope(ws.store_url, write=False) as s:
            journey = customer_journey(s, "BACK", now=datetime(1997, 9, 1))
            soon = customer_journey(s, "SOON", now=datetime(1997, 9, 1))
    first, back = _epoch(datetime(1997, 1, 1)), _epoch(datetime(1997, 9, 1))
    bought = SC.update(SC.new_state(), first, "web", "checkout")
    truth = stage_changes(SC, bought, first, back)  # the scorer asked directly
    assert [SC.stage(bought, t) for t in truth] == ["at_risk", "lapsed"]
    steps = list(reversed(journey.history))  # oldest first
    assert [(h["stage"], h["moved_by"]) for h in steps] == [
        ("purchased", "checkout (web)"), ("at_risk", "silence"), ("lapsed", "silence"),
        ("purchased", "checkout (web)")]
    assert [datetime.fromisoformat(h["since"]).timestamp() for h in steps[1:3]] == \
        pytest.approx(truth, abs=1.0)
    assert journey.silences == 2
    # two days between purchases: no silence in between; after the last one, to 09-01
    assert [h["stage"] for h in reversed(soon.history)] == ["purchased", "loyal", "at_risk",
                                                             "lapsed"]
    assert report.silence_customers == 3 and report.applied == 5


def test_with_the_learned_stage_model_a_silence_asks_it_about_the_history_as_of_then() -> None:
    # a classifier that learned: a long gap since the previous interaction means lapsed
    rng = np.random.default_rng(0)
    n = 600
    customer = np.repeat(np.arange(n // 3), 3)
    gaps = rng.choice([1.0, 3.0, 60.0, 90.0], size=(n // 3, 2)) * DAY
    ts = np.column_stack([np.zeros(n // 3), gaps[:, 0], gaps.sum(axis=1)]).ravel()
    typ = np.full(n, 4)  # checkouts
    X = history_features(customer, ts, np.zeros(n, int), typ, n_channels=7, n_types=12)
    y = np.where(X[:, 0] > 30, "lapsed", "purchased")
    model = StageClassifier(n_estimators=20).fit(X, y)
    live = LiveStageClassifier(model, {}, CHANNELS, INTERACTION_TYPES)
    history, stage, _, _ = live.sense(None, 0.0, "web", "checkout")
    history, stage, _, _ = live.sense(history, DAY, "web", "checkout")
    assert stage == "purchased"
    kept, silent, _, clues = live.sense(history, 70 * DAY, "web", "silence")
    assert kept == history  # the silence is no interaction: the history is as it was
    assert silent == "lapsed" and clues  # its days since the previous one spoke


def test_a_store_from_before_is_swept_after_its_upgrade_and_the_cli_says_so(
        tmp_path: Path) -> None:
    root = tmp_path / "acme"
    url = Workspace.init(root).store_url
    migrate.command.downgrade(migrate.alembic_config(url), "0010_culture_imports")
    bought = SC.update(SC.new_state(), _epoch(T0), "web", "checkout").to_dict()
    engine = make_engine(url)
    with engine.begin() as c:  # as an older Outside-In left them: stuck at purchased
        c.execute(text("INSERT INTO sense_customer_state (customer_id, state, stage, "
                       "stage_probability, events, updated_at) VALUES ('OLD', :s, "
                       "'purchased', 0.9, 1, :u)"), {"s": json.dumps({"evidence": bought}),
                                                   "u": T0})
        c.execute(text("INSERT INTO sense_events (event_id, customer_id, ts, channel, type, "
                       "attributes, source, received_at) VALUES ('o1', 'NEW', :t, 'web', "
                       "'visit', '{}', 'api', :t)"), {"t": _at(200)})
    make_engine.cache_clear()
    migrate._current.discard(url)  # a new process: the store is upgraded on first use
    cli = Path(sys.executable).parent / "outsidein"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSIDEIN_")}
    r = subprocess.run([str(cli), "-w", str(root), "sense", "sweep"], capture_output=True,
                       text=True, env={**env, "COLUMNS": "200"}, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "1 customers changed stage by silence (2 silence events" in r.stdout
    with session_scope(url, write=False) as s:
        row = s.get(CustomerState, "OLD")
        assert row is not None and row.stage == "lapsed" and row.resense_at is None


def test_a_silence_in_the_quiet_hours_gets_its_message_when_they_end(sqlite_url: str) -> None:
    """Dates without a time (CDNOW's orders) make every change fall at midnight: in the
    quiet hours (21:00-08:00).  A silence asks for no answer now: its message waits."""
    url, r = sqlite_url, _responder()
    midnight = datetime(2026, 1, 5)
    _apply(url, [EventIn("b1", "GONE", midnight, "web", "checkout",
                         attributes={"consent": ["email"]}),
                 EventIn("o1", "OTHER", midnight + timedelta(days=45), "web", "visit")],
           decide=r, plan=r.plan)
    with session_scope(url) as s:
        sweep_silence(s, r, r.scorer, plan=r.plan)
    with session_scope(url, write=False) as s:
        d, m, ts = s.execute(select(Decision, Delivery, SenseEvent.ts)
                             .join(Delivery, Delivery.decision_id == Decision.id)
                             .join(SenseEvent, SenseEvent.id == Decision.event_pk)
                             .where(Decision.stage == "at_risk",
                                    Delivery.reason == "decision")).one()
    assert ts.hour < 8  # the stage changed in the quiet hours (21:00-08:00)
    assert (m.action, m.send_at) == ("win_back", ts.replace(hour=8, minute=0, second=0))
    assert "decided for when the quiet hours end" in " ".join(d.reasons)
