"""The "Market: segments" section of the HTML report.

From the last ``outsidein market segments`` result
(:func:`outsidein.services.market.segments.read_segments`): the RFM segments, the
behavioural clusters with their profiles in words, the segment x product-type matrix with
its cross-sell gaps, and what stock-outs and slow deliveries cost, with intervals.  No
section until segments have been computed.

>>> from outsidein.report.sections.market import market_section
>>> market_section(ws).title                      # doctest: +SKIP
'Market: segments'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.market.segments import read_segments
from outsidein.services.market.segments_figures import (
    availability_figure,
    matrix_figure,
    segments_figure,
)
from outsidein.services.market.segments_words import (
    availability_words,
    gap_words,
    overall_effect,
)

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["market_section"]


def _p(text: str, cls: str = "") -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>"


def _segments_html(d: dict[str, Any]) -> str:
    segs = d["segments"]
    table = pd.DataFrame({
        "segment": [s["name"] for s in segs],
        "customers": [f"{s['customers']:,}" for s in segs],
        "share of revenue": [f"{s['revenue_share']:.0%}" for s in segs],
        "who they are": [s["description"] for s in segs],
        "what to do": [s["action"] for s in segs]})
    return ("<h3>RFM segments</h3>"
            + _p(f"{d['customers']:,} customers scored 1 to 5 on recency, frequency and spend "
                 "(quintiles) and named by where they sit on the grid.")
            + figure_html(go.Figure(segments_figure(d))) + table_html(table, max_rows=20))


def _clusters_html(d: dict[str, Any]) -> str:
    k = d["k_choice"]
    table = pd.DataFrame({
        "cluster": [c["name"] for c in d["clusters"]],
        "customers": [f"{c['customers']:,}" for c in d["clusters"]],
        "profile": [c["profile"] for c in d["clusters"]]})
    return ("<h3>Behavioural clusters</h3>"
            + _p(f"{k['k']} groups of customers who behave alike; the number of groups has "
                 "the best silhouette (how tight and apart they are) among k = "
                 f"{', '.join(k['scores'])}.") + table_html(table, max_rows=20))


def _matrix_html(d: dict[str, Any]) -> str:
    if not d["matrix"]:
        return ""
    gaps = sorted((c for c in d["matrix"] if c["cross_sell_gap"]),
                  key=lambda c: -c["gap_revenue"])
    words = (" ".join(gap_words(c) for c in gaps[:5]) if gaps else
             "No segment under-buys a product type its look-alikes buy.")
    return ("<h3>Segment × product type</h3>"
            + _p("The share of each segment buying each type; a gap is a type the segment "
                 "buys clearly less often than its look-alikes (same cluster, as many "
                 "purchase lines).") + figure_html(go.Figure(matrix_figure(d))) + _p(words))


def _availability_html(d: dict[str, Any]) -> str:
    overall = overall_effect(d)
    if overall is None:
        why = "; ".join(d.get("notes") or []) or "too few customers were hit"
        return "<h3>Stock-outs and slow deliveries</h3>" + _p(f"Not measured: {why}.", "muted")
    rows = [a for a in d["availability"] if a["effect"] is not None]
    table = pd.DataFrame({
        "outcome": [a["outcome"] for a in rows], "who": [a["segment"] for a in rows],
        "customers hit": [f"{a['customers']:,}" for a in rows],
        "rate ratio": [f"{a['effect']:.2f}" for a in rows],
        "95% interval": [f"{a['ci_low']:.2f} to {a['ci_high']:.2f}" for a in rows]})
    return ("<h3>Stock-outs and slow deliveries</h3>" + _p(availability_words(overall))
            + figure_html(go.Figure(availability_figure(d))) + table_html(table, max_rows=30))


def market_section(ws: Workspace) -> Section | None:
    """The section, or None before ``outsidein market segments`` has run."""
    result = read_segments(ws)
    if result is None:
        return None
    d = result.to_dict()
    body = (_segments_html(d) + _clusters_html(d) + _matrix_html(d) + _availability_html(d))
    overall = overall_effect(d)
    summary = (f"{d['customers']:,} customers in {sum(1 for s in d['segments'] if s['customers'])}"
               f" RFM segments and {d['k_choice']['k']} clusters"
               + (f"; hit customers buy again at {overall['effect']:.0%} of the rate"
                  if overall else ""))
    return Section(title="Market: segments", anchor="market-segments", body_html=body,
                   summary=summary)
