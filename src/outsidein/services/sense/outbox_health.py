"""How the outbox is doing: what was sent, what waits, what failed and what to do about it.

The Sense & respond page's "Messages on their way" card and ``GET /api/v1/outbox`` read
:func:`outbox_health`: per channel, the messages sent, waiting (pending; of them due now),
failed, cancelled and held, whether the channel has a webhook, how late the oldest due
message is (the deliverer's lag), and the latest failed or held messages with their reason.
:meth:`OutboxHealth.advice` says in words what a person can do: set the missing webhook,
start the deliverer, mend a webhook and re-queue (``outsidein sense requeue``), add the
setting a held message needs (``requeue --held``), send expired ones after all
(``requeue --expired``); messages being tried again after a failed try are counted and
shown with their last error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, case, func, select

from outsidein.services.sense.deliver import expired_rows
from outsidein.store.db import session_scope
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import Delivery

__all__ = ["STATUSES", "OutboxHealth", "outbox_health"]

_T: Table = Delivery.__table__  # type: ignore[assignment]
#: outbox statuses, in the order they are shown
STATUSES = ("sent", "pending", "sending", "failed", "cancelled", "held")


@dataclass
class OutboxHealth:
    """Counts per channel and status, the deliverer's lag, and the latest problems."""

    channels: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    due_now: int = 0
    #: minutes the oldest message due now has waited (None: nothing due)
    lag_minutes: float | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    as_of: str = ""
    #: of the cancelled, those the deliverer found too late (``message_expiry_hours``)
    expired: int = 0
    #: waiting to be tried again after a failed try (a webhook answered 5xx, say)
    retrying: int = 0

    @property
    def empty(self) -> bool:
        return not any(self.totals.values())

    def advice(self) -> list[str]:
        """What a person can do now, in words (nothing when all is well)."""
        out: list[str] = []
        unrouted = [c for c in self.channels if not c["webhook"] and c["pending"]]
        for c in unrouted:
            out.append(f"{c['pending']:,} {c['channel']} messages wait for a webhook: set "
                       f"{c['channel']} = \"https://...\" in [sense.webhooks] of outsidein.toml")
        routed_due = self.due_now - sum(c["due_now"] for c in unrouted)
        if routed_due and self.lag_minutes is not None and self.lag_minutes >= 5:
            out.append(f"{routed_due:,} messages are due and the oldest has waited "
                       f"{_duration(self.lag_minutes)}: is 'outsidein sense deliver' running?")
        if self.totals.get("failed"):
            out.append(f"{self.totals['failed']:,} messages failed (the reasons are below): "
                       "once the webhook is mended, 'outsidein sense requeue' sends them again")
        if self.retrying:
            out.append(f"{_count(self.retrying)} being tried again after a failed try "
                       "(a webhook that answered with an error or did not answer): they go by "
                       "themselves once it answers; the last error is below")
        if self.totals.get("held"):
            out.append(f"{self.totals['held']:,} messages are held: a [sense] setting they need "
                       "is missing (the reasons say which); once it is set, 'outsidein sense "
                       "requeue --held' sends them")
        if self.expired:
            out.append(f"{_count(self.expired)} expired, found too late to send (was the "
                       "deliverer stopped?); 'outsidein sense requeue --expired "
                       "--max-age-hours N' sends those due within N hours after all")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "advice": self.advice()}


def _count(n: int) -> str:
    return f"{n:,} message is" if n == 1 else f"{n:,} messages are"


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} minutes"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} hours"
    return f"{minutes / 1440:.0f} days"


def outbox_health(url: str, webhooks: Mapping[str, str], *, now: datetime | None = None,
                  problems: int = 10) -> OutboxHealth:
    """The outbox's state for the page and the API (read-only; three queries)."""
    when = now or utcnow()
    due = and_(_T.c.status == "pending", _T.c.send_at <= when, _T.c.next_attempt_at <= when)
    with session_scope(url, write=False) as s:
        counts = s.execute(select(_T.c.channel, _T.c.status, func.count())
                           .group_by(_T.c.channel, _T.c.status)).all()
        due_rows = s.execute(select(_T.c.channel, func.count(), func.min(_T.c.send_at))
                             .where(due).group_by(_T.c.channel)).all()
        retry = and_(_T.c.status == "pending", _T.c.attempts > 0)
        expired, retrying = s.execute(select(
            func.sum(case((expired_rows(), 1), else_=0)),
            func.sum(case((retry, 1), else_=0)))).one()
        latest = s.execute(
            select(_T.c.id, _T.c.customer_id, _T.c.action, _T.c.channel, _T.c.status,
                   _T.c.send_at, _T.c.attempts, _T.c.last_error)
            .where(_T.c.status.in_(("failed", "held")) | retry).order_by(_T.c.id.desc())
            .limit(problems)).all()
    by: dict[str, dict[str, Any]] = {}
    for channel, status, n in counts:
        row = by.setdefault(channel, {"channel": channel, **dict.fromkeys(STATUSES, 0),
                                      "due_now": 0, "webhook": channel in webhooks})
        row[status] = row.get(status, 0) + int(n)
    oldest: datetime | None = None
    due_now = 0
    for channel, n, first in due_rows:
        by[channel]["due_now"] = int(n)
        due_now += int(n)
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    channels = sorted(by.values(), key=lambda r: r["channel"])
    totals = {st: sum(int(r.get(st, 0)) for r in channels) for st in STATUSES}
    lag = None if oldest is None else max((when - oldest).total_seconds() / 60.0, 0.0)
    return OutboxHealth(
        channels=channels, totals=totals, due_now=due_now, lag_minutes=lag,
        problems=[{"id": r.id, "customer_id": r.customer_id, "action": r.action,
                   "channel": r.channel, "status": r.status,
                   "send_at": r.send_at.isoformat(timespec="minutes"), "attempts": r.attempts,
                   "reason": r.last_error or ""} for r in latest],
        as_of=when.isoformat(timespec="seconds"), expired=int(expired or 0),
        retrying=int(retrying or 0))
