"""The insights that mention a customer: their id in the current version's text or evidence.

The store is searched with ``LIKE`` (so only candidate versions are read), then each
candidate is checked for the id as a whole word, so ``C001`` does not match ``C0012``.

>>> mentions("C001", "Call C0012 and C001 today")
True
>>> mentions("C001", "Call C0012 today")
False
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from outsidein.services.customers.model import Section
from outsidein.store.models import share as m

__all__ = ["MAX_INSIGHTS", "insights_mentioning", "mentions"]

#: How many insights the panel lists at most (newest first).
MAX_INSIGHTS = 20


def _word(customer_id: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(customer_id)}(?![\w-])")


def mentions(customer_id: str, text: str) -> bool:
    """Whether *text* names *customer_id* as a whole word."""
    return bool(_word(customer_id).search(text))


def _like(customer_id: str) -> str:
    escaped = customer_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def insights_mentioning(session: Session, customer_id: str,
                        limit: int = MAX_INSIGHTS) -> Section:
    """The current versions of insights whose title, statement or evidence names the id."""
    v = m.InsightVersion
    latest = (select(v.insight_id, func.max(v.version).label("number"))
              .group_by(v.insight_id).subquery())
    pattern = _like(customer_id)
    stmt = (select(v, m.Insight.priority)
            .join(latest, (latest.c.insight_id == v.insight_id) & (latest.c.number == v.version))
            .join(m.Insight, m.Insight.id == v.insight_id)
            .where(or_(v.title.like(pattern, escape="\\"), v.statement.like(pattern, escape="\\"),
                       v.evidence.like(pattern, escape="\\")))
            .order_by(v.published_at.desc(), v.insight_id.desc()))
    word = _word(customer_id)
    rows: list[dict[str, Any]] = []
    for ver, priority in session.execute(stmt):
        where = [name for name, text in (("title", ver.title), ("statement", ver.statement),
                                         ("evidence", ver.evidence or ""))
                 if word.search(text)]
        if not where:
            continue
        statement = ver.statement if len(ver.statement) <= 300 else ver.statement[:297] + "..."
        rows.append({"insight_id": ver.insight_id, "version": ver.version, "title": ver.title,
                     "statement": statement, "priority": priority,
                     "published_at": ver.published_at, "mentioned_in": where})
        if len(rows) >= limit:
            break
    note = ("" if rows else "No published insight names this customer yet.")
    if len(rows) >= limit:
        note = f"The {limit} newest insights that name this customer are listed."
    return Section("insights", "Insights that mention the customer",
                   figures={"insights": len(rows)}, rows=rows, note=note)
