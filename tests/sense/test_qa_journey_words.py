"""QA: the journey says of a held message that it will never go, and of a postponed one
when it will.

Found by a new user: a message held because ``[sense] brand`` was not set read "held until
2026-11-29 12:00 UTC by web: held: {brand} would be blank ...", as if it would go at noon;
a message postponed by the minimum gap read "held until ..." too, the word of the status
that never sends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from outsidein.sense.bandit import ControlGroup
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.journey import customer_journey
from outsidein.services.sense.respond import Responder
from outsidein.store.db import session_scope

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _words(url: str, who: str) -> dict[str, list[str]]:
    with session_scope(url, write=False) as s:
        j = customer_journey(s, who, now=T0.replace(tzinfo=None))
    out: dict[str, list[str]] = {}
    for m in j.messages:
        out.setdefault(m["status"], []).append(m["words"])
    return out


def test_a_held_message_says_it_is_never_sent_and_a_postponed_one_when_it_goes(sqlite_url):
    r = Responder(load_catalogue(), control=ControlGroup(share=0.0))  # no [sense] brand
    with session_scope(sqlite_url) as s:
        apply_events(s, [EventIn("v1", "C1", T0, "web", "visit")], r, plan=r.plan)
        apply_events(s, [EventIn(f"c{k}", "C2", T0 + timedelta(minutes=k), "web", "cart_add")
                         for k in range(2)], r, plan=r.plan)
    [held] = _words(sqlite_url, "C1")["held"]
    assert held.startswith("held, never sent by web: {brand} would be blank: set brand"), held
    assert "until" not in held
    waiting = _words(sqlite_url, "C2")["queued"]
    assert any(w.startswith("postponed to 2026-03-03 12:00 UTC by web: minimum gap")
               for w in waiting), waiting
    assert not any("held" in w for w in waiting), waiting
