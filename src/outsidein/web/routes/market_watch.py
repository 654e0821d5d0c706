"""The "Market watch" page (``/market/watch``): the KPIs that changed, when, and by how much.

It shows the last ``outsidein market watch`` result
(:func:`outsidein.services.market.watch.read_watch`): the alerts in words (KPI, segment,
when it changed, before and after, the evidence), then a plot of each KPI series that
changed with its change marked (a dashed line and the levels before and after), then the
whole-company series of the KPIs that did not.  Without a result it says how to make one.
Everyone logged in may open it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.services.market.watch import latest_alerts, read_watch, series_figure
from outsidein.web.auth import Anyone
from outsidein.web.templating import render
from outsidein.workspace import Workspace

__all__ = ["HOW_TO_RUN", "router", "watch_alerts", "watch_view"]

router = APIRouter(include_in_schema=False)

HOW_TO_RUN = "run 'outsidein market watch' (or 'outsidein analyze')"


def _number(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.2%}"
    if unit == "$":
        return f"${value:,.2f}"
    return f"{value:.4g}"


def watch_view(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saved result shaped for the page: alert rows in words and the plots.

    >>> watch_view(None) is None
    True
    >>> watch_view({"kpis": [], "alerts": []})["rows"]
    []
    """
    if doc is None:
        return None
    series = {(k["kpi"], k["segment"]): k for k in doc.get("kpis", [])}
    rows: list[dict[str, Any]] = []
    plots: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for a in doc["alerts"]:
        rel = a.get("relative")
        rows.append({
            "kpi": a["title"], "segment": "all customers" if a["segment"] == "all"
            else a["segment"], "changed_at": a["changed_at"], "detected_at": a["detected_at"],
            "before": _number(a["before"], a["unit"]), "after": _number(a["after"], a["unit"]),
            "change": "—" if rel is None else f"{rel:+.0%}",
            "worse": bool(a["worse"]), "evidence": a["evidence"]})
        key = (a["kpi"], a["segment"])
        if key in series and key not in seen:
            seen.add(key)
            mine = [b for b in doc["alerts"] if (b["kpi"], b["segment"]) == key]
            plots.append({"id": f"fig-watch-{len(plots)}",
                          "figure": series_figure(series[key], mine)})
    calm = [k for k in doc.get("kpis", []) if k["segment"] == "all"
            and (k["kpi"], k["segment"]) not in seen]
    for k in calm:
        plots.append({"id": f"fig-watch-{len(plots)}", "figure": series_figure(k, [])})
    by_day = sum(1 for k in doc.get("kpis", []) if k.get("freq") == "day")
    return {"rows": rows, "plots": plots[:24], "series": len(series), "by_day": by_day,
            "notes": doc.get("notes", []), "generated_at": str(doc.get("generated_at") or "")}


def watch_alerts(ws: Workspace, limit: int) -> list[dict[str, Any]]:
    """The overview's latest alerts: the newest changes of the last watch, in words."""
    return [{"title": a.get("headline") or f"{a['title']} ({a['segment']}) changed",
             "at": f"from {a['changed_at']}", "link": "/market/watch"}
            for a in latest_alerts(ws, limit)]


@router.get("/market/watch", response_class=HTMLResponse)
def watch_page(*, request: Request, principal: Anyone) -> HTMLResponse:
    """The alerts, and each KPI series with its changes marked."""
    view = watch_view(read_watch(request.app.state.ws))
    return render(request, "market_watch.html", principal, v=view, how_to=HOW_TO_RUN)
