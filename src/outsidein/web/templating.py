"""Rendering a page: the Jinja template plus what every page's layout needs.

Shared by the page routers and the error pages of :mod:`outsidein.web.problems`, so it
imports no router.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from outsidein.web.auth import Principal
from outsidein.web.nav import items_for
from outsidein.web.security import csrf_token


def render(request: Request, template: str, principal: Principal | None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render *template* with the layout's context (user, nav, CSRF token, CSP nonce).

    The navigation shows the entries *principal* may open (the access rules of the
    app's pages, :attr:`app.state.page_roles <outsidein.web.app.create_app>`).
    """
    role = principal.role if principal else None
    ctx = {
        "user": principal.user if principal else None,
        "principal": principal,
        "nav": items_for(role, request.app.state.page_roles),
        "csrf_token": csrf_token(request),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "path": request.url.path,
        **context,
    }
    return request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code)
