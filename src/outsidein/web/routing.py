"""The app's route table with each route's access rule, as the tests and the docs read it.

Every route but :data:`PUBLIC_ROUTES` depends on one :class:`~outsidein.web.auth.Require`;
:func:`route_table` finds it, :func:`page_roles` gives the navigation bar who may open each
page, and :func:`with_api_security` tells Swagger UI which scope each API route needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from outsidein.web.auth import Require

#: Routes anyone may call: the login form, static files, plotly.js and the health probe.
#: Also the culture survey's pages, which respondents open from their one-time link.
PUBLIC_ROUTES = frozenset({"/login", "/healthz", "/static/plotly.js", "/survey/{token}",
                           "/api/v1/survey/{token}/draft"})


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


def _rules(dependant: Any) -> list[Require]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Require)]
    for sub in dependant.dependencies:
        found += _rules(sub)
    return found


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every HTTP route of *app* (included routers flattened) with its :class:`Require`.

    >>> app = FastAPI()
    >>> @app.get("/healthz")
    ... def healthz() -> str:
    ...     return "ok"
    >>> [(r.path, r.rule) for r in route_table(app) if r.path == "/healthz"]
    [('/healthz', None)]
    """
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue
        rules = _rules(route.dependant)
        out.append(RouteInfo(path=ctx.path or route.path, methods=frozenset(ctx.methods or ()),
                             rule=rules[0] if rules else None, name=route.name))
    return out


def page_roles(app: FastAPI) -> dict[str, tuple[str, ...]]:
    """Path of each page (a guarded GET outside the API) -> the roles that may open it."""
    return {r.path: r.rule.roles for r in route_table(app)
            if r.rule is not None and not r.api and "GET" in r.methods}


def with_api_security(doc: dict[str, Any], routes: list[RouteInfo]) -> dict[str, Any]:
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
