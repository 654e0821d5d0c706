"""The journey shows what happened to each message and its outcome: sent, queued, held by
a later time, cancelled by the customer's own event; responded, ignored or still open; and
the follow-ups and timing-rule messages, not only the decision's own.  Lists newest first.

Each customer's events and messages are planted here (a fixed decider, the default
catalogue, the deliverer's "sent" written by hand); the expected words are written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.journey import customer_journey
from outsidein.services.sense.outbox import plan_deliveries
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Decision, Delivery, SenseEvent

T0 = datetime(2026, 3, 2, 9, 0)  # naive UTC, the store's convention
CATALOGUE = load_catalogue()


def _decide(state: Mapping[str, Any] | None,
            e: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pricing view: offer_deciding by email, at the event's time; else no message."""
    act = "offer_deciding" if e.type == "pricing_view" else None
    stage = "purchased" if e.type == "checkout" else "deciding"
    return {"n": 1}, {"stage": stage, "stage_probability": 0.9, "need": "sales",
                      "action": act, "channel": "email" if act else None,
                      "send_at": e.ts_utc if act else None, "reasons": ["planted"]}


def ev(eid: str, customer: str, hours: float, typ: str, channel: str = "web") -> EventIn:
    return EventIn(event_id=eid, customer_id=customer, ts=T0 + timedelta(hours=hours),
                   channel=channel, type=typ)


def _apply(url: str, events: list[EventIn]) -> None:
    """Apply *events* and queue their messages, as the live writer does."""
    with session_scope(url) as s:
        apply_events(s, events, _decide)
        rows = s.execute(select(Decision).join(SenseEvent, SenseEvent.id == Decision.event_pk)
                         .where(SenseEvent.event_id.in_([e.event_id for e in events]))
                         .order_by(SenseEvent.id)).scalars().all()
        plan_deliveries(s, [{"id": d.id, "customer_id": d.customer_id, "action": d.action,
                             "channel": d.channel, "send_at": d.send_at, "stage": d.stage,
                             "need": d.need, "control": d.control} for d in rows], CATALOGUE)


def _sent(url: str, customer: str, action: str, at: datetime) -> None:
    """What the deliverer records after a 2xx from the webhook."""
    with session_scope(url) as s:
        s.execute(update(Delivery).where(Delivery.customer_id == customer,
                                         Delivery.action == action)
                  .values(status="sent", sent_at=at, attempts=1))


def _journey(url: str, customer: str, now: datetime | None = None) -> dict[str, Any]:
    with session_scope(url, write=False) as s:
        if now is None:  # the clock's now (the signature of the code before the fix)
            return customer_journey(s, customer).to_dict()
        return customer_journey(s, customer, now=now).to_dict()


def test_a_sent_message_shows_when_it_went_and_the_purchase_that_answered_it(sqlite_url):
    url = sqlite_url
    _apply(url, [ev("p1", "C1", 0, "pricing_view")])
    _sent(url, "C1", "offer_deciding", T0 + timedelta(minutes=1))
    _apply(url, [ev("p2", "C1", 26, "checkout")])  # a day later: answers it, cancels the
    j = _journey(url, "C1")  # follow-up due at 48 hours

    first = next(d for d in j["decisions"] if d["event_id"] == "p1")
    assert first["sent"]["status"] == "sent"
    assert first["sent"]["words"] == "sent 2026-03-02 09:01 UTC by email"
    assert first["outcome"]["result"] == "responded"
    assert first["outcome"]["words"] == ("responded: checkout (web) at 2026-03-03 11:00 UTC, "
                                         "within 7 days")
    # the follow-up it queued is in the journey too, cancelled by the checkout
    follow = next(m for m in first["messages"] if m["reason"] == "follow-up of offer_deciding")
    assert follow["action"] == "cart_advice" and follow["status"] == "cancelled"
    assert follow["words"] == "cancelled before it went: the customer's checkout arrived first"
    assert follow["outcome"] is None  # not sent: no outcome
    assert [m["action"] for m in j["messages"]] == ["cart_advice", "offer_deciding"]
    # newest first, both lists: the checkout's decision and stage lead
    assert [d["event_id"] for d in j["decisions"]] == ["p2", "p1"]
    assert [h["stage"] for h in j["history"]] == ["purchased", "deciding"]
    assert j["history"][0]["moved_by"] == "checkout (web)"


def test_no_answer_within_the_window_is_ignored_and_within_it_open(sqlite_url):
    url = sqlite_url
    _apply(url, [ev("q1", "C2", 0, "pricing_view"), ev("r1", "C3", 0, "pricing_view")])
    for c in ("C2", "C3"):
        _sent(url, c, "offer_deciding", T0)
    ignored = _journey(url, "C2", now=T0 + timedelta(days=8))["decisions"][0]["outcome"]
    assert ignored == {"result": "ignored", "at": "2026-03-09T09:00:00+00:00", "by": None,
                       "words": "ignored: no click or purchase within 7 days "
                                "(by 2026-03-09 09:00 UTC)"}
    still = _journey(url, "C3", now=T0 + timedelta(days=2))["decisions"][0]["outcome"]
    assert still["result"] == "open"
    assert still["words"] == ("open: a click or purchase until 2026-03-09 09:00 UTC counts as "
                              "a response")
    # the 48-hour follow-up is queued (not sent: no outcome)
    follow = _journey(url, "C3", now=T0 + timedelta(days=1))["messages"][0]
    assert follow["status"] == "queued" and follow["outcome"] is None
    assert follow["words"] == "queued to go 2026-03-04 09:00 UTC by email"


def test_a_timing_rule_message_is_in_the_journey(sqlite_url):
    _apply(sqlite_url, [ev("k1", "C4", 0, "complaint", channel="call_center")])
    j = _journey(sqlite_url, "C4", now=T0 + timedelta(minutes=5))
    [msg] = j["messages"]
    assert msg["action"] == "service_callback" and msg["reason"].startswith("timing rule ")
    assert msg["event_id"] == "k1" and msg["status"] == "queued"
    d = j["decisions"][0]
    assert d["action"] is None and d["sent"] is None  # the decision itself chose nothing
    assert d["messages"] == [msg]  # but its event queued the call-back
