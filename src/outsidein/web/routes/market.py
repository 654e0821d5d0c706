"""The "Market" page (``/market``): segments, clusters, segment x product type, availability.

It shows the last ``outsidein market segments`` result
(:func:`outsidein.services.market.segments.read_segments`): the RFM segments with what
each means and what to do, the behavioural clusters with their profiles in words, the
segment x product-type matrix with its cross-sell gaps, and what stock-outs and slow
deliveries cost, each effect with its 95% interval.  Without a result it says how to
make one.  Everyone logged in may open it.  Other market pages (context lift, KPI watch)
are listed in :data:`SUBPAGES`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.services.customers import Section
from outsidein.services.market.segments import (
    HOW_TO_SEGMENT,
    NOT_TARGETED,
    customer_segment,
    read_segments,
)
from outsidein.services.market.segments_figures import (
    availability_figure,
    matrix_figure,
    segments_figure,
)
from outsidein.services.market.segments_words import availability_words, overall_effect
from outsidein.web.auth import Anyone
from outsidein.web.templating import render
from outsidein.workspace import Workspace

__all__ = ["SUBPAGES", "market_view", "router", "segment_panel"]

router = APIRouter(include_in_schema=False)

#: Other pages of market sensing, linked from /market: (label, path).
SUBPAGES: tuple[tuple[str, str], ...] = (("What events drive", "/market/context"),
                                          ("KPIs that changed", "/market/watch"))


def market_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The saved result shaped for the page: the gap cells, the lead sentence, figures.

    >>> v = market_view({"segments": [], "clusters": [], "matrix": [], "availability": []})
    >>> v["gaps"], v["availability_line"]
    ([], None)
    """
    gaps = sorted((c for c in doc.get("matrix") or [] if c.get("cross_sell_gap")),
                  key=lambda c: -(c.get("gap_revenue") or 0.0))
    overall = overall_effect(doc)
    types = sorted({str(c["product_type"]) for c in doc.get("matrix") or []})
    rows: dict[str, dict[str, Any]] = {}
    for c in doc.get("matrix") or []:
        rows.setdefault(c["segment_label"], {})[str(c["product_type"])] = c
    return {"gaps": gaps, "types": types, "matrix_rows": rows,
            "availability_line": availability_words(overall) if overall else None,
            "availability_rows": doc.get("availability") or [],
            "segments_fig": segments_figure(doc) if doc.get("segments") else None,
            "matrix_fig": matrix_figure(doc) if doc.get("matrix") else None,
            "availability_fig": (availability_figure(doc) if overall else None)}


def segment_panel(ws: Workspace, customer_id: str) -> Section:
    """The customer 360's "Market segment" panel: RFM segment and scores, and the cluster."""
    title = "Market segment"
    row = customer_segment(ws, customer_id)
    if row is None:
        why = ("no segment for this customer (segments cover customers with a purchase)"
               if read_segments(ws) is not None else f"not yet measured: {HOW_TO_SEGMENT}")
        return Section("segment", title, missing=why)
    figures = {"segment": row["segment_label"], "who they are": row["segment_description"],
               "what to do": row["segment_action"],
               "RFM scores": f"recency {row['r_score']}, frequency {row['f_score']}, "
                             f"spend {row['m_score']} (of 5)",
               "cluster": row["cluster_name"], "cluster profile": row["cluster_profile"]}
    return Section("segment", title, figures={k: v for k, v in figures.items() if v})


@router.get("/market", response_class=HTMLResponse)
def market_page(*, request: Request, principal: Anyone) -> HTMLResponse:
    """Segments, clusters, the matrix with cross-sell gaps, availability effects."""
    result = read_segments(request.app.state.ws)
    doc = result.to_dict() if result else None
    return render(request, "market.html", principal, r=doc,
                  v=market_view(doc) if doc else None, how_to=HOW_TO_SEGMENT,
                  not_targeted=", ".join(NOT_TARGETED), subpages=SUBPAGES)
