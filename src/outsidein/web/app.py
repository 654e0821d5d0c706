"""The web app: server-rendered pages, the JSON API under ``/api/v1`` and offline API docs.

>>> from outsidein.web.app import create_app
>>> app = create_app(Path("acme"))          # doctest: +SKIP
>>> # uvicorn.run(app)  -- or: outsidein --workspace acme serve

Everything the browser loads comes from this server (htmx, Swagger UI and
plotly.js are served locally), so the app and ``/docs`` work without a network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from outsidein.web import problems
from outsidein.web.auth import Anyone, Require
from outsidein.web.nav import install_plugins
from outsidein.web.security import SecurityHeadersMiddleware, session_secret
from outsidein.workspace import Workspace

HERE = Path(__file__).parent
SESSION_COOKIE = "outsidein_session"
SESSION_MAX_AGE = 12 * 3600


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


def _with_security(doc: dict[str, Any], routes: list[RouteInfo]) -> dict[str, Any]:
    """Declare bearer API keys (and each route's scope) so Swagger UI offers 'Authorize'."""
    scopes = {(r.path, m.lower()): r.rule.scope for r in routes if r.rule is not None
              for m in r.methods}
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http", "scheme": "bearer",
        "description": "an API key from 'outsidein apikey create' or the admin page"}
    for path, ops in doc.get("paths", {}).items():
        if path.startswith("/api/"):
            for method, op in ops.items():
                op.setdefault("security", [{"apiKey": []}])
                scope = scopes.get((path, method))
                if scope and "Needs scope" not in op.get("description", ""):
                    op["description"] = (op.get("description", "") +
                                         f"\n\nNeeds scope `{scope}`.").strip()
    return doc


def create_app(ws_root: Path) -> FastAPI:
    """The FastAPI app for the workspace at *ws_root* (which must exist)."""
    ws = Workspace.open(ws_root)
    app = FastAPI(
        title="Outside-In API",
        version="1",
        description="Shared customer truth: insights, acknowledgements, needs, alignment, "
                    "the five answers and customer value. Authenticate with "
                    "`Authorization: Bearer <API key>` (`outsidein apikey create`). Errors are "
                    "RFC 9457 problem+json.",
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.state.ws = ws
    app.state.store_url = ws.store_url
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    problems.install(app)

    # Order: the last added runs first, so headers wrap everything, sessions wrap routes,
    # and unexpected errors are answered inside the session (the error page needs it).
    app.add_middleware(problems.CatchAllMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(ws.root),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE,
                       same_site="lax", https_only=os.environ.get("OUTSIDEIN_HTTPS") == "1")
    app.add_middleware(SecurityHeadersMiddleware)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/static/plotly.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, _: Anyone) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json", title="Outside-In API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg")
        nonce = request.state.csp_nonce
        body = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(body)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: Anyone) -> JSONResponse:
        return JSONResponse(_with_security(app.openapi(), route_table(app)))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from outsidein.web.routes import admin, api, insights, login, pages, share_pages

    for module in (login, pages, insights, share_pages, admin, api):
        app.include_router(module.router)
    install_plugins(app)
    # The route table is built: the ``/`` static mount must come after routes it would shadow.
    app.router.routes.sort(key=lambda r: 1 if getattr(r, "path", "") == "/static" else 0)
    return app


@dataclass(frozen=True)
class RouteInfo:
    """One route of the app with its access rule (None for the public ones)."""

    path: str
    methods: frozenset[str]
    rule: Require | None
    name: str

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


#: Routes anyone may call: the login form, static files, plotly.js and the health probe.
PUBLIC_ROUTES = frozenset({"/login", "/healthz", "/static/plotly.js"})


def _rules(dependant: Any) -> list[Require]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Require)]
    for sub in dependant.dependencies:
        found += _rules(sub)
    return found


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every HTTP route of *app* (included routers flattened) with its :class:`Require`."""
    from fastapi.routing import APIRoute, iter_route_contexts

    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue
        rules = _rules(route.dependant)
        out.append(RouteInfo(path=ctx.path or route.path, methods=frozenset(ctx.methods or ()),
                             rule=rules[0] if rules else None, name=route.name))
    return out


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers); workspace: $OUTSIDEIN_WORKSPACE."""
    return create_app(Path(os.environ.get("OUTSIDEIN_WORKSPACE", ".")))
