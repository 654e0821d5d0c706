"""A customer's journey through the buying cycle, as the engine sensed it.

``GET /api/v1/customers/{id}/journey`` and the customer 360's journey panel read this:
the current stage with its probability, the stage history (each change of stage and the
event that caused it), the clues that moved the customer, the past decisions (what was
chosen, on which channel, why), the messages (what was sent, or why not) and their
outcomes.  Every list is **newest first**: ``history`` (the stage now heads it),
``decisions`` and ``messages``.

Messages come from the outbox (``sense_deliveries``): the decision's own message and the
follow-ups and timing-rule messages it queued.  Each says what happened to it: queued
(postponed to a later time, e.g. the end of quiet hours), held (never sent: a setting its
words need is missing), being sent, sent at a time on a channel, retried, failed, or
cancelled and by which event.  The store keeps no outcome per
message, so it is derived here from the stored events, as the engine credits it: a click or
a purchase (:data:`~outsidein.sense.stages.OUTCOME_TYPES`) within the attribution window
(``[sense] attribution_days``, default :data:`~outsidein.sense.stages.ATTRIBUTION_DAYS`)
from when the message was due is ``responded``; a window passed without one is
``ignored``; else ``open``.  A message that was not sent has no outcome.

>>> Journey(customer_id="C1").stage is None
True
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError
from outsidein.sense.silence import SILENCE
from outsidein.sense.stages import ATTRIBUTION_DAYS, OUTCOME_TYPES, STAGE_LABELS, stage_info
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import CustomerState, Decision, Delivery, SenseEvent

__all__ = ["Journey", "attribution_days", "customer_journey", "message_outcome"]


def _utc(ts: datetime | None) -> str | None:
    return ts.replace(tzinfo=UTC).isoformat() if ts is not None else None


def _when(ts: datetime) -> str:
    """*ts* (naive UTC) in words: ``2026-03-02 10:00 UTC``."""
    return f"{ts:%Y-%m-%d %H:%M} UTC"


def attribution_days(extra: Mapping[str, Any] | None) -> float:
    """``[sense] attribution_days`` of a workspace's settings (the default when unset or
    not a positive number).

    >>> attribution_days({"sense": {"attribution_days": 3}}), attribution_days({})
    (3.0, 7.0)
    """
    raw = ((extra or {}).get("sense") or {}).get("attribution_days", ATTRIBUTION_DAYS)
    try:
        days = float(raw)
    except (TypeError, ValueError):
        return float(ATTRIBUTION_DAYS)
    return days if days > 0 else float(ATTRIBUTION_DAYS)


@dataclass
class Journey:
    """One customer's sensed journey (times are ISO 8601 UTC text; lists newest first)."""

    customer_id: str
    stage: str | None = None
    stage_label: str | None = None
    stage_definition: str | None = None
    stage_probability: float | None = None
    events: int = 0  # the customer's own (a silence is not theirs)
    silences: int = 0  # stage changes by silence (the sweep's events)
    updated_at: str | None = None
    attribution_days: float = float(ATTRIBUTION_DAYS)
    clues: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def message_outcome(due: datetime, outcomes: list[tuple[datetime, int, str]], *,
                    window: timedelta, now: datetime,
                    skip_event: int | None = None) -> dict[str, Any]:
    """The outcome of a message due at *due*: the first click or purchase in *outcomes*
    (``(ts, event pk, "type (channel)")``, oldest first) from *due* to *due* + *window*
    (*skip_event*, the event the message answers, does not count).

    >>> t = datetime(2026, 3, 2, 10)
    >>> message_outcome(t, [(t + timedelta(days=1), 2, "purchase (web)")],
    ...                 window=timedelta(days=7), now=t + timedelta(days=30))["result"]
    'responded'
    >>> message_outcome(t, [], window=timedelta(days=7), now=t + timedelta(days=30))["words"]
    'ignored: no click or purchase within 7 days (by 2026-03-09 10:00 UTC)'
    """
    end = due + window
    days = f"{window.total_seconds() / 86400:g} days"
    for ts, pk, what in outcomes[bisect_left(outcomes, (due,)):]:
        if ts > end:
            break
        if pk == skip_event:
            continue
        return {"result": "responded", "at": _utc(ts), "by": what,
                "words": f"responded: {what} at {_when(ts)}, within {days}"}
    if now > end:
        return {"result": "ignored", "at": _utc(end), "by": None,
                "words": f"ignored: no click or purchase within {days} (by {_when(end)})"}
    return {"result": "open", "at": _utc(end), "by": None,
            "words": f"open: a click or purchase until {_when(end)} counts as a response"}


def _delivery_words(m: Delivery, now: datetime, reasons: list[Any] | None = None) -> str:
    """What happened to message *m*, in words (*reasons*: those of the decision that
    queued it)."""
    on = f"by {m.channel}"
    why = (m.last_error or "").strip()
    if m.status == "sent":
        return f"sent {_when(m.sent_at or m.send_at)} {on}"
    if m.status == "cancelled":
        if why.startswith("cancelled by "):  # an event in cancel_on arrived first
            what = why.removeprefix("cancelled by ").replace("_", " ")
            return f"cancelled before it went: the customer's {what} arrived first"
        why = why.removeprefix("cancelled:").strip()
        return f"cancelled before it went: {why}" if why else "cancelled before it went"
    if m.status == "failed":
        tries = f"{m.attempts} tr{'y' if m.attempts == 1 else 'ies'}"
        why = re.sub(r" \(after \d+ tries\)$", "", why)  # the deliverer's count: said once
        return f"failed {on} after {tries}" + (f": {why}" if why else "")
    if m.status == "held":  # never sent: a setting its words need is missing
        why = why.removeprefix("held:").strip()
        return f"held, never sent {on}: {why}" if why else f"held, never sent {on}"
    if m.status == "sending":
        return f"being sent {on} (try {m.attempts + 1})"
    if m.attempts:  # pending again after a failed try
        tries = f"{m.attempts} failed tr{'y' if m.attempts == 1 else 'ies'}"
        return (f"to retry {on} at {_when(m.next_attempt_at)} after {tries}"
                + (f" ({why})" if why else ""))
    if why:  # postponed by the contact policy (quiet hours, a cap, the minimum gap)
        why = re.sub(r"^postponed to .*? UTC:\s*", "", why)
        return f"postponed to {_when(m.send_at)} {on}: {why}"
    if m.send_at > now:
        rule = next((str(r) for r in reasons or () if "quiet hours" in str(r)), "") \
            if m.reason == "decision" else ""  # the decision's own, kept for later
        return (f"postponed to {_when(m.send_at)} {on}: {rule}" if rule else
                f"queued to go {_when(m.send_at)} {on}")
    return f"queued {on} since {_when(m.send_at)}, not sent yet (no deliverer has sent it)"


def customer_journey(session: Session, customer_id: str, *, limit: int = 50,
                     settings: Mapping[str, Any] | None = None,
                     now: datetime | None = None) -> Journey:
    """The journey of *customer_id*: state now, the stage changes, the latest *limit*
    decisions and messages (each list newest first; see the module doc).

    *settings* are the workspace's (``ws.config.extra``): ``[sense] attribution_days``
    sets the attribution window.  *now* (naive UTC, default the clock) says whether a
    window has passed.

    Raises
    ------
    NotFoundError
        No event of this customer has reached the engine.
    """
    state = session.get(CustomerState, customer_id)
    if state is None:
        raise NotFoundError(
            f"no events for customer {customer_id!r} have reached sense and respond yet; "
            "send them to POST /api/v1/events or run 'outsidein sense replay'")
    info = stage_info(state.stage)
    rows = session.execute(
        select(SenseEvent.ts, SenseEvent.channel, SenseEvent.type, SenseEvent.event_id, Decision)
        .join(Decision, Decision.event_pk == SenseEvent.id)
        .where(SenseEvent.customer_id == customer_id)
        .order_by(SenseEvent.ts, SenseEvent.id)).all()
    history: list[dict[str, Any]] = []
    for ts, channel, typ, event_id, d in rows:  # oldest first here; reversed below
        if not history or history[-1]["stage"] != d.stage:
            history.append({"stage": d.stage, "stage_label": STAGE_LABELS[d.stage],
                            "since": _utc(ts), "probability": d.stage_probability,
                            # a silence has no channel of its own (its row keeps the last
                            # interaction's, which chooses the message's channel)
                            "moved_by": typ if typ == SILENCE else f"{typ} ({channel})",
                            "event_id": event_id,
                            "clues": list(d.clues)})
    history.reverse()

    seen = sorted((ts, pk, f"{typ} ({ch})") for ts, pk, typ, ch in session.execute(
        select(SenseEvent.ts, SenseEvent.id, SenseEvent.type, SenseEvent.channel)
        .where(SenseEvent.customer_id == customer_id, SenseEvent.type.in_(OUTCOME_TYPES))))
    latest = max((r[0] for r in rows), default=None)
    clock = now or utcnow()
    clock = max(clock, latest) if latest is not None else clock
    days = attribution_days(settings)
    window = timedelta(days=days)
    by_decision = {d.id: (ts, event_id, d) for ts, _, _, event_id, d in rows}
    deliveries = session.scalars(
        select(Delivery).where(Delivery.customer_id == customer_id)
        .order_by(Delivery.send_at.desc(), Delivery.id.desc())).all()
    messages: list[dict[str, Any]] = []
    of_decision: dict[int, list[dict[str, Any]]] = {}
    for m in deliveries:
        decided = by_decision.get(m.decision_id) if m.decision_id is not None else None
        out = None
        if m.status == "sent":
            out = message_outcome(m.send_at, seen, window=window, now=clock,
                                  skip_event=decided[2].event_pk if decided else None)
        msg = {"action": m.action, "channel": m.channel, "reason": m.reason,
               "status": "queued" if m.status == "pending" else m.status,
               "send_at": _utc(m.send_at), "sent_at": _utc(m.sent_at),
               "attempts": m.attempts,
               "words": _delivery_words(m, clock,
                                        list(decided[2].reasons) if decided else None),
               "outcome": out, "event_id": decided[1] if decided else None,
               "decision_ts": _utc(decided[0]) if decided else None}
        messages.append(msg)
        if m.decision_id is not None:
            of_decision.setdefault(m.decision_id, []).append(msg)

    decisions = []
    for ts, channel, typ, event_id, d in reversed(rows[-limit:]):
        mine = of_decision.get(d.id, [])
        own = next((x for x in mine if x["reason"] == "decision"), None)
        if own is not None:
            sent = {k: own[k] for k in ("status", "action", "channel", "send_at", "sent_at",
                                        "words")}
        elif d.action:
            sent = {"status": "not queued", "action": d.action, "channel": d.channel,
                    "send_at": _utc(d.send_at), "sent_at": None,
                    "words": "not in the outbox: no message was queued for this decision"}
        else:
            sent = None
        decisions.append({
            "ts": _utc(ts), "event_id": event_id, "event": f"{typ} ({channel})",
            "stage": d.stage, "stage_probability": d.stage_probability, "need": d.need,
            "action": d.action, "channel": d.channel, "send_at": _utc(d.send_at),
            "probability": d.probability, "control": d.control, "reasons": list(d.reasons),
            "sent": sent, "outcome": own["outcome"] if own is not None else None,
            "messages": mine})
    last = rows[-1][4] if rows else None
    silences = sum(1 for r in rows if r[2] == SILENCE)
    return Journey(customer_id=customer_id, stage=state.stage, stage_label=info.label,
                   stage_definition=info.definition, stage_probability=state.stage_probability,
                   events=state.events - silences, silences=silences,
                   updated_at=_utc(state.updated_at),
                   attribution_days=days,
                   clues=list(last.clues) if last else [], history=history,
                   decisions=decisions, messages=messages[:limit])
