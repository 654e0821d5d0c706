"""The demo's accountability loop, so that no page of the web app is blank on a first visit.

After the analyses publish their insights, ``outsidein demo`` calls :func:`seed_demo_loop`: the
unmet-needs register, the product plans, marketing messages and sales training items mapped to
those needs (one of them addresses none: the alignment review shows it), two Ask-Listen-Learn-Act
chains that lead to the published insights with actions and an outcome, and a few
acknowledgements so the overview's progress bars have something to show.

It adds only what is missing, so running the demo again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from outsidein.errors import NotFoundError
from outsidein.services.share import (
    Insight,
    acknowledge,
    act,
    add_item,
    add_need,
    ask,
    get_insight_by_key,
    learn,
    list_insights,
    listen,
    record_outcome,
)
from outsidein.store.db import session_scope
from outsidein.store.models import share as m
from outsidein.store.models.auth import User
from outsidein.store.models.base import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from outsidein.workspace import Workspace

__all__ = ["DEMO_NEEDS", "seed_demo_loop"]

ADVOCATE = "advocate@demo.outsidein"
#: code -> (need in the customer's words, importance, satisfaction, evidence)
DEMO_NEEDS: dict[str, tuple[str, float, float, dict[str, int]]] = {
    "N1": ("Someone who knows my account when I call", 9.0, 4.0, {"complaints": 212}),
    "N2": ("Delivery on the day promised", 8.5, 5.0, {"complaints": 164}),
    "N3": ("Returns without a fight", 7.0, 5.5, {"complaints": 71}),
    "N4": ("Invoices I can read", 5.0, 6.0, {"survey_mentions": 38}),
    "N5": ("Reorder in two clicks", 6.5, 3.5, {"survey_mentions": 95}),
}
#: (kind, title, owner, needs)
DEMO_ITEMS: tuple[tuple[str, str, str, str], ...] = (
    ("plan", "Account owner for every top-decile customer", "product@demo.outsidein", "N1"),
    ("plan", "Delivery promise checked against stock", "operations@demo.outsidein",
     "N2;N5:partial"),
    ("message", "'We know you' campaign for loyal customers", "marketing@demo.outsidein",
     "N1:partial"),
    ("message", "Spring brand refresh", "marketing@demo.outsidein", ""),
    ("training", "Handling a complaint from a top customer", "service@demo.outsidein", "N1;N3"),
    ("training", "Selling the reorder portal", "sales@demo.outsidein", "N5"),
)


def _needs(session: Session) -> None:
    have = set(session.scalars(select(m.Need.code)))
    for code, (title, importance, satisfaction, evidence) in DEMO_NEEDS.items():
        if code not in have:
            add_need(session, code=code, title=title, importance=importance,
                     satisfaction=satisfaction, evidence=evidence)
    for kind, title, owner, needs in DEMO_ITEMS:
        add_item(session, kind=kind, title=title, owner=owner, needs=needs)


def _insight(session: Session, name: str) -> Insight | None:
    try:
        return get_insight_by_key(session, f"five_questions.{name}")
    except NotFoundError:
        return None


def _chains(session: Session) -> None:
    if session.scalar(select(m.CustomerQuestion.id).limit(1)) is not None:
        return
    now = utcnow()
    value, cost = _insight(session, "value"), _insight(session, "cost_to_serve")
    q = ask(session, text="Why do our most valuable customers stop buying?",
            asked_by_email=ADVOCATE, audience="lapsed top-decile customers", channel="phone",
            now=now - timedelta(days=40))
    listen(session, question_id=q.id, source="call centre", now=now - timedelta(days=33),
           summary="Nobody knew their history when they called; a late delivery after a "
                   "complaint was the last straw")
    if value is not None:
        learn(session, question_id=q.id, insight_id=value.id, note="protect the top decile")
        done = act(session, insight_id=value.id, title="Call back a top-decile customer within "
                   "24 hours of any complaint", owner_email="service@demo.outsidein",
                   department="service", due=(now - timedelta(days=5)).date(),
                   kpi="top-decile complaints unresolved after 48 h (%)", kpi_baseline=31.0,
                   kpi_target=10.0, now=now - timedelta(days=30))
        record_outcome(session, action_id=done.id, kpi_value=12.0,
                       measured_at=(now - timedelta(days=6)).date(), note="pilot in two regions")
        act(session, insight_id=value.id, title="Named account owner for the 200 largest "
            "customers", owner_email="sales@demo.outsidein", department="sales",
            due=(now + timedelta(days=25)).date(), kpi="top-decile churn (%)", kpi_baseline=12.0,
            kpi_target=8.0)
    q2 = ask(session, text="What would make ordering from us easier?", asked_by_email=ADVOCATE,
             audience="customers who cost more to serve than they bring", channel="survey",
             now=now - timedelta(days=20))
    listen(session, question_id=q2.id, source="survey (412 answers)",
           summary="Most support contacts are order-status questions and reorders by phone")
    if cost is not None:
        learn(session, question_id=q2.id, insight_id=cost.id, note="cost to serve")
        act(session, insight_id=cost.id, title="Self-service reorder and order tracking",
            owner_email="operations@demo.outsidein", department="operations",
            due=(now + timedelta(days=45)).date(), kpi="support contacts per order",
            kpi_baseline=0.42, kpi_target=0.25)


def _acknowledgements(session: Session) -> None:
    """A few members acknowledge one insight each (so progress is neither 0% nor 100%)."""
    if session.scalar(select(m.Acknowledgement.id).limit(1)) is not None:
        return
    for email in ("finance@demo.outsidein", "sales@demo.outsidein", "service@demo.outsidein"):
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            continue
        waiting = list_insights(session, for_user_id=user.id, awaiting_ack_only=True)
        if waiting:
            acknowledge(session, insight_id=waiting[0].id, version_hash=waiting[0].version_hash,
                        user_id=user.id)


def seed_demo_loop(ws: Workspace) -> None:
    """Needs, alignment items, ALLA chains and a few acknowledgements for the demo (if missing).

    Call after the analyses published their insights and :func:`seed_demo_people` made the
    accounts.
    """
    with session_scope(ws.store_url) as session:
        _needs(session)
        _chains(session)
        _acknowledgements(session)
