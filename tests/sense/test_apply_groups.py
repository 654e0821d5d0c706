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
