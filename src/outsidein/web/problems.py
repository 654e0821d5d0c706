"""Errors to responses: RFC 9457 problem+json for the API, friendly pages for people.

Every error an adapter can meet ends here: the exception tree of
:mod:`outsidein.errors` (each with its ``http_status``), Starlette's HTTP
errors, request validation errors and anything unexpected (500, no traceback).
A person who is not logged in is sent to the login page instead of a 401.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from outsidein.errors import OutsideInError
from outsidein.web.templating import render

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden",
           404: "Not found", 405: "Method not allowed", 409: "Conflict",
           413: "Content too large", 422: "Invalid request", 429: "Too many requests",
           500: "Internal server error", 503: "Busy, try again shortly"}


PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "RFC 9457 problem details",
    "content": {PROBLEM_JSON: {"schema": {
        "type": "object",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "instance": {"type": "string"}},
        "required": ["type", "title", "status"],
    }}},
}
#: Error answers every API route documents.
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: PROBLEM_SCHEMA, 401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA, 404: PROBLEM_SCHEMA,
    409: PROBLEM_SCHEMA, 413: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA, 503: PROBLEM_SCHEMA,
}


#: Where Segment's libraries post: the Segment source, and ``/v1/...`` at the root (a library
#: given ``host=<server>`` without the source's path)
SEGMENT_PATHS = ("/api/v1/sources/segment", "/v1/")
#: Segment's error ``code`` by status: its libraries raise ``APIError(status, body["code"],
#: body["message"])`` and log "Unknown error" (the reason only) when either is missing
_SEGMENT_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden",
                  404: "not_found", 405: "method_not_allowed", 409: "conflict",
                  413: "payload_too_large", 415: "unsupported_media_type",
                  422: "invalid_request", 429: "rate_limited", 500: "server_error",
                  503: "unavailable"}


def is_api(request: Request) -> bool:
    """The request is the API's (answered in problem+json): ``/api/``, and ``/v1/``, where
    only a Segment library sent to the wrong host posts."""
    return request.url.path.startswith(("/api/", "/v1/"))


def problem(status: int, detail: str, *, request: Request | None = None, title: str | None = None,
            type_: str = "about:blank", extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_, "title": title or _TITLES.get(status, "Error"),
                            "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        if request.url.path.startswith(SEGMENT_PATHS):  # also in the shape Segment's use
            body.update(code=_SEGMENT_CODES.get(status, "error"), message=detail)
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _error_page(request: Request, status: int, title: str, detail: str,
                headers: dict[str, str] | None = None) -> Response:
    principal = getattr(request.state, "principal", None)
    page = render(request, "error.html", principal, status_code=status,
                  status=status, title=title, detail=detail)
    page.headers.update(headers or {})
    return page


def _respond(request: Request, status: int, title: str, detail: str,
             headers: dict[str, str] | None = None) -> Response:
    if is_api(request):
        if status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="outsidein"'}
        return problem(status, detail, request=request, title=title, headers=headers)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _error_page(request, status, title, detail, headers)


#: Where FastAPI says a bad value was; ``field`` leaves it out, as the events API does.
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def field_error(field: str, problem_text: str, *, loc: list[Any] | None = None
                ) -> dict[str, Any]:
    """One entry of a 422 problem's ``errors``: the one shape every 422 of the API uses.

    ``field`` and ``problem`` are what the README and the events API name (a batch's
    rejected event has the same entries).  ``loc`` and ``msg`` repeat them as FastAPI's
    validation errors had them, so a client written against those keeps working.

    >>> e = field_error("title", "too long", loc=["body", "title"])
    >>> e["field"], e["problem"], e["loc"], e["msg"]
    ('title', 'too long', ['body', 'title'], 'too long')
    """
    return {"field": field, "problem": problem_text,
            "loc": list(loc) if loc is not None else field.split("."), "msg": problem_text}


def message_errors(message: str) -> list[dict[str, Any]]:
    """The ``errors`` of a 422 raised as :class:`~outsidein.errors.DataValidationError`.

    Its message names the field first, by the house rule (``"customer_id: a customer id is
    one line of text"``, ``"due_days 'x': expected a whole number"``): the words before the
    first ``": "``, up to the first space, are the field; a message that does not start so
    is about the whole request (``"(request)"``).

    >>> [(e["field"], e["problem"]) for e in message_errors("due_days 'x': expected a number")]
    [('due_days', "due_days 'x': expected a number")]
    >>> message_errors("evidence holds nan; store missing figures as null")[0]["field"]
    '(request)'
    """
    head, sep, _ = message.partition(": ")
    name = head.split(" ", 1)[0] if sep and head and not head[0].isspace() else ""
    return [field_error(name or "(request)", message)]


async def outsidein_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OutsideInError)
    status = exc.http_status
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    passing = exc.retry_after is not None
    detail = str(exc) if status < 500 or passing else exc.title
    headers = {"Retry-After": str(exc.retry_after)} if passing else None
    if status == 422 and is_api(request):
        return problem(status, detail, request=request, title=exc.title, headers=headers,
                       extra={"errors": message_errors(detail)})
    return _respond(request, status, exc.title, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes (Starlette names the first route's only)."""
    methods: set[str] = set()
    for ctx in iter_route_contexts(request.app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and compile_path(ctx.path or route.path)[0].match(
                request.url.path):
            methods |= set(ctx.methods or route.methods or ())
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(status, "Error")
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    if status == 404 and request.url.path.startswith(SEGMENT_PATHS[1]):
        detail = (f"{request.url.path}: no such address; a Segment library's host is "
                  "<server>/api/v1/sources/segment (it adds /v1/batch itself)")
    return _respond(request, status, _TITLES.get(status, "Error"), detail, headers=headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        inside = loc[1:] if loc and loc[0] in _LOCATIONS and len(loc) > 1 else loc
        errors.append(field_error(".".join(str(p) for p in inside) or "(request)",
                                  e.get("msg", ""), loc=loc))
    first = errors[0] if errors else field_error("(request)", "invalid request", loc=[])
    detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    if is_api(request):
        return problem(422, detail, request=request, extra={"errors": errors})
    return _error_page(request, 422, "Invalid request", detail)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    detail = "something went wrong on our side; the error was logged"
    if is_api(request):
        return problem(500, detail, request=request)
    return _error_page(request, 500, "Internal server error", detail)


class CatchAllMiddleware:
    """Turns an unexpected exception into the 500 answer *inside* the app.

    Starlette's own last-resort handler re-raises after answering, and uvicorn then closes
    the keep-alive connection, so a client's next request on it fails; answering here keeps
    the connection usable and still logs the traceback.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:
                raise
            response = await unexpected_error(Request(scope, receive), exc)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the error handlers on *app*."""
    app.add_exception_handler(OutsideInError, outsidein_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
