"""Pages of the accountability loop: the ALLA board, the needs register and the alignment review."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from outsidein.errors import MissingDataError
from outsidein.web.auth import Anyone
from outsidein.web.routes._common import Store, render

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
    return render(request, "alla.html", principal, board=board, missing=missing)


@router.get("/needs", response_class=HTMLResponse)
def needs_page(*, request: Request, principal: Anyone,
               session: Store) -> HTMLResponse:
    needs, missing = _call("ranked_needs", session)
    return render(request, "needs.html", principal, needs=needs, missing=missing)


@router.get("/alignment", response_class=HTMLResponse)
def alignment_page(*, request: Request, top: int = 10, principal: Anyone,
                   session: Store) -> HTMLResponse:
    review, missing = _call("alignment_review", session, top=top)
    return render(request, "alignment.html", principal, review=review, missing=missing,
                  top=top)


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
