"""The admin page: people, departments and API keys (admins only).

A form that fails comes back with what was typed (never a password) and the problem beside its
field (:mod:`outsidein.web.forms`), with the error's status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from outsidein.access import ROLES, SCOPES
from outsidein.errors import OutsideInError
from outsidein.services import accounts
from outsidein.web.auth import AdminOnly, Principal
from outsidein.web.forms import FormState, Rules
from outsidein.web.routes._common import PathId, Store
from outsidein.web.templating import render

router = APIRouter(include_in_schema=False)

USER_RULES: Rules = (("e-mail", "email"), ("user", "email"), ("role", "role"),
                     ("password", "password"), ("department", "departments"))
DEPARTMENT_RULES: Rules = (("department", "name"),)
KEY_RULES: Rules = (("API key scope", "scopes"), ("API key", "scopes"))


def _page(request: Request, principal: Principal, session: Session, *, status_code: int = 200,
          message: str | None = None, error: str | None = None,
          new_secret: str | None = None, form: FormState | None = None) -> HTMLResponse:
    return render(request, "admin.html", principal, status_code=status_code,
                  users=accounts.list_users(session),
                  departments=accounts.list_departments(session),
                  keys=accounts.list_api_keys(session), roles=ROLES, scopes=SCOPES,
                  message=message, error=error, new_secret=new_secret, form=form)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(*, request: Request, principal: AdminOnly,
               session: Store) -> HTMLResponse:
    return _page(request, principal, session)


def _attempt(request: Request, principal: Principal, session: Session, action: str,
             fn: Callable[[], object], form: FormState | None = None, rules: Rules = (),
             default: str = "") -> HTMLResponse:
    """Run *fn*; on a user error show the page again (status of the error) instead of failing:
    with *form*, the values typed and the message beside its field."""
    try:
        result = fn()
    except OutsideInError as exc:
        if exc.http_status >= 500:
            raise
        session.rollback()
        failed = form.failed(str(exc), exc.http_status, rules, default) if form else None
        return _page(request, principal, session, status_code=exc.http_status,
                     error=None if failed else str(exc), form=failed)
    if isinstance(result, tuple):  # (ApiKeyInfo, secret)
        return _page(request, principal, session, message=action, new_secret=result[1])
    return _page(request, principal, session, message=action)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(*, request: Request, email: Annotated[str, Form()], name: Annotated[str, Form()],
             password: Annotated[str, Form()], role: Annotated[str, Form()],
             departments: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
             principal: AdminOnly,
             session: Store) -> HTMLResponse:
    form = FormState("add-user", {"email": email, "name": name, "role": role,
                                  "departments": list(departments)})
    return _attempt(request, principal, session, f"added {email}", lambda: accounts.create_user(
        session, email=email, name=name, password=password, role=role, departments=departments,
        actor=principal.name), form, USER_RULES, "email")


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(*, request: Request, user_id: PathId, role: Annotated[str, Form()],
                active: Annotated[bool, Form()] = False,
                departments: Annotated[list[str], Form()] = [],  # noqa: B006 - form default
                principal: AdminOnly, session: Store) -> HTMLResponse:
    email = accounts.get_user(session, user_id).email
    if user_id == principal.user_id and (role != "admin" or not active):
        return _page(request, principal, session, status_code=409,
                     error="you cannot remove your own admin role or deactivate yourself")
    return _attempt(request, principal, session, f"updated {email}", lambda: accounts.update_user(
        session, email, role=role, departments=departments, active=active, actor=principal.name))


@router.post("/admin/departments", response_class=HTMLResponse)
def add_department(*, request: Request, name: Annotated[str, Form()],
                   principal: AdminOnly,
                   session: Store) -> HTMLResponse:
    return _attempt(request, principal, session, f"added department {name}",
                    lambda: accounts.create_department(session, name, actor=principal.name),
                    FormState("add-department", {"name": name}), DEPARTMENT_RULES, "name")


@router.post("/admin/apikeys", response_class=HTMLResponse)
def add_api_key(*, request: Request, name: Annotated[str, Form()],
                scopes: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
                principal: AdminOnly,
                session: Store) -> HTMLResponse:
    return _attempt(request, principal, session, f"created API key {name}",
                    lambda: accounts.create_api_key(session, name=name, scopes=scopes,
                                                    actor=principal.name),
                    FormState("add-key", {"name": name, "scopes": list(scopes)}), KEY_RULES,
                    "name")


@router.post("/admin/apikeys/{prefix}/revoke")
def revoke_api_key(*, request: Request, prefix: str, principal: AdminOnly,
                   session: Store) -> Response:
    accounts.revoke_api_key(session, prefix, actor=principal.name)
    return RedirectResponse("/admin", status_code=303)
