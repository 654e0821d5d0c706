"""Logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outsidein.errors import AuthenticationError
from outsidein.services.accounts import authenticate, record_failed_login
from outsidein.store.db import session_scope
from outsidein.web.auth import Anyone, session_user
from outsidein.web.security import check_csrf, rotate_csrf
from outsidein.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would be an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(*, request: Request, next: str = "/") -> Response:
    if session_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(*, request: Request, email: Annotated[str, Form()],
                password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    await check_csrf(request)
    try:
        with session_scope(request.app.state.store_url) as s:
            user = authenticate(s, email, password)
    except AuthenticationError as exc:
        with session_scope(request.app.state.store_url) as s:
            record_failed_login(s, email, client=request.client.host if request.client else "")
        return render(request, "login.html", None, status_code=401, next=_safe_next(next),
                      error=str(exc), email=email)
    request.session.clear()
    request.session["uid"] = user.id
    rotate_csrf(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(*, request: Request, _: Anyone) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
