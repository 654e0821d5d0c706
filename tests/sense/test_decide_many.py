"""A decider with ``decide_many`` gets a group's new events in one call, and the store ends
up exactly as with the event-by-event path.

On SQLite, and on PostgreSQL when ``OUTSIDEIN_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class GroupDecider:
    """The stage decider, answering a group at once and noting each call."""

    def __init__(self) -> None:
        self.one = stage_decider()
        self.calls: list[tuple[dict[str, Any], list[str]]] = []

    def __call__(self, state: Mapping[str, Any] | None,
                 event: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
        raise AssertionError("the event-by-event path was taken")

    def decide_many(self, states: Mapping[str, Mapping[str, Any] | None],
                    events: Sequence[EventIn]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        self.calls.append((dict(states), [e.event_id for e in events]))
        return decide_in_order(self.one, states, events)


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


def test_a_group_decider_is_called_once_per_group_and_stores_what_one_by_one_does(
        url: str) -> None:
    one_by_one, group = stage_decider(), GroupDecider()
    answers: dict[str, list[list[tuple[str, str, dict[str, Any]]]]] = {"a-": [], "b-": []}
    for p, decide in (("a-", one_by_one), ("b-", group)):
        for events in _groups(p):
            with session_scope(url) as s:
                answers[p].append([(r.event_id.removeprefix(p), r.status, r.decision)
                                   for r in apply_events(s, events, decide)])
    assert answers["a-"] == answers["b-"]
    assert [status for g in answers["b-"] for _, status, _ in g] == [
        "applied", "applied", "applied", "duplicate",
        "duplicate", "applied", "applied", "applied"]
    assert _stored(url, "a-") == _stored(url, "b-")
    assert _stored(url, "b-")["states"]["C1"][3] == 4  # events counted per customer

    # one call per group: the new events in arrival order, each customer's state before it
    assert [ids for _, ids in group.calls] == [["b-e1", "b-e2", "b-e3"],
                                              ["b-e4", "b-e5", "b-e6"]]
    first, second = (states for states, _ in group.calls)
    assert first == {"b-C1": None, "b-C2": None}
    assert second["b-C3"] is None
    assert second["b-C1"] == _after_first_group(url)


def _after_first_group(url: str) -> dict[str, Any]:
    """C1's state as the first group left it: decided again from scratch, one by one."""
    out = decide_in_order(stage_decider(), {"C1": None}, [
        e for e in _groups("")[0][:3] if e.customer_id == "C1"])
    return out[-1][0]


def test_a_group_decider_that_skips_an_event_fails_the_group(sqlite_url: str) -> None:
    class Short(GroupDecider):
        def decide_many(self, states: Mapping[str, Mapping[str, Any] | None],
                        events: Sequence[EventIn]) -> list[tuple[dict[str, Any],
                                                                 dict[str, Any]]]:
            return super().decide_many(states, events)[:-1]

    with pytest.raises(ValueError, match="one per event"), session_scope(sqlite_url) as s:
        apply_events(s, _groups("")[0], Short())
    assert _stored(sqlite_url, "") == {"states": {}, "decisions": []}  # nothing kept
