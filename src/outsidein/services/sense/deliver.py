"""The deliverer: claims due outbox rows under a lease, posts them, records each try.

The contract with receivers (at least once, with an idempotency key; leases; back-off) is
described in :mod:`outsidein.services.sense.outbox`, which re-exports everything here.

Every message goes through the contact policy again when it is due
------------------------------------------------------------------
A row queued by the live decider carries in its payload the contact rules it was planned
under (``contact_policy``: ``[sense.policy]``, or the service rules for a service
message).  Before posting, :func:`screen_claimed` reads the customers' *current* contact
facts (the ``contacts`` of their stored state) and applies :func:`check_message`: an
opt-out, a suppression or a missing consent cancels the row; quiet hours, the caps and the
minimum gap postpone it to when they allow it (``send_at`` moved on).  Each cancelled or
postponed row keeps the rule in words in ``last_error``.  The text is filled again with
what is known now (a first name learnt since it was queued, :func:`fill_message`); a
placeholder still without a value and without neutral wording holds the row (``held``,
saying which setting is missing).  A follow-up or timing-rule message that is sent is
added to the customer's recent messages, so the caps and the gap count it.

>>> DeliveryPolicy(backoff_s=10).backoff(3)
40.0
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
from sqlalchemy import Table, and_, func, or_, select, update

from outsidein.errors import ConfigError
from outsidein.sense.stages import CHANNELS
from outsidein.services.sense.catalogue import (
    KEEP_SENT,
    check_message,
    contacts_of,
    fill_message,
    missing_words,
    policy_of,
    profile_fields,
    utc_of,
)
from outsidein.services.sense.signing import WebhookSigner
from outsidein.store.db import session_scope
from outsidein.store.models.base import utcnow
from outsidein.store.models.sense import CustomerState, Delivery

__all__ = ["EXPIRED", "Claimed", "DeliverReport", "DeliveryPolicy", "claim_due",
           "deliver_due", "deliver_loop", "expire_claimed", "expired_rows", "post_claimed",
           "record_outcomes", "screen_claimed", "unroutable", "webhooks_from_config"]

_T: Table = Delivery.__table__  # type: ignore[assignment]
_S: Table = CustomerState.__table__  # type: ignore[assignment]
#: payload keys for the deliverer only, not posted
_INTERNAL = frozenset({"contact_policy", "needs_consent", "subject_template"})
#: statuses worth another try (besides 5xx)
_RETRY = {408, 425, 429}


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries, back-off, lease and time-out of the deliverer."""

    max_attempts: int = 6
    backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    lease_s: float = 120.0
    timeout_s: float = 10.0
    #: a message due longer ago than this is cancelled, not sent (None: never)
    expire_after_s: float | None = 24 * 3600.0

    @classmethod
    def from_settings(cls, section: Mapping[str, Any] | None) -> DeliveryPolicy:
        """``[sense] message_expiry_hours`` (default 24; 0: messages never expire).

        >>> DeliveryPolicy.from_settings({"message_expiry_hours": 6}).expire_after_s
        21600.0
        """
        raw = (section or {}).get("message_expiry_hours", 24)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < 1e6:
            raise ConfigError("outsidein.toml [sense] message_expiry_hours: expected a number of "
                              f"hours >= 0 (0: messages never expire), got {raw!r}")
        return cls(expire_after_s=float(raw) * 3600.0 if raw else None)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the *attempts*-th failed try.

        >>> [DeliveryPolicy().backoff(n) for n in (1, 2, 3)]
        [30.0, 60.0, 120.0]
        """
        return float(min(self.backoff_s * 2 ** max(attempts - 1, 0), self.max_backoff_s))


@dataclass(frozen=True)
class Claimed:
    """A row a deliverer holds under its lease."""

    id: int
    idempotency_key: str
    customer_id: str
    action: str
    channel: str
    send_at: datetime
    payload: dict[str, Any]
    attempts: int
    owner: str

    def body(self) -> dict[str, Any]:
        """The JSON posted to the webhook."""
        return {"idempotency_key": self.idempotency_key, "delivery_id": self.id,
                "customer_id": self.customer_id, "action": self.action,
                "channel": self.channel,
                "send_at": self.send_at.replace(tzinfo=UTC).isoformat(),
                "attempt": self.attempts,
                "message": {k: v for k, v in self.payload.items() if k not in _INTERNAL}}


@dataclass
class DeliverReport:
    """What one pass of the deliverer did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0  # claimed but handed back untried (the pass ran out of lease time)
    postponed: int = 0  # the contact policy moved it later (quiet hours, a cap, the gap)
    cancelled: int = 0  # the contact policy ruled it out (opt-out, suppression, consent)
    held: int = 0  # a placeholder would be blank (a [sense] setting is missing)

    def add(self, other: DeliverReport) -> None:
        """Add *other*'s counts to these."""
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict[str, int]:
        """The counts, for ``--json``."""
        return asdict(self)


def _refill(payload: Mapping[str, Any], state: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                         list[str]]:
    """*payload* with its text filled again from what is known now; the blanks left."""
    out = dict(payload)
    if "template" not in payload:
        return out, []
    fields = {**(payload.get("fields") or {}), **profile_fields(state)}
    out["fields"] = fields
    return out, fill_message(out, fields)


#: a claimed row that is not posted: (row, status, new send_at, why in words)
Screened = tuple[Claimed, str, datetime | None, str]


#: How the words of a message cancelled as too late begin (:func:`expire_claimed`)
EXPIRED = "expired:"


def expired_rows() -> Any:
    """The outbox rows cancelled as too late (what ``requeue --expired`` takes back and the
    outbox card counts)."""
    return and_(_T.c.status == "cancelled", _T.c.last_error.like(f"{EXPIRED}%"))


def expire_claimed(url: str, claimed: Sequence[Claimed], now: datetime,
                   expire_after_s: float | None) -> tuple[list[Claimed], int]:
    """Cancel the claimed rows due more than *expire_after_s* before *now*; the rest.

    A message that could not go for that long is no longer timely ("order today, it ships
    tomorrow" a week late): an event from the history posted to the events API is answered
    as of its time, and a deliverer stopped for days finds its backlog due long ago.
    """
    if expire_after_s is None:
        return list(claimed), 0
    cutoff = now - timedelta(seconds=expire_after_s)
    stale = [c for c in claimed if c.send_at < cutoff]
    if not stale:
        return list(claimed), 0
    hours = f"{expire_after_s / 3600:g}"
    with session_scope(url) as s:
        conn = s.connection()
        for c in stale:
            words = (f"{EXPIRED} due {c.send_at:%Y-%m-%d %H:%M} UTC, more than {hours} hours "
                     "before it could go (an event from the history, or the deliverer was "
                     "stopped); [sense] message_expiry_hours sets the limit")
            conn.execute(update(_T).where(_T.c.id == c.id, _T.c.status == "sending",
                                          _T.c.lease_owner == c.owner)
                         .values(status="cancelled", lease_until=None,
                                 attempts=_T.c.attempts - 1, last_error=words))
    gone = {c.id for c in stale}
    return [c for c in claimed if c.id not in gone], len(stale)


def screen_claimed(url: str, claimed: Sequence[Claimed], now: datetime
                   ) -> tuple[list[Claimed], list[Screened]]:
    """Check claimed rows against the contact policy and the customers' current facts.

    Rows planned with their rules (``contact_policy`` in the payload) are checked with
    :func:`check_message`: the ones that may go come back (their text filled again), the
    others are recorded here at once: ``cancelled``, ``pending`` later (postponed) or
    ``held`` (a blank placeholder), the rule in words in ``last_error``.
    """
    gated = {c.customer_id for c in claimed if isinstance(c.payload.get("contact_policy"),
                                                          Mapping)}
    if not gated:
        return list(claimed), []
    go: list[Claimed] = []
    out: list[Screened] = []
    at = now.replace(tzinfo=UTC).timestamp()
    with session_scope(url) as s:
        conn = s.connection()
        states = {c: dict(st or {}) for c, st in conn.execute(
            select(_S.c.customer_id, _S.c.state).where(_S.c.customer_id.in_(sorted(gated))))}
        for c in claimed:
            doc = c.payload.get("contact_policy")
            if not isinstance(doc, Mapping):
                go.append(c)
                continue
            policy, consent = policy_of(doc)
            state = states.get(c.customer_id, {})
            verdict = check_message(
                c.channel, contacts_of(state.get("contacts"), consent), policy, at,
                needs_consent=c.payload.get("needs_consent", True) is not False,
                own=c.payload.get("reason", "decision") == "decision")
            if verdict is not None:
                status, later, words = verdict
                out.append((c, status, None if later is None else utc_of(later), words))
                continue
            payload, missing = _refill(c.payload, state)
            if missing:
                out.append((c, "held", None, missing_words(missing)))
                continue
            go.append(Claimed(c.id, c.idempotency_key, c.customer_id, c.action, c.channel,
                              c.send_at, payload, c.attempts, c.owner))
        for c, status, moved, words in out:
            mine = and_(_T.c.id == c.id, _T.c.status == "sending",
                        _T.c.lease_owner == c.owner)
            values: dict[str, Any] = {"status": status, "lease_until": None,
                                      "attempts": _T.c.attempts - 1, "last_error": words[:500]}
            if moved is not None:
                values.update(send_at=moved, next_attempt_at=moved)
            conn.execute(update(_T).where(mine).values(**values))
    return go, out


def _count_sent(s: Any, sent: Sequence[Claimed], now: datetime) -> None:
    """Add the follow-ups and timing-rule messages just sent to their customers' recent
    messages (a decision's own message was added when it was decided)."""
    extra = [c for c in sent if isinstance(c.payload.get("contact_policy"), Mapping)
             and c.payload.get("reason", "decision") != "decision"]
    if not extra:
        return
    at = now.replace(tzinfo=UTC).timestamp()
    conn = s.connection()
    query = select(_S.c.customer_id, _S.c.state).where(
        _S.c.customer_id.in_(sorted({c.customer_id for c in extra})))
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    states = {c: dict(st or {}) for c, st in conn.execute(query)}
    for c in extra:
        state = states.get(c.customer_id)
        if state is None:
            continue
        contacts = dict(state.get("contacts") or {})
        contacts["sent"] = [*contacts.get("sent", []), [at, c.channel]][-KEEP_SENT:]
        state["contacts"] = contacts
    for cid, state in states.items():
        conn.execute(update(_S).where(_S.c.customer_id == cid).values(state=state))


def webhooks_from_config(section: Mapping[str, Any] | None,
                         source: str = "outsidein.toml [sense.webhooks]") -> dict[str, str]:
    """Channel -> webhook URL from ``[sense.webhooks]``; a bad entry raises ConfigError.

    >>> webhooks_from_config({"email": "https://hooks.example.com/email"})
    {'email': 'https://hooks.example.com/email'}
    """
    out: dict[str, str] = {}
    for channel, url in (section or {}).items():
        if channel not in CHANNELS:
            raise ConfigError(f"{source}: {channel!r} is not a channel; expected one of "
                              f"{', '.join(CHANNELS)}")
        parts = urlparse(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{source}: {channel} = {url!r} is not an http(s) URL")
        out[channel] = url
    return out


def claim_due(url: str, now: datetime, *, channels: Sequence[str], batch: int = 100,
              lease_s: float = DeliveryPolicy.lease_s, owner: str | None = None
              ) -> list[Claimed]:
    """Claim up to *batch* due rows on *channels* under a lease until ``now + lease_s``.

    Due: ``pending`` with ``send_at`` and ``next_attempt_at`` reached, or ``sending`` with
    its lease expired (a deliverer died).  Committed before returning.
    """
    owner = owner or uuid.uuid4().hex
    if not channels:
        return []
    due = and_(_T.c.channel.in_(list(channels)), _T.c.send_at <= now,
               or_(and_(_T.c.status == "pending", _T.c.next_attempt_at <= now),
                   and_(_T.c.status == "sending", _T.c.lease_until < now)))
    with session_scope(url) as s:
        conn = s.connection()
        pick = select(_T.c.id).where(due).order_by(_T.c.next_attempt_at, _T.c.id).limit(batch)
        if s.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list(conn.execute(pick).scalars())
        if not ids:
            return []
        rows = conn.execute(
            update(_T).where(_T.c.id.in_(ids), due)
            .values(status="sending", lease_until=now + timedelta(seconds=lease_s),
                    lease_owner=owner, attempts=_T.c.attempts + 1)
            .returning(_T.c.id, _T.c.idempotency_key, _T.c.customer_id, _T.c.action,
                       _T.c.channel, _T.c.send_at, _T.c.payload, _T.c.attempts)).all()
    return sorted((Claimed(r.id, r.idempotency_key, r.customer_id, r.action, r.channel,
                           r.send_at, dict(r.payload or {}), r.attempts, owner) for r in rows),
                  key=lambda c: c.id)


def post_claimed(client: httpx.Client, claimed: Claimed, webhooks: Mapping[str, str],
                 timeout: float = DeliveryPolicy.timeout_s, signer: WebhookSigner | None = None
                 ) -> tuple[str, str | None]:
    """POST one claimed row to its channel's webhook: ("sent"|"retry"|"failed", error).

    With a *signer*, the exact bytes posted are signed (Standard Webhooks headers,
    :mod:`~outsidein.services.sense.signing`), ``webhook-id`` being the idempotency key.
    """
    content = orjson.dumps(claimed.body())
    headers = {"Idempotency-Key": claimed.idempotency_key, "Content-Type": "application/json"}
    if signer is not None:
        headers.update(signer.headers(claimed.idempotency_key, content))
    try:
        resp = client.post(webhooks[claimed.channel], content=content, timeout=timeout,
                           headers=headers)
    except httpx.TimeoutException:
        return "retry", f"no answer within {timeout:g} s"
    except httpx.TransportError as exc:
        return "retry", f"could not connect: {exc}"[:500]
    if 200 <= resp.status_code < 300:
        return "sent", None
    kind = "retry" if resp.status_code >= 500 or resp.status_code in _RETRY else "failed"
    return kind, f"HTTP {resp.status_code}: {resp.text[:200]}"


def record_outcomes(url: str, outcomes: Sequence[tuple[Claimed, str, str | None]],
                    now: datetime, policy: DeliveryPolicy = DeliveryPolicy()) -> DeliverReport:
    """Record each try: sent, another try after back-off, or failed."""
    rep = DeliverReport()
    with session_scope(url) as s:
        conn = s.connection()
        _count_sent(s, [c for c, kind, _ in outcomes if kind == "sent"], now)
        for c, kind, error in outcomes:
            row = _T.c.id == c.id
            if kind == "sent":  # whoever holds it now: it went
                conn.execute(update(_T).where(row, _T.c.status.in_(("sending", "pending")))
                             .values(status="sent", sent_at=now, lease_until=None,
                                     last_error=None))
                rep.sent += 1
                continue
            mine = and_(row, _T.c.status == "sending", _T.c.lease_owner == c.owner)
            if kind == "release":  # not tried: due again at once, the try not counted
                conn.execute(update(_T).where(mine).values(
                    status="pending", attempts=_T.c.attempts - 1, lease_until=None))
                rep.released += 1
                continue
            if kind == "retry" and c.attempts < policy.max_attempts:
                later = now + timedelta(seconds=policy.backoff(c.attempts))
                conn.execute(update(_T).where(mine).values(
                    status="pending", next_attempt_at=later, lease_until=None,
                    last_error=error))
                rep.retrying += 1
            else:
                conn.execute(update(_T).where(mine).values(
                    status="failed", lease_until=None,
                    last_error=f"{error} (after {c.attempts} tries)"[:500]))
                rep.failed += 1
    return rep


def deliver_due(url: str, webhooks: Mapping[str, str], now: datetime | None = None,
                batch: int = 100, *, policy: DeliveryPolicy = DeliveryPolicy(),
                client: httpx.Client | None = None, signer: WebhookSigner | None = None
                ) -> DeliverReport:
    """One pass: claim what is due (on channels with a webhook), post it (signed with
    *signer*), record it."""
    when = _naive(now) or utcnow()
    claimed = claim_due(url, when, channels=list(webhooks), batch=batch,
                        lease_s=policy.lease_s)
    rep = DeliverReport(claimed=len(claimed))
    if not claimed:
        return rep
    claimed, expired = expire_claimed(url, claimed, when, policy.expire_after_s)
    rep.cancelled += expired
    claimed, screened = screen_claimed(url, claimed, when)
    for _, status, _, _ in screened:
        kind = {"pending": "postponed", "cancelled": "cancelled"}.get(status, "held")
        setattr(rep, kind, getattr(rep, kind) + 1)
    if not claimed:
        return rep
    own = client is None
    http = client or httpx.Client()
    start = time.monotonic()
    outcomes: list[tuple[Claimed, str, str | None]] = []
    try:
        for c in claimed:
            # slow receivers: hand the rest back untried before the lease ends, so no
            # other deliverer reclaims a row this one is still about to post
            if time.monotonic() - start > policy.lease_s / 2:
                outcomes.append((c, "release", None))
                continue
            outcomes.append((c, *post_claimed(http, c, webhooks, policy.timeout_s, signer)))
    finally:
        if own:
            http.close()
    rep.add(record_outcomes(url, outcomes, _naive(now) or utcnow(), policy))
    return rep


def deliver_loop(url: str, webhooks: Mapping[str, str], *, once: bool = False,
                 seconds: float | None = None, batch: int = 100, idle_s: float = 1.0,
                 policy: DeliveryPolicy = DeliveryPolicy(),
                 on_pass: Callable[[DeliverReport], None] | None = None,
                 signer: WebhookSigner | None = None) -> DeliverReport:
    """Run :func:`deliver_due` until nothing is due (*once*), for *seconds*, or for ever.

    A full batch is followed at once by the next; otherwise the loop waits *idle_s*.
    """
    total = DeliverReport()
    end = None if seconds is None else time.monotonic() + seconds
    with httpx.Client() as client:
        while True:
            rep = deliver_due(url, webhooks, batch=batch, policy=policy, client=client,
                              signer=signer)
            total.add(rep)
            if on_pass is not None and rep.claimed:
                on_pass(rep)
            if once and rep.claimed < batch:
                return total
            if end is not None and time.monotonic() >= end:
                return total
            if rep.claimed < batch:
                time.sleep(idle_s if end is None else max(min(idle_s, end - time.monotonic()),
                                                          0.0))


def unroutable(url: str, webhooks: Mapping[str, str]) -> dict[str, int]:
    """Pending messages per channel that has no webhook (they wait until one is set)."""
    with session_scope(url, write=False) as s:
        query = (select(_T.c.channel, func.count()).where(_T.c.status == "pending")
                 .group_by(_T.c.channel))
        return {ch: int(n) for ch, n in s.execute(query) if ch not in webhooks}
