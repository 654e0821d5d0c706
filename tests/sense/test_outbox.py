"""The outbox: due messages reach a real webhook once per key, retries back off, crashes
re-send with the same key, two deliverers share the work, timing rules cancel.

On SQLite, and on PostgreSQL when ``OUTSIDEIN_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from outsidein.errors import ConfigError
from outsidein.services.sense.catalogue import load_catalogue
from outsidein.services.sense.events import EventIn, apply_events
from outsidein.services.sense.outbox import (
    DeliveryPolicy,
    cancel_pending,
    claim_due,
    deliver_due,
    plan_deliveries,
    post_claimed,
    webhooks_from_config,
)
from outsidein.store.db import make_engine, session_scope
from outsidein.store.models import Base
from outsidein.store.models.sense import Decision, Delivery, SenseEvent

T0 = datetime(2026, 3, 2, 9, 0)  # naive UTC, the store's convention
CATALOGUE = load_catalogue()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def _decider(action: str | None) -> Any:
    """Every pricing view decides *action* by email at the event's time; others nothing."""
    def decide(state: Mapping[str, Any] | None, e: EventIn) -> tuple[dict[str, Any],
                                                                      dict[str, Any]]:
        act = action if e.type == "pricing_view" else None
        return {"n": 1}, {"stage": "deciding", "stage_probability": 0.9, "need": "sales",
                          "action": act, "channel": "email" if act else None,
                          "send_at": e.ts_utc if act else None}
    return decide


def _apply(url: str, events: list[EventIn], action: str | None = "upgrade_offer",
           by: str = "event_pk") -> int:
    """Apply *events* and plan their deliveries the way apply_events' caller will."""
    with session_scope(url) as s:
        apply_events(s, events, _decider(action))
        ids = [e.event_id for e in events]
        rows = s.execute(select(Decision, SenseEvent.id).join(
            SenseEvent, SenseEvent.id == Decision.event_pk).where(SenseEvent.event_id.in_(ids))
            .order_by(SenseEvent.id)).all()
        decisions = [{"id" if by == "id" else "event_pk": d.id if by == "id" else pk,
                      "customer_id": d.customer_id, "action": d.action,
                      "channel": d.channel, "send_at": d.send_at, "stage": d.stage,
                      "need": d.need, "control": d.control} for d, pk in rows]
        return plan_deliveries(s, decisions, CATALOGUE)


def _minutes_since_t0() -> float:
    """Minutes from T0 to now (for events the command line, on the real clock, must find
    recent: a message due more than a day ago expires)."""
    return (datetime.now(UTC).replace(tzinfo=None) - T0).total_seconds() / 60.0


def ev(eid: str, customer: str, minutes: float, typ: str, channel: str = "web") -> EventIn:
    return EventIn(event_id=eid, customer_id=customer, ts=T0 + timedelta(minutes=minutes),
                   channel=channel, type=typ)


def _rows(url: str) -> list[Delivery]:
    with session_scope(url, write=False) as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def test_due_message_is_sent_once_with_its_key(url, receiver):
    assert _apply(url, [ev("e1", "C1", 0, "pricing_view")], "offer_deciding", by="id") == 2
    hooks = {"email": receiver.url}
    early = deliver_due(url, hooks, now=T0 - timedelta(minutes=1))
    assert early.claimed == 0 and receiver.posts == []  # not due yet
    rep = deliver_due(url, hooks, now=T0 + timedelta(minutes=1))
    assert (rep.claimed, rep.sent) == (1, 1)
    row, follow = _rows(url)
    assert row.status == "sent" and row.action == "offer_deciding"
    assert follow.status == "pending"  # the follow-up is due in 48 hours
    assert receiver.keys() == [row.idempotency_key]
    assert row.idempotency_key == f"sense-{row.decision_id}-offer_deciding"
    body = receiver.posts[0].body
    assert body["customer_id"] == "C1" and body["channel"] == "email"
    assert body["message"]["need"] == "sales" and "in stock" in body["message"]["text"]
    assert body["message"]["fields"]["stage"] == "deciding"
    # again, later: nothing more is sent; planning the decision again queues nothing
    assert deliver_due(url, hooks, now=T0 + timedelta(hours=5)).claimed == 0
    assert len(receiver.posts) == 1


def test_server_error_is_retried_with_exponential_back_off(url, receiver):
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    hooks, pol = {"email": receiver.url}, DeliveryPolicy(backoff_s=30.0, max_attempts=4)
    receiver.script = [500, 503, 200]
    t = T0 + timedelta(minutes=1)
    assert deliver_due(url, hooks, now=t, policy=pol).retrying == 1
    assert deliver_due(url, hooks, now=t + timedelta(seconds=29), policy=pol).claimed == 0
    assert deliver_due(url, hooks, now=t + timedelta(seconds=31), policy=pol).retrying == 1
    t2 = t + timedelta(seconds=31)  # the second back-off is twice the first
    assert deliver_due(url, hooks, now=t2 + timedelta(seconds=59), policy=pol).claimed == 0
    assert deliver_due(url, hooks, now=t2 + timedelta(seconds=61), policy=pol).sent == 1
    [row] = _rows(url)
    assert row.status == "sent" and row.attempts == 3
    assert len(receiver.posts) == 3 and set(receiver.keys()) == {row.idempotency_key}


def test_gives_up_after_max_attempts_and_on_a_refusal(url, receiver):
    _apply(url, [ev("e1", "C1", 0, "pricing_view"), ev("e2", "C2", 0, "pricing_view")])
    hooks, pol = {"email": receiver.url}, DeliveryPolicy(backoff_s=1.0, max_attempts=2)
    receiver.script = [500, 422]  # C1: a server error; C2: refused as invalid
    t = T0 + timedelta(minutes=1)
    rep = deliver_due(url, hooks, now=t, policy=pol)
    assert (rep.retrying, rep.failed) == (1, 1)
    receiver.script = [502]
    assert deliver_due(url, hooks, now=t + timedelta(seconds=2), policy=pol).failed == 1
    rows = _rows(url)
    assert [r.status for r in rows] == ["failed", "failed"]
    assert "HTTP 502" in (rows[0].last_error or "") and "HTTP 422" in (rows[1].last_error or "")


def test_unreachable_webhook_is_a_retry_not_a_loss(url):
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    rep = deliver_due(url, {"email": "http://127.0.0.1:8669/nobody"},
                      now=T0 + timedelta(minutes=1), policy=DeliveryPolicy(timeout_s=1.0))
    assert rep.retrying == 1
    [row] = _rows(url)
    assert row.status == "pending" and row.last_error


def test_crash_between_post_and_mark_resends_with_the_same_key(url, receiver):
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    hooks, t = {"email": receiver.url}, T0 + timedelta(minutes=1)
    [held] = claim_due(url, t, channels=["email"], lease_s=60)
    with httpx.Client() as client:
        assert post_claimed(client, held, hooks)[0] == "sent"
    # ... the deliverer dies here, before recording it
    assert _rows(url)[0].status == "sending"
    assert deliver_due(url, hooks, now=t + timedelta(seconds=30)).claimed == 0  # leased
    rep = deliver_due(url, hooks, now=t + timedelta(seconds=61))
    assert rep.sent == 1
    assert len(receiver.posts) == 2 and len(set(receiver.keys())) == 1
    assert _rows(url)[0].status == "sent"


def test_nothing_due_is_lost_when_a_lease_expires(url, receiver):
    _apply(url, [ev(f"e{i}", f"C{i}", 0, "pricing_view") for i in range(5)])
    t = T0 + timedelta(minutes=1)
    assert len(claim_due(url, t, channels=["email"], lease_s=60)) == 5  # then dies
    later = (t + timedelta(minutes=2)).replace(tzinfo=UTC)  # an aware time works too
    rep = deliver_due(url, {"email": receiver.url}, now=later)
    assert rep.sent == 5 and {r.status for r in _rows(url)} == {"sent"}
    assert len(set(receiver.keys())) == 5


def test_two_concurrent_deliverers_never_send_a_row_twice(url, receiver):
    n = 30
    _apply(url, [ev(f"e{i}", f"C{i}", _minutes_since_t0() - 5, "pricing_view") for i in range(n)])
    receiver.delay = 0.003
    hooks, claimed = {"email": receiver.url}, [0, 0]

    def run(k: int) -> None:
        with httpx.Client() as client:
            while True:
                rep = deliver_due(url, hooks, batch=4, client=client)
                if rep.claimed == 0:
                    return
                claimed[k] += rep.claimed

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    keys = receiver.keys()
    assert len(keys) == n and len(set(keys)) == n  # every row once, none twice
    assert sum(claimed) == n and min(claimed) > 0  # both did some of the work
    assert {r.status for r in _rows(url)} == {"sent"}


def test_checkout_cancels_the_pending_cart_reminder(url, receiver):
    _apply(url, [ev("a1", "C1", 0, "cart_add"), ev("b1", "C2", 0, "cart_add"),
                 ev("c1", "C3", 0, "cart_add"), ev("d1", "C4", 0, "cart_add")], action=None)
    rows = _rows(url)
    assert [(r.customer_id, r.action, r.send_at) for r in rows] == [
        (c, "cart_advice", T0 + timedelta(hours=1)) for c in ("C1", "C2", "C3", "C4")]
    # C1 buys 20 minutes later: cancelled.  C3 buys two hours later: too late to cancel.
    # C4 buys at the very minute the reminder falls due: cancelled, not sent after the buy.
    _apply(url, [ev("a2", "C1", 20, "checkout"), ev("c2", "C3", 120, "checkout"),
                 ev("d2", "C4", 60, "checkout")], action=None)
    rep = deliver_due(url, {"email": receiver.url, "web": receiver.url},
                      now=T0 + timedelta(hours=3))
    assert rep.sent == 2
    status = {r.customer_id: r.status for r in _rows(url)}
    assert status == {"C1": "cancelled", "C2": "sent", "C3": "sent", "C4": "cancelled"}
    assert sorted(b["customer_id"] for b in receiver.bodies()) == ["C2", "C3"]


def test_call_centre_complaint_gets_a_service_follow_up_within_two_hours(url):
    _apply(url, [ev("k1", "C1", 0, "complaint", channel="call_center"),
                 ev("k2", "C2", 0, "complaint", channel="web")], action=None)
    [row] = _rows(url)  # only the call centre's complaint
    assert row.customer_id == "C1" and row.channel == "call_center"
    assert row.action == "service_callback" and row.payload["need"] == "service"
    assert T0 <= row.send_at <= T0 + timedelta(hours=2)
    assert row.payload["deadline"] == (T0 + timedelta(hours=2)).replace(tzinfo=UTC).isoformat()


def test_follow_up_chain_is_queued_and_cancelled_by_its_events(url):
    _apply(url, [ev("e1", "C1", 0, "pricing_view")], "offer_deciding")
    rows = _rows(url)
    assert [(r.action, r.send_at, r.cancel_on) for r in rows] == [
        ("offer_deciding", T0, []),
        ("cart_advice", T0 + timedelta(hours=48), ["checkout"])]
    with session_scope(url) as s:
        assert cancel_pending(s, "C1", "visit") == 0
        assert cancel_pending(s, "C1", "checkout") == 1
    assert [r.status for r in _rows(url)] == ["pending", "cancelled"]


def test_replanning_the_same_decisions_queues_nothing_new(url):
    assert _apply(url, [ev("e1", "C1", 0, "pricing_view")], "offer_deciding") == 2
    with session_scope(url) as s:
        d = s.scalars(select(Decision)).one()
        again = plan_deliveries(s, [{"id": d.id, "customer_id": "C1", "action": d.action,
                                     "channel": d.channel, "send_at": d.send_at}], CATALOGUE)
    assert again == 0 and len(_rows(url)) == 2


def test_webhooks_are_checked():
    assert webhooks_from_config({"email": "https://x.example/h"}) == {
        "email": "https://x.example/h"}
    with pytest.raises(ConfigError, match="fax"):
        webhooks_from_config({"fax": "https://x.example/h"})
    with pytest.raises(ConfigError, match="not an http"):
        webhooks_from_config({"email": "ftp://x.example/h"})


def test_migration_matches_the_model(sqlite_url):
    with make_engine(sqlite_url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if "sense_" in repr(d)]
    assert diffs == []


def test_back_off_is_capped():
    assert DeliveryPolicy(backoff_s=30, max_backoff_s=3600).backoff(10) == 3600.0


def test_cli_deliver_once_sends_what_is_due(workspace, receiver):
    url = workspace.store_url
    ago = _minutes_since_t0() - 5  # five minutes ago: due, and not expired
    _apply(url, [ev("e1", "C1", ago, "pricing_view"), ev("k1", "C2", ago, "complaint",
                                                         channel="call_center")])
    cfg = workspace.root / "outsidein.toml"
    cfg.write_text(cfg.read_text() + f'\n[sense.webhooks]\nemail = "{receiver.url}"\n')
    exe = Path(sys.executable).parent / "outsidein"
    out = subprocess.run([str(exe), "--workspace", str(workspace.root), "sense", "deliver",
                          "--once", "--json"], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items()
                              if not k.startswith("OUTSIDEIN_")})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["sent"] == 1 and got["waiting_without_webhook"] == {"call_center": 1}
    assert [b["customer_id"] for b in receiver.bodies()] == ["C1"]


def test_cart_and_checkout_in_one_batch_and_the_control_group(url):
    _apply(url, [ev("a1", "C1", 0, "cart_add"), ev("a2", "C1", 5, "checkout")], action=None)
    with session_scope(url) as s:
        apply_events(s, [ev("b1", "C9", 0, "cart_add")], _decider(None))
        d = s.scalars(select(Decision).where(Decision.customer_id == "C9")).one()
        held_out = plan_deliveries(s, [{"id": d.id, "customer_id": "C9", "control": True}],
                                   CATALOGUE)
    assert held_out == 0  # the control group gets no message, timing rules included
    [row] = _rows(url)
    assert (row.customer_id, row.status, row.last_error) == ("C1", "cancelled",
                                                             "cancelled by checkout")


def test_allow_hook_keeps_timing_messages_from_opted_out_customers(url):
    with session_scope(url) as s:
        apply_events(s, [ev("a1", "C1", 0, "cart_add"), ev("b1", "OPTOUT", 0, "cart_add")],
                     _decider(None))
        ds = [{"id": d.id, "customer_id": d.customer_id} for d in s.scalars(select(Decision))]
        added = plan_deliveries(s, ds, CATALOGUE,
                                allow=lambda cust, action, channel, when: cust != "OPTOUT")
    assert added == 1 and [r.customer_id for r in _rows(url)] == ["C1"]


def test_a_slow_pass_hands_back_what_it_could_not_try_in_time(url, receiver):
    _apply(url, [ev(f"e{i}", f"C{i}", 0, "pricing_view") for i in range(3)])
    receiver.delay = 0.1
    pol = DeliveryPolicy(lease_s=0.1)  # half the lease is gone after the first post
    rep = deliver_due(url, {"email": receiver.url}, now=T0 + timedelta(minutes=1), policy=pol)
    assert (rep.sent, rep.released) == (1, 2) and len(receiver.posts) == 1
    assert [(r.status, r.attempts) for r in _rows(url)] == [
        ("sent", 1), ("pending", 0), ("pending", 0)]


def test_a_message_due_long_ago_expires_instead_of_going_late(url, receiver):
    """History posted to the events API is answered as of its time: its messages were due
    then, and the deliverer cancels them rather than sending last season's offer now."""
    _apply(url, [ev("old", "C1", 0, "pricing_view"), ev("new", "C2", 60 * 47, "pricing_view")])
    hooks = {"email": receiver.url}
    rep = deliver_due(url, hooks, now=T0 + timedelta(hours=48))
    assert (rep.sent, rep.cancelled) == (1, 1)
    assert [b["customer_id"] for b in receiver.bodies()] == ["C2"]
    old = next(r for r in _rows(url) if r.customer_id == "C1")
    assert old.status == "cancelled" and old.attempts == 0
    assert (old.last_error or "").startswith("expired: due 2026-03-02 09:00 UTC, more than 24 "
                                             "hours before it could go")
    # a longer limit, or none, lets an old message go
    _apply(url, [ev("old2", "C3", 0, "pricing_view")])
    never = DeliveryPolicy.from_settings({"message_expiry_hours": 0})
    assert deliver_due(url, hooks, now=T0 + timedelta(days=30), policy=never).sent == 1
    with pytest.raises(ConfigError, match="message_expiry_hours"):
        DeliveryPolicy.from_settings({"message_expiry_hours": "soon"})
