"""Lift against the control group from the store: planted conversion shares come back, with
the interval of a difference of two shares; outcomes outside the window do not count."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from outsidein.report.sections.sense import sense_section
from outsidein.services.sense.analysis import sense_summary
from outsidein.services.sense.events import EventIn, apply_events, stage_decider
from outsidein.store.db import session_scope

T0 = datetime(2026, 3, 2, 9)


def _decider() -> Any:
    base = stage_decider()

    def decide(state: Any, event: EventIn) -> tuple[dict[str, Any], dict[str, Any]]:
        st, d = base(state, event)
        if event.customer_id.startswith("T"):      # messaged
            d.update(action="retention_email", channel="email", control=False)
        elif event.customer_id.startswith("K"):    # held out
            d.update(action=None, control=True)
        return st, d

    return decide


def _ev(eid: str, customer: str, ts: datetime, typ: str) -> EventIn:
    return EventIn(event_id=eid, customer_id=customer, ts=ts, channel="web", type=typ)


def test_lift_reproduces_the_planted_shares(workspace: Any) -> None:
    events = [_ev(f"c-{g}{i}", f"{g}{i}", T0, "visit") for g in "TK" for i in range(40)]
    # 12 of 40 messaged customers buy within the week (30%), 4 of 40 held out (10%)
    events += [_ev(f"p-T{i}", f"T{i}", T0 + timedelta(days=2), "purchase") for i in range(12)]
    events += [_ev(f"p-K{i}", f"K{i}", T0 + timedelta(days=3), "purchase") for i in range(4)]
    # a purchase 10 days after the message is outside the 7-day window
    events.append(_ev("late-T39", "T39", T0 + timedelta(days=10), "purchase"))
    with session_scope(workspace.store_url) as s:
        apply_events(s, events, _decider())
    lift = sense_summary(workspace).lift
    assert lift.missing is None
    assert (lift.treated, lift.treated_converted, lift.control, lift.control_converted) == (
        40, 12, 40, 4)
    se = math.sqrt(0.3 * 0.7 / 40 + 0.1 * 0.9 / 40)
    assert abs(lift.lift - 0.2) < 1e-9
    assert abs(lift.low - (0.2 - 1.96 * se)) < 1e-9 and abs(lift.high - (0.2 + 1.96 * se)) < 1e-9
    summary = sense_summary(workspace)
    assert summary.control_customers == 40 and abs(summary.control_share - 0.5) < 1e-9
    assert {r["action"] for r in summary.by_action} == {"retention_email", "no message"}
    section = sense_section(workspace)
    assert section is not None and "+20.0 percentage points" in section.body_html


def test_messages_without_a_control_group_say_so(workspace: Any) -> None:
    events = [_ev(f"t{i}", f"T{i}", T0, "visit") for i in range(5)]
    events.append(_ev("p", "T0", T0 + timedelta(days=1), "purchase"))
    with session_scope(workspace.store_url) as s:
        apply_events(s, events, _decider())
    lift = sense_summary(workspace).lift
    assert lift.lift is None and "no customer is in the control group" in (lift.missing or "")
