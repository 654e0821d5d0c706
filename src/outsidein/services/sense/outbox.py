"""Delivery: the durable outbox of sense and respond, and the deliverer that empties it.

A decision with an action becomes one ``sense_deliveries`` row (:func:`enqueue`, or
:func:`plan_deliveries` for a list of decisions, which also queues the catalogue's
follow-ups and timing rules), written in the same transaction as the decision: what is
decided is queued, or neither is.  :func:`cancel_pending` cancels the rows still pending
whose ``cancel_on`` holds an event type that has just arrived (a checkout cancels the
abandoned-cart advice).  :func:`deliver_due` sends what is due to the channel's webhook
(``[sense.webhooks]`` in ``outsidein.toml``: channel = URL); ``outsidein sense deliver``
runs it in a loop (the deliverer lives in :mod:`~outsidein.services.sense.deliver` and
is re-exported here).

The contract with receivers: at least once, with an idempotency key
-------------------------------------------------------------------
* Each row has an ``idempotency_key`` made from the decision id and the action (and the
  follow-up or timing rule), unique in the store, so planning a decision twice queues one
  message.  Every try of a row is a ``POST`` of the same JSON with the header
  ``Idempotency-Key: <key>``.
* A deliverer first *claims* due rows in a short transaction: ``UPDATE ... SET
  status='sending', lease_until=now+lease WHERE status='pending' AND send_at<=now`` (or a
  ``sending`` row whose lease has expired).  The condition is checked again by the
  ``UPDATE`` itself (and PostgreSQL skips rows another deliverer holds locked), so two
  deliverers never claim one row under the same lease.  It then posts, outside any
  transaction, and records the outcome: 2xx -> ``sent``; 5xx, 408, 425, 429, a timeout or
  a refused connection -> ``pending`` again with ``next_attempt_at`` after an exponential
  back-off (``backoff_s x 2^(attempts-1)``, at most ``max_backoff_s``), or ``failed`` after
  ``max_attempts`` tries; another 4xx -> ``failed`` (the receiver refuses it).
* If the deliverer dies between the ``POST`` and recording it, the row stays ``sending``
  until its lease expires; the next pass reclaims it and posts it again **with the same
  idempotency key**.  So a receiver may see a message twice, and must deduplicate on the key
  (as Stripe's and most webhook receivers do): nothing due is lost, and nothing is acted on
  twice by a receiver that honours the key.
* Cancelling touches only ``pending`` rows: a message already being posted goes.
* A row may be queued ``held`` (a placeholder of its text would be blank, e.g. ``{brand}``
  without ``[sense] brand``) or already ``cancelled`` or postponed by the contact policy
  (the live decider's ``review``, :meth:`~outsidein.services.sense.respond.Responder.plan`);
  ``last_error`` says why in words.  Neither a held nor a cancelled row is ever sent.

Times are naive UTC (the store's convention); ``now`` can be passed in (tests, replays).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import String, Table, bindparam, cast, or_, select, update
from sqlalchemy.orm import Session

from outsidein.sense.catalogue import Catalogue, TimingRule
from outsidein.services.sense.catalogue import fill_message, missing_words
from outsidein.services.sense.deliver import (
    Claimed,
    DeliverReport,
    DeliveryPolicy,
    claim_due,
    deliver_due,
    deliver_loop,
    post_claimed,
    record_outcomes,
    unroutable,
    webhooks_from_config,
)
from outsidein.store.bulk import among, insert_rows
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import Decision, Delivery, SenseEvent

__all__ = ["Allow", "Claimed", "DeliverReport", "DeliveryPolicy", "EventFacts", "Review",
           "cancel_customers", "cancel_pending", "claim_due", "deliver_due", "deliver_loop",
           "enqueue", "idempotency_key", "plan_deliveries", "post_claimed", "record_outcomes",
           "unroutable", "webhooks_from_config"]

_T: Table = Delivery.__table__  # type: ignore[assignment]
#: follow-ups chained after one message at most
_MAX_CHAIN = 4


def idempotency_key(decision_id: int | None, action: str, step: str = "") -> str:
    """The key of a message: decision id, action, and the follow-up or rule that queued it.

    >>> idempotency_key(42, "cart_advice"), idempotency_key(42, "win_back", "rule:x")
    ('sense-42-cart_advice', 'sense-42-win_back-rule:x')
    """
    base = f"sense-{decision_id if decision_id is not None else 'none'}-{action}"
    return f"{base}-{step}" if step else base


def _naive(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"send_at must be a datetime or ISO text, got {value!r}")
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _row(decision_id: int | None, customer_id: str, action: str, channel: str,
         when: datetime, *, payload: Mapping[str, Any] | None = None,
         cancel_on: Sequence[str] = (), reason: str = "decision", step: str = "",
         created: datetime | None = None) -> dict[str, Any]:
    return {"decision_id": decision_id, "customer_id": customer_id, "action": action,
            "channel": channel, "reason": reason, "send_at": when,
            "payload": dict(payload or {}),
            "idempotency_key": idempotency_key(decision_id, action, step), "status": "pending",
            "attempts": 0, "next_attempt_at": when, "cancel_on": list(cancel_on),
            "last_error": None, "created_at": created or utcnow()}


def _insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert *rows*, skipping keys already queued; how many were added."""
    return insert_rows(session, _T, rows, conflict=["idempotency_key"])


def enqueue(session: Session, decision: Any, *, action: str | None = None,
            channel: str | None = None, send_at: datetime | None = None,
            payload: Mapping[str, Any] | None = None, cancel_on: Sequence[str] = (),
            reason: str = "decision", step: str = "") -> bool:
    """Queue the message of *decision* (a :class:`Decision` or a mapping with its fields).

    ``action``, ``channel`` and ``send_at`` default to the decision's (``send_at`` to now).
    The key is :func:`idempotency_key`; queueing the same key twice does nothing.  Returns
    whether a row was added.  The caller commits.
    """
    act = action or _get(decision, "action")
    chan = channel or _get(decision, "channel")
    if not act or not chan:
        raise ValueError("a delivery needs an action and a channel")
    when = _naive(send_at) or _naive(_get(decision, "send_at")) or utcnow()
    row = _row(_get(decision, "id", _get(decision, "decision_id")),
               str(_get(decision, "customer_id")), act, chan, when, payload=payload,
               cancel_on=cancel_on, reason=reason, step=step)
    return _insert_rows(session, [row]) == 1


def cancel_pending(session: Session, customer_id: str, event_type: str, *,
                   at: datetime | None = None) -> int:
    """Cancel the customer's pending messages that an event of *event_type* cancels.

    With *at* (the event's time), only messages due after it are cancelled: the customer
    acted "meanwhile".  Returns how many were cancelled.  The caller commits.
    """
    conn = session.connection()
    query = select(_T.c.id, _T.c.cancel_on).where(_T.c.customer_id == customer_id,
                                                  _T.c.status == "pending")
    when = _naive(at)
    if when is not None:
        query = query.where(_T.c.send_at > when)
    ids = [i for i, cancel_on in conn.execute(query) if event_type in (cancel_on or ())]
    _cancel(session, ids, event_type)
    return len(ids)


def _cancel(session: Session, ids: Sequence[int], event_type: str) -> None:
    if ids:
        # an expanding parameter: a group's ids are bound, not coerced one by one into the
        # statement (that took a seventh of the events path on PostgreSQL)
        session.connection().execute(
            update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True)),
                             _T.c.status == "pending")
            .values(status="cancelled", lease_until=None,
                    last_error=f"cancelled by {event_type}"), {"ids": list(ids)})


def cancel_customers(session: Session, customers: Sequence[str], words: str) -> int:
    """Cancel every pending message of *customers* (an opt-out), *words* saying why."""
    if not customers:
        return 0
    res = session.connection().execute(
        update(_T).where(among(session, _T.c.customer_id, sorted(set(customers))),
                         _T.c.status == "pending")
        .values(status="cancelled", lease_until=None, last_error=words[:500]))
    return int(res.rowcount or 0)


def _channel_for(wanted: str | None, channels: Sequence[str]) -> str:
    return wanted if wanted is not None and wanted in channels else channels[0]


class EventFacts(NamedTuple):
    """What the planner needs of the event a decision answers (``decision["event"]``, as
    :func:`~outsidein.services.sense.events.apply_events` hands it in, or read back)."""

    event_pk: int
    type: str
    channel: str
    ts: datetime
    product_id: str | None
    decided_at: datetime


@dataclass
class _Cancellable:
    cancel_on: Sequence[str]
    send_at: datetime
    id: int | None = None  # a row already stored
    row: dict[str, Any] | None = None  # a row of this call, not inserted yet
    cancelled: bool = False


#: how a timing rule's rows begin their ``reason`` (then the rule's name)
_RULE = "timing rule "
#: (customer id, action, channel, send_at) -> whether a follow-up or timing-rule message
#: may be queued (the contact policy's consent and opt-out, when the caller has them)
Allow = Callable[[str, str, str, datetime], bool]
#: called with the rows about to be queued (dicts: ``customer_id``, ``action``, ``channel``,
#: ``reason``, ``send_at``, ``payload`` with its ``fields``, ``status``, ``last_error``); it
#: may add fields and hold, cancel or postpone rows (the live decider's contact policy)
Review = Callable[[list[dict[str, Any]]], None]


def plan_deliveries(session: Session, decisions: Sequence[Mapping[str, Any]],
                    catalogue: Catalogue, *, allow: Allow | None = None,
                    review: Review | None = None) -> int:
    """Queue the messages of *decisions* with their follow-ups and timing rules.

    Each decision is a mapping with ``id`` (or ``event_pk``, to look the id up),
    ``customer_id``, ``action``, ``channel``, ``send_at``, ``stage``, ``need`` and
    ``control`` (the dicts :func:`~outsidein.services.sense.events.apply_events` inserts
    will do); with ``id`` and ``event`` (an :class:`EventFacts`), the event is not read
    back.
    In order, for each: the event it answers cancels the customer's pending
    messages that list its type in ``cancel_on`` and were due after it
    (:func:`cancel_pending`, including rows queued earlier in this call); the chosen action
    is queued at ``send_at``, then its follow-up chain; then the timing rules the event
    triggers (none for the control group, which gets no message; none that would repeat
    the message the decision has just queued).  The decision's own action has passed the
    decider's contact policy; follow-ups and timing-rule messages are queued if *allow*
    (when given) accepts them, and a timing rule's message carries its ``deadline`` (event
    time + ``within_hours``).  *review* (when given) sees every row before it is stored.
    Then each text is filled (:func:`~outsidein.services.sense.catalogue.fill_message`); a
    blank placeholder queues the row ``held``, saying which setting is missing.  One read,
    one insert and one update in all.  Returns the rows added.
    """
    if not decisions:
        return 0
    conn = session.connection()
    found: dict[tuple[str, int], tuple[int, EventFacts]] = {}  # -> (decision id, event)
    rest = []  # the decisions whose event is to be read
    for d in decisions:  # the event handed in (by apply_events): no need to read it back
        ev, did = d.get("event"), d.get("id")
        if ev is None or did is None:
            rest.append(d)
            continue
        found[("id", did)] = found[("pk", ev.event_pk)] = (did, ev)
    pks = [d["event_pk"] for d in rest if d.get("event_pk") is not None]
    ids = [d["id"] for d in rest if d.get("id") is not None]
    base = select(Decision.id, Decision.event_pk, SenseEvent.type, SenseEvent.channel,
                  SenseEvent.ts, SenseEvent.product_id, Decision.decided_at
                  ).join(SenseEvent, SenseEvent.id == Decision.event_pk)
    for where in ([Decision.event_pk.in_(pks)] if pks else []) + \
            ([Decision.id.in_(ids)] if ids else []):
        for row in conn.execute(base.where(where)):
            ev = EventFacts(row.event_pk, row.type, row.channel, row.ts, row.product_id,
                            row.decided_at)
            found[("id", row.id)] = found[("pk", ev.event_pk)] = (row.id, ev)
    customers = {str(d["customer_id"]) for d in decisions}
    types = {ev.type for _, ev in found.values()} or {""}
    waiting: dict[str, list[_Cancellable]] = {}
    # a timing rule's message still waiting, per (customer, reason): the rule does not
    # queue another until it has gone or been cancelled (three carts: one reminder)
    by_rule: dict[tuple[str, str], list[_Cancellable]] = {}
    # only the rows that one of these event types may cancel (the JSON text names it), and
    # the timing rules' rows
    for rid, cust, cancel_on, send_at, reason in conn.execute(
            select(_T.c.id, _T.c.customer_id, _T.c.cancel_on, _T.c.send_at, _T.c.reason)
            .where(among(session, _T.c.customer_id, sorted(customers)),
                   _T.c.status == "pending",
                   or_(_T.c.reason.like(f"{_RULE}%"),
                       *(cast(_T.c.cancel_on, String).like(f'%"{t}"%') for t in types)))):
        w = _Cancellable(cancel_on or (), send_at, id=rid)
        if cancel_on:
            waiting.setdefault(cust, []).append(w)
        if reason.startswith(_RULE):
            by_rule.setdefault((cust, reason), []).append(w)
    rows: dict[str, dict[str, Any]] = {}
    gone: dict[str, list[int]] = {}  # event type -> stored rows it cancels
    rules_of: dict[tuple[str, str], list[TimingRule]] = {}  # (event type, channel) -> rules
    created = utcnow()  # one clock reading for the rows queued together
    for d in decisions:
        did = d.get("id")
        hit = found.get(("id", did)) if did is not None else \
            found.get(("pk", d.get("event_pk", -1)))
        if hit is None:
            continue
        did, ev = hit
        customer = str(d["customer_id"])
        mine = waiting.get(customer, [])
        # a cancelling event at the very time a message falls due cancels it too (the
        # deliverer could not have sent it before the customer acted)
        for w in [w for w in mine if ev.type in w.cancel_on and w.send_at >= ev.ts]:
            mine.remove(w)
            w.cancelled = True
            if w.row is not None:
                w.row.update(status="cancelled", last_error=f"cancelled by {ev.type}")
            elif w.id is not None:
                gone.setdefault(ev.type, []).append(w.id)
        if d.get("control"):
            continue
        rules = rules_of.get((ev.type, ev.channel))
        if rules is None:
            rules = rules_of[ev.type, ev.channel] = catalogue.rules_for(ev.type, ev.channel)
        if not d.get("action") and not rules:
            continue  # nothing to queue (most events): no fields to fill
        fields = {"customer_id": customer, "stage": d.get("stage") or "",
                  "need": d.get("need") or "", "product_id": ev.product_id or "",
                  **dict(d.get("fields") or {})}
        new: list[dict[str, Any]] = []
        if d.get("action"):
            when = _naive(d.get("send_at")) or ev.decided_at
            new += _chain(did, customer, catalogue, d["action"], d.get("channel"), when,
                          fields, (), "decision", "", created)
        decided = {r["action"] for r in new if r["reason"] == "decision"}
        for rule in rules:
            if rule.action in decided:
                continue  # the decision has just queued this message: not twice
            if any(not w.cancelled for w in by_rule.get((customer, _RULE + rule.name), ())):
                continue  # the rule's last message still waits: one is enough
            timed = _chain(did, customer, catalogue, rule.action, ev.channel,
                           ev.ts + timedelta(hours=rule.after_hours), fields, rule.unless,
                           _RULE + rule.name, f"rule:{rule.name}", created)
            if timed and rule.within_hours is not None:
                deadline = ev.ts + timedelta(hours=rule.within_hours)
                timed[0]["payload"]["deadline"] = deadline.replace(tzinfo=UTC).isoformat()
            new += timed
        if allow is not None:
            new = [r for r in new if r["reason"] == "decision"
                   or allow(customer, r["action"], r["channel"], r["send_at"])]
        for r in new:
            if r["idempotency_key"] not in rows:
                rows[r["idempotency_key"]] = r
                w = _Cancellable(r["cancel_on"], r["send_at"], row=r)
                if r["cancel_on"]:
                    mine.append(w)
                    waiting[customer] = mine
                if r["reason"].startswith(_RULE) and r["status"] == "pending":
                    by_rule.setdefault((customer, r["reason"]), []).append(w)
    for event_type, stored in gone.items():
        _cancel(session, stored, event_type)
    queued = list(rows.values())
    if review is not None and queued:
        review(queued)
    for r in queued:
        _fill(r)
    return _insert_rows(session, queued)


def _fill(row: dict[str, Any]) -> None:
    """Fill a row's subject and text from its fields; hold it if one would be blank."""
    missing = fill_message(row["payload"], row["payload"].get("fields") or {})
    if missing and row["status"] == "pending":
        row.update(status="held", last_error=missing_words(missing)[:500])


def _chain(decision_id: int, customer: str, catalogue: Catalogue, action: str,
           channel: str | None, when: datetime, fields: Mapping[str, Any],
           cancel_on: Sequence[str], reason: str, step: str, created: datetime
           ) -> list[dict[str, Any]]:
    """The rows of *action* and of its follow-up chain (queued at *created*)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        entry = catalogue[action] if action in catalogue else None
        chan = _channel_for(channel, entry.channels) if entry else channel
        if not chan:
            return out
        filled = {**fields, "action": action, "channel": chan}
        payload: dict[str, Any] = {"reason": reason, "fields": filled}
        if entry is not None:  # the text is filled when the rows are complete (_fill)
            payload.update(need=entry.need, template=entry.template,
                           subject_template=entry.subject)
        out.append(_row(decision_id, customer, action, chan, when, payload=payload,
                        cancel_on=cancel_on, reason=reason, step=step, created=created))
        seen.add(action)
        fu = entry.follow_up if entry is not None else None
        if fu is None or len(seen) > _MAX_CHAIN or fu.action in seen:
            return out
        reason = f"follow-up of {action}"
        step = f"{step}+after:{action}" if step else f"after:{action}"
        action, channel, when = fu.action, chan, when + timedelta(hours=fu.after_hours)
        cancel_on = fu.unless


