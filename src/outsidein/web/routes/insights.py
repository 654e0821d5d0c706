"""Insight pages: the list, one insight with its evidence, acknowledging it, the advocate's view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.services.accounts import list_departments
from outsidein.services.share import (
    Acknowledgement,
    Insight,
    ack_status,
    acknowledge,
    export_audit_log,
    get_insight,
    list_acknowledgements,
    list_insights,
    list_versions,
    publish_insight,
)
from outsidein.web.auth import ACKERS, STAFF, AckersOnly, Anyone, Principal, StaffOnly
from outsidein.web.routes._common import PathId, QueryId, Store
from outsidein.web.templating import render

router = APIRouter(include_in_schema=False)


def _can_ack(principal: Principal, insight: Insight) -> bool:
    return (principal.role in ACKERS
            and bool(set(principal.departments) & set(insight.departments)))


def _my_ack(session: Session, principal: Principal, insight_id: int) -> Acknowledgement | None:
    if principal.user_id is None:
        return None
    acks = list_acknowledgements(session, insight_id)
    mine = [a for a in acks if a.user_id == principal.user_id]
    current = [a for a in mine if a.is_current_version]
    return current[-1] if current else None


@router.get("/insights", response_class=HTMLResponse)
def insights_page(*, request: Request, principal: Anyone,
                  session: Store,
                  department: str | None = None, mine: bool = False) -> HTMLResponse:
    uid = principal.user_id if mine else None
    items = list_insights(session, department=department or None, for_user_id=uid)
    awaiting: set[int] = set()
    if principal.user_id is not None and principal.role in ACKERS:
        awaiting = {i.id for i in list_insights(session, for_user_id=principal.user_id,
                                                awaiting_ack_only=True)}
    return render(request, "insights.html", principal, insights=items, awaiting=awaiting,
                  departments=list_departments(session), department=department, mine=mine,
                  priorities=("high", "medium", "low"), can_publish=principal.role in STAFF)


@router.post("/insights", response_class=HTMLResponse)
def publish_page(*, request: Request, title: Annotated[str, Form(max_length=300)],
                 statement: Annotated[str, Form(max_length=20_000)],
                 departments: Annotated[list[str], Form()],
                 priority: Annotated[str, Form()] = "high",
                 due_days: Annotated[int, Form()] = 7,
                 principal: StaffOnly,
                 session: Store) -> Response:
    insight = publish_insight(
        session, title=title, statement=statement, evidence={}, owner_email=principal.person.email,
        departments=departments, priority=priority, source="web", key=None, due_days=due_days)
    return RedirectResponse(f"/insights/{insight.id}", status_code=303)


@router.get("/insights/{insight_id}", response_class=HTMLResponse)
def insight_page(*, request: Request, insight_id: PathId, version: QueryId = None,
                 principal: Anyone,
                 session: Store) -> HTMLResponse:
    insight = get_insight(session, insight_id, version)
    evidence = insight.evidence or {}
    figures = evidence.get("figures") or {}
    return render(request, "insight.html", principal, insight=insight,
                  figures=figures if isinstance(figures, dict) else {},
                  figure_list=figures if isinstance(figures, list) else [],
                  chart=evidence.get("chart"), link=evidence.get("link"),
                  snapshot_id=evidence.get("snapshot_id"), table=evidence.get("table"),
                  next_action=(evidence.get("next_action") or {}).get("text")
                  if isinstance(evidence.get("next_action"), dict) else None,
                  versions=list_versions(session, insight_id),
                  can_ack=_can_ack(principal, insight) and insight.is_latest,
                  my_ack=_my_ack(session, principal, insight_id),
                  is_staff=principal.role in STAFF)


@router.post("/insights/{insight_id}/ack", response_class=HTMLResponse)
def acknowledge_page(*, request: Request, insight_id: PathId,
                     version_hash: Annotated[str, Form()],
                     principal: AckersOnly,
                     session: Store) -> Response:
    ack = acknowledge(session, insight_id=insight_id, version_hash=version_hash,
                      user_id=principal.person.id)
    if request.headers.get("HX-Request"):
        return render(request, "partials/ack.html", principal, my_ack=ack)
    return RedirectResponse(f"/insights/{insight_id}", status_code=303)


@router.get("/insights/{insight_id}/status", response_class=HTMLResponse)
def advocate_page(*, request: Request, insight_id: PathId,
                  principal: StaffOnly,
                  session: Store) -> HTMLResponse:
    return render(request, "advocate.html", principal,
                  insight=get_insight(session, insight_id),
                  status=ack_status(session, insight_id),
                  acks=list_acknowledgements(session, insight_id))


@router.get("/audit-log")
def audit_log_download(*, format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
                       principal: StaffOnly,
                       session: Store) -> Response:
    text = export_audit_log(session, format)
    media = "text/csv" if format == "csv" else "application/json"
    return Response(text, media_type=f"{media}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="outsidein-audit-log.{format}"'})

