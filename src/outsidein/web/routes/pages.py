"""The overview, the five answers and customer value pages.

The overview's tiles come from :data:`PANELS` and its alerts from :data:`ALERT_SOURCES`, both
plain functions from each capability's page module: the buying-stage funnel
(``web/routes/sense_pages.py``), the culture score (``web/routes/culture.py``) and the market
watch's alerts (``web/routes/market_watch.py``); each says what would fill it while empty.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError, OutsideInError
from outsidein.services.kpis import AckProgress, Kpi, ack_progress, warehouse_kpis
from outsidein.services.publish import publish_answer as publish_stored_answer
from outsidein.services.questions import HOW_TO_ANSWER, read_answers
from outsidein.services.share import Digest, daily_digest
from outsidein.services.tables import table_counts
from outsidein.services.value import HOW_TO_VALUE, value_columns
from outsidein.web.auth import STAFF, Anyone, Principal, StaffOnly
from outsidein.web.panels import (
    FLASH,
    AlertSource,
    Panel,
    PanelSource,
    kpi_panel,
)
from outsidein.web.routes._common import Store
from outsidein.web.routes.culture import culture_panel
from outsidein.web.routes.market_watch import watch_alerts
from outsidein.web.routes.sense_pages import stage_funnel_panel
from outsidein.web.tables import CUSTOMER_VALUE, TableQueryParams, csv_response, explore, resolve
from outsidein.web.templating import render
from outsidein.workspace import Workspace

router = APIRouter(include_in_schema=False)

#: The overview's tiles, in page order.
PANELS: tuple[PanelSource, ...] = (stage_funnel_panel, culture_panel)
#: The to-do lists every open action a person owns due within this many days (all, in practice).
TODO_DAYS = 3650
#: The overview lists this many insights awaiting the person (overdue first) and this many
#: of the least acknowledged (for staff), and says how many more there are: it reads a page.
TODO_SHOWN = 25
PROGRESS_SHOWN = 25
#: Where the overview's latest alerts come from.
ALERT_SOURCES: tuple[AlertSource, ...] = (watch_alerts,)


def _panels(ws: Workspace) -> list[Panel]:
    return [source(ws) for source in PANELS]


def _alerts(ws: Workspace, limit: int = 5) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    for source in ALERT_SOURCES:
        alerts.extend(dict(a) for a in source(ws, limit))
    return alerts[:limit]


def _todo(session: Session, principal: Principal) -> Digest | None:
    """The person's own to-do: insights awaiting their acknowledgement and actions they own."""
    if principal.user is None or principal.role == "viewer":
        return None
    return daily_digest(session, for_user_id=principal.user.id, action_horizon_days=TODO_DAYS,
                        limit=TODO_SHOWN)


def _kpi_tiles(ws: Workspace, session: Session) -> tuple[list[Panel], AckProgress]:
    """The KPI tiles (warehouse figures, then acknowledgement progress) and the progress."""
    progress = ack_progress(session, open_limit=PROGRESS_SHOWN)
    try:
        kpis = warehouse_kpis(ws)
    except OutsideInError as exc:
        if exc.http_status >= 500:
            raise
        kpis = [Kpi("warehouse", "Customer figures", "", None, "", missing=str(exc))]
    return [kpi_panel(k) for k in kpis] + [kpi_panel(progress.kpi())], progress


@router.get("/", response_class=HTMLResponse)
def overview(*, request: Request, principal: Anyone,
             session: Store) -> HTMLResponse:
    """The dashboard: the person's to-do first, KPI tiles with trend lines, the advocate's
    acknowledgement progress per insight (with "remind"), the five answers, later tiles."""
    ws = request.app.state.ws
    stored = read_answers(ws)
    tiles, progress = _kpi_tiles(ws, session)
    return render(request, "overview.html", principal,
                  progress=progress.insights if principal.role in STAFF else None,
                  progress_open=progress.open_count,
                  answers=list(stored) if stored else None,
                  answers_meta=stored.meta() if stored else {}, how_to_answer=HOW_TO_ANSWER,
                  kpi_tiles=tiles, panels=_panels(ws), alerts=_alerts(ws),
                  todo=_todo(session, principal), flash=request.session.pop(FLASH, None))


@router.get("/answers", response_class=HTMLResponse)
def five_questions(*, request: Request,
                   principal: Anyone) -> HTMLResponse:
    """The five answers; each list's first rows, with links to all of them (``/tables/...``)."""
    ws = request.app.state.ws
    stored = read_answers(ws)
    full_tables: dict[str, int] = {}
    if stored:
        try:
            full_tables = table_counts(ws, [a.table for a in stored if a.table and a.rows])
        except OutsideInError as exc:  # no warehouse: the stored first rows still show
            if exc.http_status >= 500:
                raise
    return render(request, "answers.html", principal, can_publish=principal.role in STAFF,
                  answers=list(stored) if stored else None, full_tables=full_tables,
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
def value(*, request: Request, principal: Anyone, params: TableQueryParams) -> Response:
    """Every customer's value, explorable: sort, filter, pages, CSV (see web/tables.py)."""
    ws = request.app.state.ws
    try:
        spec = resolve(ws, CUSTOMER_VALUE)
        _, reason_col = value_columns(ws)
    except OutsideInError as exc:
        if exc.http_status >= 500:
            raise
        return render(request, "value.html", principal, missing=str(exc), how_to=HOW_TO_VALUE)
    if params.format == "csv":
        return csv_response(ws, spec, params.query(spec))
    tv = explore(ws, spec, params, base="/value", reason_col=reason_col)
    return render(request, "value.html", principal, tv=tv, value_col=spec.sort,
                  missing=None, how_to=HOW_TO_VALUE)
