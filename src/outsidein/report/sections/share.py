"""The static report's section on shared customer truth (``outsidein.report.html.SECTIONS``).

>>> share_section(ws).summary        # doctest: +SKIP
'3 insight(s) shared, 1 not yet acknowledged by everyone (0 overdue); ...'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.exc import OperationalError, ProgrammingError

from outsidein.errors import ConfigError
from outsidein.report.section import Section
from outsidein.services.share import (
    FUNCTIONS,
    ack_status,
    alignment_review,
    alla_board,
    list_insights,
)
from outsidein.store.db import session_scope

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

_TEMPLATES = Environment(loader=PackageLoader("outsidein.report", "templates"),
                         autoescape=select_autoescape(["html", "j2"]))

COLOURS = {"addressed": "#dcf5e3", "partly": "#fff4cc", "missed": "#fde2e1"}


def share_section(ws: Workspace, *, top: int = 10, max_insights: int = 20) -> Section | None:
    """Insights with their acknowledgement, the ALLA counts and the alignment matrix.

    ``None`` when nothing has been published, acted on or registered yet.
    """
    try:
        with session_scope(ws.store_url) as s:
            insights = [(i, ack_status(s, i.id)) for i in list_insights(s)[:max_insights]]
            board = alla_board(s)
            review = alignment_review(s, top=top)
    except (OperationalError, ProgrammingError) as exc:  # a store not migrated to 0002_share
        raise ConfigError(f"the store at {ws.store_url} is not migrated ({exc.orig}); "
                          f"run 'outsidein init {ws.root}'") from exc
    if not insights and not board.actions and not review.rows:
        return None
    body = _TEMPLATES.get_template("share_section.html.j2").render(
        insights=insights, board=board, review=review, functions=FUNCTIONS, colours=COLOURS)
    waiting = sum(not st.complete for _, st in insights)
    overdue = sum(st.overdue for _, st in insights)
    summary = (f"{len(insights)} insight(s) shared, {waiting} not yet acknowledged by everyone "
               f"({overdue} overdue); {board.successes} action(s) succeeded and "
               f"{board.failures} failed. " + (review.summary if review.rows else ""))
    return Section(title="Shared customer truth", anchor="share", body_html=body,
                   summary=summary.strip())
