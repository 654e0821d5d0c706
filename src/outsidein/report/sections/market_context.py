"""The report section for context lift: the products that events drive (the Pop-Tarts finder).

It reads the last saved result (``results/market_context.json``, written by
``outsidein market context`` or the pipeline step) and shows, in words, a table and plots:
each significant finding's uplift with its interval, q-value, number of events, whether it
is obvious, and the extra stock to hold; then the sales by day around the events of the
most surprising ones.  No section while nothing was computed.

>>> market_context_section(ws).title                 # doctest: +SKIP
'Market: what events drive'
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.market.context import finding_rows, profile_figure, read_context

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["market_context_section"]

_COLUMNS = {"event": "event", "product": "product", "type": "type", "uplift": "uplift",
            "interval": "interval", "q_value": "q-value", "events": "events",
            "obvious": "obvious", "extra_stock": "extra stock", "regions": "by region"}


def market_context_section(ws: Workspace) -> Section | None:
    """The section, or None while no context result is saved."""
    doc = read_context(ws)
    if doc is None:
        return None
    rows = finding_rows(doc)
    tested = len(doc["findings"])
    plain = [r for r in rows if r["obvious"] == "no"]
    words = (f"{tested:,} combinations of event kind, window and product were tested against "
             f"the same region and month; {len(rows)} rise significantly (false discovery "
             f"rate {doc.get('alpha', 0.05)}), {len(plain)} of them not obvious.")
    body = f"<p>{html.escape(words)}</p>"
    if plain:
        top = plain[0]
        body += (f"<p><strong>{html.escape(top['product'])}</strong> sells "
                 f"{html.escape(top['uplift'])} its normal rate ({html.escape(top['event'])}); "
                 f"hold {html.escape(top['extra_stock'])}.</p>")
    if rows:
        body += table_html(pd.DataFrame(rows).drop(columns="key").rename(columns=_COLUMNS))
    figures = []
    for r in (plain or rows)[:3]:
        prof = doc.get("profiles", {}).get(r["key"])
        if prof:
            fig = go.Figure(profile_figure(prof, f"{r['product']}: sales around the events"))
            figures.append(fig)
            body += figure_html(fig)
    return Section(title="Market: what events drive", anchor="market-context",
                   body_html=body, summary=words, figures=tuple(figures))
