"""``GET /api/v1/outbox``: how the outbox is doing, for the engineers who wire the channels.

Per channel the messages sent, waiting (and due now), failed, cancelled and held, whether
the channel has a webhook, the deliverer's lag, the latest failed or held messages with
their reasons, and what to do in words
(:func:`outsidein.services.sense.outbox_health.outbox_health`).  The Sense & respond page
shows the same as its "Messages on their way" card (:func:`outbox_view`).

Authentication: scope ``value:read`` (the failures name customers, as a journey does).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from outsidein.errors import ConfigError
from outsidein.services.sense.outbox import webhooks_from_config
from outsidein.services.sense.outbox_health import OutboxHealth, outbox_health
from outsidein.web.auth import Principal, Require
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.workspace import Workspace

__all__ = ["outbox_view", "router"]

router = APIRouter(prefix="/api/v1", responses=API_ERROR_RESPONSES)
ValueRead = Annotated[Principal, Depends(Require(scope="value:read"))]


def outbox_view(ws: Workspace, problems: int = 10) -> OutboxHealth:
    """The outbox's health with the workspace's webhooks (a bad [sense.webhooks] section
    counts as none: ``serve`` and ``sense deliver`` name its error)."""
    try:
        hooks = webhooks_from_config((ws.config.extra.get("sense") or {}).get("webhooks"))
    except ConfigError:
        hooks = {}
    return outbox_health(ws.store_url, hooks, problems=problems)


@router.get("/outbox", tags=["sense"],
            summary="The outbox per channel: sent, waiting, failed, cancelled, held; the "
                    "deliverer's lag; the latest failures and what to do")
def outbox(*, request: Request, principal: ValueRead,
           problems: Annotated[int, Query(ge=0, le=200, description="latest failed or held "
                                                                    "messages to list")] = 10
           ) -> Any:
    return outbox_view(request.app.state.ws, problems).to_dict()
