"""Publish what the analyses found as insights for the departments.

Each answer of the five questions becomes an insight under a stable key
(``five_questions.<name>``), built by the one builder
(:func:`outsidein.services.questions.answer_insight`) whichever path publishes
it: the pipeline step (:func:`publish_analysis_insights`) or the web page's
"Publish" button (:func:`publish_answer`).  Re-publishing an unchanged finding
adds no version and asks nobody to acknowledge again; a changed finding adds a
version that every addressed department acknowledges anew.

>>> publish_answer(session, read_answers(ws)["value"])          # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from outsidein.errors import MissingDataError, NotFoundError
from outsidein.services.questions import StoredAnswer, answer_insight
from outsidein.services.share import Insight, InsightDraft, publish_draft
from outsidein.store.db import session_scope

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["publish_analysis_insights", "publish_answer"]


def publish_answer(session: Session, answer: StoredAnswer, *,
                   owner_email: str | None = None) -> Insight:
    """Publish one saved answer of the five questions as an insight."""
    return _publish(session, answer_insight(answer), owner_email=owner_email)


def publish_analysis_insights(ws: Workspace, outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Publish the insights of the analyses in *outputs*; return what was published.

    Each output that has an ``insights()`` method (the five answers, sense and respond,
    later market sensing and the culture benchmark) contributes its drafts: each an
    :class:`InsightDraft` or a mapping of its fields (capability services such as
    :mod:`outsidein.services.sense` may not import :mod:`outsidein.services.share`).

    Raises
    ------
    MissingDataError
        No customer advocate (or admin) exists to own the insights, no department
        exists, or no analysis produced any insight.
    """
    drafts: list[InsightDraft] = []
    for result in outputs.values():
        if hasattr(result, "insights"):
            drafts.extend(d if isinstance(d, InsightDraft) else InsightDraft(**d)
                          for d in result.insights())
    if not drafts:
        raise MissingDataError("no analysis produced an insight to publish; "
                               "run 'outsidein answer' after loading data")
    published = []
    with session_scope(ws.store_url) as session:
        for draft in drafts:
            insight = _publish(session, draft)
            published.append({"key": draft.key, "id": insight.id, "version": insight.version})
    return published


def _publish(session: Session, draft: InsightDraft, *, owner_email: str | None = None) -> Insight:
    """:func:`publish_draft`, with a missing owner or department as missing data (exit 2)."""
    try:
        return publish_draft(session, draft, owner_email=owner_email)
    except NotFoundError as exc:
        raise MissingDataError(str(exc)) from exc
