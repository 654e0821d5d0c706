"""QA: a timing rule queues one message per customer while its last one waits.

Found by a new user: three ``cart_add`` events an hour apart queued three "abandoned cart"
advice messages (all due the same hour; the minimum gap then spread them over three days),
on top of the offer's own follow-up: the customer would be asked "still thinking about
it?" four days running.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from oi_testkit import Webhook
from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.outbox import DeliveryPolicy, deliver_due
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _apply(url: str, r: Responder, *events: EventIn) -> None:
    with session_scope(url) as s:
        apply_events(s, list(events), r, plan=r.plan)


def _rule_rows(url: str, who: str) -> list[tuple[str, datetime]]:
    with session_scope(url, write=False) as s:
        return [(row.status, row.send_at) for row in s.scalars(
            select(Delivery).where(Delivery.customer_id == who,
                                   Delivery.reason == "timing rule abandoned_cart")
            .order_by(Delivery.id))]


def _cart(eid: str, who: str, minutes: float, typ: str = "cart_add") -> EventIn:
    return EventIn(eid, who, T0 + timedelta(minutes=minutes), "web", typ)


def test_carts_added_one_after_another_get_one_abandoned_cart_message(
        sqlite_url: str, receiver: Webhook) -> None:
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    for k in range(3):  # one request each, as a shop sends them
        _apply(sqlite_url, r, _cart(f"a{k}", "C1", 40 * k))
    _apply(sqlite_url, r, *(_cart(f"b{k}", "C2", 10 * k) for k in range(3)))  # one batch
    for who in ("C1", "C2"):
        assert [s for s, _ in _rule_rows(sqlite_url, who)] == ["pending"], who
    assert _rule_rows(sqlite_url, "C1")[0][1] >= (T0 + timedelta(hours=1)).replace(
        tzinfo=None)  # an hour after the first cart, or later (the minimum gap)
    deliver_due(sqlite_url, receiver.hooks(),  # every message of the five days, none expired
                now=(T0 + timedelta(days=5)).replace(tzinfo=None),
                policy=DeliveryPolicy(expire_after_s=None))
    sent = [b["action"] for b in receiver.bodies() if b["customer_id"] == "C1"]
    assert sent.count("cart_advice") <= 2, sent  # the rule's and the offer's follow-up


def test_a_cart_after_a_checkout_gets_the_abandoned_cart_message_again(
        sqlite_url: str) -> None:
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    _apply(sqlite_url, r, _cart("a0", "C1", 0))
    _apply(sqlite_url, r, _cart("a1", "C1", 20, "checkout"))  # cancels the advice
    _apply(sqlite_url, r, _cart("a2", "C1", 60 * 24 * 3))  # a new cart three days on
    assert [s for s, _ in _rule_rows(sqlite_url, "C1")] == ["cancelled", "pending"]
