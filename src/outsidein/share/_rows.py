"""Row look-ups shared by the insight and acknowledgement services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError
from outsidein.store.models import share as m
from outsidein.store.models.auth import Department


def _latest_version(session: Session, insight_id: int) -> m.InsightVersion:
    return session.scalars(select(m.InsightVersion).where(m.InsightVersion.insight_id == insight_id)
                           .order_by(m.InsightVersion.version.desc()).limit(1)).one()


def _departments_of(session: Session, insight_id: int) -> list[Department]:
    stmt = (select(Department)
            .join(m.InsightDepartment, m.InsightDepartment.department_id == Department.id)
            .where(m.InsightDepartment.insight_id == insight_id).order_by(Department.name))
    return list(session.scalars(stmt))


def _insight_row(session: Session, insight_id: int) -> m.Insight:
    row = session.get(m.Insight, insight_id)
    if row is None:
        raise NotFoundError(f"insight {insight_id} not found; 'outsidein insights list' shows them")
    return row
