"""Later capabilities add their pages through the plugin hook and the navigation registry."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.web import nav
from outsidein.web.app import create_app, route_table
from outsidein.web.auth import StaffOnly


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> str:
    router = APIRouter()

    @router.get("/sense", response_class=HTMLResponse)
    def sense_page(*, request: Request, principal: StaffOnly) -> str:
        return "<h1>Sense and respond</h1>"

    def install(app: Any) -> None:
        app.include_router(router)
        nav.add_page("Sense & respond", "/sense", roles=("admin", "advocate"), order=40)

    module = types.ModuleType("outsidein_test_sense_web")
    module.install = install  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(nav, "PLUGINS", [f"{module.__name__}:install", "outsidein.nowhere:install"])
    monkeypatch.setattr(nav, "NAV", list(nav.NAV))
    return module.__name__


def test_a_plugin_adds_a_guarded_page_and_a_nav_entry(plugin: str, workspace: Any) -> None:
    app = create_app(workspace.root)
    route = next(r for r in route_table(app) if r.path == "/sense")
    assert route.rule is not None and route.rule.roles == ("admin", "advocate")
    labels = [i.label for i in nav.items_for("advocate")]
    assert labels.index("Sense & respond") > labels.index("Needs")
    assert "Sense & respond" not in [i.label for i in nav.items_for("member")]
    assert "Admin" not in labels and "Admin" in [i.label for i in nav.items_for("admin")]
