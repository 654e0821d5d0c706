"""What the app serves besides pages and the API: plotly.js, the API docs and a health probe.

Everything the browser loads comes from this server (htmx, Swagger UI and plotly.js), so the
app and ``/docs`` work without a network.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from plotly.offline import get_plotlyjs

from outsidein.web.auth import Anyone
from outsidein.web.routing import route_table, with_api_security

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    return get_plotlyjs().encode("utf-8")


@router.get("/static/plotly.js")
def plotly_js() -> Response:
    return Response(_plotly_js(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs")
def docs(request: Request, _: Anyone) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="Outside-In API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg")
    nonce = request.state.csp_nonce
    body = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(body)


@router.get("/openapi.json")
def openapi(request: Request, _: Anyone) -> JSONResponse:
    app = request.app
    return JSONResponse(with_api_security(app.openapi(), route_table(app)))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    # On the event loop, not in the thread pool: it answers even when every thread is busy.
    return {"status": "ok"}
