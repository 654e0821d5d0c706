"""The insight hub: publish versioned insights to departments (acknowledgement: ``acks``).

An insight's content (title, statement, evidence) is versioned; each version carries the sha256
of its canonical JSON, so an acknowledgement names exactly what was read.  Analyses publish
with a stable ``key`` and only create a new version when the content changed.

>>> from outsidein.store.db import session_scope                     # doctest: +SKIP
>>> with session_scope(ws.store_url) as s:                           # doctest: +SKIP
...     ins = publish_insight(s, title="Top 5% of customers give 38% of profit",
...                           statement="Keep them: call within 24 h of any complaint.",
...                           evidence={"figures": {"share_of_profit": 0.38}},
...                           owner_email="advocate@acme.example",
...                           departments=["sales", "service"], key="five_questions.value")
...     acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash, user_id=7)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.share._common import (
    DictMixin,
    canonical_json,
    content_hash,
    departments_by_name,
    loads,
    record_audit,
    user_by_email,
    utcnow,
)
from outsidein.services.share._rows import (
    _departments_of,
    _insight_row,
    _latest_version,
)
from outsidein.services.share.acks import (  # re-exported: the hub's acknowledgement side
    AckCount,
    AckEntry,
    Acknowledgement,
    AckStatus,
    DepartmentAck,
    ack_counts,
    ack_status,
    acknowledge,
    list_acknowledgements,
)
from outsidein.services.share.notify import enqueue_insight_version
from outsidein.store.models import share as m
from outsidein.store.models.auth import Department, User

__all__ = ["Insight", "InsightVersionSummary", "publish_insight", "get_insight",
           "get_insight_by_key", "list_versions", "AckCount", "AckEntry",
           "AckStatus", "ack_counts",
           "Acknowledgement", "DepartmentAck", "ack_status", "acknowledge",
           "list_acknowledgements"]

PRIORITY_ORDER = {p: i for i, p in enumerate(m.PRIORITIES)}


@dataclass(frozen=True)
class Insight(DictMixin):
    """One version of an insight, as people read it.

    ``evidence`` holds ``figures`` (name -> value), an optional ``chart`` (Plotly figure
    JSON), ``link`` (to the analysis) and ``snapshot_id`` (the data it came from).
    ``new_version`` is true when :func:`publish_insight` created this version.
    """

    id: int
    key: str | None
    version: int
    version_hash: str
    title: str
    statement: str
    evidence: dict[str, Any]
    owner_email: str
    owner_name: str
    departments: tuple[str, ...]
    priority: str
    source: str
    published_at: datetime
    due_at: datetime
    latest_version: int
    new_version: bool = False

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version

    def __repr__(self) -> str:
        return (f"Insight(id={self.id}, v{self.version}, {self.priority}, {self.title!r}, "
                f"departments={list(self.departments)})")


@dataclass(frozen=True)
class InsightVersionSummary(DictMixin):
    version: int
    version_hash: str
    title: str
    published_at: datetime
    due_at: datetime




# -- publishing ---------------------------------------------------------------------------

def _check_evidence(evidence: Any) -> dict[str, Any]:
    if evidence is None:
        return {}
    if not isinstance(evidence, dict):
        raise DataValidationError(f"evidence: expected a dict (figures, chart, link, snapshot_id), "
                                  f"got {type(evidence).__name__}")
    chart = evidence.get("chart")
    if chart is not None and not isinstance(chart, dict):
        raise DataValidationError("evidence['chart']: expected a Plotly figure as a dict "
                                  "(fig.to_plotly_json() or json.loads(fig.to_json()))")
    if "figures" in evidence and not isinstance(evidence["figures"], dict | list):
        raise DataValidationError("evidence['figures']: expected a dict of name -> value or a list")
    return evidence


def publish_insight(
    session: Session,
    *,
    title: str,
    statement: str,
    evidence: dict[str, Any] | None,
    owner_email: str,
    departments: list[str],
    priority: str = "high",
    source: str = "manual",
    key: str | None = None,
    due_days: int = 7,
    now: datetime | None = None,
) -> Insight:
    """Publish an insight, or a new version of the insight with the same ``key``.

    A new version is created only when title, statement or evidence changed (their
    sha256 differs from the latest version's); owner, priority and departments are
    updated either way.  Each new version enqueues a notification.

    Returns
    -------
    Insight
        The current version; ``new_version`` says whether this call created it.
    """
    title, statement = (title or "").strip(), (statement or "").strip()
    if not title or not statement:
        raise DataValidationError("insight: a title and a statement are both required")
    if priority not in m.PRIORITIES:
        raise DataValidationError(f"priority {priority!r}: expected one of "
                                  f"{', '.join(m.PRIORITIES)}")
    if not isinstance(due_days, int) or due_days < 0:
        raise DataValidationError(f"due_days {due_days!r}: expected a whole number of days >= 0")
    evidence = _check_evidence(evidence)
    canonical_json(evidence)  # raises on values that cannot be stored
    depts = departments_by_name(session, departments or [])
    if not depts:
        raise DataValidationError("insight: name at least one department it is for")
    owner = user_by_email(session, owner_email)
    now = now or utcnow()
    digest = content_hash(title, statement, evidence)

    row, previous = _insight_for_key(session, key, owner_id=owner.id, priority=priority,
                                     source=source, due_days=due_days, now=now)
    _set_departments(session, row.id, depts)

    if previous is not None and previous.content_hash == digest:
        session.flush()
        return _to_insight(session, row, previous, new_version=False)
    number = 1 if previous is None else previous.version + 1
    current = _add_version(session, row, number, title=title, statement=statement,
                           evidence=evidence, digest=digest, now=now, actor=owner.email)
    result = _to_insight(session, row, current, new_version=True)
    enqueue_insight_version(session, result)
    return result


def _insight_for_key(session: Session, key: str | None, *, owner_id: int, priority: str,
                     source: str, due_days: int,
                     now: datetime) -> tuple[m.Insight, m.InsightVersion | None]:
    """The insight published with *key* (updated) and its latest version, or a new one."""
    row = session.scalar(select(m.Insight).where(m.Insight.key == key)) if key else None
    if row is None:
        row = m.Insight(key=key, owner_id=owner_id, priority=priority, source=source,
                        due_days=due_days, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return row, None
    row.owner_id, row.priority, row.source, row.due_days = owner_id, priority, source, due_days
    return row, _latest_version(session, row.id)


def _add_version(session: Session, row: m.Insight, number: int, *, title: str, statement: str,
                 evidence: dict[str, Any], digest: str, now: datetime,
                 actor: str) -> m.InsightVersion:
    """Append version *number* of *row* and its audit event."""
    version = m.InsightVersion(
        insight_id=row.id, version=number, content_hash=digest, title=title,
        statement=statement, evidence=canonical_json(evidence), published_at=now,
        due_at=now + timedelta(days=row.due_days))
    session.add(version)
    row.updated_at = now
    session.flush()
    record_audit(session, actor=actor, action="insight.publish", target=f"insight:{row.id}",
                 details={"version": number, "version_hash": digest, "key": row.key})
    session.flush()
    return version


def _set_departments(session: Session, insight_id: int, depts: list[Department]) -> None:
    wanted = {d.id for d in depts}
    current = set(session.scalars(select(m.InsightDepartment.department_id)
                                  .where(m.InsightDepartment.insight_id == insight_id)))
    for dept_id in current - wanted:
        session.delete(session.get(m.InsightDepartment, (insight_id, dept_id)))
    for dept_id in wanted - current:
        session.add(m.InsightDepartment(insight_id=insight_id, department_id=dept_id))
    session.flush()


def _build_insight(row: m.Insight, ver: m.InsightVersion, owner: User | None,
                   departments: tuple[str, ...], latest: int,
                   new_version: bool = False) -> Insight:
    return Insight(
        id=row.id, key=row.key, version=ver.version, version_hash=ver.content_hash,
        title=ver.title, statement=ver.statement, evidence=loads(ver.evidence),
        owner_email=owner.email if owner else "", owner_name=owner.name if owner else "",
        departments=departments, priority=row.priority, source=row.source,
        published_at=ver.published_at, due_at=ver.due_at, latest_version=latest,
        new_version=new_version)


def _to_insight(session: Session, row: m.Insight, ver: m.InsightVersion,
                new_version: bool = False) -> Insight:
    latest = session.scalar(select(func.max(m.InsightVersion.version))
                            .where(m.InsightVersion.insight_id == row.id))
    return _build_insight(row, ver, session.get(User, row.owner_id),
                          tuple(d.name for d in _departments_of(session, row.id)),
                          int(latest or ver.version), new_version)



# -- reading ------------------------------------------------------------------------------

def get_insight(session: Session, insight_id: int, version: int | None = None) -> Insight:
    """The current version of an insight, or the numbered *version*."""
    row = _insight_row(session, insight_id)
    if version is None:
        return _to_insight(session, row, _latest_version(session, insight_id))
    ver = session.scalar(select(m.InsightVersion).where(
        m.InsightVersion.insight_id == insight_id, m.InsightVersion.version == version))
    if ver is None:
        latest = _latest_version(session, insight_id).version
        raise NotFoundError(f"insight {insight_id} has no version {version}; "
                            f"versions are 1..{latest}")
    return _to_insight(session, row, ver)


def get_insight_by_key(session: Session, key: str) -> Insight:
    """The current version of the insight published with *key*."""
    row = session.scalar(select(m.Insight).where(m.Insight.key == key))
    if row is None:
        raise NotFoundError(f"no insight with key {key!r}")
    return _to_insight(session, row, _latest_version(session, row.id))


def list_versions(session: Session, insight_id: int) -> list[InsightVersionSummary]:
    """Every version of an insight, oldest first."""
    _insight_row(session, insight_id)
    rows = session.scalars(select(m.InsightVersion).where(m.InsightVersion.insight_id == insight_id)
                           .order_by(m.InsightVersion.version))
    return [InsightVersionSummary(version=v.version, version_hash=v.content_hash, title=v.title,
                                  published_at=v.published_at, due_at=v.due_at) for v in rows]
