"""The five crucial questions as a section of the static HTML report.

Reads ``<workspace>/results/five_questions.json`` (written by
:func:`outsidein.services.questions.answer_five_questions`, read back by
:func:`outsidein.services.questions.read_answers`), so the report shows
exactly the numbers ``outsidein answer --json`` prints, with the plots.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.questions import StoredAnswer, read_answers

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
    return figure_html(go.Figure(plot))


def _answer_html(a: StoredAnswer) -> str:
    esc = html.escape
    out = [f'<h3 id="{ANCHOR}-{esc(a.name)}">{esc(a.question)}</h3>']
    if a.missing_data:
        return "".join(out) + f'<p class="muted"><b>Data missing:</b> {esc(a.missing_data)}</p>'
    out.append(f'<p class="summary">{esc(a.headline)}</p>')
    if a.next_action_text:
        out.append(f"<p><b>Next:</b> {esc(a.next_action_text)}</p>")
    out.append(_figure(a.plot))
    rows = pd.DataFrame(a.rows)
    if not rows.empty:
        shown = min(len(rows), REPORT_ROWS)
        out.append(f"<h4>Top {shown} (full list: warehouse table "
                   f"<code>{esc(a.table)}</code>)</h4>")
        out.append(table_html(rows, max_rows=shown))
    for name, records in a.tables.items():
        df = pd.DataFrame(records)
        if df.empty:
            continue
        out.append(f"<h4>{esc(_TABLE_TITLES.get(name, name))}</h4>")
        out.append(table_html(df, max_rows=20, float_format="{:,.3g}"))
    return "".join(out)


def five_questions_section(ws: Workspace) -> Section | None:
    """The report section for the five answers (``None`` before ``outsidein answer`` ran)."""
    stored = read_answers(ws)
    if stored is None:
        return None
    answers = list(stored)
    answered = [a for a in answers if not a.missing_data]
    period = stored.period
    intro = (f'<p class="muted">Period {html.escape(str(period.get("start")))} to '
             f'{html.escape(str(period.get("end")))}; answered '
             f'{html.escape(str(stored.generated_at or ""))}. The same numbers as '
             "<code>outsidein answer --json</code>.</p>")
    summary = "; ".join(a.title or a.question for a in answered)
    if len(answered) < len(answers):
        summary += f" ({len(answers) - len(answered)} not answered yet: data missing)"
    return Section(title="The five crucial questions", anchor=ANCHOR,
                   body_html=intro + "".join(_answer_html(a) for a in answers),
                   summary=summary)
