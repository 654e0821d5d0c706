"""Build the static HTML report from the sections each capability provides.

A capability contributes a section by adding a ``"module:function"`` entry to
:data:`SECTIONS`; the function takes the workspace and returns a
:class:`Section` (or ``None`` when it has nothing to show yet).  Plotly's
JavaScript is embedded once, so the report works offline.
"""

from __future__ import annotations

import html
import importlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

#: Report sections in page order: "module:function" returning Section | None.
SECTIONS: list[str] = [
    "outsidein.warehouse.report:data_section",
    "outsidein.value.report:value_section",
    "outsidein.value.questions_report:five_questions_section",
    "outsidein.share.report:share_section",
]


@dataclass(frozen=True)
class Section:
    """One report section: a title, an anchor and ready HTML (figures as Plotly divs)."""

    title: str
    anchor: str
    body_html: str
    summary: str = ""
    figures: tuple[Any, ...] = field(default_factory=tuple)


def figure_html(fig: Any) -> str:
    """A Plotly figure as a <div> (the page embeds plotly.js once)."""
    return fig.to_html(full_html=False, include_plotlyjs=False)


def table_html(df: Any, *, max_rows: int = 25, float_format: str = "{:,.2f}") -> str:
    """A pandas DataFrame as a compact HTML table."""
    return df.head(max_rows).to_html(
        index=False, border=0, classes="tbl", float_format=float_format.format, escape=True
    )


def _load(spec: str) -> Any:
    module, func = spec.split(":")
    try:
        return getattr(importlib.import_module(module), func)
    except (ModuleNotFoundError, AttributeError):
        return None


def collect_sections(ws: Workspace) -> list[Section]:
    out = []
    for spec in SECTIONS:
        fn = _load(spec)
        if fn is None:
            continue
        section = fn(ws)
        if section is not None:
            out.append(section)
    return out


def build_report(ws: Workspace, path: Path | None = None) -> Path:
    """Write ``reports/report.html`` (or *path*) and return its path."""
    from plotly.offline import get_plotlyjs

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
nav ul{{columns:2;padding-left:1.2rem}} .muted{{color:#667}}
</style></head><body>
<h1>Outside-In report</h1><p class="muted">workspace {html.escape(str(ws.root))} · built {stamp}</p>
<nav><ul>{nav}</ul></nav>{body}</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
