"""A re-queue judges "made moot meanwhile" by when things happened, as the engine does: a
backfill posts a customer's cart and their checkout in one batch (received at once), and
the cart reminder that failed is not sent again after the customer bought."""

from __future__ import annotations

from datetime import timedelta

from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.requeue import requeue_failed

from .test_outbox import T0, _apply, _rows, ev


def test_a_checkout_in_the_same_backfill_cancels_the_failed_cart_reminder(url, receiver) -> None:
    # one batch: the cart, then the checkout an hour later, when the reminder fell due
    _apply(url, [ev("b1", "C7", 0, "cart_add"), ev("b2", "C7", 60, "checkout")], action=None)
    receiver.script = [404]  # the webhook was mistyped when the deliverer ran
    deliver_due(url, {"web": receiver.url, "email": receiver.url, "mobile": receiver.url},
                now=T0 + timedelta(minutes=61))
    requeue_failed(url, now=T0 + timedelta(minutes=90))
    [reminder] = [r for r in _rows(url) if r.action == "cart_advice"]
    assert reminder.status == "cancelled", (reminder.status, reminder.last_error)
    assert (reminder.last_error or "").startswith("cancelled by checkout")
    receiver.script = [200]
    deliver_due(url, {"web": receiver.url, "email": receiver.url, "mobile": receiver.url},
                now=T0 + timedelta(minutes=91))
    assert [b["action"] for b in receiver.bodies()].count("cart_advice") <= 1  # the 404 only


def test_an_earlier_checkout_does_not_cancel_a_later_carts_reminder(url, receiver) -> None:
    # bought last month, a new cart now: the new cart's failed reminder is re-queued
    _apply(url, [ev("o1", "C8", -60 * 24 * 30, "checkout"), ev("o2", "C8", 0, "cart_add")],
           action=None)
    receiver.script = [404]
    deliver_due(url, {"web": receiver.url}, now=T0 + timedelta(minutes=61))
    rep = requeue_failed(url, now=T0 + timedelta(minutes=90))
    [reminder] = [r for r in _rows(url) if r.action == "cart_advice"]
    assert (rep.requeued, rep.cancelled) == (1, 0)
    assert reminder.status == "pending"
