"""Insight pages: the list, one insight with its evidence and the list it asks people to act on,
acknowledging it, the advocate's view and reminders, and the analysis report it comes from."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, OutsideInError
from outsidein.services.accounts import list_departments
from outsidein.services.questions import read_answers
from outsidein.services.reports import Report, latest_report, report_by_name
from outsidein.services.share import (
    Acknowledgement,
    Insight,
    ack_status,
    acknowledge,
    awaiting_among,
    export_audit_log,
    get_insight,
    list_acknowledgements,
    list_versions,
    next_awaiting,
    notify_settings,
    publish_insight,
    remind_pending,
)
from outsidein.services.share import insight_page as page_of_insights
from outsidein.web.auth import ACKERS, STAFF, AckersOnly, Anyone, Principal, StaffOnly
from outsidein.web.forms import FormState, Rules, attempt, number
from outsidein.web.panels import FLASH
from outsidein.web.routes._common import PathId, QueryId, Store
from outsidein.web.schemas import MAX_ID
from outsidein.web.templating import render

router = APIRouter(include_in_schema=False)
#: Where the report's section on the five questions puts each answer (report/sections).
REPORT_ANSWER_ANCHOR = "five-questions-{name}"


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


PUBLISH_RULES: Rules = (("insight: a title", "title"), ("priority", "priority"),
                        ("due_days", "due_days"), ("insight: name at least one", "departments"),
                        ("department", "departments"))


#: Insights per page of /insights; the rest are a "Next" link away (the page reads its own).
PAGE_SIZE = 50
PageNumber = Annotated[int, Query(ge=1, le=MAX_ID // PAGE_SIZE)]


def _page_link(department: str | None, mine: bool, page: int) -> str:
    query = {k: v for k, v in (("department", department or ""),
                               ("mine", "true" if mine else ""),
                               ("page", str(page) if page > 1 else "")) if v}
    return "/insights" + (f"?{urlencode(query)}" if query else "")


def _insights(request: Request, principal: Principal, session: Session, *,
              department: str | None = None, mine: bool = False, page: int = 1,
              form: FormState | None = None) -> HTMLResponse:
    uid = principal.user_id if mine else None
    listing = page_of_insights(session, department=department or None, for_user_id=uid,
                               limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    awaiting: set[int] = set()
    if principal.user_id is not None and principal.role in ACKERS:
        awaiting = awaiting_among(session, principal.user_id, [i.id for i in listing.items])
    pages = max(1, math.ceil(listing.total / PAGE_SIZE))
    links = {"first": _page_link(department, mine, 1),
             "prev": _page_link(department, mine, page - 1) if page > 1 else None,
             "next": _page_link(department, mine, page + 1) if page < pages else None}
    return render(request, "insights.html", principal, status_code=form.status if form else 200,
                  insights=listing.items, listing=listing, page=page, pages=pages,
                  page_links=links, awaiting=awaiting, form=form,
                  departments=list_departments(session), department=department, mine=mine,
                  priorities=("high", "medium", "low"), can_publish=principal.role in STAFF)


@router.get("/insights", response_class=HTMLResponse)
def insights_page(*, request: Request, principal: Anyone,
                  session: Store,
                  department: str | None = None, mine: bool = False,
                  page: PageNumber = 1) -> HTMLResponse:
    """The insights, a page of :data:`PAGE_SIZE` at a time, with links to the others."""
    return _insights(request, principal, session, department=department, mine=mine, page=page)


@router.post("/insights", response_class=HTMLResponse)
def publish_page(*, request: Request, title: Annotated[str, Form(max_length=300)] = "",
                 statement: Annotated[str, Form(max_length=20_000)] = "",
                 departments: Annotated[list[str], Form()] = [],  # noqa: B006 - form default
                 priority: Annotated[str, Form(max_length=20)] = "high",
                 due_days: Annotated[str, Form(max_length=20)] = "7",
                 principal: StaffOnly,
                 session: Store) -> Response:
    state = FormState("publish-form", {"title": title, "statement": statement, "priority": priority,
                                  "departments": list(departments), "due_days": due_days})
    published: list[Insight] = []

    def publish() -> None:
        days = number(due_days, "due_days", "a whole number of days >= 0")
        if not days.is_integer():
            raise DataValidationError(f"due_days {due_days!r}: expected a whole number of days")
        published.append(publish_insight(
            session, title=title, statement=statement, evidence={},
            owner_email=principal.person.email, departments=departments, priority=priority,
            source="web", key=None, due_days=int(days)))

    failed = attempt(session, state, publish, PUBLISH_RULES, "title")
    if failed:
        return _insights(request, principal, session, form=failed)
    return RedirectResponse(f"/insights/{published[0].id}", status_code=303)


def _answer_name(insight: Insight) -> str | None:
    key = insight.key or ""
    return key.split(".", 1)[1] if key.startswith("five_questions.") else None


def _report_link(insight: Insight, link: object) -> str | None:
    """Where the full analysis is in the served report (``/reports/latest#...``), if anywhere."""
    if isinstance(link, str) and link.startswith("reports/report.html"):
        return "/reports/latest" + link[len("reports/report.html"):]
    name = _answer_name(insight)
    return f"/reports/latest#{REPORT_ANSWER_ANCHOR.format(name=name)}" if name else None


def _action_list(request: Request, insight: Insight) -> list[dict[str, object]]:
    """The rows of the saved answer the insight asks people to act on (first 25 of them)."""
    name = _answer_name(insight)
    stored = read_answers(request.app.state.ws) if name else None
    if stored is None or name is None:
        return []
    try:
        return list(stored[name].rows)
    except OutsideInError:
        return []


def _next_for(session: Session, principal: Principal, insight_id: int) -> Insight | None:
    if principal.user_id is None or principal.role not in ACKERS:
        return None
    return next_awaiting(session, user_id=principal.user_id, after_insight_id=insight_id)


@router.get("/insights/{insight_id}", response_class=HTMLResponse)
def insight_page(*, request: Request, insight_id: PathId, version: QueryId = None,
                 principal: Anyone,
                 session: Store) -> HTMLResponse:
    insight = get_insight(session, insight_id, version)
    evidence = insight.evidence or {}
    figures = evidence.get("figures") or {}
    link = evidence.get("link")
    return render(request, "insight.html", principal, insight=insight,
                  figures=figures if isinstance(figures, dict) else {},
                  figure_list=figures if isinstance(figures, list) else [],
                  chart=evidence.get("chart"),
                  link=None if isinstance(link, str) and link.startswith("reports/") else link,
                  report_link=_report_link(insight, link),
                  snapshot_id=evidence.get("snapshot_id"), full_table=evidence.get("table"),
                  action_rows=_action_list(request, insight),
                  next_action=(evidence.get("next_action") or {}).get("text")
                  if isinstance(evidence.get("next_action"), dict) else None,
                  versions=list_versions(session, insight_id),
                  can_ack=_can_ack(principal, insight) and insight.is_latest,
                  my_ack=_my_ack(session, principal, insight_id),
                  next_insight=_next_for(session, principal, insight_id),
                  can_act=principal.role in ACKERS,
                  is_staff=principal.role in STAFF)


@router.post("/insights/{insight_id}/ack", response_class=HTMLResponse)
def acknowledge_page(*, request: Request, insight_id: PathId,
                     version_hash: Annotated[str, Form()],
                     principal: AckersOnly,
                     session: Store) -> Response:
    ack = acknowledge(session, insight_id=insight_id, version_hash=version_hash,
                      user_id=principal.person.id)
    if request.headers.get("HX-Request"):
        return render(request, "partials/ack.html", principal, my_ack=ack, swapped=True,
                      insight=get_insight(session, insight_id), can_act=True,
                      next_insight=_next_for(session, principal, insight_id))
    return RedirectResponse(f"/insights/{insight_id}#acknowledge", status_code=303)


@router.post("/insights/{insight_id}/remind")
def remind_page(*, request: Request, insight_id: PathId,
                back: Annotated[str, Form(pattern="^(overview|status)$")] = "overview",
                principal: StaffOnly, session: Store) -> Response:
    """Remind everyone who has not acknowledged yet (through the outbox); back to the page the
    button was on (the overview, or the insight's acknowledgement status)."""
    ws = request.app.state.ws
    reminder = remind_pending(session, insight_id=insight_id, actor=principal.person.email,
                              settings=notify_settings(ws.config.extra, ws.settings))
    request.session[FLASH] = reminder.summary
    target = f"/insights/{insight_id}/status" if back == "status" else "/#pending"
    return RedirectResponse(target, status_code=303)


def _report_response(request: Request, report: Report) -> Response:
    """The report page, its inline scripts allowed by hash in a sandbox of its own origin.

    The browser keeps it (privately) and asks again with its ETag: an unchanged report is a
    304 of a few bytes instead of 1.5 MB (the report inlines plotly.js to work offline).
    """
    stat = report.path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    cache = {"ETag": etag, "Cache-Control": "private, no-cache"}
    hashes = " ".join(f"'{h}'" for h in report.script_hashes)
    csp = "; ".join([
        "default-src 'none'", f"script-src {hashes}" if hashes else "script-src 'none'",
        "style-src 'unsafe-inline'", "img-src data: blob:", "font-src data:",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'self'",
        "sandbox allow-scripts allow-downloads allow-popups"])
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=cache)
    return FileResponse(report.path, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": csp,
                                 "X-Frame-Options": "SAMEORIGIN", **cache})


@router.get("/reports/latest")
def latest_report_page(*, request: Request, principal: Anyone) -> Response:
    """The newest analysis report of the workspace (``outsidein analyze`` writes it)."""
    return _report_response(request, latest_report(request.app.state.ws))


@router.get("/reports/{name}")
def report_page(*, request: Request, name: str, principal: Anyone) -> Response:
    """One report of the workspace's ``reports/`` folder, by file name."""
    return _report_response(request, report_by_name(request.app.state.ws, name))


@router.get("/insights/{insight_id}/status", response_class=HTMLResponse)
def advocate_page(*, request: Request, insight_id: PathId,
                  principal: StaffOnly,
                  session: Store) -> HTMLResponse:
    return render(request, "advocate.html", principal, flash=request.session.pop(FLASH, None),
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

