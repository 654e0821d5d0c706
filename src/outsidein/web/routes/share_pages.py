"""Pages of the accountability loop: the ALLA board, the needs register and the alignment review."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outsidein.errors import DataValidationError
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
from outsidein.web.auth import ACKERS, STAFF, AckersOnly, Anyone, StaffOnly
from outsidein.web.routes._common import FormId, PathId, Store
from outsidein.web.templating import render

#: How many needs the alignment review ranks.
Top = Annotated[int, Query(ge=1, le=100)]

router = APIRouter(include_in_schema=False)


@router.get("/alla", response_class=HTMLResponse)
def alla_page(*, request: Request, principal: Anyone,
              session: Store) -> HTMLResponse:
    insights = list_insights(session) if principal.role in ACKERS else []
    return render(request, "alla.html", principal, board=alla_board(session),
                  can_act=principal.role in ACKERS, can_ask=principal.role in STAFF,
                  insights=insights,
                  departments=list_departments(session), today=date.today().isoformat())


@router.get("/needs", response_class=HTMLResponse)
def needs_page(*, request: Request, principal: Anyone,
               session: Store) -> HTMLResponse:
    return render(request, "needs.html", principal, needs=ranked_needs(session),
                  can_edit=principal.role in STAFF)


@router.get("/alignment", response_class=HTMLResponse)
def alignment_page(*, request: Request, top: Top = 10, principal: Anyone,
                   session: Store) -> HTMLResponse:
    return render(request, "alignment.html", principal, review=alignment_review(session, top=top),
                  top=top, can_edit=principal.role in STAFF)


@router.get("/alignment/export.html")
def alignment_export_html(*, top: Top = 10, principal: Anyone,
                          session: Store) -> Response:
    review = alignment_review(session, top=top)
    return Response(review.to_html(), media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="alignment-review.html"'})


@router.get("/alignment/export.pdf")
def alignment_export_pdf(*, top: Top = 10, principal: Anyone,
                         session: Store) -> Response:
    review = alignment_review(session, top=top)
    with tempfile.TemporaryDirectory(prefix="outsidein-alignment-") as tmp:
        path = Path(tmp) / "alignment-review.pdf"
        review.to_pdf(path)
        pdf = path.read_bytes()
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="alignment-review.pdf"'})


# -- recording: needs, plan/message/training items, actions and outcomes ----------------------
@router.post("/needs")
def add_need_form(*, title: Annotated[str, Form()], importance: Annotated[float, Form()],
                  satisfaction: Annotated[float, Form()], description: Annotated[str, Form()] = "",
                  principal: StaffOnly, session: Store) -> Response:
    add_need(session, title=title, importance=importance, satisfaction=satisfaction,
             description=description)
    return RedirectResponse("/needs", status_code=303)


@router.post("/alignment/items")
def add_item_form(*, kind: Annotated[str, Form()], title: Annotated[str, Form()],
                  needs: Annotated[str, Form()] = "", owner: Annotated[str, Form()] = "",
                  principal: StaffOnly, session: Store) -> Response:
    add_item(session, kind=kind, title=title, owner=owner, needs=needs)
    return RedirectResponse("/alignment", status_code=303)


MAX_UPLOAD = 2_000_000  # bytes; a plan/message/training list is a few kB


@router.post("/alignment/import")
async def import_items_form(*, file: UploadFile, principal: StaffOnly,
                            session: Store) -> Response:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise DataValidationError(f"{file.filename}: larger than {MAX_UPLOAD:,} bytes; "
                                  "split the CSV or use 'outsidein alignment import'")
    with tempfile.TemporaryDirectory(prefix="outsidein-import-") as tmp:
        path = Path(tmp) / "items.csv"
        path.write_bytes(data)
        import_items_csv(session, path)
    return RedirectResponse("/alignment", status_code=303)


@router.post("/alla/questions")
def ask_form(*, text: Annotated[str, Form()], audience: Annotated[str, Form()] = "",
             channel: Annotated[str, Form()] = "", principal: StaffOnly,
             session: Store) -> Response:
    ask(session, text=text, audience=audience, channel=channel,
        asked_by_email=principal.user.email if principal.user else None)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/heard")
def listen_form(*, question_id: PathId, summary: Annotated[str, Form()],
                source: Annotated[str, Form()] = "", principal: StaffOnly,
                session: Store) -> Response:
    listen(session, question_id=question_id, summary=summary, source=source)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/learned")
def learn_form(*, question_id: PathId, insight_id: FormId,
               note: Annotated[str, Form()] = "", principal: StaffOnly,
               session: Store) -> Response:
    learn(session, question_id=question_id, insight_id=insight_id, note=note)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions")
def act_form(*, insight_id: FormId, title: Annotated[str, Form()],
             department: Annotated[str, Form()], due: Annotated[str, Form()],
             kpi: Annotated[str, Form()], kpi_baseline: Annotated[float, Form()],
             kpi_target: Annotated[float, Form()], principal: AckersOnly,
             session: Store) -> Response:
    act(session, insight_id=insight_id, title=title, owner_email=principal.person.email,
        department=department, due=due, kpi=kpi, kpi_baseline=kpi_baseline,
        kpi_target=kpi_target)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions/{action_id}/outcome")
def outcome_form(*, action_id: PathId, kpi_value: Annotated[float, Form()],
                 measured_at: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                 principal: AckersOnly, session: Store) -> Response:
    record_outcome(session, action_id=action_id, kpi_value=kpi_value, measured_at=measured_at,
                   note=note)
    return RedirectResponse("/alla", status_code=303)
