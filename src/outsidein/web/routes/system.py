"""What the app serves besides pages and the API: static files, plotly.js, the API docs and a
health probe.

Everything the browser loads comes from this server (htmx, Swagger UI and plotly.js), so the
app and ``/docs`` work without a network.

Caching: a page names its static files through :func:`static_url`, which adds the file's
content hash (``/static/app.css?v=3f2a...``); such a versioned URL is cached for a year
(``immutable``), since new content gets a new URL.  An unversioned URL is revalidated on each
use (``no-cache`` plus an ``ETag``, answered 304 when unchanged).

plotly.js: ``/static/plotly.js`` is the basic bundle vendored from npm
(``static/vendor/plotly-basic.min.js``: the bar, pie and scatter traces, 1.2 MB, 0.4 MB
gzipped), not the full 4.8 MB bundle.  ``/static/plotly.js?bundle=full`` is the full bundle of
the plotly Python package, which ``static/app.js`` loads only for a figure with a trace type
the basic bundle lacks (:data:`BASIC_TRACES`).  Both are gzipped once, when first asked for.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from plotly.offline import get_plotlyjs
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from outsidein.web.auth import Anyone
from outsidein.web.routing import route_table, with_api_security

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
#: The vendored partial bundle (npm ``plotly.js-basic-dist-min``, same version as the plotly
#: Python package's full bundle).
PLOTLY_BASIC = STATIC_DIR / "vendor" / "plotly-basic.min.js"
#: Trace types the basic bundle draws (``static/app.js`` keeps the same list).
BASIC_TRACES = frozenset({"scatter", "bar", "pie"})
#: A versioned URL never changes content: cache it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
#: An unversioned URL may change with an upgrade: revalidate it (ETag, 304) on each use.
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Asset:
    """A file served from memory: its bytes, its gzipped bytes and its content hash."""

    body: bytes
    gzipped: bytes
    digest: str

    @classmethod
    def of(cls, body: bytes) -> Asset:
        """The asset holding *body*.

        >>> a = Asset.of(b"x" * 1000)
        >>> len(a.gzipped) < 100 and gzip.decompress(a.gzipped) == a.body, len(a.digest)
        (True, 16)
        """
        return cls(body, gzip.compress(body, compresslevel=9, mtime=0),
                   hashlib.sha256(body).hexdigest()[:16])

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


@lru_cache(maxsize=2)
def plotly_bundle(bundle: Literal["basic", "full"] = "basic") -> Asset:
    """The basic (vendored) or the full (plotly package) plotly.js bundle, read once."""
    if bundle == "full":
        return Asset.of(get_plotlyjs().encode("utf-8"))
    return Asset.of(PLOTLY_BASIC.read_bytes())


@lru_cache(maxsize=64)
def _file_digest(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def static_url(name: str) -> str:
    """The versioned URL of static file *name* (a page's templates call it).

    ``plotly.js`` is the bundle of :func:`plotly_bundle`; any other name is a file under
    ``web/static/``, hashed once per modification (an edited file gets a new URL at once).

    >>> static_url("app.css").startswith("/static/app.css?v=")
    True
    """
    if name == "plotly.js":
        digest = plotly_bundle().digest
    else:
        path = STATIC_DIR / name
        digest = _file_digest(path, path.stat().st_mtime_ns)
    return f"/static/{name}?v={digest}"


def _cache_control(scope: Scope) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return IMMUTABLE if query.get("v") else REVALIDATE


class CachedStaticFiles(StaticFiles):
    """Starlette's static files (ETag, Last-Modified, 304) plus a Cache-Control header:
    a year for a versioned URL (:func:`static_url`), revalidation for any other."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = _cache_control(scope)

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                MutableHeaders(scope=message)["cache-control"] = cache
            await send(message)

        await super().__call__(scope, receive, send_cached)


@router.api_route("/static/plotly.js", methods=["GET", "HEAD"])
def plotly_js(request: Request, bundle: Literal["basic", "full"] = "basic") -> Response:
    asset = plotly_bundle(bundle)
    headers = {"Cache-Control": _cache_control(request.scope), "ETag": asset.etag,
               "Vary": "Accept-Encoding"}
    sent = request.headers.get("if-none-match", "")
    if asset.etag in [tag.strip().removeprefix("W/") for tag in sent.split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        # Already compressed (once): the GZip middleware passes it through as it is.
        return Response(asset.gzipped, media_type="text/javascript",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type="text/javascript", headers=headers)


@router.get("/docs")
def docs(request: Request, _: Anyone) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="Outside-In API",
        swagger_js_url=static_url("vendor/swagger-ui-bundle.js"),
        swagger_css_url=static_url("vendor/swagger-ui.css"),
        swagger_favicon_url="/static/favicon.svg",
        # Deep links put a link inside each operation's toggle button (axe-core
        # "nested-interactive"): off, so keyboard and screen-reader users get one control.
        swagger_ui_parameters={"deepLinking": False})
    nonce = request.state.csp_nonce
    body = (bytes(page.body).decode()
            .replace("<script>", f'<script nonce="{nonce}">')
            .replace("<html>", '<html lang="en">', 1)
            .replace("</head>", f'<link rel="stylesheet" href="{static_url("docs.css")}">\n</head>',
                     1))
    return HTMLResponse(body)


@router.get("/openapi.json")
def openapi(request: Request, _: Anyone) -> JSONResponse:
    app = request.app
    return JSONResponse(with_api_security(app.openapi(), route_table(app)))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    # On the event loop, not in the thread pool: it answers even when every thread is busy.
    return {"status": "ok"}
