"""The navigation bar and the hooks later capabilities use to add their pages.

A capability adds its pages by appending a ``"module:function"`` entry to
:data:`PLUGINS`; the function receives the app and registers its router and nav
items with :func:`add_page`.  Missing modules are skipped, so the list may name
capabilities that do not exist yet::

    # outsidein/sense/web.py
    def install(app):
        app.include_router(router)
        add_page("Sense & respond", "/sense", order=40)
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from outsidein.web.auth import ALL_ROLES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar."""

    label: str
    path: str
    roles: tuple[str, ...] = ALL_ROLES
    order: int = 50


NAV: list[NavItem] = [
    NavItem("Overview", "/", order=0),
    NavItem("Five questions", "/answers", order=10),
    NavItem("Customer value", "/value", order=15),
    NavItem("Insights", "/insights", order=20),
    NavItem("Ask · Listen · Learn · Act", "/alla", order=25),
    NavItem("Needs", "/needs", order=30),
    NavItem("Alignment", "/alignment", order=35),
    NavItem("Admin", "/admin", roles=("admin",), order=90),
]

#: Capabilities that add pages: ``"module:install"``; absent modules are skipped.
PLUGINS: list[str] = [
    "outsidein.sense.web:install",
    "outsidein.market.web:install",
    "outsidein.culture.web:install",
]

def add_page(label: str, path: str, *, roles: tuple[str, ...] = ALL_ROLES, order: int = 50) -> None:
    """Add (or replace, by path) an entry of the navigation bar."""
    NAV[:] = [i for i in NAV if i.path != path]
    NAV.append(NavItem(label, path, tuple(roles), order))


def items_for(role: str | None) -> list[NavItem]:
    """The entries a person with *role* may open, in order."""
    return sorted((i for i in NAV if role in i.roles), key=lambda i: (i.order, i.label))


def install_plugins(app: Any) -> list[str]:
    """Run every available plugin's ``install(app)``; return the ones installed."""
    done = []
    for spec in PLUGINS:
        module, func = spec.split(":")
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ModuleNotFoundError, AttributeError):
            continue
        fn(app)
        done.append(spec)
    return done
