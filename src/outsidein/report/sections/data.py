"""The static report's section on the customer data (``outsidein.report.html.SECTIONS``).

>>> import tempfile
>>> from outsidein.workspace import Workspace
>>> with Workspace.init(tempfile.mkdtemp()) as ws:  # nothing loaded: no section
...     data_section(ws) is None
True
"""

from __future__ import annotations

import html

from outsidein.report.section import Section
from outsidein.services.data import quarantine_report, warehouse_status
from outsidein.workspace import Workspace

__all__ = ["data_section"]


def data_section(ws: Workspace) -> Section | None:
    """Rows per table and the quarantine's reasons (None when nothing was loaded)."""
    st = warehouse_status(ws, last_loads=10)
    if not any(st.tables.values()) and not st.quarantine:
        return None
    rows = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{n:,}</td><td>{st.quarantine.get(t, 0):,}</td></tr>"
        for t, n in st.tables.items())
    body = ("<table class='tbl'><tr><th>table</th><th>rows</th><th>quarantined</th></tr>"
            f"{rows}</table>")
    reasons_html = ""
    for t, n in st.quarantine.items():
        if not n:
            continue
        rep = quarantine_report(ws, t, limit=0)
        reasons_html += "".join(
            f"<tr><td>{html.escape(t)}</td><td>{html.escape(str(r['column']))}</td>"
            f"<td>{html.escape(r['reason'])}</td><td>{r['rows']:,}</td>"
            f"<td>{r['first_row']}</td></tr>" for r in rep.reasons[:15])
    if reasons_html:
        body += ("<h3>Quarantined rows by reason</h3><table class='tbl'><tr><th>table</th>"
                 "<th>column</th><th>reason</th><th>rows</th><th>first row</th></tr>"
                 f"{reasons_html}</table><p class='muted'>List them with "
                 "<code>outsidein quarantine TABLE</code>.</p>")
    total = sum(st.tables.values())
    bad = sum(st.quarantine.values())
    summary = (f"{total:,} rows in {sum(1 for n in st.tables.values() if n)} tables; "
               f"{bad:,} rows quarantined" + (" — see the reasons below." if bad else "."))
    return Section(title="Customer data", anchor="data", body_html=body, summary=summary)
