"""QA: the contact attributes an event carries (``timezone``, ``consent``,
``preferred_channel``) are ones the contact policy can use, or the event is refused naming
the attribute; a zone no one knows, kept in a customer's state, fails none of their events.

Found by a new user: an ``identify`` with ``timezone = "Mars/Olympus"`` was acknowledged,
and every later event of that customer (and every batch holding one) was a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outsidein.errors import DataValidationError
from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.checks import event_problems
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.respond import Responder
from outsidein.services.sense.segment import from_segment
from outsidein.store.db import session_scope

T0 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # late evening: quiet hours read the zone


def test_each_contact_attribute_the_policy_cannot_use_is_named() -> None:
    def fields(**attrs: object) -> list[str]:
        e = EventIn("e1", "C1", T0, "web", "identify", attributes=attrs)
        return [f for f, _ in event_problems(e, now=T0)]

    assert fields(timezone="Mars/Olympus") == ["attributes.timezone"]
    assert fields(timezone="") == ["attributes.timezone"]
    assert fields(consent="email") == ["attributes.consent"]
    assert fields(consent=["email", "sms"]) == ["attributes.consent"]
    assert fields(preferred_channel="pigeon") == ["attributes.preferred_channel"]
    # what the policy can use passes, and so does what it does not read
    assert fields(timezone="Europe/Paris", consent=[], preferred_channel="email",
                  first_name="Ada", plan={"tier": 2}) == []
    assert fields(timezone=None, preferred_channel=None) == []
    e = EventIn("e1", "C1", T0, "web", "identify", attributes={"timezone": "Mars/Olympus"})
    [(_, words)] = event_problems(e, now=T0)
    assert "'Mars/Olympus' is not a time zone" in words and "Europe/Paris" in words


def test_a_segment_identify_with_a_zone_no_one_knows_is_refused_naming_the_trait() -> None:
    with pytest.raises(DataValidationError, match=r"^traits\.timezone: 'Nowhere/Land'"):
        from_segment({"type": "identify", "messageId": "m1", "userId": "C1",
                      "timestamp": "2026-03-02T10:00:00Z",
                      "traits": {"firstName": "Zed", "timezone": "Nowhere/Land"}})


def test_a_zone_no_one_knows_kept_in_a_state_fails_no_later_event(sqlite_url, receiver):
    """A state written before the events API refused unknown zones (the service layer
    applies what it is given): the customer's later events are decided and their messages
    delivered, quiet hours read in the policy's default zone."""
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))
    poisoned = EventIn("i1", "C1", T0, "web", "identify",
                       attributes={"timezone": "Mars/Olympus"})
    with session_scope(sqlite_url) as s:
        apply_events(s, [poisoned], r, plan=r.plan)
    with session_scope(sqlite_url) as s:
        [res] = apply_events(s, [EventIn("c1", "C1", T0 + timedelta(minutes=1), "web",
                                         "pricing_view")], r, plan=r.plan)
    assert res.status == "applied" and res.decision["stage"] == "deciding"
    rep = deliver_due(sqlite_url, receiver.hooks(),
                      now=(T0 + timedelta(hours=12)).replace(tzinfo=None))
    assert rep.sent >= 1
