"""The navigation bar offers each person the pages they may open, and a capability's page
joins it through a router in ``web.app.ROUTERS`` and an entry in ``web.nav.NAV``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.access import ROLES
from outsidein.errors import ConfigError
from outsidein.web import app as web_app
from outsidein.web import create_app, nav, page_roles, route_table
from outsidein.web.auth import StaffOnly


def test_every_nav_entry_is_a_page_and_shown_to_exactly_who_may_open_it(workspace: Any) -> None:
    app = create_app(workspace.root)
    rules = page_roles(app)
    assert {i.path for i in nav.NAV} <= rules.keys()
    for role in ROLES:
        shown = {i.path for i in nav.items_for(role, rules)}
        assert shown == {i.path for i in nav.NAV if role in rules[i.path]}, role
    assert "/admin" in {i.path for i in nav.items_for("admin", rules)}
    assert "/admin" not in {i.path for i in nav.items_for("advocate", rules)}
    assert nav.items_for(None, rules) == []


@pytest.fixture
def market_router() -> APIRouter:
    router = APIRouter()

    @router.get("/example-watch", response_class=HTMLResponse)
    def market_page(*, request: Request, principal: StaffOnly) -> str:
        return "<h1>Market watch</h1>"

    return router


def test_a_capability_adds_a_guarded_page_and_its_nav_entry(
        workspace: Any, market_router: APIRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_app, "ROUTERS", (*web_app.ROUTERS, market_router))
    monkeypatch.setattr(nav, "NAV", (*nav.NAV, nav.NavItem("Market watch", "/example-watch", 38)))
    app = create_app(workspace.root)
    route = next(r for r in route_table(app) if r.path == "/example-watch")
    assert route.rule is not None and route.rule.roles == ("admin", "advocate")
    labels = [i.label for i in nav.items_for("advocate", app.state.page_roles)]
    assert labels[labels.index("Alignment") + 1] == "Market watch"  # placed by its order
    assert "Market watch" not in [i.label for i in nav.items_for("member",
                                                                    app.state.page_roles)]


def test_a_nav_entry_without_its_page_stops_the_app(workspace: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nav, "NAV", (*nav.NAV, nav.NavItem("Market watch", "/example-watch", 38)))
    with pytest.raises(ConfigError, match="'Market watch' points at /example-watch"):
        create_app(workspace.root)
