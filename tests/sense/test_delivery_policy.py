"""Every message that leaves goes through the contact policy: the decision's, its
follow-ups and the timing rules', when queued and again when due, against the customer's
contact facts as they are then; an agent's task goes to the agent, once.

Through the live decider (:class:`Responder`) and the deliverer, with a webhook receiver
on 127.0.0.1: what is queued, what is sent, and the rule in words on what is not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from oi_testkit import Webhook
from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday noon, UTC
NAIVE = T0.replace(tzinfo=None)  # the store's convention


@pytest.fixture
def responder() -> Responder:
    return Responder(load_catalogue(), control=ControlGroup(share=0.0))


def ev(eid: str, customer: str, minutes: float, typ: str, channel: str = "web",
       at: datetime = T0, **attrs: object) -> EventIn:
    return EventIn(eid, customer, at + timedelta(minutes=minutes), channel, typ,
                   attributes=attrs)


def _apply(url: str, r: Responder, *events: EventIn) -> list[dict[str, Any]]:
    with session_scope(url) as s:
        return [x.decision for x in apply_events(s, list(events), r, plan=r.plan)]


def _rows(url: str, who: str) -> list[Delivery]:
    with session_scope(url, write=False) as s:
        return list(s.scalars(select(Delivery).where(Delivery.customer_id == who)
                              .order_by(Delivery.id)))


def _deliver(url: str, receiver: Webhook, at: datetime) -> None:
    deliver_due(url, receiver.hooks(), now=at.astimezone(UTC).replace(tzinfo=None))


def test_an_opted_out_customer_gets_no_timing_rule_message(sqlite_url, responder, receiver):
    """QA: unsubscribe, then a cart on the web with no consent: the decision said "opted
    out", yet the abandoned-cart advice was queued pending."""
    _apply(sqlite_url, responder, ev("u1", "C1", 0, "unsubscribe", "email"))
    [d] = _apply(sqlite_url, responder, ev("u2", "C1", 10, "cart_add", consent=[]))
    assert any("opted out" in line for line in d["reasons"]), d["reasons"]
    rows = _rows(sqlite_url, "C1")
    assert [r.status for r in rows if r.status in ("pending", "sending", "sent")] == []
    assert all("opted out" in (r.last_error or "") for r in rows), [
        (r.action, r.status, r.last_error) for r in rows]
    _deliver(sqlite_url, receiver, T0 + timedelta(hours=3))
    assert receiver.posts == []


def test_an_unsubscribe_cancels_the_follow_ups_already_queued(sqlite_url, responder,
                                                              receiver):
    """QA: pricing view at 12:00, unsubscribe at 12:30: the offer's follow-up stayed
    pending for two days later."""
    [d] = _apply(sqlite_url, responder, ev("p1", "C1", 0, "pricing_view"))
    assert d["action"] == "offer_deciding", d["reasons"]
    before = [(r.action, r.reason, r.status) for r in _rows(sqlite_url, "C1")]
    assert ("cart_advice", "follow-up of offer_deciding", "pending") in before
    _apply(sqlite_url, responder, ev("p2", "C1", 30, "unsubscribe", "email"))
    after = [(r.action, r.status, r.last_error) for r in _rows(sqlite_url, "C1")]
    assert [a for a, status, _ in after if status == "pending"] == [], after
    assert ("cart_advice", "cancelled", "cancelled: the customer opted out of all messages "
            "(unsubscribe)") in after
    _deliver(sqlite_url, receiver, T0 + timedelta(days=3))
    assert receiver.posts == []


def test_a_timing_rule_waits_for_the_end_of_quiet_hours(sqlite_url, responder, receiver):
    """QA: a cart on mobile at 23:30 in Paris queued the advice for 00:30 local.  It waits
    until 08:00 Paris (07:00 UTC) and says why."""
    paris = datetime(2026, 3, 2, 23, 30, tzinfo=UTC) - timedelta(hours=1)  # 23:30+01:00
    [d] = _apply(sqlite_url, responder, ev("q1", "C1", 0, "cart_add", "mobile", at=paris,
                                           timezone="Europe/Paris", consent=["mobile"]))
    assert d["action"] is None, d["reasons"]  # quiet hours: nothing now
    [row] = _rows(sqlite_url, "C1")
    assert (row.action, row.channel, row.status) == ("cart_advice", "mobile", "pending")
    assert row.send_at == datetime(2026, 3, 3, 7, 0)
    assert row.last_error == ("postponed to 2026-03-03 07:00 UTC: quiet hours 21:00-08:00 "
                              "for mobile (00:30 in Europe/Paris)")
    _deliver(sqlite_url, receiver, paris + timedelta(hours=1, minutes=5))
    assert receiver.posts == []
    _deliver(sqlite_url, receiver, datetime(2026, 3, 3, 7, 1, tzinfo=UTC))
    assert receiver.sent() == [("mobile", "cart_advice")]


def test_the_minimum_gap_holds_between_a_decision_and_a_timing_rule(sqlite_url, responder,
                                                                    receiver):
    """QA: offer_deciding at 12:00 and the abandoned-cart advice at 13:00, both delivered.
    The advice waits for the 24-hour gap; a message the deliverer sent counts for the gap
    of the next one."""
    [d] = _apply(sqlite_url, responder, ev("g1", "C1", 0, "cart_add"))
    assert (d["action"], d["channel"]) == ("offer_deciding", "web"), d["reasons"]
    timed = next(r for r in _rows(sqlite_url, "C1") if r.reason == "timing rule abandoned_cart")
    assert timed.send_at == NAIVE + timedelta(hours=24)
    assert timed.last_error.startswith("postponed to 2026-03-03 12:00 UTC: minimum gap: last "
                                       "message 1.0 hours ago (at least 24 hours between")
    _deliver(sqlite_url, receiver, T0 + timedelta(hours=1, minutes=5))
    assert receiver.sent() == [("web", "offer_deciding")]
    _deliver(sqlite_url, receiver, T0 + timedelta(hours=24, minutes=1))
    assert receiver.sent() == [("web", "offer_deciding"), ("web", "cart_advice")]
    # the offer's own follow-up (48 h) comes 23 h 59 min after the advice just sent: it waits
    _deliver(sqlite_url, receiver, T0 + timedelta(hours=48, minutes=0.5))
    assert len(receiver.posts) == 2
    follow = next(r for r in _rows(sqlite_url, "C1") if r.reason.startswith("follow-up"))
    assert follow.status == "pending" and "minimum gap" in follow.last_error
    assert follow.send_at == NAIVE + timedelta(hours=48, minutes=1)


def test_a_consent_withdrawn_after_queueing_cancels_the_message_when_due(
        sqlite_url, responder, receiver):
    """Checked again when due, against the customer's facts then: consent for the web
    withdrawn after the offer cancels its follow-up, saying why."""
    [d] = _apply(sqlite_url, responder, ev("w1", "C1", 0, "pricing_view"))
    assert (d["action"], d["channel"]) == ("offer_deciding", "web"), d["reasons"]
    _deliver(sqlite_url, receiver, T0 + timedelta(minutes=1))
    _apply(sqlite_url, responder, ev("w2", "C1", 60, "visit", consent=["email"]))
    _deliver(sqlite_url, receiver, T0 + timedelta(hours=49))
    assert receiver.sent() == [("web", "offer_deciding")]
    follow = next(r for r in _rows(sqlite_url, "C1") if r.reason.startswith("follow-up"))
    assert (follow.status, follow.last_error) == ("cancelled", "cancelled: no consent for web")


def test_a_complaint_gives_the_agent_one_call_back_task(sqlite_url, responder, receiver):
    """QA: a complaint in the call centre emailed the agent's instruction "Call ... back"
    to the customer, and the timing rule queued the same task a second time."""
    [d] = _apply(sqlite_url, responder, ev("k1", "C1", 0, "complaint", "call_center"))
    assert (d["action"], d["channel"]) == ("service_callback", "call_center"), d["reasons"]
    rows = _rows(sqlite_url, "C1")
    assert [(r.action, r.channel, r.reason) for r in rows] == [
        ("service_callback", "call_center", "decision")]
    _deliver(sqlite_url, receiver, T0 + timedelta(minutes=1))
    assert receiver.sent() == [("call_center", "service_callback")]
    assert receiver.posts[0].body["message"]["text"] == (
        "Call the customer (C1) back about their complaint.")
