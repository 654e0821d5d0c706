"""The five crucial questions as a section of the static HTML report.

Reads ``<workspace>/results/five_questions.json`` (written by
:func:`outsidein.value.questions.answer_five_questions`), so the report shows
exactly the numbers ``outsidein answer --json`` prints, with the plots.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from outsidein.report.html import Section, figure_html, table_html

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

ANCHOR = "five-questions"
REPORT_ROWS = 10  # rows per answer on the page (--json and the warehouse tables have more)
_TABLE_TITLES = {"drivers": "What sets the top decile apart (means: top decile vs the rest)",
                 "segments": "Segments that lose money in total",
                 "components": "Cost to serve of the unprofitable customers, by kind",
                 "comparison": "Top advocates vs other customers (means)",
                 "profile": "Ideal customer profile: attribute values over-represented in the "
                            "top value decile",
                 "calibration": "Calibration on held-out prospects"}


def _figure(plot: dict[str, Any] | None) -> str:
    if not plot:
        return ""
    import plotly.graph_objects as go

    return figure_html(go.Figure(plot))


def _answer_html(a: dict[str, Any]) -> str:
    esc = html.escape
    out = [f'<h3 id="{ANCHOR}-{esc(a["name"])}">{esc(a["question"])}</h3>']
    if a.get("missing_data"):
        return "".join(out) + f'<p class="muted"><b>Data missing:</b> {esc(a["missing_data"])}</p>'
    out.append(f'<p class="summary">{esc(a["headline"])}</p>')
    if a.get("next_action"):
        na = a["next_action"]
        out.append(f"<p><b>Next:</b> {esc(na['text'])}</p>")
    out.append(_figure(a.get("plot")))
    rows = pd.DataFrame(a.get("rows") or [])
    if not rows.empty:
        shown = min(len(rows), REPORT_ROWS)
        out.append(f"<h4>Top {shown} (full list: warehouse table "
                   f"<code>{esc(a.get('table', ''))}</code>)</h4>")
        out.append(table_html(rows, max_rows=shown))
    for name, records in (a.get("tables") or {}).items():
        df = pd.DataFrame(records)
        if df.empty:
            continue
        out.append(f"<h4>{esc(_TABLE_TITLES.get(name, name))}</h4>")
        out.append(table_html(df, max_rows=20, float_format="{:,.3g}"))
    return "".join(out)


def five_questions_section(ws: Workspace) -> Section | None:
    """The report section for the five answers (``None`` before ``outsidein answer`` ran)."""
    from outsidein.value.questions import load_five_answers

    doc = load_five_answers(ws)
    if doc is None:
        return None
    answers = list(doc.get("answers", {}).values())
    answered = [a for a in answers if not a.get("missing_data")]
    period = doc.get("period", {})
    intro = (f'<p class="muted">Period {html.escape(str(period.get("start")))} to '
             f'{html.escape(str(period.get("end")))}; answered '
             f'{html.escape(str(doc.get("generated_at", "")))}. The same numbers as '
             "<code>outsidein answer --json</code>.</p>")
    summary = "; ".join(a.get("title") or a["question"] for a in answered)
    if len(answered) < len(answers):
        summary += f" ({len(answers) - len(answered)} not answered yet: data missing)"
    return Section(title="The five crucial questions", anchor=ANCHOR,
                   body_html=intro + "".join(_answer_html(a) for a in answers),
                   summary=summary)
