"""Notifications reach a real webhook receiver and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from outsidein.errors import ConfigError
from outsidein.services.share import (
    SmtpSettings,
    acknowledge,
    act,
    daily_digest,
    deliver_outbox,
    enqueue_due_events,
    list_outbox,
    notify_settings,
    publish_insight,
    send_digest,
)
from outsidein.store.db import session_scope

T0 = datetime(2026, 3, 2, 9, 0)


class Webhook:
    """A Slack-like receiver: records JSON posts; answers 500 to the first ``fail`` posts."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.fail = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"try later")
                    return
                outer.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSettings]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot use 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=port, sender="outsidein@acme.example")
    finally:
        controller.stop()


def _publish(s, **kw):
    args = dict(title="Late deliveries cost repeat purchases",
                statement="Customers whose first order arrived late buy again 40% less often.",
                evidence={"figures": {"repeat_rate_late": 0.12, "repeat_rate_on_time": 0.2}},
                owner_email="ada@acme.example", departments=["sales", "service"],
                key="market.delivery", now=T0, due_days=3)
    args.update(kw)
    return publish_insight(s, **args)


def test_new_insight_version_reaches_webhook_and_members_by_email(sqlite_org, webhook, smtp):
    inbox, settings = smtp
    url = sqlite_org.url
    with session_scope(url) as s:
        ins = _publish(s)
        _publish(s)  # unchanged: no second announcement
        report = deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
    assert (report.sent, report.failed, report.pending) == (1, 0, 0)
    [post] = webhook.posts
    assert post["text"].startswith(
        "[Outside-In] New insight: Late deliveries cost repeat purchases")
    assert post["blocks"][0]["type"] == "header"
    assert "40% less often" in post["blocks"][1]["text"]["text"]
    assert sorted(r for rcpt, _ in inbox.messages for r in rcpt) == [
        "alice@acme.example", "bob@acme.example", "carol@acme.example"]  # not vic the viewer
    msg = inbox.to("carol@acme.example")[0]
    assert msg["From"] == "outsidein@acme.example"
    assert msg["Subject"].endswith("New insight: Late deliveries cost repeat purchases")
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Please acknowledge insight" in plain and ins.version_hash[:12] in plain
    assert "<h2>New insight: Late deliveries cost repeat purchases</h2>" in html
    with session_scope(url) as s:
        assert deliver_outbox(s, webhook_url=webhook.url, smtp=settings).sent == 0
        [entry] = list_outbox(s)
    assert (entry.status, entry.attempts) == ("sent", 1)


def test_failed_webhook_is_retried_and_every_attempt_recorded(sqlite_org, webhook, smtp):
    inbox, settings = smtp
    webhook.fail = 1
    with session_scope(sqlite_org.url) as s:
        _publish(s)
        first = deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
        second = deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
        [entry] = list_outbox(s)
    assert (first.sent, first.pending) == (0, 1)
    assert [a.ok for a in first.attempts if a.channel == "webhook"] == [False]
    assert "HTTP 500" in first.attempts[0].error
    # the retry repeats only the failed channel: e-mails went out once
    assert [(a.channel, a.ok) for a in second.attempts] == [("webhook", True)]
    assert len(inbox.messages) == 3 and len(webhook.posts) == 1
    assert (entry.status, entry.attempts, entry.last_error) == ("sent", 2, "")


def test_unreachable_webhook_fails_after_max_attempts(sqlite_org):
    with session_scope(sqlite_org.url) as s:
        _publish(s)
        for _ in range(2):
            report = deliver_outbox(s, webhook_url="http://127.0.0.1:9/hook", max_attempts=2,
                                    http_timeout=2)
        [entry] = list_outbox(s)
        with pytest.raises(ConfigError, match="notify section of outsidein.toml"):
            deliver_outbox(s)
    assert report.failed == 1 and entry.status == "failed" and "ConnectError" in entry.last_error


def test_overdue_acknowledgement_and_due_action_are_announced_once(sqlite_org, webhook, smtp):
    inbox, settings = smtp
    org = sqlite_org
    with session_scope(org.url) as s:
        ins = _publish(s)
        acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=org.alice)
        act(s, insight_id=ins.id, title="Call late-delivery customers", department="service",
            owner_email="carol@acme.example", due=date(2026, 3, 6), kpi="repeat rate",
            kpi_baseline=0.12, kpi_target=0.16)
        deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
        inbox.messages.clear()
        webhook.posts.clear()
        queued = enqueue_due_events(s, now=T0 + timedelta(days=4))
        again = enqueue_due_events(s, now=T0 + timedelta(days=4))
        deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
    assert [q.event for q in queued] == ["ack_overdue", "action_due"] and again == []
    texts = [p["text"] for p in webhook.posts]
    assert texts[0].startswith("[Outside-In] Acknowledgement overdue: Late deliveries")
    assert "sales: 1 of 2 not acknowledged (bob@acme.example)" in texts[0]
    assert "Action due: Call late-delivery customers" in texts[1]
    assert inbox.to("alice@acme.example") == []
    assert [m["Subject"] for m in inbox.to("carol@acme.example")] == [
        "[Outside-In] Acknowledgement overdue: Late deliveries cost repeat purchases",
        "[Outside-In] Action due: Call late-delivery customers"]


def test_daily_digest_content_and_delivery(sqlite_org, webhook, smtp):
    inbox, settings = smtp
    org = sqlite_org
    now = T0 + timedelta(days=5)
    with session_scope(org.url) as s:
        old = _publish(s)  # due T0+3 days: overdue at `now`
        fresh = _publish(s, key="k2", title="Advocates refer 3x more", departments=["sales"],
                         now=now - timedelta(days=1), priority="medium")
        acknowledge(s, insight_id=old.id, version_hash=old.version_hash, user_id=org.bob)
        act(s, insight_id=old.id, title="Call late-delivery customers", department="service",
            owner_email="carol@acme.example", due=now.date() + timedelta(days=2),
            kpi="repeat rate", kpi_baseline=0.12, kpi_target=0.16)
        act(s, insight_id=old.id, title="Far away", department="service",
            owner_email="carol@acme.example", due=now.date() + timedelta(days=60),
            kpi="repeat rate", kpi_baseline=0.12, kpi_target=0.16)
        team = daily_digest(s, now=now)
        bob = daily_digest(s, for_user_id=org.bob, now=now)
        carol = daily_digest(s, for_user_id=org.carol, now=now)
        dave = daily_digest(s, for_user_id=org.dave, now=now)
        list_outbox(s)  # announcements of the two insights are pending too
        report = send_digest(s, webhook_url=webhook.url, smtp=settings, now=now)
    assert [i.title for i in team.overdue] == ["Late deliveries cost repeat purchases"]
    assert (team.overdue[0].pending, team.overdue[0].expected) == (2, 3)
    assert [i.title for i in team.awaiting_ack] == ["Advocates refer 3x more"]
    assert [a.title for a in team.actions_due] == ["Call late-delivery customers"]
    assert bob.overdue == () and [i.insight_id for i in bob.awaiting_ack] == [fresh.id]
    assert [i.insight_id for i in carol.overdue] == [old.id]
    assert [a.title for a in carol.actions_due] == ["Call late-delivery customers"]
    assert dave.is_empty and dave.to_text() == "Nothing needs attention today."
    assert "Overdue acknowledgements:\n- #1 Late deliveries" in team.to_text()
    assert "2 of 3 not acknowledged" in team.to_text()
    assert report.failed == 0
    digest_posts = [p for p in webhook.posts if "daily digest" in p["text"]]
    assert len(digest_posts) == 1
    assert digest_posts[0]["text"].startswith("[Outside-In] company daily digest 2026-03-07: "
                                              "1 to acknowledge, 1 overdue, 1 action(s) due")
    carol_mail = [m for m in inbox.to("carol@acme.example") if "digest" in m["Subject"]]
    assert len(carol_mail) == 1
    body = carol_mail[0].get_body(("plain",)).get_content()
    assert "Call late-delivery customers" in body and "Far away" not in body
    assert [m for m in inbox.to("dave@acme.example")] == []
    [ada_mail] = [m for m in inbox.to("ada@acme.example") if "digest" in m["Subject"]]
    assert ada_mail["Subject"].startswith("[Outside-In] company daily digest")
    assert "<h3>Actions due</h3>" in carol_mail[0].get_body(("html",)).get_content()


def test_settings_come_from_the_notify_section():
    cfg = notify_settings({"notify": {"webhook_url": "http://127.0.0.1:1/h", "smtp_host": "mx",
                                      "smtp_port": 2525, "smtp_from": "oi@acme.example"}})
    assert cfg.webhook_url == "http://127.0.0.1:1/h"
    assert (cfg.smtp.host, cfg.smtp.port, cfg.smtp.sender) == ("mx", 2525, "oi@acme.example")
    assert notify_settings({}).smtp is None
    with pytest.raises(ConfigError, match="smtp_port"):
        notify_settings({"notify": {"smtp_host": "mx", "smtp_port": "twenty-five"}})


def test_insight_text_cannot_ping_a_channel_or_inject_html(sqlite_org, webhook, smtp):
    inbox, settings = smtp
    with session_scope(sqlite_org.url) as s:
        _publish(s, statement="<!channel> read <script>alert(1)</script> & act",
                 departments=["service"])
        deliver_outbox(s, webhook_url=webhook.url, smtp=settings)
    [post] = webhook.posts
    assert "<!channel>" not in json.dumps(post) and "&lt;!channel&gt;" in post["text"]
    assert "&lt;!channel&gt; read" in post["blocks"][1]["text"]["text"]
    [msg] = inbox.to("carol@acme.example")
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; act" in html
