"""Pages of the accountability loop: the ALLA board, the needs register and the alignment review.

Every form here answers a user error with its page again: what was typed stays in the form and
the problem is shown beside its field, with the error's status (422, 404, 409); see
:mod:`outsidein.web.forms`.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.errors import ConfigError, DataValidationError
from outsidein.services.accounts import list_departments
from outsidein.services.share import (
    act,
    add_item,
    add_need,
    alignment_review,
    alla_board,
    ask,
    import_items_csv,
    learn,
    list_insights,
    listen,
    ranked_needs,
    record_outcome,
)
from outsidein.web.auth import ACKERS, STAFF, AckersOnly, Anyone, Principal, StaffOnly
from outsidein.web.forms import FormState, Rules, attempt, number
from outsidein.web.routes._common import FormId, PathId, QueryId, Store
from outsidein.web.templating import render

#: How many needs the alignment review ranks.
Top = Annotated[int, Query(ge=1, le=100)]
#: A line of text typed in a form.
Line = Annotated[str, Form(max_length=500)]
#: A longer text typed in a form.
Text = Annotated[str, Form(max_length=20_000)]

router = APIRouter(include_in_schema=False)

NEED_RULES: Rules = (("need: a title", "title"), ("importance", "importance"),
                     ("satisfaction", "satisfaction"), ("need", "code"))
ITEM_RULES: Rules = (("kind", "kind"), ("title", "title"), ("need", "needs"),
                     ("coverage", "needs"))
ACTION_RULES: Rules = (("action:", "title"), ("due", "due"), ("KPI baseline", "kpi_baseline"),
                       ("KPI target", "kpi_target"), ("department", "department"),
                       ("insight", "insight_id"), ("user", "title"))
OUTCOME_RULES: Rules = (("KPI measured", "kpi_value"), ("measured", "measured_at"))


def _alla(request: Request, principal: Principal, session: Session, *,
          form: FormState | None = None, insight: int | None = None) -> HTMLResponse:
    insights = list_insights(session) if principal.role in ACKERS else []
    return render(request, "alla.html", principal, status_code=form.status if form else 200,
                  board=alla_board(session), form=form,
                  can_act=principal.role in ACKERS, can_ask=principal.role in STAFF,
                  insights=insights, chosen_insight=insight,
                  departments=list_departments(session), today=date.today().isoformat())


def _needs(request: Request, principal: Principal, session: Session, *,
           form: FormState | None = None) -> HTMLResponse:
    return render(request, "needs.html", principal, status_code=form.status if form else 200,
                  needs=ranked_needs(session), form=form, can_edit=principal.role in STAFF)


def _alignment(request: Request, principal: Principal, session: Session, *, top: int = 10,
               form: FormState | None = None, pdf_error: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    return render(request, "alignment.html", principal,
                  status_code=form.status if form else status_code,
                  review=alignment_review(session, top=top), top=top, form=form,
                  pdf_error=pdf_error, can_edit=principal.role in STAFF)


@router.get("/alla", response_class=HTMLResponse)
def alla_page(*, request: Request, insight: QueryId = None, principal: Anyone,
              session: Store) -> HTMLResponse:
    """The board; ``?insight=ID`` opens "log an action" on that insight."""
    return _alla(request, principal, session, insight=insight)


@router.get("/needs", response_class=HTMLResponse)
def needs_page(*, request: Request, principal: Anyone,
               session: Store) -> HTMLResponse:
    return _needs(request, principal, session)


@router.get("/alignment", response_class=HTMLResponse)
def alignment_page(*, request: Request, top: Top = 10, principal: Anyone,
                   session: Store) -> HTMLResponse:
    return _alignment(request, principal, session, top=top)


@router.get("/alignment/export.html")
def alignment_export_html(*, top: Top = 10, principal: Anyone,
                          session: Store) -> Response:
    review = alignment_review(session, top=top)
    return Response(review.to_html(), media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="alignment-review.html"'})


@router.get("/alignment/export.pdf")
def alignment_export_pdf(*, request: Request, top: Top = 10, principal: Anyone,
                         session: Store) -> Response:
    """The review as PDF; without Chromium, the page again saying how to install it (503)."""
    review = alignment_review(session, top=top)
    with tempfile.TemporaryDirectory(prefix="outsidein-alignment-") as tmp:
        path = Path(tmp) / "alignment-review.pdf"
        try:
            review.to_pdf(path)
        except ConfigError as exc:
            return _alignment(request, principal, session, top=top, pdf_error=str(exc),
                              status_code=503)
        pdf = path.read_bytes()
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="alignment-review.pdf"'})


# -- recording: needs, plan/message/training items, actions and outcomes ----------------------
@router.post("/needs", response_class=HTMLResponse)
def add_need_form(*, request: Request, title: Line = "", importance: Line = "",
                  satisfaction: Line = "", description: Text = "", code: Line = "",
                  principal: StaffOnly, session: Store) -> Response:
    state = FormState("add-need", {"title": title, "importance": importance, "code": code,
                                   "satisfaction": satisfaction, "description": description})
    failed = attempt(session, state, lambda: add_need(
        session, title=title, code=code or None, description=description,
        importance=number(importance, "importance", "a number from 0 to 10"),
        satisfaction=number(satisfaction, "satisfaction", "a number from 0 to 10")),
        NEED_RULES, "title")
    if failed:
        return _needs(request, principal, session, form=failed)
    return RedirectResponse("/needs", status_code=303)


@router.post("/alignment/items", response_class=HTMLResponse)
def add_item_form(*, request: Request, kind: Line = "", title: Line = "", needs: Line = "",
                  owner: Line = "", principal: StaffOnly, session: Store) -> Response:
    state = FormState("add-item", {"kind": kind, "title": title, "needs": needs, "owner": owner})
    failed = attempt(session, state, lambda: add_item(
        session, kind=kind, title=title, owner=owner, needs=needs), ITEM_RULES, "title")
    if failed:
        return _alignment(request, principal, session, form=failed)
    return RedirectResponse("/alignment", status_code=303)


MAX_UPLOAD = 2_000_000  # bytes; a plan/message/training list is a few kB


def _import(session: Session, data: bytes, filename: str | None) -> None:
    if len(data) > MAX_UPLOAD:
        raise DataValidationError(f"{filename}: larger than {MAX_UPLOAD:,} bytes; "
                                  "split the CSV or use 'outsidein alignment import'")
    with tempfile.TemporaryDirectory(prefix="outsidein-import-") as tmp:
        path = Path(tmp) / (Path(filename or "items.csv").name or "items.csv")
        path.write_bytes(data)
        import_items_csv(session, path)


@router.post("/alignment/import", response_class=HTMLResponse)
async def import_items_form(*, request: Request, file: UploadFile, principal: StaffOnly,
                            session: Store) -> Response:
    data = await file.read(MAX_UPLOAD + 1)
    state = FormState("import-items", {"file": file.filename or ""})
    failed = attempt(session, state, lambda: _import(session, data, file.filename), (), "file")
    if failed:
        return _alignment(request, principal, session, form=failed)
    return RedirectResponse("/alignment", status_code=303)


@router.post("/alla/questions", response_class=HTMLResponse)
def ask_form(*, request: Request, text: Line = "", audience: Line = "", channel: Line = "",
             principal: StaffOnly, session: Store) -> Response:
    state = FormState("add-question", {"text": text, "audience": audience, "channel": channel})
    failed = attempt(session, state, lambda: ask(
        session, text=text, audience=audience, channel=channel,
        asked_by_email=principal.user.email if principal.user else None), (), "text")
    if failed:
        return _alla(request, principal, session, form=failed)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/heard", response_class=HTMLResponse)
def listen_form(*, request: Request, question_id: PathId, summary: Text = "",
                source: Line = "", principal: StaffOnly, session: Store) -> Response:
    state = FormState(f"heard-{question_id}", {"summary": summary, "source": source})
    failed = attempt(session, state, lambda: listen(
        session, question_id=question_id, summary=summary, source=source), (), "summary")
    if failed:
        return _alla(request, principal, session, form=failed)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/learned", response_class=HTMLResponse)
def learn_form(*, request: Request, question_id: PathId, insight_id: FormId,
               note: Line = "", principal: StaffOnly, session: Store) -> Response:
    state = FormState(f"learned-{question_id}", {"insight_id": insight_id, "note": note})
    failed = attempt(session, state, lambda: learn(
        session, question_id=question_id, insight_id=insight_id, note=note), (), "insight_id")
    if failed:
        return _alla(request, principal, session, form=failed)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions", response_class=HTMLResponse)
def act_form(*, request: Request, insight_id: FormId, title: Line = "", department: Line = "",
             due: Line = "", kpi: Line = "", kpi_baseline: Line = "", kpi_target: Line = "",
             principal: AckersOnly, session: Store) -> Response:
    state = FormState("add-action", {"insight_id": insight_id, "title": title, "kpi": kpi,
                                     "department": department, "due": due,
                                     "kpi_baseline": kpi_baseline, "kpi_target": kpi_target})
    failed = attempt(session, state, lambda: act(
        session, insight_id=insight_id, title=title, owner_email=principal.person.email,
        department=department, due=due, kpi=kpi,
        kpi_baseline=number(kpi_baseline, "KPI baseline"),
        kpi_target=number(kpi_target, "KPI target")), ACTION_RULES, "title")
    if failed:
        return _alla(request, principal, session, form=failed, insight=insight_id)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions/{action_id}/outcome", response_class=HTMLResponse)
def outcome_form(*, request: Request, action_id: PathId, kpi_value: Line = "",
                 measured_at: Line = "", note: Line = "", principal: AckersOnly,
                 session: Store) -> Response:
    state = FormState(f"outcome-{action_id}", {"kpi_value": kpi_value,
                                               "measured_at": measured_at, "note": note})
    failed = attempt(session, state, lambda: record_outcome(
        session, action_id=action_id, kpi_value=number(kpi_value, "KPI measured"),
        measured_at=measured_at, note=note), OUTCOME_RULES, "kpi_value")
    if failed:
        return _alla(request, principal, session, form=failed)
    return RedirectResponse("/alla", status_code=303)
