"""The "What events drive" page (``/market/context``): the Pop-Tarts finder's findings.

It shows the last ``outsidein market context`` result
(:func:`outsidein.services.market.context.read_context`): each significant finding with
its uplift (rate ratio), interval, q-value, number of events, whether it is obvious and the
extra stock to hold (how much, in which regions, how many days before), then a plot of the
sales by day around the events for each non-obvious finding (the obvious ones too when
there is no other).  Without a result it says how to make one.  Everyone logged in may open
it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.services.market.context import finding_rows, profile_figure, read_context
from outsidein.web.auth import Anyone
from outsidein.web.templating import render

__all__ = ["HOW_TO_RUN", "context_view", "router"]

router = APIRouter(include_in_schema=False)

HOW_TO_RUN = "run 'outsidein market context' (or 'outsidein analyze')"


def context_view(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saved result shaped for the page: rows in words and up to six plots.

    >>> context_view(None) is None
    True
    >>> context_view({"findings": [], "profiles": {}})["rows"]
    []
    """
    if doc is None:
        return None
    rows = finding_rows(doc)
    plain = [r for r in rows if r["obvious"] == "no"] or rows
    plots = [{"id": f"fig-context-{i}", "title": r["product"],
              "figure": profile_figure(doc["profiles"][r["key"]],
                                       f"{r['product']}: sales around the events")}
             for i, r in enumerate(plain[:6]) if r["key"] in doc.get("profiles", {})]
    return {"rows": rows, "plots": plots, "tested": len(doc["findings"]),
            "alpha": doc.get("alpha", 0.05), "before_days": doc.get("before_days", 3),
            "generated_at": str(doc.get("generated_at") or "")}


@router.get("/market/context", response_class=HTMLResponse)
def context_page(*, request: Request, principal: Anyone) -> HTMLResponse:
    """The significant findings, their extra stock, and the sales around the events."""
    view = context_view(read_context(request.app.state.ws))
    return render(request, "market_context.html", principal, v=view, how_to=HOW_TO_RUN)
