"""A customer's journey through the buying cycle, as the engine sensed it.

``GET /api/v1/customers/{id}/journey`` and the customer 360's journey panel read this:
the current stage with its probability, the stage history (each change of stage and the
event that caused it), the clues that moved the customer, and the past decisions (what
was chosen, on which channel, why).  Messages sent and their outcomes join the decisions
when the outbox and outcome events land; until then ``sent`` and ``outcome`` are empty.

>>> Journey(customer_id="C1").stage is None
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError
from outsidein.sense.stages import STAGE_LABELS, stage_info
from outsidein.store.models.sense import CustomerState, Decision, SenseEvent

__all__ = ["Journey", "customer_journey"]


def _utc(ts: datetime | None) -> str | None:
    return ts.replace(tzinfo=UTC).isoformat() if ts is not None else None


@dataclass
class Journey:
    """One customer's sensed journey (times are ISO 8601 UTC text)."""

    customer_id: str
    stage: str | None = None
    stage_label: str | None = None
    stage_definition: str | None = None
    stage_probability: float | None = None
    events: int = 0
    updated_at: str | None = None
    clues: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def customer_journey(session: Session, customer_id: str, *, limit: int = 50) -> Journey:
    """The journey of *customer_id*: state now, the stage changes, the latest decisions.

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
    for ts, channel, typ, event_id, d in rows:
        if not history or history[-1]["stage"] != d.stage:
            history.append({"stage": d.stage, "stage_label": STAGE_LABELS[d.stage],
                            "since": _utc(ts), "probability": d.stage_probability,
                            "moved_by": f"{typ} ({channel})", "event_id": event_id,
                            "clues": list(d.clues)})
    decisions = [{"ts": _utc(ts), "event_id": event_id, "event": f"{typ} ({channel})",
                  "stage": d.stage, "stage_probability": d.stage_probability, "need": d.need,
                  "action": d.action, "channel": d.channel, "send_at": _utc(d.send_at),
                  "probability": d.probability, "control": d.control,
                  "reasons": list(d.reasons), "sent": None, "outcome": None}
                 for ts, channel, typ, event_id, d in reversed(rows[-limit:])]
    latest = rows[-1][4] if rows else None
    return Journey(customer_id=customer_id, stage=state.stage, stage_label=info.label,
                   stage_definition=info.definition, stage_probability=state.stage_probability,
                   events=state.events, updated_at=_utc(state.updated_at),
                   clues=list(latest.clues) if latest else [], history=history,
                   decisions=decisions)
