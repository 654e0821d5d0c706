"""Reminders: the customer advocate nudges the people who have not acknowledged an insight yet.

A reminder goes through the notification outbox (:func:`outsidein.services.share.notify.enqueue`)
like every other message, so the outbox worker of ``outsidein serve`` delivers it by e-mail to
each pending person and on the team webhook, and every try is recorded.  Each reminder is
audit-logged (``insight.remind``).

>>> r = remind_pending(session, insight_id=3, actor="advocate@acme.example")  # doctest: +SKIP
>>> r.recipients                                                            # doctest: +SKIP
('ann@acme.example', 'bob@acme.example')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outsidein.errors import ConflictError
from outsidein.services.share._common import DictMixin, record_audit, utcnow
from outsidein.services.share.acks import ack_status
from outsidein.services.share.notify import NotifySettings, enqueue

__all__ = ["Reminder", "remind_pending"]


@dataclass(frozen=True)
class Reminder(DictMixin):
    """A reminder put in the outbox: to whom, about which insight version, through what."""

    insight_id: int
    title: str
    version: int
    recipients: tuple[str, ...]
    outbox_id: int
    channels: tuple[str, ...]
    queued_at: datetime

    @property
    def summary(self) -> str:
        """One sentence for the person who sent it.

        >>> Reminder(1, "Churn", 2, ("a@x.test",), 9, ("e-mail",), utcnow()).summary
        "Reminder about 'Churn' (v2) queued for 1 person (a@x.test); sent by e-mail."
        """
        who = f"{len(self.recipients)} person" + ("" if len(self.recipients) == 1 else "s")
        how = (f"sent by {' and '.join(self.channels)}" if self.channels else
               "no notification channel is configured (the [notify] section of outsidein.toml), "
               "so it waits in the outbox")
        return (f"Reminder about {self.title!r} (v{self.version}) queued for {who} "
                f"({', '.join(self.recipients)}); {how}.")


def _channels(settings: NotifySettings | None) -> tuple[str, ...]:
    if settings is None:
        return ()
    return tuple(c for c, on in (("e-mail", settings.smtp is not None),
                                 ("webhook", bool(settings.webhook_url))) if on)


def remind_pending(session: Session, *, insight_id: int, actor: str,
                   settings: NotifySettings | None = None,
                   now: datetime | None = None) -> Reminder:
    """Queue a reminder to everyone who has not acknowledged *insight_id*'s current version.

    *settings* only says which channels will carry it (:func:`notify_settings`).

    Raises
    ------
    NotFoundError
        No such insight.
    ConflictError
        Everyone it is addressed to has acknowledged the current version already.
    """
    status = ack_status(session, insight_id, now=now)
    pending = sorted({p.email for d in status.departments for p in d.pending})
    if not pending:
        raise ConflictError(f"everyone has acknowledged {status.title!r} v{status.version}; "
                            "nobody to remind")
    late = [d.department for d in status.departments if d.pending]
    text = (f"Please read and acknowledge insight #{status.insight_id} '{status.title}' "
            f"version {status.version} (due {status.due_at:%Y-%m-%d %H:%M} UTC). "
            f"Still to acknowledge: {len(pending)} of {status.expected_count} "
            f"({', '.join(late)}). Reminder sent by {actor}.")
    entry = enqueue(session, event="ack_reminder",
                    subject=f"[Outside-In] Reminder: please acknowledge {status.title}",
                    text=text, recipients=pending, to_webhook=True)
    assert entry is not None  # no dedupe key: always queued
    record_audit(session, actor=actor, action="insight.remind",
                 target=f"insight:{status.insight_id}",
                 details={"version": status.version, "recipients": pending,
                          "outbox_id": entry.id})
    return Reminder(insight_id=status.insight_id, title=status.title, version=status.version,
                    recipients=tuple(pending), outbox_id=entry.id,
                    channels=_channels(settings), queued_at=now or utcnow())
