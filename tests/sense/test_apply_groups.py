"""Events applied in groups (as the event writer's group commit applies them) leave the
store exactly as the same events applied one per transaction, repeats included.

On SQLite, and on PostgreSQL when ``OUTSIDEIN_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from outsidein.services.sense.events import (
    EventIn,
    apply_events,
    decide_in_order,
    stage_decider,
)
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def _groups(p: str) -> list[list[EventIn]]:
    """Two groups: the second brings back a customer of the first, a new one, and repeats."""
    def ev(eid: str, customer: str, minutes: float, typ: str) -> EventIn:
        return EventIn(f"{p}{eid}", f"{p}{customer}", T0 + timedelta(minutes=minutes), "web",
                       typ)
    return [[ev("e1", "C1", 0, "product_view"), ev("e2", "C2", 1, "visit"),
             ev("e3", "C1", 2, "cart_add"), ev("e1", "C1", 0, "product_view")],
            [ev("e3", "C1", 2, "cart_add"), ev("e4", "C1", 9, "checkout"),
             ev("e5", "C3", 3, "complaint"), ev("e6", "C1", 12, "product_view")]]


def _stored(url: str, p: str) -> dict[str, Any]:
    """What the store holds for the customers and events of prefix *p* (prefix removed)."""
    with session_scope(url, write=False) as s:
        states = {c.customer_id.removeprefix(p): (c.state, c.stage, c.stage_probability,
                                                  c.events, c.pending_until)
                  for c in s.scalars(select(CustomerState).where(
                      CustomerState.customer_id.startswith(p)))}
        decisions = [(eid.removeprefix(p), d.customer_id.removeprefix(p), d.stage,
                      d.stage_probability, d.need, d.action, d.clues, d.reasons)
                     for eid, d in s.execute(
                         select(SenseEvent.event_id, Decision)
                         .join(Decision, Decision.event_pk == SenseEvent.id)
                         .where(SenseEvent.event_id.startswith(p)).order_by(Decision.id))]
    return {"states": states, "decisions": decisions}


def test_events_applied_in_groups_store_what_one_per_transaction_stores(url: str) -> None:
    answers: dict[str, list[tuple[str, str, dict[str, Any]]]] = {"a-": [], "b-": []}
    for events in _groups("a-"):  # one transaction per event
        for e in events:
            with session_scope(url) as s:
                answers["a-"] += [(r.event_id.removeprefix("a-"), r.status, r.decision)
                                  for r in apply_events(s, [e], stage_decider())]
    for events in _groups("b-"):  # one transaction per group
        with session_scope(url) as s:
            answers["b-"] += [(r.event_id.removeprefix("b-"), r.status, r.decision)
                              for r in apply_events(s, events, stage_decider())]
    assert answers["a-"] == answers["b-"]
    assert [status for _, status, _ in answers["b-"]] == [
        "applied", "applied", "applied", "duplicate",
        "duplicate", "applied", "applied", "applied"]
    assert [stage for _, _, d in answers["b-"] for stage in [d["stage"]]][:3] == [
        "considering", "aware", "deciding"]
    # sent twice in one group: answered with the decision its first copy got, not nothing
    assert answers["b-"][3][2] == answers["b-"][0][2] and answers["b-"][3][2]["stage"]
    assert _stored(url, "a-") == _stored(url, "b-")
    assert _stored(url, "b-")["states"]["C1"][3] == 4  # events counted per customer
    first, second = _groups("")
    assert _stored(url, "b-")["states"]["C1"][0] == _from_scratch(  # C1's new events only
        [first[0], first[2], second[1], second[3]])


def _from_scratch(events: list[EventIn]) -> dict[str, Any]:
    """C1's state after *events*, decided again from scratch, one by one, in memory."""
    return decide_in_order(stage_decider(), {"C1": None}, events)[-1][0]


def test_the_planner_is_handed_the_states_just_stored(url: str) -> None:
    """The planner gets each decided customer's state as stored after the group (the
    decider's queued messages are reviewed against it, without reading it back)."""
    seen: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    def plan(session: Any, decisions: list[dict[str, Any]], states: Any) -> None:
        seen.append((decisions, dict(states)))

    first, second = _groups("p-")
    for events in (first, second):
        with session_scope(url) as s:
            apply_events(s, events, stage_decider(), plan=plan)
    with session_scope(url, write=False) as s:
        stored = {c.customer_id: c.state for c in s.scalars(select(CustomerState).where(
            CustomerState.customer_id.startswith("p-")))}
    assert [sorted(states) for _, states in seen] == [["p-C1", "p-C2"], ["p-C1", "p-C3"]]
    assert seen[1][1] == {c: stored[c] for c in ("p-C1", "p-C3")}
    assert [d["customer_id"] for d in seen[1][0]] == [
        "p-C1", "p-C3", "p-C1"]  # one decision per event applied, in order


def test_a_group_larger_than_one_insert_statement_applies_every_event(url: str) -> None:
    """A group of more events than one insert statement takes (on SQLite a statement holds
    RETURNING_ROWS rows), repeats among them: each new event is applied once, with its own
    decision, and each repeat answered as a duplicate with its first copy's decision."""
    events = [EventIn(f"g-e{i}", f"g-C{i % 7}", T0 + timedelta(minutes=i), "web",
                      ("visit", "product_view", "cart_add")[i % 3]) for i in range(150)]
    group = [*events[:100], events[3], *events[100:], events[120]]
    with session_scope(url) as s:
        results = apply_events(s, group, stage_decider())
    assert [r.status for r in results].count("applied") == 150
    assert [r.status for r in results][100] == results[-1].status == "duplicate"
    assert results[100].decision == results[3].decision
    assert results[-1].decision == results[121].decision  # events[120], first sent
    with session_scope(url, write=False) as s:
        pairs = s.execute(select(SenseEvent.event_id, Decision.stage)
                          .join(Decision, Decision.event_pk == SenseEvent.id)
                          .where(SenseEvent.event_id.startswith("g-"))).all()
    assert len(pairs) == 150
    by_id = {r.event_id: r.decision["stage"] for r in results if r.status == "applied"}
    assert dict(pairs) == by_id
    with session_scope(url, write=False) as s:
        counts = {c.customer_id: c.events for c in s.scalars(select(CustomerState).where(
            CustomerState.customer_id.startswith("g-")))}
    assert counts == {f"g-C{k}": len(range(k, 150, 7)) for k in range(7)}
