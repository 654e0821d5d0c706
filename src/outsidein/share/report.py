"""The static report's section on shared customer truth (``outsidein.report.html.SECTIONS``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError, ProgrammingError

from outsidein.share.acks import ack_status
from outsidein.share.alignment import FUNCTIONS, alignment_review
from outsidein.share.alla import alla_board
from outsidein.share.insights import list_insights
from outsidein.store.db import session_scope

if TYPE_CHECKING:
    from outsidein.report.html import Section
    from outsidein.workspace import Workspace

log = logging.getLogger(__name__)

COLOURS = {"addressed": "#dcf5e3", "partly": "#fff4cc", "missed": "#fde2e1"}


def share_section(ws: Workspace, *, top: int = 10, max_insights: int = 20) -> Section | None:
    """Insights with their acknowledgement, the ALLA counts and the alignment matrix.

    ``None`` when nothing has been published, acted on or registered yet.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    from outsidein.report.html import Section

    try:
        with session_scope(ws.store_url) as s:
            insights = [(i, ack_status(s, i.id)) for i in list_insights(s)[:max_insights]]
            board = alla_board(s)
            review = alignment_review(s, top=top)
    except (OperationalError, ProgrammingError) as exc:  # a store not migrated to 0002_share
        log.warning("shared-customer-truth section skipped: the store at %s is not migrated "
                    "(run 'outsidein init %s'): %s", ws.store_url, ws.root, exc.orig)
        return None
    if not insights and not board.actions and not review.rows:
        return None
    env = Environment(loader=PackageLoader("outsidein.share", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    body = env.get_template("report_section.html.j2").render(
        insights=insights, board=board, review=review, functions=FUNCTIONS, colours=COLOURS)
    waiting = sum(not st.complete for _, st in insights)
    overdue = sum(st.overdue for _, st in insights)
    summary = (f"{len(insights)} insight(s) shared, {waiting} not yet acknowledged by everyone "
               f"({overdue} overdue); {board.successes} action(s) succeeded and "
               f"{board.failures} failed. " + (review.summary if review.rows else ""))
    return Section(title="Shared customer truth", anchor="share", body_html=body,
                   summary=summary.strip())
