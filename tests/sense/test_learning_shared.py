"""What one server process learns reaches the others, and customers who go silent still
teach the engine: their unanswered messages are scored as ignored by the sweep."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from oi_testkit import TWO_OFFERS
from outsidein.sense.bandit import ControlGroup
from outsidein.sense.stages import STAGE_INDEX
from outsidein.services.sense.catalogue import parse_catalogue
from outsidein.services.sense.events import EventIn, EventWriter, apply_events
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Posterior

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DECIDING = STAGE_INDEX["deciding"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def responder(seed: int) -> Responder:
    return Responder(parse_catalogue(TWO_OFFERS, "offers.toml"), control=ControlGroup(share=0.0),
                     seed=seed)


def ev(eid: str, customer: str, minutes: float, typ: str) -> EventIn:
    return EventIn(eid, customer, T0 + timedelta(minutes=minutes), "web", typ)


def apply(url: str, r: Responder, events: list[EventIn]) -> list[dict[str, object]]:
    with session_scope(url) as s:
        return [x.decision for x in apply_events(s, events, r, plan=r.plan)]


def test_a_second_process_decides_with_what_the_first_one_learned(url: str) -> None:
    """Worker A sees every outcome (offer_a clicked, offer_b ignored); worker B, which saw
    none, decides with A's counts after its next group."""
    a, b = responder(1), responder(2)
    ia, ib = a._index["offer_a"], a._index["offer_b"]
    for i in range(120):
        d = apply(url, a, [ev(f"a{i}", f"C{i}", i, "cart_add")])[0]
        if d["action"] == "offer_a":
            apply(url, a, [ev(f"a{i}-click", f"C{i}", i + 30, "email_click")])
        else:
            apply(url, a, [ev(f"a{i}-late", f"C{i}", i + 8 * 24 * 60, "visit")])
    learned = a.bandit.alpha_[DECIDING].copy(), a.bandit.beta_[DECIDING].copy()
    assert learned[0][ia] > 20 and learned[1][ib] > 2  # A learned: offer_a works

    assert b.bandit.alpha_[DECIDING, ia] == 1.0  # B has seen nothing yet
    apply(url, b, [ev("b0", "D0", 0, "cart_add")])  # B's first group reads the counts
    assert b.bandit.alpha_[DECIDING].tolist() == learned[0].tolist()
    assert b.bandit.beta_[DECIDING].tolist() == learned[1].tolist()
    assert b.bandit.choice_probabilities(DECIDING, [ia, ib])[ia] > 0.9

    with session_scope(url, write=False) as s:
        rows = {(p.stage, p.action): (p.responses, p.non_responses)
                for p in s.scalars(select(Posterior))}
    assert rows[("deciding", "offer_a")][0] == learned[0][ia] - 1.0  # prior 1 + responses


def test_the_sweep_scores_the_messages_of_customers_who_never_came_back(url: str) -> None:
    r = responder(3)
    decisions = apply(url, r, [ev(f"s{i}", f"S{i}", 0, "cart_add") for i in range(5)])
    sent = [d["action"] for d in decisions]
    assert all(sent)
    recent = apply(url, r, [ev("fresh", "F1", 6 * 24 * 60, "cart_add")])[0]["action"]
    with session_scope(url, write=False) as s:
        waiting = s.scalar(select(CustomerState.pending_until).where(
            CustomerState.customer_id == "S0"))
    assert waiting == (T0 + timedelta(days=7)).replace(tzinfo=None)
    beta_before = r.bandit.beta_[DECIDING].copy()

    other = responder(4)  # the sweep runs in another process: it reads the counts first
    eight_days = (T0 + timedelta(days=8)).replace(tzinfo=None)
    with session_scope(url) as s:
        other.learning.share(s, force=True)
        assert other.sweep(s, eight_days) == 5  # not F1: its window is still open
    with session_scope(url) as s:
        assert other.sweep(s, eight_days) == 0  # each message is scored once
        states = {c.customer_id: c for c in s.scalars(select(CustomerState))}
    assert all(states[f"S{i}"].state["pending"] == [] for i in range(5))
    assert all(states[f"S{i}"].pending_until is None for i in range(5))
    assert states["F1"].pending_until is not None
    ignored = other.bandit.beta_[DECIDING] - beta_before
    for name in ("offer_a", "offer_b"):
        assert ignored[r._index[name]] == sent.count(name), (sent, recent)
    r.learning.sync_s = 0.0  # r read the counts under a second ago: it waits for the next
    apply(url, r, [ev("later", "F1", 6 * 24 * 60 + 5, "visit")])  # read; then it has them
    assert (r.bandit.beta_[DECIDING] - beta_before).tolist() == ignored.tolist()


def test_the_event_writer_sweeps_when_it_is_idle(sqlite_url: str) -> None:
    swept = threading.Event()

    def housekeeping(session: object) -> None:
        swept.set()

    writer = EventWriter(sqlite_url, responder(5), housekeeping=housekeeping,
                         housekeeping_every=0.05)
    try:
        started = time.monotonic()
        assert swept.wait(5.0), "the writer never ran its housekeeping"
        assert time.monotonic() - started < 5.0
        writer.submit([ev("w1", "W1", 0, "cart_add")]).result(timeout=10)
    finally:
        writer.close()
