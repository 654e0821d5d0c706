"""The navigation bar: one :class:`NavItem` per page people open from it.

Who sees an entry is not written here: it is the access rule (``Require``) of the page's
GET route, so the bar never offers a page that would answer 403.

How a new capability (sense and respond, market watch, market culture) adds a page:

1. its routes go in ``outsidein/web/routes/<capability>.py``: an ``APIRouter`` named
   ``router`` whose routes call the capability's services (``outsidein.services.<capability>``)
   and say who may open them (``principal: StaffOnly`` ...);
2. ``outsidein/web/app.py`` imports that module with a plain import (a broken module stops
   the app at start-up instead of dropping the page) and adds its ``router`` to
   :data:`outsidein.web.app.ROUTERS`;
3. its entry goes in :data:`NAV` below, e.g. ``NavItem("Sense & respond", "/sense", order=40)``.

:func:`outsidein.web.app.create_app` refuses to start when an entry points at no page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from outsidein.errors import ConfigError


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar: its label, the page's path and its place (low first)."""

    label: str
    path: str
    order: int = 50


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "/", order=0),
    NavItem("Five questions", "/answers", order=10),
    NavItem("Customer value", "/value", order=15),
    NavItem("Insights", "/insights", order=20),
    NavItem("Ask · Listen · Learn · Act", "/alla", order=25),
    NavItem("Needs", "/needs", order=30),
    NavItem("Alignment", "/alignment", order=35),
    NavItem("Sense & respond", "/sense", order=40),
    NavItem("Culture", "/culture", order=45),
    NavItem("Market", "/market", order=45),
    NavItem("Admin", "/admin", order=90),
)


def items_for(role: str | None, page_roles: Mapping[str, tuple[str, ...]],
              items: Iterable[NavItem] | None = None) -> list[NavItem]:
    """The entries a person with *role* may open, in order.

    Parameters
    ----------
    role
        The person's role (None: nobody is logged in, so no entry).
    page_roles
        Path of each page -> the roles its access rule lets in.
    items
        The entries to choose from (default: :data:`NAV`).

    Examples
    --------
    >>> bar = [NavItem("Admin", "/admin", 90), NavItem("Overview", "/", 0)]
    >>> rules = {"/": ("admin", "viewer"), "/admin": ("admin",)}
    >>> [i.label for i in items_for("viewer", rules, bar)]
    ['Overview']
    >>> [i.label for i in items_for("admin", rules, bar)]
    ['Overview', 'Admin']
    """
    chosen = (i for i in (NAV if items is None else items) if role in page_roles.get(i.path, ()))
    return sorted(chosen, key=lambda i: (i.order, i.label))


def check_nav(page_roles: Mapping[str, tuple[str, ...]],
              items: Iterable[NavItem] | None = None) -> None:
    """Raise :class:`ConfigError` when an entry points at no page of the app.

    >>> check_nav({"/": ("admin",)}, [NavItem("Sense & respond", "/sense")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: nav entry 'Sense & respond' points at /sense, which no page ...
    """
    for item in NAV if items is None else items:
        if item.path not in page_roles:
            raise ConfigError(
                f"nav entry {item.label!r} points at {item.path}, which no page of the app "
                "serves; include the capability's router in outsidein.web.app.ROUTERS "
                "or remove the entry")
