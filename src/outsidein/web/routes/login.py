"""Logging in and out.

Checking a password (argon2, ~50 ms of CPU and 64 MiB) and every store access run in the
thread pool, never on the event loop.  Guessing is slowed per browser and account, never
turned into a lockout (:func:`outsidein.services.accounts.authenticate`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outsidein.errors import AuthenticationError
from outsidein.services.accounts import (
    LoginThrottledError,
    check_login,
    end_all_sessions,
    end_session,
    record_failed_login,
    record_login,
    start_session,
)
from outsidein.store.db import session_scope
from outsidein.web.auth import Anyone, session_user
from outsidein.web.security import check_csrf, device_of, rotate_csrf, set_device
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


def _attempt(url: str, email: str, password: str, client: str, device: str | None) -> str:
    """Check the password and open a session (its id); count a failure (blocking work)."""
    try:
        with session_scope(url, write=False) as s:  # argon2 runs outside the writer lock
            user, new_hash = check_login(s, email, password, client=client, device=device)
        with session_scope(url) as s:
            record_login(s, user, client=client, device=device, new_hash=new_hash)
            return start_session(s, user.id)
    except LoginThrottledError:
        raise
    except AuthenticationError:
        with session_scope(url) as s:
            record_failed_login(s, email, client=client, device=device)
        raise


@router.post("/login", response_class=HTMLResponse)
async def login(*, request: Request, email: Annotated[str, Form()],
                password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    await check_csrf(request)
    state = request.app.state
    device = device_of(request, state.secret, email)
    client = request.client.host if request.client else ""
    try:
        sid = await run_in_threadpool(_attempt, state.store_url, email, password, client, device)
    except LoginThrottledError as exc:
        page = render(request, "login.html", None, status_code=429, next=_safe_next(next),
                      error=str(exc), email=email)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except AuthenticationError as exc:
        return render(request, "login.html", None, status_code=401, next=_safe_next(next),
                      error=str(exc), email=email)
    request.session.clear()
    request.session["sid"] = sid
    rotate_csrf(request)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_device(response, state.secret, email, device, https=state.https)
    return response


@router.post("/logout")
def logout(*, request: Request, _: Anyone) -> Response:
    """End this browser's session: its cookie is refused from now on, even if replayed."""
    sid = request.session.get("sid")
    if isinstance(sid, str):
        with session_scope(request.app.state.store_url) as s:
            end_session(s, sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/logout-everywhere")
def logout_everywhere(*, request: Request, principal: Anyone) -> Response:
    """End every session of the person, on every browser (a lost laptop, a shared PC)."""
    with session_scope(request.app.state.store_url) as s:
        end_all_sessions(s, principal.person.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
