"""The static HTML report: one page with a section per capability (Plotly charts inline).

Each capability's section lives in ``report/sections/<capability>.py`` and is listed
in :data:`outsidein.report.html.SECTIONS`.

>>> from outsidein.report import build_report
>>> build_report(ws)                          # doctest: +SKIP
PosixPath('.../reports/report.html')
"""

from __future__ import annotations

from outsidein.report.html import SECTIONS, build_report, collect_sections
from outsidein.report.section import Section, figure_html, table_html

__all__ = ["SECTIONS", "Section", "build_report", "collect_sections", "figure_html", "table_html"]
