"""The event log: events stored once, applied once, decided per event; group commit.

On SQLite, and on PostgreSQL when ``OUTSIDEIN_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from outsidein.services.sense.events import EventIn, EventWriter, apply_events, stage_decider
from outsidein.store.db import session_scope
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def ev(eid: str, customer: str, minutes: float, typ: str, channel: str = "web") -> EventIn:
    return EventIn(event_id=eid, customer_id=customer, ts=T0 + timedelta(minutes=minutes),
                   channel=channel, type=typ)


def _counts(url: str) -> tuple[int, int, int]:
    with session_scope(url, write=False) as s:
        return tuple(s.scalar(select(func.count()).select_from(t))  # type: ignore[return-value]
                     for t in (SenseEvent, Decision, CustomerState))


def test_an_event_is_applied_once_and_a_repeat_gets_the_first_decision(url: str) -> None:
    decide = stage_decider()
    with session_scope(url) as s:
        first = apply_events(s, [ev("a1", "C1", 0, "product_view"),
                                 ev("a2", "C1", 5, "cart_add")], decide)
    assert [r.status for r in first] == ["applied", "applied"]
    assert first[1].decision["stage"] == "deciding"
    with session_scope(url) as s:
        again = apply_events(s, [ev("a2", "C1", 5, "cart_add"), ev("a3", "C2", 1, "visit"),
                                 ev("a3", "C2", 1, "visit")], decide)
    assert [r.status for r in again] == ["duplicate", "applied", "duplicate"]
    assert again[0].decision == first[1].decision
    assert _counts(url) == (3, 3, 2)
    with session_scope(url, write=False) as s:
        c1 = s.get(CustomerState, "C1")
        assert c1 is not None and c1.events == 2 and c1.stage == "deciding"


def test_a_complaint_turns_the_need_to_service_and_says_why(url: str) -> None:
    with session_scope(url) as s:
        out = apply_events(s, [ev("b1", "C9", 0, "checkout"),
                               ev("b2", "C9", 60, "complaint", "call_center")], stage_decider())
    d = out[1].decision
    assert d["need"] == "service"
    assert any("complaint" in clue for clue in d["clues"]) or "service" in " ".join(d["reasons"])
    assert d["action"] is None and "senses the stage only" in " ".join(d["reasons"])


def test_concurrent_requests_are_committed_in_groups_and_none_is_lost(url: str) -> None:
    writer = EventWriter(url, stage_decider())
    errors: list[BaseException] = []

    def client(k: int) -> None:
        try:
            for i in range(100):
                res = writer.submit([ev(f"w{k}-{i}", f"C{k}", i, "visit")]).result(timeout=60)
                assert res[0].status == "applied"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    writer.close()
    assert errors == []
    assert _counts(url) == (800, 800, 8)
    assert writer.groups < 800  # requests shared commits


def test_one_bad_request_does_not_fail_its_group(url: str) -> None:
    calls = {"n": 0}
    good = stage_decider()

    def flaky(state, event):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if event.customer_id == "BAD":
            raise ValueError("engine refused this event")
        return good(state, event)

    writer = EventWriter(url, flaky, linger=0.05)
    bad = writer.submit([ev("x1", "BAD", 0, "visit")])
    fine = writer.submit([ev("x2", "OK", 0, "visit")])
    with pytest.raises(ValueError, match="refused"):
        bad.result(timeout=30)
    assert fine.result(timeout=30)[0].status == "applied"
    writer.close()
    assert _counts(url) == (1, 1, 1)  # the bad event's insert was rolled back with it


def test_a_replay_keeps_what_the_live_engine_knows_about_the_customer() -> None:
    """The stage-only decider (replays) moves the evidence on and leaves the contact facts
    and the messages awaiting their outcome as they were."""
    state = {"contacts": {"consent": ["email"], "opted_out": True},
             "pending": [[1.0, "offer_a", 2]]}
    kept, decision = stage_decider()(state, ev("k1", "C7", 0, "cart_add"))
    assert kept["contacts"] == state["contacts"] and kept["pending"] == state["pending"]
    assert kept["evidence"] and decision["stage"] == "deciding"
    assert decision["reasons"][0].startswith("stage: deciding")
