"""The web app (FastAPI): server-rendered pages for people, ``/api/v1`` for machines.

Start it with ``outsidein serve``; build it in code with :func:`create_app`.  Routes are
thin: they call the services in :mod:`outsidein.services` and format what they return.
A new capability adds its pages as :mod:`outsidein.web.nav` describes.

>>> from outsidein.web import create_app
>>> app = create_app(Path("acme"))          # doctest: +SKIP
"""

from __future__ import annotations

from outsidein.web.app import ROUTERS, app_from_env, behind_tls, create_app
from outsidein.web.auth import Principal, Require
from outsidein.web.nav import NAV, NavItem
from outsidein.web.panels import Panel
from outsidein.web.routing import PUBLIC_ROUTES, RouteInfo, page_roles, route_table

__all__ = [
    "NAV", "PUBLIC_ROUTES", "ROUTERS", "NavItem", "Panel", "Principal", "Require", "RouteInfo",
    "app_from_env", "behind_tls", "create_app", "page_roles", "route_table",
]
