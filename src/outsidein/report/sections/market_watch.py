"""The report section for the KPI watch: the KPIs that changed, for whom, when, by how much.

It reads the last saved watch (``results/market_watch.json``, written by ``outsidein market
watch`` or the pipeline step) and shows the alerts in words and a table, then each changed
KPI series with its change marked.  No section while nothing was computed.

>>> market_watch_section(ws).title                   # doctest: +SKIP
'Market: KPIs that changed'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.market.watch import read_watch, series_figure

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["market_watch_section"]


def market_watch_section(ws: Workspace) -> Section | None:
    """The section, or None while no watch result is saved."""
    doc = read_watch(ws)
    if doc is None:
        return None
    alerts = doc["alerts"]
    kpis = doc.get("kpis", [])
    words = (f"{len(kpis)} KPI series watched for changes (all customers and by segment); "
             f"{len(alerts)} changed beyond their noise.")
    body = f"<p>{html.escape(words)}</p>"
    for a in alerts[:5]:
        body += (f"<p><strong>{html.escape(a.get('headline') or a['title'])}</strong>: "
                 f"{html.escape(a['evidence'])}</p>")
    if alerts:
        table = pd.DataFrame([{
            "KPI": a["title"], "segment": a["segment"], "changed on": a["changed_at"],
            "before": f"{a['before']:.4g}", "after": f"{a['after']:.4g}",
            "change": "-" if a.get("relative") is None else f"{a['relative']:+.0%}",
            "confirmed on": a["detected_at"]} for a in alerts])
        body += table_html(table)
    series = {(k["kpi"], k["segment"]): k for k in kpis}
    figures: list[go.Figure] = []
    shown: set[tuple[str, str]] = set()
    for a in alerts:
        key = (a["kpi"], a["segment"])
        if key in series and key not in shown and len(figures) < 6:
            shown.add(key)
            fig = go.Figure(series_figure(series[key], [b for b in alerts
                                                        if (b["kpi"], b["segment"]) == key]))
            figures.append(fig)
            body += figure_html(fig)
    return Section(title="Market: KPIs that changed", anchor="market-watch", body_html=body,
                   summary=words, figures=tuple(figures))
