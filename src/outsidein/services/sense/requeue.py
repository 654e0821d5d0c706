"""Failed messages back in the outbox, once what made them fail is mended.

A message fails for good when its webhook answers a client error (a mistyped URL's 404, a
receiver that refused the body) or after the deliverer's last try; it is held when its text
needs a ``[sense]`` setting that is not there (``brand``, ``unsubscribe_url``): ``--held``
takes those back too once the setting is added; ``--expired`` takes back the messages the
deliverer cancelled as too late (``[sense] message_expiry_hours``: it was stopped for a day,
say), due again now, for a team that wants its backlog sent after all.  Once the cause is
mended (the URL corrected in ``[sense.webhooks]``, the receiver fixed), ``outsidein sense
requeue`` puts those messages back as pending, due now, so the next ``outsidein sense
deliver`` sends them: the user corrects the mistake without losing the messages.

Choices made here
-----------------
* **Only what is still worth sending.**  A failed message due more than
  ``max_age_hours`` (24) ago stays failed (an offer or a cart reminder of last week is no
  longer timely; widen the window to take it too).  A message that an event has cancelled
  meanwhile is cancelled instead: an event of a type in its ``cancel_on`` (a checkout
  after an abandoned-cart advice) received after the message was queued.
* **The same message, not a new one.**  The idempotency key stays, so a receiver that did
  receive it before failing its answer skips it; the tries start again from zero; the
  earlier error is kept in ``last_error`` ("re-queued after: HTTP 404 ...").
* **The contact policy still decides when it is due**: the deliverer screens every
  message again (opt-out, consent, quiet hours, caps, the gap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update

from outsidein.errors import DataValidationError
from outsidein.services.sense.catalogue import message_settings, setting_fields
from outsidein.services.sense.checks import channel_problem
from outsidein.services.sense.deliver import expired_rows
from outsidein.store.db import session_scope
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import Decision, Delivery, SenseEvent

__all__ = ["RequeueReport", "requeue_failed"]

_T: Table = Delivery.__table__  # type: ignore[assignment]
_E: Table = SenseEvent.__table__  # type: ignore[assignment]
_D: Table = Decision.__table__  # type: ignore[assignment]
#: The event a message's decision answered (what "meanwhile" is counted from)
_TRIGGER = _E.alias("trigger")


@dataclass
class RequeueReport:
    """What a re-queue did with the failed messages it looked at."""

    requeued: int = 0
    cancelled: int = 0  # an event meanwhile cancels them (e.g. a checkout after a cart advice)
    too_old: int = 0  # due before the window: left failed

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def requeue_failed(url: str, *, channels: Sequence[str] | None = None,
                   max_age_hours: float = 24.0, now: datetime | None = None,
                   held: bool = False, settings: Mapping[str, Any] | None = None,
                   expired: bool = False) -> RequeueReport:
    """Put the failed messages due within *max_age_hours* back in the outbox, due now.

    *channels* limits it to those channels (default: every channel; a name that is not a
    channel is a :class:`DataValidationError`); *held* takes the held
    messages too (held for a ``[sense]`` setting their text needs: once it is set, they
    can go), their ``{brand}`` and ``{unsubscribe_url}`` filled from *settings* (the
    ``[sense]`` section as it is now).  *expired* takes the messages cancelled as expired
    too, due again now (their due time moves to now, or the deliverer would expire them
    again).  One transaction.
    """
    for channel in channels or ():  # a typo would re-queue nothing and say so quietly
        if problem := channel_problem(channel):
            raise DataValidationError(f"channel: {problem}")
    brand, unsubscribe = message_settings(settings or {})
    when = now or utcnow()
    since = when - timedelta(hours=max_age_hours)
    rep = RequeueReport()
    with session_scope(url) as s:
        conn = s.connection()
        query = select(_T.c.id, _T.c.customer_id, _T.c.send_at, _T.c.cancel_on,
                       _T.c.created_at, _T.c.last_error, _T.c.status, _T.c.payload,
                       _D.c.event_pk, _TRIGGER.c.ts.label("trigger_ts")).select_from(
            _T.outerjoin(_D, _D.c.id == _T.c.decision_id)
            .outerjoin(_TRIGGER, _TRIGGER.c.id == _D.c.event_pk)).where(_which(held, expired))
        if channels:
            query = query.where(_T.c.channel.in_(list(channels)))
        rows = conn.execute(query.order_by(_T.c.id)).all()
        fresh = [r for r in rows if r.send_at >= since]
        rep.too_old = len(rows) - len(fresh)
        for r in fresh:
            cancel_on = list(r.cancel_on or ())
            acted = None
            if cancel_on:
                acted = conn.execute(
                    select(_E.c.type).where(_E.c.customer_id == r.customer_id,
                                            _E.c.type.in_(cancel_on), _after(r))
                    .order_by(_E.c.received_at).limit(1)).scalar()
            if acted is not None:
                conn.execute(update(_T).where(_T.c.id == r.id, _T.c.status == r.status).values(
                    status="cancelled", lease_until=None, lease_owner=None,
                    last_error=f"cancelled by {acted} (after: {r.last_error or 'failing'})"[:500]))
                rep.cancelled += 1
                continue
            refill: dict[str, Any] = {}
            if r.status == "held":  # the settings as they are now, for the deliverer's text
                payload = dict(r.payload or {})
                payload["fields"] = {**(payload.get("fields") or {}),
                                     **setting_fields(brand, unsubscribe, r.customer_id)}
                refill = {"payload": payload}
            if r.status == "cancelled":  # expired: due now, or it would expire again
                refill["send_at"] = when
            conn.execute(update(_T).where(_T.c.id == r.id, _T.c.status == r.status).values(
                **refill, status="pending", attempts=0, next_attempt_at=when, lease_until=None,
                lease_owner=None,
                last_error=f"re-queued after: {r.last_error or 'failing'}"[:500]))
            rep.requeued += 1
    return rep


def _after(row: Any) -> Any:
    """The events that came after *row* was queued: received since, or (a backfill, whose
    events of one batch are all received at once) happened after the event its decision
    answered, as the engine judges a cancellation by event time."""
    cond: Any = _E.c.received_at >= row.created_at
    if row.trigger_ts is not None:
        cond = or_(cond, and_(_E.c.ts > row.trigger_ts, _E.c.id != row.event_pk))
    return cond


def failed_count(url: str, held: bool = False, expired: bool = False) -> int:
    """Messages that failed for good, and held ones with *held*, expired ones with
    *expired* (what ``requeue`` can put back)."""
    with session_scope(url, write=False) as s:
        return int(s.execute(select(func.count()).where(_which(held, expired))).scalar() or 0)


def _which(held: bool, expired: bool) -> Any:
    """The rows a re-queue looks at: failed, and held or expired ones if asked."""
    cond: Any = _T.c.status.in_(("failed", "held") if held else ("failed",))
    if expired:
        cond = or_(cond, expired_rows())
    return cond
