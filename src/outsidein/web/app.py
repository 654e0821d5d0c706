"""The web app: server-rendered pages, the JSON API under ``/api/v1`` and offline API docs.

>>> from outsidein.web.app import create_app
>>> app = create_app(Path("acme"))          # doctest: +SKIP
>>> # uvicorn.run(app)  -- or: outsidein --workspace acme serve

A new capability's pages join through :data:`ROUTERS` and :data:`outsidein.web.nav.NAV`
(see :mod:`outsidein.web.nav`).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from outsidein.config import Settings
from outsidein.web import problems
from outsidein.web.labels import install as install_labels
from outsidein.web.limits import API_BODY_LIMIT, BodyLimitMiddleware
from outsidein.web.nav import check_nav
from outsidein.web.routes import (
    admin,
    api,
    culture,
    culture_admin,
    culture_survey,
    customers,
    insights,
    journey,
    login,
    market,
    market_context,
    market_watch,
    outbox,
    pages,
    segment,
    sense,
    sense_pages,
    share_pages,
    system,
)
from outsidein.web.routes import tables as table_routes
from outsidein.web.routing import page_roles
from outsidein.web.security import SecurityHeadersMiddleware, session_secret
from outsidein.workspace import Workspace

HERE = Path(__file__).parent
SESSION_COOKIE = "outsidein_session"
SESSION_MAX_AGE = 12 * 3600

#: Every router of the app.  A new capability's ``web/routes/<capability>.py`` is imported
#: above and its ``router`` added here (and its page to :data:`outsidein.web.nav.NAV`).
#: Order matters where paths overlap: ``/api/v1/customers/{id:path}/value`` (api) and
#: ``.../journey`` (journey) come before the customer 360's ``/api/v1/customers/{id:path}``
#: (customers), which would otherwise take them, the id holding "/" as it may.
ROUTERS: tuple[APIRouter, ...] = (system.router, login.router, pages.router, insights.router,
                                  share_pages.router, admin.router, api.router, journey.router,
                                  customers.router, table_routes.router, table_routes.api_router,
                                  sense.router, segment.router, sense_pages.router, outbox.router,
                                  culture_survey.router,
                                  market.router, market_context.router, market_watch.router,
                                  culture.router,
                                  culture.api_router, culture_admin.router)
DESCRIPTION = ("Shared customer truth: insights, acknowledgements, needs, alignment, the five "
               "answers and customer value. Authenticate with `Authorization: Bearer <API key>` "
               "(`outsidein apikey create`). Errors are RFC 9457 problem+json. A JSON body may "
               f"be at most {API_BODY_LIMIT // (1024 * 1024)} MB (413 beyond); text fields "
               "have the maximum lengths given below, and evidence nests at most 20 levels.")


def behind_tls() -> bool:
    """Whether ``OUTSIDEIN_HTTPS=1`` says the app is served over TLS (HSTS, secure cookie)."""
    return Settings.from_env().https


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # What start-up made (modules, templates, the app) lives as long as the process: frozen
    # out of the collector's view, a full collection no longer walks it.  Each walk paused
    # the event writer for about 150 ms, which was the events API's p99 (bench_events.py).
    gc.collect()
    gc.freeze()
    # The sync routes' threads: a few, not anyio's 40.  With 32 clients at once, 40 threads
    # took turns on the one interpreter lock and a writer holding the store's lock waited
    # behind them all (bench_web_load.py, 32 clients: 83 req/s, p99 1,169 ms with 40; 109
    # req/s, p99 449 ms with 8; 126 req/s, p99 414 ms with 4-6).  8 leaves room for a few
    # slow requests (an export, a PDF) without holding the quick ones up.
    anyio.to_thread.current_default_thread_limiter().total_tokens = Settings.from_env(
    ).web_threads
    yield
    writer = getattr(app.state, "event_writer", None)
    if writer is not None:  # apply what is queued before the process ends
        await anyio.to_thread.run_sync(writer.close)


def create_app(ws_root: Path, *, https: bool | None = None) -> FastAPI:
    """The FastAPI app for the workspace at *ws_root* (which must exist).

    Parameters
    ----------
    ws_root
        The workspace folder (``outsidein init``).
    https
        The app is served over TLS, usually behind a proxy that ends it: responses carry
        ``Strict-Transport-Security`` and the session cookie is ``Secure``.  Default:
        :func:`behind_tls` (``OUTSIDEIN_HTTPS=1``).

    Raises
    ------
    ConfigError
        The workspace's session secret is too short, or a nav entry names no page.
    """
    https = behind_tls() if https is None else https
    ws = Workspace.open(ws_root)
    app = FastAPI(title="Outside-In API", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
    app.state.ws = ws
    app.state.store_url = ws.store_url
    app.state.secret = session_secret(ws.root)
    app.state.https = https
    app.state.event_writer = None  # routes/sense.py starts it on the first event
    app.state.write_gate = anyio.Lock()  # SQLite writers queue here (routes/_common.py)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["static_url"] = system.static_url
    install_labels(app.state.templates.env, ws.config.currency)  # column words and units
    problems.install(app)
    culture_survey.redact_survey_logs()  # survey links: no token, no address in any log

    # Order: the last added runs first, so headers wrap everything, sessions wrap routes,
    # and unexpected errors are answered inside the session (the error page needs it).
    app.add_middleware(problems.CatchAllMiddleware)
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret,
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE,
                       same_site="lax", https_only=https)
    app.add_middleware(sense.EventsFastPath)  # POST /api/v1/events: the hot path, no session
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, https=https)
    # Outermost: compresses every answer, error pages included; streamed bodies (CSV) are
    # compressed chunk by chunk, server-sent events and already-encoded bodies (plotly.js,
    # gzipped once in routes/system.py) pass through as they are.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)

    for router in ROUTERS:
        app.include_router(router)
    # After the routes: the ``/static`` mount would shadow ``/static/plotly.js``.
    app.mount("/static", system.CachedStaticFiles(directory=str(HERE / "static")),
              name="static")
    app.state.page_roles = page_roles(app)
    check_nav(app.state.page_roles)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers); workspace: $OUTSIDEIN_WORKSPACE."""
    return create_app(Settings.from_env().workspace_dir)
