"""The overview, the five answers and customer value pages.

The overview's tiles come from :data:`PANELS` and its alerts from :data:`ALERT_SOURCES`, both
plain functions.  Until a capability measures its figure, its tile is a placeholder from
:mod:`outsidein.web.panels` that says what will fill it.  When sense-and-respond lands, its
routes module ``web/routes/sense.py`` defines ``stage_funnel_panel(ws) -> Panel`` (calling
its service and shaping the result), and this module imports it and puts it in
:data:`PANELS` in place of ``stage_funnel_pending``; market watch adds its
``latest_alerts(ws, limit)`` to :data:`ALERT_SOURCES` the same way, and the culture survey
replaces ``culture_pending``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError, OutsideInError
from outsidein.services.publish import publish_answer as publish_stored_answer
from outsidein.services.questions import HOW_TO_ANSWER, read_answers
from outsidein.services.share import Insight, list_insights
from outsidein.services.value import HOW_TO_VALUE, top_customer_value
from outsidein.web.auth import STAFF, Anyone, Principal, StaffOnly
from outsidein.web.panels import (
    AlertSource,
    Panel,
    PanelSource,
    culture_pending,
    stage_funnel_pending,
)
from outsidein.web.routes._common import Store
from outsidein.web.templating import render
from outsidein.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: The overview's tiles, in page order.
PANELS: tuple[PanelSource, ...] = (stage_funnel_pending, culture_pending)
#: Where the overview's latest alerts come from (none until market watch).
ALERT_SOURCES: tuple[AlertSource, ...] = ()


def _panels(ws: Workspace) -> list[Panel]:
    return [source(ws) for source in PANELS]


def _alerts(ws: Workspace, limit: int = 5) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    for source in ALERT_SOURCES:
        alerts.extend(dict(a) for a in source(ws, limit))
    return alerts[:limit]


def _awaiting(session: Session, principal: Principal) -> list[Insight]:
    if principal.user is None or principal.role == "viewer":
        return []
    return list_insights(session, for_user_id=principal.user.id, awaiting_ack_only=True)


@router.get("/", response_class=HTMLResponse)
def overview(*, request: Request, principal: Anyone,
             session: Store) -> HTMLResponse:
    ws = request.app.state.ws
    stored = read_answers(ws)
    pending = list_insights(session, awaiting_ack_only=True) if principal.role in STAFF else []
    return render(request, "overview.html", principal, pending=pending,
                  answers=list(stored) if stored else None,
                  answers_meta=stored.meta() if stored else {}, how_to_answer=HOW_TO_ANSWER,
                  panels=_panels(ws), alerts=_alerts(ws), awaiting=_awaiting(session, principal))


@router.get("/answers", response_class=HTMLResponse)
def five_questions(*, request: Request,
                   principal: Anyone) -> HTMLResponse:
    stored = read_answers(request.app.state.ws)
    return render(request, "answers.html", principal, can_publish=principal.role in STAFF,
                  answers=list(stored) if stored else None,
                  answers_meta=stored.meta() if stored else {}, how_to_answer=HOW_TO_ANSWER)


@router.post("/answers/{name}/publish")
def publish_answer(*, request: Request, name: str, principal: StaffOnly,
                   session: Store) -> Response:
    """Publish one stored answer as an insight for its departments (key five_questions.NAME).

    The same builder as ``outsidein analyze``: publishing the same analysis by
    either path adds no version.
    """
    stored = read_answers(request.app.state.ws)
    if stored is None:
        raise NotFoundError(f"no stored answer {name!r}; {HOW_TO_ANSWER}")
    insight = publish_stored_answer(session, stored[name],
                                    owner_email=principal.user.email if principal.user else None)
    return RedirectResponse(f"/insights/{insight.id}", status_code=303)


@router.get("/value", response_class=HTMLResponse)
def value(*, request: Request, principal: Anyone) -> HTMLResponse:
    rows: list[dict[str, Any]] = []
    value_col, reason_col, missing = "", None, None
    try:
        rows, value_col, reason_col = top_customer_value(request.app.state.ws, 50)
    except OutsideInError as exc:
        if exc.http_status >= 500:
            raise
        missing = str(exc)
    columns = [c for c in (rows[0].keys() if rows else []) if c != reason_col]
    return render(request, "value.html", principal, rows=rows, columns=columns,
                  value_col=value_col, reason_col=reason_col, missing=missing,
                  how_to=HOW_TO_VALUE)
