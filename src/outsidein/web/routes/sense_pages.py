"""The "Sense & respond" page (``/sense``) and the overview's buying-stage funnel tile.

The page shows, from :func:`outsidein.services.sense.analysis.sense_summary`: the stage
funnel (customers at each buying stage now, a bar chart and words), the decisions by stage
and action, the control group's share, lift against the control group with its interval
(or, until outcomes exist, what is missing); what the live engine has learned per stage and
message and how its choices moved week by week
(:mod:`outsidein.services.sense.learned`); the past campaigns' response rates per stage
(:mod:`outsidein.services.sense.campaigns`); and the last market simulation
(``outsidein sense simulate``) with its comparison and learning curve.  A workspace with no
events says how to fill it.  Everyone logged in may open it.

:func:`stage_funnel_panel` is the overview's tile (in
:data:`outsidein.web.routes.pages.PANELS`).  The JSON events API lives in
:mod:`outsidein.web.routes.sense`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from outsidein.sense.stages import STAGE_DEFINITIONS, STAGE_NEED
from outsidein.services.sense.analysis import (
    HOW_TO_FILL,
    HOW_TO_SIMULATE,
    OUTCOME_TYPES,
    POLICY_LABELS,
    SenseSummary,
    comparison_figure,
    funnel_figure,
    learning_figure,
    read_simulation,
    sense_summary,
    share_words,
)
from outsidein.services.sense.campaigns import campaign_summary
from outsidein.services.sense.learned import choice_curve, learned_rates
from outsidein.store.db import session_scope
from outsidein.web.auth import Anyone
from outsidein.web.panels import Panel
from outsidein.web.routes.outbox import outbox_view
from outsidein.web.templating import render
from outsidein.workspace import Workspace

__all__ = ["funnel_words", "router", "simulation_view", "stage_funnel_panel"]

router = APIRouter(include_in_schema=False)


def funnel_words(summary: SenseSummary) -> str:
    """The funnel in one line of words, cycle order, empty stages left out.

    >>> s = SenseSummary(customers=3, events=3, funnel=[
    ...     {"stage": "deciding", "label": "deciding", "customers": 2, "share": 2 / 3},
    ...     {"stage": "loyal", "label": "loyal", "customers": 0, "share": 0.0},
    ...     {"stage": "at_risk", "label": "at risk", "customers": 1, "share": 1 / 3}])
    >>> funnel_words(s)
    'deciding 2 (67%) · at risk 1 (33%)'
    """
    return " · ".join(f"{r['label']} {r['customers']:,} ({r['share']:.0%})"
                      for r in summary.funnel if r["customers"])


def stage_funnel_panel(ws: Workspace) -> Panel:
    """The overview's "Buying-stage funnel" tile: customers sensed, and how many per stage."""
    summary = sense_summary(ws, detail=False)
    if summary.empty:
        return Panel("stage_funnel", "Buying-stage funnel", None,
                     f"no customer events yet — {HOW_TO_FILL}", link="/sense")
    at_risk = summary.stage_count("at_risk")
    return Panel("stage_funnel", "Buying-stage funnel", f"{summary.customers:,} customers",
                 f"now at each stage: {funnel_words(summary)}",
                 figure=funnel_figure(summary.funnel), link="/sense",
                 extra={"funnel": summary.funnel, "at_risk": at_risk})


def simulation_view(sim: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored simulation shaped for the page: rows in words, figures, the verdict."""
    if sim is None:
        return None
    pol = sim["policies"]
    rows = [{"policy": label, "conversions": f"{pol[p]['conversions']:,}",
             "revenue": f"{pol[p]['revenue']:,.0f}", "messages": f"{pol[p]['messages']:,}",
             "opt_outs": f"{pol[p]['opt_outs']:,}"} for p, label in POLICY_LABELS.items()]
    sr, push = pol["sense_and_respond"], pol["push"]
    share, caveat = share_words(sim)
    beats = (sr["conversions"] > push["conversions"] and sr["messages"] < push["messages"]
             and sr["opt_outs"] < push["opt_outs"])
    verdict = (f"Sense and respond won {sr['conversions'] - pol['none']['conversions']:,} "
               f"more conversions than sending nothing, against "
               f"{push['conversions'] - pol['none']['conversions']:,} for pushing the same sales "
               f"message to everyone weekly, with {sr['messages']:,} messages instead of "
               f"{push['messages']:,} and {sr['opt_outs']:,} opt-outs instead of "
               f"{push['opt_outs']:,}. It reached {share} of what an "
               "oracle that knows every customer's true stage gains.")
    if caveat:
        verdict += f" Note: {caveat}."
    if not beats:
        verdict += " In this run it did not beat pushing on all three counts."
    return {"rows": rows, "verdict": verdict, "beats_push": beats,
            "customers": sim.get("customers"), "weeks": sim.get("weeks"),
            "seed": sim.get("seed"), "generated_at": str(sim.get("generated_at") or ""),
            "stage_accuracy": sim.get("stage_accuracy"),
            "bayes_limit_accuracy": sim.get("bayes_limit_accuracy"),
            "comparison": comparison_figure(sim), "learning": learning_figure(sim)}


@router.get("/sense", response_class=HTMLResponse)
def sense_page(*, request: Request, principal: Anyone) -> HTMLResponse:
    """The stage funnel, decisions by stage and action, lift vs control, the simulation."""
    ws = request.app.state.ws
    summary = sense_summary(ws)
    stages = [{**r, "definition": STAGE_DEFINITIONS.get(r["stage"], ""),
               "need": STAGE_NEED.get(r["stage"], "")} for r in summary.funnel]
    with session_scope(ws.store_url, write=False) as session:
        learned, curve = learned_rates(session), choice_curve(session)
    return render(request, "sense.html", principal, s=summary, stages=stages,
                  outbox=outbox_view(ws),
                  learned=learned, choice_fig=curve, campaigns=campaign_summary(ws),
                  funnel_fig=funnel_figure(summary.funnel) if not summary.empty else None,
                  funnel_line=funnel_words(summary), how_to_fill=HOW_TO_FILL,
                  sim=simulation_view(read_simulation(ws)), how_to_simulate=HOW_TO_SIMULATE,
                  outcome_types=", ".join(OUTCOME_TYPES))
