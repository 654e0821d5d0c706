"""Row look-ups shared by the insight and acknowledgement services."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from outsidein.errors import NotFoundError
from outsidein.store.models import share as m
from outsidein.store.models.auth import Department, Membership, User


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


# -- batched look-ups (one query each, for lists and digests) ------------------------------

def _latest_versions(session: Session,
                     ids: list[int] | None = None) -> dict[int, m.InsightVersion]:
    """insight id -> its latest version, for *ids* (or every insight)."""
    top = (select(m.InsightVersion.insight_id, func.max(m.InsightVersion.version).label("v"))
           .group_by(m.InsightVersion.insight_id))
    if ids is not None:
        top = top.where(m.InsightVersion.insight_id.in_(ids))
    sub = top.subquery()
    stmt = select(m.InsightVersion).join(sub, and_(
        m.InsightVersion.insight_id == sub.c.insight_id, m.InsightVersion.version == sub.c.v))
    return {v.insight_id: v for v in session.scalars(stmt)}


def _department_links(session: Session,
                      ids: list[int] | None = None) -> dict[int, list[tuple[int, str]]]:
    """insight id -> [(department id, name)] sorted by name."""
    stmt = (select(m.InsightDepartment.insight_id, Department.id, Department.name)
            .join(Department, Department.id == m.InsightDepartment.department_id)
            .order_by(Department.name))
    if ids is not None:
        stmt = stmt.where(m.InsightDepartment.insight_id.in_(ids))
    out: dict[int, list[tuple[int, str]]] = {}
    for insight_id, dept_id, name in session.execute(stmt):
        out.setdefault(insight_id, []).append((dept_id, name))
    return out


def _expected_members(session: Session) -> dict[int, set[int]]:
    """department id -> ids of active, non-viewer members (who are expected to acknowledge)."""
    stmt = (select(Membership.department_id, User.id)
            .join(User, User.id == Membership.user_id)
            .where(User.active.is_(True), User.role != "viewer"))
    out: dict[int, set[int]] = {}
    for dept_id, user_id in session.execute(stmt):
        out.setdefault(dept_id, set()).add(user_id)
    return out


def _acks_of_versions(session: Session, version_ids: list[int]) -> dict[int, set[int]]:
    """version id -> ids of users who acknowledged it."""
    out: dict[int, set[int]] = {}
    if not version_ids:
        return out
    stmt = select(m.Acknowledgement.version_id, m.Acknowledgement.user_id).where(
        m.Acknowledgement.version_id.in_(version_ids))
    for version_id, user_id in session.execute(stmt):
        out.setdefault(version_id, set()).add(user_id)
    return out
