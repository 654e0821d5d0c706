"""The five crucial questions as a section of the static HTML report.

Reads ``<workspace>/results/five_questions.json`` (written by
:func:`outsidein.services.questions.answer_five_questions`, read back by
:func:`outsidein.services.questions.read_answers`), so the report shows
exactly the numbers ``outsidein answer --json`` prints, with the plots.  Each
answer's caveats (what it cannot know: "profit" that is revenue, order lines
it skipped) sit under its headline; numbers are shown in words, never in
scientific notation.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from outsidein.report.section import Section, figure_html, table_html
from outsidein.services.questions import DRIVERS_RULE, StoredAnswer, read_answers

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

ANCHOR = "five-questions"
REPORT_ROWS = 10  # rows per answer on the page (--json and the warehouse tables have more)
_TABLE_TITLES = {"drivers": f"What sets the top decile apart ({DRIVERS_RULE})",
                 "segments": "Segments that lose money in total",
                 "components": "Cost to serve of the unprofitable customers, by kind",
                 "comparison": "Top advocates vs other customers (means)",
                 "profile": "Ideal customer profile: attribute values over-represented in the "
                            "top value decile",
                 "calibration": "Calibration on held-out prospects"}
#: tables shown through their words: column in the saved table -> header on the page
_SHOWN = {"drivers": {"driver": "", "top_text": "top 10%", "rest_text": "the rest",
                      "difference_text": "difference", "effect": "effect",
                      "top_customers": "top-decile customers"}}
#: numbers in tables: thousands separated, two decimals, never scientific notation
_FLOAT = "{:,.2f}"
#: row columns renamed when "profit" is revenue (no product costs loaded)
_REVENUE_HEADERS = {"profit": "net revenue", "margin": "net revenue before cost to serve",
                    "clv": "predicted revenue"}


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
    out.extend(f'<p class="muted"><b>Note:</b> {esc(c)}</p>' for c in a.caveats)
    if a.next_action_text:
        out.append(f"<p><b>Next:</b> {esc(a.next_action_text)}</p>")
    out.append(_figure(a.plot))
    rows = pd.DataFrame(a.rows)
    if not rows.empty:
        shown = min(len(rows), REPORT_ROWS)
        out.append(f"<h4>Top {shown} (full list: warehouse table "
                   f"<code>{esc(a.table)}</code>)</h4>")
        if a.value_basis == "revenue":
            rows = rows.rename(columns=_REVENUE_HEADERS)
        out.append(table_html(rows, max_rows=shown, float_format=_FLOAT))
    for name, records in a.tables.items():
        df = pd.DataFrame(records)
        if df.empty:
            continue
        shown_cols = _SHOWN.get(name)
        if shown_cols and set(shown_cols) <= set(df.columns):
            df = df[list(shown_cols)].rename(columns=shown_cols)
        out.append(f"<h4>{esc(_TABLE_TITLES.get(name, name))}</h4>")
        out.append(table_html(df, max_rows=20, float_format=_FLOAT))
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
    if stored.value_basis == "revenue":
        intro += ('<p style="background:#fff4e5;padding:.5rem .8rem;border-radius:6px">'
                  "<b>Profit is revenue here:</b> most order lines have no "
                  "product cost, so what these answers call profit or margin is revenue less "
                  "discounts and returns (see each answer's note for the fix).</p>")
    summary = "; ".join(a.title or a.question for a in answered)
    if len(answered) < len(answers):
        summary += f" ({len(answers) - len(answered)} not answered yet: data missing)"
    return Section(title="The five crucial questions", anchor=ANCHOR,
                   body_html=intro + "".join(_answer_html(a) for a in answers),
                   summary=summary)
