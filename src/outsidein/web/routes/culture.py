"""The Culture page (``/culture``), its export and API, and the overview's culture tile.

The page shows one organisation in one wave (``?wave=`` and ``?org=``; default the latest wave
and the workspace's own organisation) from :func:`outsidein.services.culture.views.culture_view`:
the headline scores, percentile gauges against the norm database (labelled illustrative
when it is), the department x component heat map (hidden cells say why), the trend across
waves, the items that drive the gap to the top quartile in words, the scores against the
company's own customer KPIs after each wave (:mod:`outsidein.services.culture.kpi_links`),
and the comments a group large enough may show; then the last psychometric report
(reliability, CFA, agreement) when ``outsidein culture report`` or the pipeline made one.
Every group figure, here, in the CSV export (``/culture/groups.csv``) and in the API
(``GET /api/v1/culture/groups``), comes through :mod:`outsidein.services.culture.groups`, the
one anonymity door.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from outsidein.errors import ConfigError
from outsidein.services.culture.analysis import read_report
from outsidein.services.culture.kpi_links import kpi_links
from outsidein.services.culture.views import CultureView, culture_view
from outsidein.services.share import neutralise_cell
from outsidein.web.auth import STAFF, Anyone, Principal, Require
from outsidein.web.panels import Panel
from outsidein.web.problems import API_ERROR_RESPONSES
from outsidein.web.routes._common import plain
from outsidein.web.templating import render
from outsidein.workspace import Workspace

__all__ = ["api_router", "culture_panel", "group_rows", "kpi_view", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["culture"], responses=API_ERROR_RESPONSES)
WaveQuery = Annotated[str | None, Query(max_length=100, description="the wave (default: latest)")]
OrgQuery = Annotated[str | None, Query(max_length=200,
                                       description="the organisation (default: the workspace's)")]
Reader = Annotated[Principal, Depends(Require(scope="answers:read"))]


def group_rows(view: CultureView) -> list[dict[str, Any]]:
    """The organisation and its departments and roles: n, shown, why not, the scores."""
    rows = [{"dimension": "all", "group": view.org, "n": view.headline.get("n"),
             "shown": view.headline.get("shown"), "reason": view.headline.get("reason"),
             **{c: view.headline.get("scores", {}).get(c) for c in view.columns}}]
    for r in view.heat:
        rows.append({"dimension": r["dimension"], "group": r["group"], "n": r["n"],
                     "shown": r["shown"], "reason": r["reason"],
                     **{c["column"]: c["value"] for c in r["cells"]}})
    return rows


@router.get("/culture", response_class=HTMLResponse)
def culture_page(*, request: Request, principal: Anyone, wave: WaveQuery = None,
                 org: OrgQuery = None) -> HTMLResponse:
    """Scores, benchmark, heat map, trend and what to work on, for one organisation."""
    ws: Workspace = request.app.state.ws
    view = culture_view(ws, wave, org)
    report = read_report(ws, view.wave) if view.wave else None
    return render(request, "culture.html", principal, v=view, report=report,
                  kl=kpi_view(ws, view), staff=principal.role in STAFF)


def kpi_view(ws: Workspace, view: CultureView) -> dict[str, Any] | None:
    """The customer-KPI links of the page's organisation up to its wave (only for the
    workspace's own organisation: the warehouse holds its customers), with the sentences."""
    if view.empty:
        return None
    try:
        found = kpi_links(ws, upto=view.wave)
    except ConfigError as exc:
        return {"error": str(exc)}
    if found.org != view.org:
        return None
    return {**found.to_dict(), "words": found.words}


@router.get("/culture/groups.csv")
def culture_csv(*, request: Request, principal: Anyone, wave: WaveQuery = None,
                org: OrgQuery = None) -> Response:
    """The group scores of the page as CSV: hidden groups have no score, and say why (text a
    spreadsheet would run as a formula gets a leading quote)."""
    view = culture_view(request.app.state.ws, wave, org)
    buf = io.StringIO()
    out = csv.writer(buf)
    cols = ["wave", "org", "dimension", "group", "n", "shown", "reason", *view.columns]
    out.writerow(cols)
    for r in group_rows(view) if not view.empty else []:
        out.writerow([neutralise_cell(x) for x in (
            view.wave, view.org, *(("" if r.get(c) is None else r.get(c)) for c in cols[2:]))])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="culture-groups.csv"'})


@api_router.get("/culture/groups", summary="Culture scores per organisation, department, role")
def culture_groups_api(*, request: Request, principal: Reader, wave: WaveQuery = None,
                       org: OrgQuery = None) -> dict[str, Any]:
    """One organisation's group scores in a wave, under the anonymity rules: a group of fewer
    than 5 respondents (or one that would let a smaller group be worked out by subtraction)
    has ``shown: false``, its ``reason`` and no scores."""
    view = culture_view(request.app.state.ws, wave, org)
    if view.empty:
        return {"wave": None, "org": None, "illustrative": False, "groups": []}
    return plain({"wave": view.wave, "org": view.org, "illustrative": view.illustrative,
                  "groups": group_rows(view)})


def culture_panel(ws: Workspace) -> Panel:
    """The overview's "Market culture" tile: the market orientation score and its percentile."""
    view = culture_view(ws)
    if view.empty:
        return Panel("culture", "Market culture", None,
                     "no survey answers yet: open a wave (Culture survey admin) or import "
                     "answers with 'outsidein culture import WAVE FILE.csv'", link="/culture")
    score = view.headline.get("scores", {}).get("market_orientation")
    if not view.headline.get("shown") or score is None:
        return Panel("culture", "Market culture", None,
                     f"{view.org}, wave {view.wave}: {view.headline.get('reason')}",
                     link="/culture")
    gauge = next((g for g in view.benchmark.get("gauges", [])
                  if g["component"] == "market_orientation"), None)
    words = f"{view.org}, wave {view.wave}, {view.n:,} respondents"
    if gauge and gauge["percentile"] is not None:
        words += (f"; percentile {gauge['percentile']:.0f} of {gauge['n_orgs']:,} "
                  "organisations")
    if view.illustrative or view.benchmark.get("illustrative"):
        words += " (illustrative)"
    return Panel("culture", "Market culture", f"{score:.0f} / 100", words, link="/culture",
                 extra={"market_orientation": score, "illustrative": view.illustrative})
