"""The sense-and-respond section of the HTML report.

Shows, in words and plots: the buying-stage funnel now (from the store's sense tables, as
:func:`outsidein.services.sense.analysis.sense_summary` reads them), what the engine decided,
lift against the control group or what it still lacks, the past campaigns' response rates
per buying stage (:mod:`outsidein.services.sense.campaigns`), and the last market simulation
(``outsidein sense simulate``): the four policies side by side and the weekly learning
curve.  No section while there are neither events, campaigns nor a simulation.

>>> from outsidein.report.sections.sense import sense_section
>>> sense_section(ws).title                      # doctest: +SKIP
'Sense and respond: where customers are in the buying cycle'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.sense.analysis import (
    HOW_TO_FILL,
    HOW_TO_SIMULATE,
    POLICY_LABELS,
    SenseSummary,
    comparison_figure,
    funnel_figure,
    learning_figure,
    read_simulation,
    sense_summary,
    share_words,
)
from outsidein.services.sense.campaigns import CampaignSummary, campaign_summary

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["sense_section"]


def _p(text: str, cls: str = "") -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>"


def _funnel_html(s: SenseSummary) -> str:
    if s.empty:
        return _p(f"No customer events have reached the engine yet: {HOW_TO_FILL}.", "muted")
    at_risk = s.stage_count("at_risk")
    silences = f" and {s.silences:,} stage changes by silence" if s.silences else ""
    words = (f"{s.customers:,} customers sensed from {s.events:,} events{silences}; "
             f"{at_risk:,} are at "
             f"risk right now. {s.decisions:,} decisions, {s.messages:,} messages chosen"
             + (f"; the control group holds {s.control_customers:,} customers "
                f"({s.control_share:.1%})." if s.control_share else "."))
    table = pd.DataFrame({"buying stage": [r["label"] for r in s.funnel],
                          "customers": [f"{r['customers']:,}" for r in s.funnel],
                          "share": [f"{r['share']:.0%}" for r in s.funnel]})
    out = ("<h3>Where customers are now</h3>" + _p(words)
           + figure_html(go.Figure(funnel_figure(s.funnel))) + table_html(table))
    if s.lift.lift is None:
        out += "<h3>Lift against the control group</h3>" + _p(f"{s.lift.missing}.", "muted")
    else:
        lo, hi = s.lift.low or 0.0, s.lift.high or 0.0
        out += ("<h3>Lift against the control group</h3>" + _p(
            f"Messaged customers clicked or bought {s.lift.lift * 100:+.1f} percentage points "
            f"more often than the control group ({s.lift.treated:,} against "
            f"{s.lift.control:,} customers; 95% interval {lo * 100:+.1f} to {hi * 100:+.1f} "
            "points)."))
    return out


def _simulation_html(sim: dict[str, Any] | None) -> str:
    if sim is None:
        return _p(f"No market simulation yet: {HOW_TO_SIMULATE}.", "muted")
    pol = sim["policies"]
    none = pol["none"]["conversions"]
    share, caveat = share_words(sim)
    words = (f"On {int(sim.get('customers') or 0):,} simulated customers over "
             f"{sim.get('weeks')} weeks (seed {sim.get('seed')}), sense and respond won "
             f"{pol['sense_and_respond']['conversions'] - none:,} conversions more than sending "
             f"nothing, pushing the same sales message weekly won "
             f"{pol['push']['conversions'] - none:,} more, and an oracle that knows every "
             f"customer's true stage {pol['oracle']['conversions'] - none:,} more: sense and "
             f"respond reached {share} of the oracle's gain. It sensed "
             f"the right stage {sim['stage_accuracy']:.1%} of the time, against "
             f"{sim['bayes_limit_accuracy']:.1%} for the best possible sensor (the Bayes "
             "limit: forward filtering with the market's true parameters).")
    if caveat:
        words += f" Note: {caveat}."
    table = pd.DataFrame([{"policy": label, "conversions": f"{pol[p]['conversions']:,}",
                           "revenue (simulated units)": f"{pol[p]['revenue']:,.0f}",
                           "messages sent": f"{pol[p]['messages']:,}",
                           "opt-outs": f"{pol[p]['opt_outs']:,}"}
                          for p, label in POLICY_LABELS.items()])
    return ("<h3>Proof on a simulated market</h3>" + _p(words) + table_html(table)
            + figure_html(go.Figure(comparison_figure(sim)))
            + figure_html(go.Figure(learning_figure(sim))))


def sense_section(ws: Workspace) -> Section | None:
    """Report section on sense and respond; None while there are no events and no simulation."""
    summary = sense_summary(ws)
    sim = read_simulation(ws)
    campaigns = campaign_summary(ws)
    if summary.empty and sim is None and not campaigns.contacts:
        return None
    if summary.empty:
        headline = "No customer events yet; the market simulation shows what the engine adds."
    else:
        at_risk = summary.stage_count("at_risk")
        headline = (f"{summary.customers:,} customers sensed; {at_risk:,} are at risk right "
                    "now and need a retention message.")
    if sim is not None:
        headline += (f" On a simulated market, sense and respond reached "
                     f"{share_words(sim)[0]} of what an all-knowing oracle gains.")
    return Section(title="Sense and respond: where customers are in the buying cycle",
                   anchor="sense", summary=headline,
                   body_html=(_funnel_html(summary) + _campaigns_html(campaigns)
                              + _simulation_html(sim)))


def _campaigns_html(c: CampaignSummary) -> str:
    """Past campaigns: response rate per stage when contacted, in words and a table."""
    if not c.contacts:
        return ""
    out = ["<h3>Past campaigns: who was ready</h3>",
           _p(f"{c.contacts:,} contacts in {len(c.campaigns)} campaigns. A push reaches "
              "customers at every stage; the response rate at each stage shows how many were "
              "ready for it.")]
    if c.missing:
        out.append(_p(html.escape(c.missing) + ".", "muted"))
    rows = pd.DataFrame([{"stage when contacted": r["stage_label"], "contacts": r["contacts"],
                          "responses": r["responses"],
                          "response rate": f"{r['response_rate']:.1%}",
                          "95% interval": f"{r['ci_low']:.1%} to {r['ci_high']:.1%}"}
                         for r in c.by_stage])
    out.append(table_html(rows))
    return "".join(out)
