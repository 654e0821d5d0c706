"""Build the static HTML report from the sections each capability provides.

A capability contributes a section by adding its function (in
``report/sections/<capability>.py``) to :data:`SECTIONS`; the function takes
the workspace and returns a :class:`~outsidein.report.section.Section` (or
``None`` when it has nothing to show yet).  A section that fails is an error,
never a section silently left out.  Plotly's JavaScript is embedded once, so
the report works offline.

>>> [f.__name__ for f in SECTIONS]
['data_section', 'value_section', 'five_questions_section', 'share_section', 'sense_section',
 'market_section', 'market_context_section', 'market_watch_section', 'culture_section']
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from plotly.offline import get_plotlyjs

from outsidein.report.section import Section
from outsidein.report.sections.culture import culture_section
from outsidein.report.sections.data import data_section
from outsidein.report.sections.five_questions import five_questions_section
from outsidein.report.sections.market import market_section
from outsidein.report.sections.market_context import market_context_section
from outsidein.report.sections.market_watch import market_watch_section
from outsidein.report.sections.sense import sense_section
from outsidein.report.sections.share import share_section
from outsidein.report.sections.value import value_section

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["SECTIONS", "build_report", "collect_sections"]

log = logging.getLogger(__name__)

#: Report sections in page order: each takes the workspace, returns a Section or None.
SECTIONS: tuple[Callable[[Workspace], Section | None], ...] = (
    data_section, value_section, five_questions_section, share_section, sense_section,
    market_section, market_context_section, market_watch_section, culture_section)


def collect_sections(ws: Workspace) -> list[Section]:
    """The sections that have something to show, in page order."""
    out = []
    for fn in SECTIONS:
        section = fn(ws)
        if section is not None:
            out.append(section)
    return out


#: On a phone a chart's title is wider than the chart and Plotly cuts it: move it above the
#: chart, where it wraps (as the web app's app.js does).
_TITLES_ABOVE = """
document.querySelectorAll('.plotly-graph-div').forEach(function (gd) {
  var t = gd.layout && gd.layout.title;
  var text = t && (typeof t === 'string' ? t : t.text);
  if (!text || gd.clientWidth >= 560) { return; }
  var p = document.createElement('p');
  p.className = 'fig-title';
  p.textContent = text.replace(/<[^>]*>/g, ' ');
  gd.parentNode.insertBefore(p, gd);
  Plotly.relayout(gd, {'title.text': '', 'margin.t': 16});
});
"""


def build_report(ws: Workspace, path: Path | None = None) -> Path:
    """Write ``reports/report.html`` (or *path*) and return its path."""
    sections = collect_sections(ws)
    path = path or ws.reports_dir / "report.html"
    nav = "".join(f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>'
        + (f'<p class="summary">{html.escape(s.summary)}</p>' if s.summary else "")
        + s.body_html + "</section>"
        for s in sections
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outside-In report — {html.escape(ws.root.name)}</title>
<script>{get_plotlyjs()}</script>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;
  color:#1d2733}}
h1{{margin-bottom:0}} h2{{border-bottom:2px solid #1f6feb;padding-bottom:.2rem;margin-top:2.5rem}}
.summary{{font-size:1.05rem;background:#eef4ff;padding:.6rem .8rem;border-radius:6px}}
table.tbl{{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}}
table.tbl th,table.tbl td{{padding:.25rem .6rem;border-bottom:1px solid #dde;text-align:right}}
table.tbl th{{background:#f4f6f9}}
table.tbl td:first-child,table.tbl th:first-child{{text-align:left}}
nav ul{{columns:2;padding-left:1.2rem}} .muted{{color:#5b6473}}
body{{overflow-wrap:anywhere}} .plotly-graph-div,img,svg{{max-width:100%}}
table.tbl{{display:block;max-width:100%;overflow-x:auto}}
table.tbl th,table.tbl td{{overflow-wrap:normal}}
@media (max-width:720px){{body{{padding:.75rem}} nav ul{{columns:1}}}}
.fig-title{{font-weight:600;text-align:center;margin:.75rem 0 0}}
</style></head><body>
<h1>Outside-In report</h1><p class="muted">workspace {html.escape(str(ws.root))} · built {stamp}</p>
<nav><ul>{nav}</ul></nav>{body}<script>{_TITLES_ABOVE}</script></body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
