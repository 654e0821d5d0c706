"""Helpers shared by the page routers: rendering, the store session, JSON-safe values."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from outsidein.errors import MissingDataError
from outsidein.store.db import session_scope
from outsidein.web.auth import Principal
from outsidein.web.nav import items_for
from outsidein.web.security import csrf_token


def render(request: Request, template: str, principal: Principal | None,
           status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render *template* with the layout's context (user, nav, CSRF token, CSP nonce)."""
    ctx = {
        "user": principal.user if principal else None,
        "principal": principal,
        "nav": items_for(principal.role if principal else None),
        "csrf_token": csrf_token(request),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "path": request.url.path,
        **context,
    }
    return request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code)


def store(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a store session that commits when the route succeeds."""
    with session_scope(request.app.state.store_url) as session:
        yield session


#: Route parameter type: a store session committed before the response is sent.
Store = Annotated[Session, Depends(store, scope="function")]


def share(name: str) -> Any:
    """The share service module ``outsidein.share.<name>``, or a clear 409 when absent."""
    try:
        return importlib.import_module(f"outsidein.share.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("outsidein.share"):
            raise MissingDataError(
                f"the {name} service is not installed in this build (outsidein.share.{name})"
            ) from exc
        raise


def plain(value: Any) -> Any:
    """A JSON-safe copy of *value* (dataclasses via .to_dict, dates ISO, NaN -> None)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value
