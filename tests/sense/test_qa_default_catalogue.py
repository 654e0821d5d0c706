"""QA: the shipped catalogue's call-back task ("Call ... back about their complaint") goes
to the call centre after a complaint, not after every purchase.

Found by a new user: a Segment ``Order Completed`` from a customer who never complained
was answered with ``service_callback`` by ``call_center`` (stage purchased / onboarding,
need service: the call-back outscored the onboarding help 7.5 to 2.0), and the task,
``consent = false``, needed no consent: every online order queued an agent's call "about
their complaint".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _decide(url: str, r: Responder, *events: EventIn) -> list[dict[str, object]]:
    with session_scope(url) as s:
        return [x.decision for x in apply_events(s, list(events), r, plan=r.plan)]


def test_a_purchase_without_a_complaint_gets_no_call_back(sqlite_url):
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    customers = [f"C{i}" for i in range(40)]  # the choice is sampled: many customers
    decisions = []
    for c in customers:
        decisions += _decide(sqlite_url, r, *(
            EventIn(f"{c}-{k}", c, T0 + timedelta(minutes=k), "web", typ)
            for k, typ in enumerate(("product_view", "cart_add", "checkout"))))[2:]
    assert {d["stage"] for d in decisions} == {"purchased"}
    assert {d["action"] for d in decisions} == {"onboarding_help"}, [
        d["reasons"] for d in decisions if d["action"] != "onboarding_help"][:1]
    with session_scope(sqlite_url, write=False) as s:
        tasks = s.scalars(select(Delivery.customer_id).where(
            Delivery.action == "service_callback")).all()
    assert tasks == []


def test_a_complaint_still_gets_the_call_back(sqlite_url):
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    [d] = _decide(sqlite_url, r, EventIn("k1", "K1", T0, "web", "complaint"))
    assert (d["need"], d["action"], d["channel"]) == (
        "service", "service_callback", "call_center"), d["reasons"]


def test_a_buyer_who_complains_to_the_call_centre_gets_the_call_back(sqlite_url):
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    _decide(sqlite_url, r, *(EventIn(f"b-{k}", "B1", T0 + timedelta(minutes=k), "web", typ)
                             for k, typ in enumerate(("cart_add", "checkout"))))
    _decide(sqlite_url, r, EventIn("b-9", "B1", T0 + timedelta(hours=1), "call_center",
                                   "complaint"))
    with session_scope(sqlite_url, write=False) as s:
        calls = s.scalars(select(Delivery.send_at).where(
            Delivery.action == "service_callback", Delivery.customer_id == "B1")).all()
    assert len(calls) == 1
    assert calls[0] <= (T0 + timedelta(hours=3)).replace(tzinfo=None)  # within 2 hours
