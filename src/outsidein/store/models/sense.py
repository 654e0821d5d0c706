"""Sense and respond's operational records: events in, customer state, decisions out.

- ``sense_events``: every event accepted by ``POST /api/v1/events`` (or a Segment
  source), once: ``event_id`` is unique, so a repeated event is acknowledged and not
  applied twice.  Durable before the call returns (one commit per group of requests).
- ``sense_customer_state``: each customer's current engine state (decayed evidence per
  stage), so any worker process can serve any event.
- ``sense_decisions``: one per applied event: the stage and its probability, the clues,
  the action chosen (or none) with the probability it was chosen with (for offline
  evaluation), whether the customer is in the control group, and the reasons in words.
- ``sense_deliveries``: the durable outbox of messages to send (``send_at``, per-channel
  webhooks, retries with back-off, an idempotency key per message).
- ``sense_posteriors``: the learned response counts per (stage, action), shared by every
  worker process: each adds what it saw, and reads back what all of them saw.

Timestamps are naive UTC, as everywhere in the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outsidein.store.models.base import Base, utcnow

__all__ = ["CustomerState", "Decision", "Delivery", "Posterior", "SenseEvent"]


class SenseEvent(Base):
    """One customer event, as received."""

    __tablename__ = "sense_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    ts: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    product_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(40), default="api")
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerState(Base):
    """A customer's engine state after the last event applied."""

    __tablename__ = "sense_customer_state"
    customer_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stage: Mapped[str] = mapped_column(String(40))
    stage_probability: Mapped[float] = mapped_column(Float)
    events: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the oldest message awaiting its outcome stops waiting (None: none waits); the
    #: sweep scores such messages as ignored when the customer is not heard from again
    pending_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    #: when the sweep of silence looks at the customer next, in epoch seconds (None: the
    #: stage never changes again without an event): an hour after their latest evidence
    #: when an event is applied, then the time their stage changes by silence
    #: (:mod:`outsidein.services.sense.silence`).  A number, not a datetime: the events
    #: path writes it for every customer it touches, and a float costs it nothing to make
    #: (a naive-UTC datetime cost 1.3 us per customer to build, then its text to bind)
    resense_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)


class Decision(Base):
    """What the engine decided for one event."""

    __tablename__ = "sense_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("sense_events.id", ondelete="CASCADE"),
                                          unique=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    stage: Mapped[str] = mapped_column(String(40))
    stage_probability: Mapped[float] = mapped_column(Float)
    need: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action: Mapped[str | None] = mapped_column(String(120), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(40), nullable=True)
    send_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the probability with which this action (or no action) was chosen
    probability: Mapped[float] = mapped_column(Float, default=1.0)
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    clues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Delivery(Base):
    """One message in the outbox: what to send, to whom, by which channel and when.

    ``status`` moves pending -> sending (claimed by a deliverer until ``lease_until``) ->
    sent, or back to pending with ``next_attempt_at`` after a failed try, or failed after the
    last try; ``cancelled`` when an event in ``cancel_on`` arrived first.  The
    ``idempotency_key`` is sent with every try: receivers dedupe on it.
    """

    __tablename__ = "sense_deliveries"
    __table_args__ = (Index("ix_sense_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_sense_deliveries_customer_status", "customer_id", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("sense_decisions.id", ondelete="SET NULL"), nullable=True, index=True)
    customer_id: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(40))
    #: why it is queued: "decision", "follow-up of <action>" or "timing rule <name>"
    reason: Mapped[str] = mapped_column(String(200), default="decision")
    send_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: event types that cancel it while still pending (timing rules, follow-ups)
    cancel_on: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Posterior(Base):
    """Responses and non-responses seen for one (stage, action), by all processes."""

    __tablename__ = "sense_posteriors"
    stage: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(120), primary_key=True)
    responses: Mapped[float] = mapped_column(Float, default=0.0)
    non_responses: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
