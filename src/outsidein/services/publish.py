"""Publish what the analyses found as insights for the departments (pipeline step).

Each answer of the five questions becomes an insight under a stable key
(``five_questions.<name>``): re-running an unchanged analysis adds no version
and asks nobody to acknowledge again; a changed finding adds a version that
every addressed department acknowledges anew.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outsidein.errors import MissingDataError, NotFoundError

if TYPE_CHECKING:
    from outsidein.workspace import Workspace


def publish_analysis_insights(ws: Workspace, outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Publish the insights of the analyses in *outputs*; return what was published.

    Raises
    ------
    MissingDataError
        No customer advocate (or admin) exists to own the insights, or no
        analysis produced any.
    """
    from outsidein.share import default_owner_email, publish_insight
    from outsidein.store.db import session_scope

    candidates: list[dict[str, Any]] = []
    for result in outputs.values():
        if hasattr(result, "insights"):
            candidates.extend(result.insights())
    if not candidates:
        raise MissingDataError("no analysis produced an insight to publish; "
                               "run 'outsidein answer' after loading data")
    published = []
    with session_scope(ws.store_url) as session:
        try:
            owner = default_owner_email(session)
        except NotFoundError as exc:
            raise MissingDataError(str(exc)) from exc
        for item in candidates:
            insight = publish_insight(
                session, title=item["title"], statement=item["statement"],
                evidence=item["evidence"], owner_email=owner,
                departments=_known_departments(session, item["departments"]),
                priority=item.get("priority", "medium"), source="analysis", key=item["key"])
            published.append({"key": item["key"], "id": insight.id, "version": insight.version})
    return published


def _known_departments(session: Any, wanted: list[str]) -> list[str]:
    """The addressed departments that exist (creating none); all of them when none match."""
    from sqlalchemy import select

    from outsidein.store.models.auth import Department

    names = set(session.scalars(select(Department.name)))
    chosen = [d for d in wanted if d in names]
    if not chosen and not names:
        raise MissingDataError("no departments exist to address insights to; add them with "
                               "'outsidein department add NAME'")
    return chosen or sorted(names)
