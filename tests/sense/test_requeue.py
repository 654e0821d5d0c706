"""Failed messages back in the outbox once the cause is mended: a mistyped webhook URL
loses nothing; what the customer made moot meanwhile is cancelled; the stale stay failed."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from outsidein.cli import app as cli
from outsidein.services.sense.journey import customer_journey
from outsidein.services.sense.outbox import deliver_due
from outsidein.services.sense.requeue import requeue_failed
from outsidein.store.db import session_scope
from outsidein.store.models.sense import Delivery
from outsidein.workspace import Workspace

from .test_outbox import T0, _apply, _rows, ev


def test_a_mistyped_webhook_loses_no_message_once_corrected(url, receiver) -> None:
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    receiver.script = [404]  # the URL had a typo: the receiver's server says "not found"
    typo = {"email": receiver.base + "/hoook"}
    assert deliver_due(url, typo, now=T0 + timedelta(minutes=1)).failed == 1
    [row] = _rows(url)
    assert row.status == "failed" and "HTTP 404" in (row.last_error or "")
    rep = requeue_failed(url, now=T0 + timedelta(minutes=5))
    assert (rep.requeued, rep.cancelled, rep.too_old) == (1, 0, 0)
    [row] = _rows(url)
    assert row.status == "pending" and row.attempts == 0
    assert "re-queued after: HTTP 404" in (row.last_error or "")
    fixed = {"email": receiver.url}
    assert deliver_due(url, fixed, now=T0 + timedelta(minutes=6)).sent == 1
    [row] = _rows(url)
    assert row.status == "sent" and row.attempts == 1
    assert [p.path for p in receiver.posts] == ["/hoook", "/hook"]
    assert len(set(receiver.keys())) == 1  # the same message: the receiver can dedupe
    assert requeue_failed(url, now=T0 + timedelta(minutes=7)).requeued == 0  # nothing twice


def test_a_message_the_customer_made_moot_is_cancelled_not_requeued(url, receiver) -> None:
    _apply(url, [ev("c1", "C2", 0, "cart_add")], action=None)  # queues the cart advice (1 h)
    receiver.script = [410]
    assert deliver_due(url, {"email": receiver.url, "web": receiver.url, "mobile": receiver.url},
                       now=T0 + timedelta(minutes=61)).failed == 1
    _apply(url, [ev("c2", "C2", 70, "checkout")], action=None)  # bought meanwhile
    rep = requeue_failed(url, now=T0 + timedelta(minutes=80))
    assert (rep.requeued, rep.cancelled) == (0, 1)
    [row] = [r for r in _rows(url) if r.action == "cart_advice"]
    assert row.status == "cancelled" and (row.last_error or "").startswith("cancelled by checkout")


def test_stale_failures_stay_failed_unless_the_window_is_widened(url, receiver) -> None:
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    receiver.script = [400]
    deliver_due(url, {"email": receiver.url}, now=T0 + timedelta(minutes=1))
    three_days = T0 + timedelta(days=3)
    assert requeue_failed(url, now=three_days).to_dict() == {"requeued": 0, "cancelled": 0,
                                                             "too_old": 1}
    assert requeue_failed(url, now=three_days, channels=["mobile"]).too_old == 0
    assert requeue_failed(url, now=three_days, max_age_hours=100).requeued == 1
    with session_scope(url, write=False) as s:
        assert s.scalars(select(Delivery.status)).all() == ["pending"]


def test_the_requeue_command_says_what_it_did(workspace: Workspace, receiver) -> None:
    url = workspace.store_url
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    receiver.script = [404]
    deliver_due(url, {"email": receiver.url}, now=T0 + timedelta(minutes=1))
    runner = CliRunner()
    out = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "requeue",
                              "--max-age-hours", "1000000", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"requeued": 1, "cancelled": 0, "too_old": 0,
                                      "still_failed": 0}
    words = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "requeue"])
    assert words.exit_code == 0, words.output
    assert "0 messages (failed) due again now" in " ".join(words.output.split())


def test_a_held_message_goes_once_the_setting_it_needs_is_added(workspace: Workspace,
                                                                receiver) -> None:
    from outsidein.services.sense.events import EventIn

    from .test_delivery_words import OFFER, _ago, _deliver, _setup
    from .test_delivery_words import _apply as apply_live

    r = _setup(workspace, receiver, catalogue=OFFER)
    [d] = apply_live(workspace, r, EventIn("e1", "C1", _ago(10), "web", "cart_add",
                                           product_id="P0002"))
    assert d["action"] == "offer", d["reasons"]
    with session_scope(workspace.store_url, write=False) as s:  # held as it was queued
        assert s.scalars(select(Delivery.status)).all() == ["held"]
    assert _deliver(workspace)["sent"] == 0 and receiver.posts == []
    cfg = workspace.root / "outsidein.toml"
    cfg.write_text(cfg.read_text().replace(
        "[sense]\n", '[sense]\nbrand = "Acme"\n'
                     'unsubscribe_url = "https://acme.example/u?c={customer_id}"\n', 1))
    runner = CliRunner()
    plain = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "requeue",
                                "--json"])
    assert json.loads(plain.output)["requeued"] == 0  # held ones only with --held
    out = runner.invoke(cli, ["--workspace", str(workspace.root), "sense", "requeue", "--held",
                              "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"requeued": 1, "cancelled": 0, "too_old": 0,
                                      "still_failed": 0}
    assert _deliver(workspace)["sent"] == 1
    [body] = receiver.bodies()
    assert "Acme" in body["message"]["text"] and "acme.example/u?c=C1" in body["message"]["text"]


def test_a_stopped_deliverers_expired_backlog_can_be_sent_after_all(url, receiver) -> None:
    """The deliverer was stopped for two days: its messages expired.  A team that wants them
    sent anyway takes them back with ``expired``; they go once, with their key, and are
    not expired again."""
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    hooks = {"email": receiver.url}
    two_days = T0 + timedelta(hours=48)
    assert deliver_due(url, hooks, now=two_days).cancelled == 1
    [row] = _rows(url)
    assert row.status == "cancelled" and (row.last_error or "").startswith("expired:")
    assert requeue_failed(url, now=two_days).requeued == 0  # not without asking
    assert requeue_failed(url, now=two_days, expired=True).too_old == 1  # the window holds
    rep = requeue_failed(url, now=two_days, expired=True, max_age_hours=72)
    assert (rep.requeued, rep.too_old) == (1, 0)
    [row] = _rows(url)
    assert row.status == "pending" and "re-queued after: expired:" in (row.last_error or "")
    assert deliver_due(url, hooks, now=two_days + timedelta(minutes=1)).sent == 1
    assert [b["customer_id"] for b in receiver.bodies()] == ["C1"]
    # a message cancelled by the customer's own action is not taken back
    _apply(url, [ev("c1", "C2", 0, "cart_add")], action=None)
    _apply(url, [ev("c2", "C2", 10, "checkout")], action=None)
    deliver_due(url, hooks, now=T0 + timedelta(minutes=61))
    assert requeue_failed(url, now=two_days, expired=True, max_age_hours=72).requeued == 0


def test_the_journey_says_a_failed_messages_tries_once(url, receiver) -> None:
    _apply(url, [ev("e1", "C1", 0, "pricing_view")])
    receiver.script = [404]
    deliver_due(url, {"email": receiver.url}, now=T0 + timedelta(minutes=1))
    with session_scope(url, write=False) as s:
        [message] = customer_journey(s, "C1").to_dict()["messages"]
    assert message["words"].startswith("failed by email after 1 try: HTTP 404"), message
    assert "tries)" not in message["words"]
