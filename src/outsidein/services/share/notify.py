"""Notifications through an outbox: webhook (Slack-compatible JSON) and SMTP e-mail.

Events enqueue messages in the ``notify_outbox`` table inside the same transaction as the
change that caused them (a new insight version, an acknowledgement going overdue, an action
falling due), so nothing is announced that did not happen.  :func:`deliver_outbox` sends
what is pending; every try on every channel is recorded in ``notify_attempts``, and a
message that keeps failing is marked ``failed`` after ``max_attempts`` runs.

Settings come from the ``[notify]`` section of ``outsidein.toml``::

    [notify]
    webhook_url = "https://hooks.slack.com/services/..."
    smtp_host = "mail.acme.example"
    smtp_port = 587
    smtp_from = "outsidein@acme.example"
    smtp_starttls = true          # optional
    smtp_user = "outsidein"       # optional; the password comes from OUTSIDEIN_SMTP_PASSWORD
"""

from __future__ import annotations

import email.policy
import json
import logging
import smtplib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.config import Settings
from outsidein.errors import ConfigError
from outsidein.services.share._common import DictMixin, canonical_json, department_members, utcnow
from outsidein.services.share.acks import ack_counts, ack_status
from outsidein.store.models import share as m
from outsidein.store.models.auth import Department, User

log = logging.getLogger(__name__)

__all__ = ["SmtpSettings", "NotifySettings", "OutboxEntry", "DeliveryReport", "notify_settings",
           "enqueue", "enqueue_insight_version", "enqueue_due_events", "deliver_outbox",
           "list_outbox"]


@dataclass(frozen=True)
class SmtpSettings(DictMixin):
    """Where and how to send e-mail."""

    host: str
    port: int = 25
    sender: str = "outsidein@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r})"


@dataclass(frozen=True)
class NotifySettings(DictMixin):
    webhook_url: str | None = None
    smtp: SmtpSettings | None = None


def notify_settings(extra: Mapping[str, Any], settings: Settings | None = None) -> NotifySettings:
    """Read the ``[notify]`` section from ``ws.config.extra``.

    ``OUTSIDEIN_WEBHOOK_URL``, ``OUTSIDEIN_SMTP_HOST`` and ``OUTSIDEIN_SMTP_PORT`` in
    *settings* (default: :meth:`Settings.from_env`) fill what the section leaves out;
    the SMTP password comes only from ``OUTSIDEIN_SMTP_PASSWORD``.

    >>> notify_settings({"notify": {"webhook_url": "http://127.0.0.1:9/hook"}}).webhook_url
    'http://127.0.0.1:9/hook'
    """
    env = Settings.from_env() if settings is None else settings
    sec = dict(extra.get("notify", {}) or {})
    webhook = sec.get("webhook_url") or env.webhook_url
    smtp = None
    host = sec.get("smtp_host") or env.smtp_host
    if host:
        try:
            port = int(sec.get("smtp_port", env.smtp_port or 25))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"smtp_port {sec.get('smtp_port')!r} in the notify section of "
                              "outsidein.toml: expected a port number like 25 or 587") from exc
        smtp = SmtpSettings(host=str(host), port=port,
                            sender=str(sec.get("smtp_from", "outsidein@localhost")),
                            username=sec.get("smtp_user") or None,
                            password=env.smtp_password,
                            starttls=bool(sec.get("smtp_starttls", False)))
    return NotifySettings(webhook_url=str(webhook) if webhook else None, smtp=smtp)


@dataclass(frozen=True)
class OutboxEntry(DictMixin):
    id: int
    event: str
    subject: str
    text: str
    recipients: tuple[str, ...]
    to_webhook: bool
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class AttemptRecord(DictMixin):
    message_id: int
    channel: str
    target: str
    ok: bool
    error: str


@dataclass(frozen=True)
class DeliveryReport(DictMixin):
    """What one :func:`deliver_outbox` run did."""

    sent: int
    failed: int
    pending: int
    skipped: int
    attempts: tuple[AttemptRecord, ...]

    def __repr__(self) -> str:
        return (f"DeliveryReport(sent={self.sent}, pending={self.pending}, failed={self.failed}, "
                f"skipped={self.skipped}, attempts={len(self.attempts)})")


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack asks, so that text such as ``<!channel>`` in an
    insight cannot ping a whole channel or forge a link.

    >>> slack_escape("<!channel> A&B")
    '&lt;!channel&gt; A&amp;B'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entry(row: m.OutboxMessage) -> OutboxEntry:
    return OutboxEntry(id=row.id, event=row.event, subject=row.subject, text=row.text,
                       recipients=tuple(json.loads(row.recipients or "[]")),
                       to_webhook=row.to_webhook, status=row.status, attempts=row.attempts,
                       last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at)


# -- enqueueing ---------------------------------------------------------------------------

def enqueue(
    session: Session,
    *,
    event: str,
    subject: str,
    text: str,
    html: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    recipients: Iterable[str] = (),
    to_webhook: bool = True,
    dedupe_key: str | None = None,
) -> OutboxEntry | None:
    """Put a message in the outbox; ``None`` when one with *dedupe_key* is already there."""
    if dedupe_key and session.scalar(select(m.OutboxMessage.id)
                                     .where(m.OutboxMessage.dedupe_key == dedupe_key)):
        return None
    if html is None:
        html = f"<h2>{escape(subject)}</h2><p>{escape(text).replace(chr(10), '<br>')}</p>"
    if blocks is None:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
                  {"type": "section",
                   "text": {"type": "mrkdwn", "text": slack_escape(text[:2900])}}]
    row = m.OutboxMessage(event=event, dedupe_key=dedupe_key, subject=subject[:300], text=text,
                          html=html, blocks=canonical_json(blocks),
                          recipients=canonical_json(sorted(set(recipients))),
                          to_webhook=to_webhook, status="pending", attempts=0, last_error="",
                          created_at=utcnow())
    session.add(row)
    session.flush()
    return _entry(row)


def _insight_recipients(session: Session, insight_id: int) -> list[str]:
    dept_ids = session.scalars(select(m.InsightDepartment.department_id)
                               .where(m.InsightDepartment.insight_id == insight_id))
    return sorted({u.email for d in dept_ids for u in department_members(session, d)})


def enqueue_insight_version(session: Session, insight: Any) -> OutboxEntry | None:
    """Announce a new insight version to its departments (called by ``publish_insight``)."""
    what = "New insight" if insight.version == 1 else f"Updated insight (v{insight.version})"
    subject = f"[Outside-In] {what}: {insight.title}"
    text = (f"{insight.statement}\n\nPriority: {insight.priority}. For: "
            f"{', '.join(insight.departments)}. "
            f"Owner: {insight.owner_name or insight.owner_email}.\n"
            f"Please acknowledge insight #{insight.id} version {insight.version} by "
            f"{insight.due_at:%Y-%m-%d %H:%M} UTC (version hash {insight.version_hash[:12]}).")
    html = (f"<h2>{escape(what)}: {escape(insight.title)}</h2><p>{escape(insight.statement)}</p>"
            f"<p><b>Priority:</b> {escape(insight.priority)} &middot; <b>For:</b> "
            f"{escape(', '.join(insight.departments))} &middot; <b>Owner:</b> "
            f"{escape(insight.owner_name or insight.owner_email)}</p>"
            f"<p>Please acknowledge insight #{insight.id} version {insight.version} by "
            f"{insight.due_at:%Y-%m-%d %H:%M} UTC.</p>")
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": f"{what}: {insight.title}"[:150]}},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": slack_escape(insight.statement[:2900])}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"*{insight.priority}* priority · for "
            f"{slack_escape(', '.join(insight.departments))} · "
            f"acknowledge by {insight.due_at:%Y-%m-%d} · v{insight.version} "
            f"`{insight.version_hash[:12]}`")}]},
    ]
    return enqueue(session, event="insight_version", subject=subject, text=text, html=html,
                   blocks=blocks, recipients=_insight_recipients(session, insight.id),
                   dedupe_key=f"insight:{insight.id}:v{insight.version}")


def enqueue_due_events(session: Session, *, now: datetime | None = None,
                       action_horizon_days: int = 1) -> list[OutboxEntry]:
    """Enqueue 'acknowledgement overdue' and 'action due' messages (each once).

    An action is due when it has no outcome yet and its due date is within
    *action_horizon_days* days (or past).
    """
    now = now or utcnow()
    out: list[OutboxEntry] = []
    announced = set(session.scalars(select(m.OutboxMessage.dedupe_key)
                                    .where(m.OutboxMessage.event == "ack_overdue")))
    for insight_id, count in sorted(ack_counts(session).items()):
        if (not count.overdue_at(now)
                or f"ack_overdue:{insight_id}:v{count.version}" in announced):
            continue
        st = ack_status(session, insight_id, now=now)
        if not st.overdue:
            continue
        late = [d for d in st.departments if d.overdue]
        lines = [f"{d.department}: {len(d.pending)} of {len(d.pending) + len(d.acknowledged)} "
                 f"not acknowledged ({', '.join(p.email for p in d.pending)})" for d in late]
        entry = enqueue(
            session, event="ack_overdue",
            subject=f"[Outside-In] Acknowledgement overdue: {st.title}",
            text=(f"Insight #{st.insight_id} version {st.version} was due for acknowledgement "
                  f"on {st.due_at:%Y-%m-%d %H:%M} UTC.\n" + "\n".join(lines)),
            recipients=[p.email for d in late for p in d.pending],
            dedupe_key=f"ack_overdue:{st.insight_id}:v{st.version}")
        if entry:
            out.append(entry)
    horizon = now.date() + timedelta(days=action_horizon_days)
    done = select(m.ActionOutcome.action_id)
    stmt = (select(m.InsightAction, User.email, Department.name)
            .join(User, User.id == m.InsightAction.owner_id)
            .join(Department, Department.id == m.InsightAction.department_id)
            .where(m.InsightAction.due <= horizon, m.InsightAction.id.not_in(done))
            .order_by(m.InsightAction.due, m.InsightAction.id))
    for act, owner_email, dept in session.execute(stmt):
        state = "overdue" if act.due < now.date() else "due"
        entry = enqueue(
            session, event="action_due",
            subject=f"[Outside-In] Action {state}: {act.title}",
            text=(f"Action #{act.id} '{act.title}' ({dept}, owner {owner_email}) is {state} on "
                  f"{act.due:%Y-%m-%d}. It should move {act.kpi} from {act.kpi_baseline:g} to "
                  f"{act.kpi_target:g}; record the outcome when measured."),
            recipients=[owner_email], dedupe_key=f"action_due:{act.id}")
        if entry:
            out.append(entry)
    return out


def list_outbox(session: Session, *, status: str | None = None) -> list[OutboxEntry]:
    """Messages in the outbox, oldest first (optionally only those with *status*)."""
    stmt = select(m.OutboxMessage).order_by(m.OutboxMessage.id)
    if status:
        stmt = stmt.where(m.OutboxMessage.status == status)
    return [_entry(r) for r in session.scalars(stmt)]


# -- delivery -----------------------------------------------------------------------------

def _post_webhook(client: httpx.Client, url: str, row: m.OutboxMessage) -> None:
    payload = {"text": slack_escape(f"{row.subject}\n{row.text}"),
               "blocks": json.loads(row.blocks or "[]")}
    resp = client.post(url, json=payload)
    if resp.status_code >= 300:
        raise RuntimeError(f"webhook answered HTTP {resp.status_code}: {resp.text[:200]}")


def _email(row: m.OutboxMessage, sender: str, to: str) -> EmailMessage:
    # Python folds a long Subject right after "Subject:", which some clients show with a
    # leading blank; RFC 5322 allows lines up to 998 characters, so do not fold at 78.
    msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    msg["Subject"] = row.subject
    msg["From"] = sender
    msg["To"] = to
    msg.set_content(row.text)
    msg.add_alternative(f"<!doctype html><html><body>{row.html}</body></html>", subtype="html")
    return msg


class _Smtp:
    """One lazily opened SMTP connection per delivery run."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage, to: str) -> None:
        s = self.settings
        if self.conn is None:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                if s.starttls:
                    conn.starttls()
                if s.username:
                    conn.login(s.username, s.password or "")
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        try:
            self.conn.send_message(msg, from_addr=s.sender, to_addrs=[to])
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None


def deliver_outbox(
    session: Session,
    *,
    webhook_url: str | None = None,
    smtp: SmtpSettings | None = None,
    max_attempts: int = 5,
    http_timeout: float = 10.0,
) -> DeliveryReport:
    """Send pending outbox messages by webhook and e-mail; record every try.

    A message is ``sent`` when every configured channel it needs has succeeded (channels
    that already succeeded are not repeated on a retry), ``failed`` after *max_attempts*
    unsuccessful runs, and ``skipped`` when no configured channel applies to it.
    """
    if not webhook_url and smtp is None:
        raise ConfigError("no notification channel configured: set webhook_url and/or smtp_host "
                          "in the notify section of outsidein.toml (or pass --webhook-url / "
                          "--smtp-host)")
    rows = list(session.scalars(select(m.OutboxMessage).where(m.OutboxMessage.status == "pending")
                                .order_by(m.OutboxMessage.id)))
    attempts: list[AttemptRecord] = []
    counts = {"sent": 0, "failed": 0, "pending": 0, "skipped": 0}
    mailer = _Smtp(smtp) if smtp else None
    with httpx.Client(timeout=http_timeout) as client:
        try:
            for row in rows:
                status = _deliver_one(session, row, client, webhook_url, mailer, max_attempts,
                                      attempts)
                counts[status] += 1
        finally:
            if mailer:
                mailer.close()
    session.flush()
    return DeliveryReport(attempts=tuple(attempts), **counts)


def _deliver_one(session: Session, row: m.OutboxMessage, client: httpx.Client,
                 webhook_url: str | None, mailer: _Smtp | None, max_attempts: int,
                 attempts: list[AttemptRecord]) -> str:
    targets: list[tuple[str, str]] = []
    if row.to_webhook and webhook_url:
        targets.append(("webhook", webhook_url))
    if mailer:
        targets += [("email", r) for r in json.loads(row.recipients or "[]")]
    if not targets:
        row.status, row.last_error = "skipped", "no configured channel applies to this message"
        return "skipped"
    done = {(c, t) for c, t in session.execute(
        select(m.DeliveryAttempt.channel, m.DeliveryAttempt.target)
        .where(m.DeliveryAttempt.message_id == row.id, m.DeliveryAttempt.ok.is_(True)))}
    errors: list[str] = []
    for channel, target in targets:
        if (channel, target) in done:
            continue
        try:
            if channel == "webhook":
                _post_webhook(client, target, row)
            else:
                assert mailer is not None
                mailer.send(_email(row, mailer.settings.sender, target), target)
            ok, err = True, ""
        except (httpx.HTTPError, smtplib.SMTPException, OSError, RuntimeError) as exc:
            ok, err = False, f"{type(exc).__name__}: {exc}"
            errors.append(f"{channel} {target}: {err}")
            log.warning("delivery of outbox message %s by %s to %s failed: %s",
                        row.id, channel, target, err)
        session.add(m.DeliveryAttempt(message_id=row.id, channel=channel, target=target,
                                      ts=utcnow(), ok=ok, error=err))
        attempts.append(AttemptRecord(message_id=row.id, channel=channel, target=target,
                                      ok=ok, error=err))
    row.attempts += 1
    if not errors:
        row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
        return "sent"
    row.last_error = "; ".join(errors)[:2000]
    row.status = "failed" if row.attempts >= max_attempts else "pending"
    return row.status
