"""The outbox's health, as the Sense & respond page and ``GET /api/v1/outbox`` show it:
counts per channel and status, what is due and how late, the latest failures with their
reasons, and what to do in words."""

from __future__ import annotations

from datetime import timedelta

from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.outbox_health import outbox_health

from .test_outbox import T0, _apply, ev


def test_the_outbox_says_what_was_sent_what_waits_what_failed_and_what_to_do(url, receiver
                                                                             ) -> None:
    _apply(url, [ev("e1", "C1", 0, "pricing_view"), ev("e2", "C2", 0, "pricing_view"),
                 ev("k1", "C3", 0, "complaint", channel="call_center")])
    hooks = {"email": receiver.url}
    receiver.script = [200, 404]  # C1's offer goes; C2's is refused (a mistyped path)
    rep = deliver_due(url, hooks, now=T0 + timedelta(minutes=1))
    assert (rep.sent, rep.failed) == (1, 1)
    _apply(url, [ev("e3", "C4", 60, "pricing_view")])  # due at T0 + 1 h, never delivered
    now = T0 + timedelta(hours=3)
    h = outbox_health(url, hooks, now=now)
    by = {c["channel"]: c for c in h.channels}
    assert set(by) == {"email", "call_center"}
    assert by["email"]["webhook"] and not by["call_center"]["webhook"]
    assert (by["email"]["sent"], by["email"]["failed"]) == (1, 1)
    assert by["email"]["due_now"] == 1 and by["call_center"]["due_now"] == 1
    assert h.totals["sent"] == 1 and h.totals["failed"] == 1
    assert h.totals["pending"] == sum(c["pending"] for c in h.channels) == 2
    assert h.lag_minutes is not None and 119 <= h.lag_minutes <= 180
    [problem] = h.problems
    assert problem["customer_id"] == "C2" and "HTTP 404" in problem["reason"]
    advice = " | ".join(h.advice())
    assert "call_center messages wait for a webhook" in advice
    assert "is 'outsidein sense deliver' running?" in advice
    assert "'outsidein sense requeue'" in advice
    assert h.to_dict()["advice"] == h.advice()


def test_an_empty_outbox_has_nothing_to_advise(url) -> None:
    h = outbox_health(url, {})
    assert h.empty and h.channels == [] and h.advice() == [] and h.lag_minutes is None


def test_messages_being_retried_and_expired_ones_are_shown_with_what_to_do(url, receiver
                                                                          ) -> None:
    _apply(url, [ev("e1", "C1", 0, "pricing_view"), ev("old", "C2", -60 * 24 * 3,
                                                        "pricing_view")])
    hooks = {"email": receiver.url}
    receiver.script = [503]  # C1's receiver is down for now; C2's offer is three days late
    rep = deliver_due(url, hooks, now=T0 + timedelta(minutes=1))
    assert (rep.retrying, rep.cancelled) == (1, 1)
    h = outbox_health(url, hooks, now=T0 + timedelta(minutes=2))
    assert (h.retrying, h.expired) == (1, 1)
    [problem] = h.problems
    assert problem["customer_id"] == "C1" and "503" in problem["reason"]
    advice = " | ".join(h.advice())
    assert "1 message is being tried again" in advice
    assert "requeue --expired" in advice
    assert h.to_dict()["expired"] == 1
