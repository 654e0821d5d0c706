"""The overview, the five answers and customer value pages.

Later capabilities fill the overview's panels by adding ``"module:function"``
entries to :data:`PANELS` (stage funnel, culture score) and :data:`ALERT_SOURCES`
(latest alerts); until then the page says what will fill them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.errors import MissingDataError, NotFoundError, OutsideInError
from outsidein.web.auth import STAFF, Anyone, Principal, StaffOnly
from outsidein.web.readers import HOW_TO_ANSWER, HOW_TO_VALUE, read_answers, top_customer_value
from outsidein.web.routes._common import Store, render, share

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Panel:
    """One overview tile: a title, a headline figure and an optional Plotly figure dict."""

    key: str
    title: str
    value: str | None
    note: str = ""
    figure: dict[str, Any] | None = None
    link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: Providers of overview tiles: ``"module:function"`` taking the workspace, returning a Panel.
PANELS: dict[str, list[str]] = {
    "stage_funnel": ["outsidein.sense.overview:stage_funnel_panel"],
    "culture": ["outsidein.culture.overview:culture_panel"],
}
PLACEHOLDERS = {
    "stage_funnel": Panel("stage_funnel", "Buying-stage funnel", None,
                          "not yet measured — comes with sense-and-respond"),
    "culture": Panel("culture", "Market-culture score", None,
                     "not yet measured — comes with the culture survey"),
}
#: Providers of recent alerts: ``"module:function"`` taking (workspace, limit).
ALERT_SOURCES: list[str] = ["outsidein.market.monitor:latest_alerts"]


def _provider(spec: str) -> Any:
    module, func = spec.split(":")
    try:
        return getattr(importlib.import_module(module), func)
    except (ModuleNotFoundError, AttributeError):
        return None


def _panels(ws: Any) -> list[Panel]:
    out = []
    for key, specs in PANELS.items():
        panel = None
        for spec in specs:
            fn = _provider(spec)
            if fn is not None:
                panel = fn(ws)
                if panel is not None:
                    break
        out.append(panel or PLACEHOLDERS[key])
    return out


def _alerts(ws: Any, limit: int = 5) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    for spec in ALERT_SOURCES:
        fn = _provider(spec)
        if fn is not None:
            alerts.extend(dict(a) if not hasattr(a, "to_dict") else a.to_dict()
                          for a in fn(ws, limit))
    return alerts[:limit]


def _awaiting(session: Session, principal: Principal) -> list[Any]:
    if principal.user is None or principal.role == "viewer":
        return []
    try:
        insights = share("insights")
    except OutsideInError:
        return []
    return list(insights.list_insights(session, for_user_id=principal.user.id,
                                       awaiting_ack_only=True))


@router.get("/", response_class=HTMLResponse)
def overview(*, request: Request, principal: Anyone,
             session: Store) -> HTMLResponse:
    ws = request.app.state.ws
    stored = read_answers(ws)
    pending = (share("insights").list_insights(session, awaiting_ack_only=True)
               if principal.role in STAFF else [])
    return render(request, "overview.html", principal, pending=pending,
                  answers=stored[0] if stored else None,
                  answers_meta=stored[1] if stored else {}, how_to_answer=HOW_TO_ANSWER,
                  panels=_panels(ws), alerts=_alerts(ws), awaiting=_awaiting(session, principal))


@router.get("/answers", response_class=HTMLResponse)
def five_questions(*, request: Request,
                   principal: Anyone) -> HTMLResponse:
    stored = read_answers(request.app.state.ws)
    return render(request, "answers.html", principal, can_publish=principal.role in STAFF,
                  answers=stored[0] if stored else None,
                  answers_meta=stored[1] if stored else {}, how_to_answer=HOW_TO_ANSWER)


@router.post("/answers/{name}/publish")
def publish_answer(*, request: Request, name: str, principal: StaffOnly,
                   session: Store) -> Response:
    """Publish one stored answer as an insight for its departments (key five_questions.NAME)."""
    stored = read_answers(request.app.state.ws)
    answer = next((a for a in (stored[0] if stored else []) if a.key == name), None)
    if answer is None:
        raise NotFoundError(f"no stored answer {name!r}; {HOW_TO_ANSWER}")
    if answer.missing_data:
        raise MissingDataError(f"answer {name!r} lacks data: {'; '.join(answer.missing_data)}")
    from outsidein.share.auto import publish_analysis_insight

    statement = answer.headline + (f" Next: {answer.next_action}." if answer.next_action else "")
    insight = publish_analysis_insight(
        session, key=f"five_questions.{answer.key}", title=answer.title or answer.question,
        statement=statement, departments=list(answer.departments) or list(principal.departments),
        figures=answer.numbers, chart=answer.figures[0] if answer.figures else None,
        link=f"/answers#q-{answer.key}", source="five_questions", priority=answer.priority,
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
