"""Deciding a group of events at once gives what deciding them one by one gives.

The events API decides each group of events it commits together with
``Responder.decide_many`` (the evidence, the stage, the clues and the contact policy as
array operations over each round).  A customer, a department head reading a decision, or
the outbox must not be able to tell: the stages, probabilities, clues, chosen messages,
channels, every reason in words and the customer's stored state are those of the
event-by-event responder, on streams with outcomes (learning), complaints (service
messages), opt-outs, consent and time-zone changes, quiet hours, caps and late events.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from outsidein.sense.policy import ContactPolicy
from outsidein.sense.stages import CHANNELS
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn
from outsidein.services.sense.respond import Responder

TYPES = ("visit", "product_view", "search", "cart_add", "checkout", "support_call",
         "complaint", "email_open", "email_click", "review", "pricing_view", "unsubscribe")
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC")


def stream(n: int, customers: int, seed: int) -> list[EventIn]:
    """Random events: every type and channel, some attributes, some late events."""
    rng = np.random.default_rng(seed)
    p = np.array([8, 8, 5, 4, 3, 2, 2, 5, 3, 1, 3, 0.3])
    types = rng.choice(len(TYPES), n, p=p / p.sum())
    t = 1_767_225_600.0 + np.cumsum(rng.exponential(900.0, n))
    out = []
    for i in range(n):
        attrs: dict[str, Any] = {}
        u = rng.random()
        if u < 0.03:
            attrs["consent"] = sorted(rng.choice(["email", "mobile", "web", "chat"],
                                                 int(rng.integers(0, 4)), replace=False))
        elif u < 0.06:
            attrs["timezone"] = ZONES[int(rng.integers(len(ZONES)))]
        elif u < 0.08:
            attrs["preferred_channel"] = str(rng.choice(["email", "mobile", "web"]))
        ts = t[i] - (rng.exponential(7200.0) if rng.random() < 0.03 else 0.0)  # late
        out.append(EventIn(f"e{i}", f"c{i % customers}",
                           datetime.fromtimestamp(ts, UTC).replace(tzinfo=None),
                           CHANNELS[int(rng.integers(len(CHANNELS)))],
                           TYPES[int(types[i])], attributes=attrs))
    return out


def responder() -> Responder:
    policy = ContactPolicy(global_cap=(3, 7.0), min_gap_hours=36.0, max_ignored=4)
    return Responder(load_catalogue(), policy=policy, seed=3)


def one_by_one(events: list[EventIn]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    r, states, out = responder(), {}, []
    for e in events:
        state, fields = r(states.get(e.customer_id), e)
        states[e.customer_id] = state
        out.append((state, fields))
    return out


def in_groups(events: list[EventIn], size: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    r, states, out = responder(), {}, []
    for g in range(0, len(events), size):
        group = events[g:g + size]
        res = r.decide_many({e.customer_id: states.get(e.customer_id) for e in group}, group)
        for e, (state, _) in zip(group, res, strict=True):
            states[e.customer_id] = state
        out += res
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, floats to rounding (numpy's exp against math.exp)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def first_difference(a: list[Any], b: list[Any]) -> str | None:
    for i, ((sa, fa), (sb, fb)) in enumerate(zip(a, b, strict=True)):
        for what, x, y in (("decision", fa, fb), ("state", sa, sb)):
            if not same(x, y):
                keys = [k for k in x if not same(x[k], y.get(k))]
                return f"event {i}: {what} differs in {keys}: {[x[k] for k in keys]} " \
                       f"against {[y[k] for k in keys]}"
    return None


@pytest.mark.parametrize("seed", [1, 2])
def test_groups_of_distinct_customers_decide_exactly_as_one_by_one(seed: int) -> None:
    # 120 customers, groups of 40 consecutive events: no customer twice in a group
    events = stream(2400, customers=120, seed=seed)
    a, b = one_by_one(events), in_groups(events, 40)
    assert first_difference(a, b) is None
    fields = [f for _, f in a]
    # the stream exercised what the equality is about
    assert sum(f["action"] is not None for f in fields) > 300
    assert sum(f["need"] == "service" for f in fields) > 50
    reasons = " ".join(r for f in fields for r in f["reasons"])
    for rule in ("quiet hours", "frequency cap", "minimum gap", "no consent for",
                 "opted out", "control group"):
        assert rule in reasons, rule


def test_a_group_with_repeat_customers_decides_each_customer_in_order() -> None:
    # 50 customers, groups of 200: each customer several times per group.  The group is
    # decided round by round (each customer's first event, then its second, ...), which is
    # one by one in that order: each customer's events keep their own order.
    events = stream(1200, customers=50, seed=5)
    size = 200
    b = in_groups(events, size)
    order: list[int] = []
    for g in range(0, len(events), size):
        rank: dict[str, int] = {}
        ranked = []
        for i in range(g, min(g + size, len(events))):
            r = rank[events[i].customer_id] = rank.get(events[i].customer_id, -1) + 1
            ranked.append((r, i))
        order += [i for _, i in sorted(ranked)]
    a = one_by_one([events[i] for i in order])
    back = [b[i] for i in order]
    assert first_difference(a, back) is None
    per_customer: dict[str, list[float]] = {}
    for e in events:
        per_customer.setdefault(e.customer_id, []).append(e.epoch)
    assert max(len(v) for v in per_customer.values()) >= 20
