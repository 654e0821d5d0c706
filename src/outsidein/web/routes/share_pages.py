"""Pages of the accountability loop: the ALLA board, the needs register and the alignment review."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.services.accounts import list_departments
from outsidein.web.auth import ACKERS, STAFF, AckersOnly, Anyone, StaffOnly
from outsidein.web.routes._common import Store, render, share

router = APIRouter(include_in_schema=False)

#: Where each share service function lives (first module that has it wins).
SERVICE_MODULES = ("outsidein.share", "outsidein.share.alla", "outsidein.share.actions",
                   "outsidein.share.needs", "outsidein.share.alignment",
                   "outsidein.share.insights")


def service(name: str) -> Callable[..., Any]:
    """The share service function *name*, or :class:`MissingDataError` (409) when absent."""
    for module in SERVICE_MODULES:
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ModuleNotFoundError:
            continue
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    raise MissingDataError(f"the share service {name!r} is not available in this build yet")


def _call(name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return service(name)(*args, **kwargs), None
    except MissingDataError as exc:
        return None, str(exc)


@router.get("/alla", response_class=HTMLResponse)
def alla_page(*, request: Request, principal: Anyone,
              session: Store) -> HTMLResponse:
    board, missing = _call("alla_board", session)
    insights = share("insights").list_insights(session) if principal.role in ACKERS else []
    return render(request, "alla.html", principal, board=board, missing=missing,
                  can_act=principal.role in ACKERS, can_ask=principal.role in STAFF,
                  insights=insights,
                  departments=list_departments(session), today=date.today().isoformat())


@router.get("/needs", response_class=HTMLResponse)
def needs_page(*, request: Request, principal: Anyone,
               session: Store) -> HTMLResponse:
    needs, missing = _call("ranked_needs", session)
    return render(request, "needs.html", principal, needs=needs, missing=missing,
                  can_edit=principal.role in STAFF)


@router.get("/alignment", response_class=HTMLResponse)
def alignment_page(*, request: Request, top: int = 10, principal: Anyone,
                   session: Store) -> HTMLResponse:
    review, missing = _call("alignment_review", session, top=top)
    return render(request, "alignment.html", principal, review=review, missing=missing,
                  top=top, can_edit=principal.role in STAFF)


@router.get("/alignment/export.html")
def alignment_export_html(*, top: int = 10, principal: Anyone,
                          session: Store) -> Response:
    review = service("alignment_review")(session, top=top)
    return Response(review.to_html(), media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="alignment-review.html"'})


@router.get("/alignment/export.pdf")
def alignment_export_pdf(*, top: int = 10, principal: Anyone,
                         session: Store) -> Response:
    review = service("alignment_review")(session, top=top)
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
    service("add_need")(session, title=title, importance=importance, satisfaction=satisfaction,
                        description=description)
    return RedirectResponse("/needs", status_code=303)


@router.post("/alignment/items")
def add_item_form(*, kind: Annotated[str, Form()], title: Annotated[str, Form()],
                  needs: Annotated[str, Form()] = "", owner: Annotated[str, Form()] = "",
                  principal: StaffOnly, session: Store) -> Response:
    service("add_item")(session, kind=kind, title=title, owner=owner, needs=needs)
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
        service("import_items_csv")(session, path)
    return RedirectResponse("/alignment", status_code=303)


@router.post("/alla/questions")
def ask_form(*, text: Annotated[str, Form()], audience: Annotated[str, Form()] = "",
             channel: Annotated[str, Form()] = "", principal: StaffOnly,
             session: Store) -> Response:
    service("ask")(session, text=text, audience=audience, channel=channel,
                   asked_by_email=principal.user.email if principal.user else None)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/heard")
def listen_form(*, question_id: int, summary: Annotated[str, Form()],
                source: Annotated[str, Form()] = "", principal: StaffOnly,
                session: Store) -> Response:
    service("listen")(session, question_id=question_id, summary=summary, source=source)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/questions/{question_id}/learned")
def learn_form(*, question_id: int, insight_id: Annotated[int, Form()],
               note: Annotated[str, Form()] = "", principal: StaffOnly,
               session: Store) -> Response:
    service("learn")(session, question_id=question_id, insight_id=insight_id, note=note)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions")
def act_form(*, insight_id: Annotated[int, Form()], title: Annotated[str, Form()],
             department: Annotated[str, Form()], due: Annotated[str, Form()],
             kpi: Annotated[str, Form()], kpi_baseline: Annotated[float, Form()],
             kpi_target: Annotated[float, Form()], principal: AckersOnly,
             session: Store) -> Response:
    assert principal.user is not None
    service("act")(session, insight_id=insight_id, title=title, owner_email=principal.user.email,
                   department=department, due=due, kpi=kpi, kpi_baseline=kpi_baseline,
                   kpi_target=kpi_target)
    return RedirectResponse("/alla", status_code=303)


@router.post("/alla/actions/{action_id}/outcome")
def outcome_form(*, action_id: int, kpi_value: Annotated[float, Form()],
                 measured_at: Annotated[str, Form()], note: Annotated[str, Form()] = "",
                 principal: AckersOnly, session: Store) -> Response:
    service("record_outcome")(session, action_id=action_id, kpi_value=kpi_value,
                              measured_at=measured_at, note=note)
    return RedirectResponse("/alla", status_code=303)
