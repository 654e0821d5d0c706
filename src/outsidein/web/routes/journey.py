"""A customer's journey over HTTP and on the customer 360: ``GET /api/v1/customers/{id}/journey``
(the stage now, its history, the decisions, the messages and their outcomes) and the 360's
"Buying stage and journey" panel.  Split from :mod:`outsidein.web.routes.sense` (the
events in); the figures come from :func:`outsidein.services.sense.journey.customer_journey`.

Authentication: scope ``value:read`` (a customer's journey is as private as their value).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.customers import Section
from outsidein.services.sense.journey import customer_journey
from outsidein.store.db import session_scope
from outsidein.web.auth import Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.web.routes._common import Store
from outsidein.workspace import Workspace

__all__ = ["JourneyOut", "journey_panel", "router"]

router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES)


class JourneyOut(BaseModel):
    """A customer's sensed journey: stage now, its history, the latest decisions, the
    messages (what was sent, or why not) and their outcomes; every list newest first."""

    customer_id: str
    stage: str | None
    stage_label: str | None
    stage_definition: str | None
    stage_probability: float | None
    events: int = Field(description="the customer's own events sensed")
    silences: int = Field(0, description="stage changes by silence: the sweep's events, "
                          "each a step of 'history' moved by 'silence'")
    updated_at: str | None
    attribution_days: float = Field(
        description="days after a message in which a click or purchase is its response")
    clues: list[str]
    history: list[dict[str, Any]] = Field(
        description="each change of stage and the event that caused it, newest first")
    decisions: list[dict[str, Any]] = Field(
        description="newest first; 'sent' says what happened to the decision's message "
                    "(queued, held, sent, cancelled, failed), 'outcome' whether the customer "
                    "responded (responded, ignored, open), 'messages' every message it queued")
    messages: list[dict[str, Any]] = Field(
        description="every message to the customer (decisions, follow-ups, timing rules), "
                    "newest first, with its status and outcome")


ValueRead = Annotated[Principal, Depends(Require(scope="value:read"))]
#: A customer id in the journey's path: up to 200 characters, "/" allowed (the route takes
#: the rest of the path: "acct%2F42" arrives decoded as "acct/42"), no control characters
#: (checked in the route, to say so in words).
CustomerId = Annotated[str, PathParam(min_length=1, max_length=200,
                                      description="a customer id (may hold '/')")]


@router.get("/customers/{customer_id:path}/journey", response_model=JourneyOut, tags=["sense"],
            summary="A customer's buying stage now, its history, the decisions made, the "
                    "messages sent and their outcomes")
def journey(*, request: Request, customer_id: CustomerId,
            limit: Annotated[int, Query(ge=1, le=500)] = 50,
            principal: ValueRead, session: Store) -> Any:
    if any(ord(ch) < 0x20 for ch in customer_id):
        raise DataValidationError("customer_id: a customer id is one line of text, without "
                                  "control characters (a line break, a tab or NUL)")
    return customer_journey(session, customer_id, limit=limit,
                            settings=request.app.state.ws.config.extra).to_dict()


def journey_panel(ws: Workspace, customer_id: str) -> Section:
    """The customer 360's "Buying stage and journey" panel: a timeline, newest first, of
    the stage changes and the messages (what happened to each, and its outcome)."""
    with session_scope(ws.store_url, write=False) as session:
        try:
            j = customer_journey(session, customer_id, limit=20, settings=ws.config.extra)
        except NotFoundError as exc:
            return Section("journey", "Buying stage and journey", missing=str(exc))
    timeline: list[tuple[str, dict[str, Any]]] = []
    for m in j.messages:  # before the stage change of the same time: its consequence
        at = m["sent_at"] or m["send_at"]
        why = "" if m["reason"] == "decision" else f" ({m['reason']})"
        timeline.append((at, {"when": at[:16].replace("T", " "),
                              "what": f"message: {m['action']} by {m['channel']}{why}",
                              "detail": m["words"],
                              "outcome": m["outcome"]["words"] if m["outcome"] else None}))
    timeline += [(h["since"], {"when": h["since"][:16].replace("T", " "),
                               "what": f"stage: {h['stage_label']}",
                               "detail": f"moved by {h['moved_by']}, "
                                         f"{h['probability']:.0%} sure",
                               "outcome": None}) for h in j.history]
    timeline.sort(key=lambda t: t[0], reverse=True)  # stable: ties keep that order
    sent = [m for m in j.messages if m["status"] == "sent"]
    answered = sum(1 for m in sent if m["outcome"] and m["outcome"]["result"] == "responded")
    figures: dict[str, Any] = {
        "stage now": j.stage_label,
        "how sure": f"{j.stage_probability:.0%}" if j.stage_probability is not None else None,
        "events sensed": j.events}
    if j.silences:
        figures["stage changes by silence"] = j.silences
    figures["what it means"] = j.stage_definition
    if j.messages:
        figures["messages sent"] = (f"{len(sent)} of the {len(j.messages)} queued; "
                                    f"{answered} answered by a click or purchase within "
                                    f"{j.attribution_days:g} days")
    return Section("journey", "Buying stage and journey", figures=figures,
                   rows=[row for _, row in timeline],
                   note=("clues: " + "; ".join(j.clues)) if j.clues else "")
