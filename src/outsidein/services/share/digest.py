"""The daily digest: insights awaiting acknowledgement, what is overdue, and actions falling due.

For one user it lists what that user still has to acknowledge and the actions they own; for
the whole company (``for_user_id=None``) it lists every insight some department has not
acknowledged and every open action due soon.  :func:`send_digest` puts the company digest on
the webhook and in the customer advocates' mailboxes, and each person's digest in theirs,
through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.services.share._common import DictMixin, user_by_id, utcnow
from outsidein.services.share.alla import list_actions
from outsidein.services.share.insight_lists import insight_page
from outsidein.services.share.insights import ack_counts
from outsidein.services.share.notify import (
    DeliveryReport,
    SmtpSettings,
    deliver_outbox,
    enqueue,
    slack_escape,
)
from outsidein.store.models import share as m
from outsidein.store.models.auth import Membership, User


@dataclass(frozen=True)
class DigestInsight(DictMixin):
    insight_id: int
    title: str
    version: int
    priority: str
    due_at: datetime
    pending: int
    expected: int
    overdue: bool


@dataclass(frozen=True)
class DigestAction(DictMixin):
    action_id: int
    insight_id: int
    title: str
    owner_email: str
    department: str
    due: date
    kpi: str
    overdue: bool


@dataclass(frozen=True)
class Digest(DictMixin):
    """What needs attention today (for one user, or for everyone)."""

    for_email: str | None
    generated_at: datetime
    awaiting_ack: tuple[DigestInsight, ...]  # not yet overdue
    overdue: tuple[DigestInsight, ...]
    actions_due: tuple[DigestAction, ...]
    #: How many insights await in all, when the lists hold only the first of them (a limit).
    awaiting_total: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.awaiting_ack or self.overdue or self.actions_due)

    @property
    def subject(self) -> str:
        who = "your" if self.for_email else "company"
        return (f"[Outside-In] {who} daily digest {self.generated_at:%Y-%m-%d}: "
                f"{len(self.awaiting_ack)} to acknowledge, {len(self.overdue)} overdue, "
                f"{len(self.actions_due)} action(s) due")

    def _lines(self) -> list[tuple[str, list[str]]]:
        def ins(i: DigestInsight) -> str:
            tail = "" if self.for_email else f" — {i.pending} of {i.expected} not acknowledged"
            return (f"#{i.insight_id} {i.title} (v{i.version}, {i.priority}, due "
                    f"{i.due_at:%Y-%m-%d}){tail}")

        def act(a: DigestAction) -> str:
            late = " OVERDUE" if a.overdue else ""
            return f"#{a.action_id} {a.title} ({a.department}, {a.owner_email}, due {a.due}){late}"

        return [("Overdue acknowledgements", [ins(i) for i in self.overdue]),
                ("Awaiting acknowledgement", [ins(i) for i in self.awaiting_ack]),
                ("Actions due", [act(a) for a in self.actions_due])]

    def to_text(self) -> str:
        if self.is_empty:
            return "Nothing needs attention today."
        parts = []
        for heading, lines in self._lines():
            if lines:
                parts.append(heading + ":\n" + "\n".join(f"- {ln}" for ln in lines))
        return "\n\n".join(parts)

    def to_html(self) -> str:
        if self.is_empty:
            return "<p>Nothing needs attention today.</p>"
        parts = []
        for heading, lines in self._lines():
            if lines:
                items = "".join(f"<li>{escape(ln)}</li>" for ln in lines)
                parts.append(f"<h3>{escape(heading)}</h3><ul>{items}</ul>")
        return "".join(parts)

    def to_blocks(self) -> list[dict[str, object]]:
        blocks: list[dict[str, object]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.subject[:150]}}]
        for heading, lines in self._lines():
            if lines:
                body = f"*{heading}*\n" + "\n".join(f"• {ln}" for ln in lines)
                blocks.append({"type": "section",
                               "text": {"type": "mrkdwn", "text": slack_escape(body[:2900])}})
        return blocks


def daily_digest(session: Session, *, for_user_id: int | None = None,
                 now: datetime | None = None, action_horizon_days: int = 7,
                 limit: int | None = None) -> Digest:
    """What needs attention: unacknowledged insights (split by overdue) and actions due soon.

    Actions are open ones (no outcome yet) due within *action_horizon_days* or already late;
    for a user, only the actions they own.  With *limit*, the insights are the first *limit*
    (the overdue ones first) and ``awaiting_total`` says how many await in all: a page's
    to-do reads that many, whatever the number of insights.
    """
    now = now or utcnow()
    email = user_by_id(session, for_user_id).email if for_user_id is not None else None
    awaiting: list[DigestInsight] = []
    overdue: list[DigestInsight] = []
    page = insight_page(session, for_user_id=for_user_id, awaiting_ack_only=True, limit=limit,
                        overdue_first=now)
    waiting = page.items
    counts = ack_counts(session, [i.id for i in waiting])
    for ins in waiting:
        c = counts[ins.id]
        late = now > c.due_at
        item = DigestInsight(insight_id=ins.id, title=ins.title, version=ins.version,
                             priority=ins.priority, due_at=c.due_at, pending=c.pending,
                             expected=c.expected, overdue=late)
        (overdue if late else awaiting).append(item)
    horizon = now.date() + timedelta(days=action_horizon_days)
    actions = [a for a in list_actions(session, now=now)
               if a.status in ("open", "overdue") and a.due <= horizon
               and (email is None or a.owner_email == email)]
    return Digest(for_email=email, generated_at=now, awaiting_ack=tuple(awaiting),
                  overdue=tuple(overdue), awaiting_total=page.total if limit else None,
                  actions_due=tuple(DigestAction(
                      action_id=a.id, insight_id=a.insight_id, title=a.title,
                      owner_email=a.owner_email, department=a.department, due=a.due, kpi=a.kpi,
                      overdue=a.status == "overdue") for a in actions))


def enqueue_digests(session: Session, *, now: datetime | None = None) -> int:
    """Queue today's company digest (webhook, and e-mail to the customer advocates) and each
    person's own digest (e-mail), once a day.

    Returns the number of messages queued.  People with nothing to do get no e-mail.
    """
    now = now or utcnow()
    day = f"{now:%Y-%m-%d}"
    queued = 0
    team = daily_digest(session, now=now)
    advocates = session.scalars(select(User.email).where(User.role == "advocate",
                                                         User.active.is_(True)))
    if enqueue(session, event="digest", subject=team.subject, text=team.to_text(),
               html=team.to_html(), blocks=team.to_blocks(), recipients=list(advocates),
               to_webhook=True, dedupe_key=f"digest:{day}:company"):
        queued += 1
    members = select(User.id).join(Membership, Membership.user_id == User.id).where(
        User.active.is_(True), User.role != "viewer").distinct()
    owners = select(m.InsightAction.owner_id).distinct()
    for user_id in sorted(set(session.scalars(members)) | set(session.scalars(owners))):
        mine = daily_digest(session, for_user_id=user_id, now=now)
        if mine.is_empty:
            continue
        if enqueue(session, event="digest", subject=mine.subject, text=mine.to_text(),
                   html=mine.to_html(), blocks=mine.to_blocks(), recipients=[mine.for_email or ""],
                   to_webhook=False, dedupe_key=f"digest:{day}:user:{user_id}"):
            queued += 1
    return queued


def send_digest(session: Session, *, webhook_url: str | None = None,
                smtp: SmtpSettings | None = None, now: datetime | None = None) -> DeliveryReport:
    """Queue today's digests (see :func:`enqueue_digests`) and deliver the outbox."""
    enqueue_digests(session, now=now)
    return deliver_outbox(session, webhook_url=webhook_url, smtp=smtp)
