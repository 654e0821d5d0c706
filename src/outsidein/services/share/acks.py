"""Verifiable acknowledgement: who read which version of an insight, and who has not yet.

Each acknowledgement names the sha256 of the version read; it is appended once per user and
version and never changed.  :func:`ack_status` gives the customer advocate, per addressed
department, who has and has not acknowledged the current version and what is overdue.

>>> ack = acknowledge(s, insight_id=ins.id, version_hash=ins.version_hash,  # doctest: +SKIP
...                   user_id=7)
>>> ack_status(s, ins.id).to_pandas()                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError, NotFoundError, PermissionDeniedError
from outsidein.services.share._common import (
    DictMixin,
    department_members,
    member_departments,
    record_audit,
    user_by_id,
    utcnow,
)
from outsidein.services.share._rows import (
    _acks_of_versions,
    _department_links,
    _departments_of,
    _expected_members,
    _insight_row,
    _latest_version,
    _latest_versions,
)
from outsidein.store.models import share as m
from outsidein.store.models.auth import User


@dataclass(frozen=True)
class Acknowledgement(DictMixin):
    """A user's acknowledgement of one version of an insight."""

    id: int
    insight_id: int
    version: int
    version_hash: str
    user_id: int
    user_email: str
    acknowledged_at: datetime
    is_current_version: bool
    #: The API key that recorded it (None: the person, logged in).
    api_key_id: int | None = None


@dataclass(frozen=True)
class AckEntry(DictMixin):
    """A department member and the latest version they acknowledged (if any)."""

    user_id: int
    email: str
    name: str
    acknowledged_at: datetime | None
    acknowledged_version: int | None


@dataclass(frozen=True)
class DepartmentAck(DictMixin):
    department: str
    acknowledged: tuple[AckEntry, ...]
    pending: tuple[AckEntry, ...]
    overdue: bool

    @property
    def complete(self) -> bool:
        return not self.pending


@dataclass(frozen=True)
class AckStatus(DictMixin):
    """Who has and has not acknowledged an insight's current version, per department."""

    insight_id: int
    title: str
    version: int
    version_hash: str
    due_at: datetime
    departments: tuple[DepartmentAck, ...]
    acknowledged_count: int = field(default=0)
    expected_count: int = field(default=0)
    overdue: bool = False

    @property
    def complete(self) -> bool:
        return self.acknowledged_count == self.expected_count

    def to_pandas(self) -> Any:
        """One row per department member: acknowledged (current version) or not, overdue."""
        rows = [{"department": d.department, "email": p.email, "name": p.name,
                 "acknowledged": done, "acknowledged_at": p.acknowledged_at,
                 "acknowledged_version": p.acknowledged_version,
                 "overdue": (not done) and d.overdue}
                for d in self.departments
                for done, people in ((True, d.acknowledged), (False, d.pending))
                for p in people]
        return pd.DataFrame(rows, columns=["department", "email", "name", "acknowledged",
                                           "acknowledged_at", "acknowledged_version", "overdue"])

    def _repr_html_(self) -> str:
        return self.to_pandas().to_html(index=False)

    def __repr__(self) -> str:
        return (f"AckStatus(insight={self.insight_id} v{self.version}, "
                f"{self.acknowledged_count}/{self.expected_count} acknowledged, "
                f"overdue={self.overdue})")


@dataclass(frozen=True)
class AckCount(DictMixin):
    """How many expected people acknowledged an insight's current version (for lists)."""

    insight_id: int
    version: int
    due_at: datetime
    expected: int
    acknowledged: int

    @property
    def pending(self) -> int:
        return self.expected - self.acknowledged

    def overdue_at(self, now: datetime) -> bool:
        return self.pending > 0 and now > self.due_at


def ack_counts(session: Session, insight_ids: list[int] | None = None) -> dict[int, AckCount]:
    """Acknowledged / expected counts of the current versions, in a few queries.

    The same rule as :func:`ack_status`: the expected people are the active, non-viewer
    members of the addressed departments, each counted once.
    """
    latest = _latest_versions(session, insight_ids)
    links = _department_links(session, list(latest))
    members = _expected_members(session)
    acked = _acks_of_versions(session, [v.id for v in latest.values()])
    out: dict[int, AckCount] = {}
    for insight_id, ver in latest.items():
        expected: set[int] = set()
        for dept_id, _ in links.get(insight_id, []):
            expected |= members.get(dept_id, set())
        done = expected & acked.get(ver.id, set())
        out[insight_id] = AckCount(insight_id=insight_id, version=ver.version, due_at=ver.due_at,
                                   expected=len(expected), acknowledged=len(done))
    return out


# -- acknowledgement ----------------------------------------------------------------------

def acknowledge(
    session: Session,
    *,
    insight_id: int,
    version_hash: str,
    user_id: int,
    api_key_id: int | None = None,
    now: datetime | None = None,
    can_read: bool = True,
    write: Callable[[], AbstractContextManager[Any]] | None = None,
) -> Acknowledgement:
    """Record that *user_id* read the version of *insight_id* whose hash is *version_hash*.

    Only active members (not viewers) of a department the insight is addressed to may
    acknowledge.  Acknowledging an older version records that version.  Calling again for
    the same user and version returns the first record (acknowledgements are append-only).
    *api_key_id* names the API key the acknowledgement came through (kept with it and in the
    audit record); a hash that matches no version is a 404 that does not give the right one.
    A caller that may not read insights (*can_read* false: an ``acks:write``-only API key) is
    not told the departments an insight is for when it is refused.  With *write*, the checks
    read first and only the record is made inside ``write()`` (the web app's
    :func:`~outsidein.store.db.write_transaction`), so the one writer is held for a few
    statements, not the dozen the checks take.
    """
    row = _insight_row(session, insight_id)
    ver = session.scalar(select(m.InsightVersion).where(
        m.InsightVersion.insight_id == insight_id, m.InsightVersion.content_hash == version_hash)
        .order_by(m.InsightVersion.version.desc()).limit(1))
    latest = _latest_version(session, insight_id)
    if ver is None:
        raise NotFoundError(f"insight {insight_id} has no version with hash {version_hash!r}; "
                            "read the insight for the hash of its current version")
    user = user_by_id(session, user_id)
    if not user.active:
        raise PermissionDeniedError(f"user {user.email} is deactivated and cannot acknowledge")
    if user.role == "viewer":
        raise PermissionDeniedError(f"user {user.email} is a viewer; viewers read insights "
                                    "but cannot acknowledge them")
    addressed = {d.id: d.name for d in _departments_of(session, insight_id)}
    mine = {d.id for d in member_departments(session, user_id)}
    if not mine & addressed.keys():
        named = f" ({', '.join(addressed.values())})" if can_read else ""
        raise PermissionDeniedError(
            f"user {user.email} is not a member of a department insight {insight_id} is "
            f"for{named}; only those members acknowledge it")
    row_id, latest_id, ver_id, version = row.id, latest.id, ver.id, ver.version
    with write() if write is not None else nullcontext():
        existing = (_find_ack(session, user_id, ver_id)
                    or _record_ack(session, ver, user, now, api_key_id))
        done = Acknowledgement(id=existing.id, insight_id=row_id, version=version,
                               version_hash=existing.version_hash, user_id=user_id,
                               user_email=user.email, acknowledged_at=existing.acknowledged_at,
                               is_current_version=ver_id == latest_id,
                               api_key_id=existing.api_key_id)
    return done


def _find_ack(session: Session, user_id: int, version_id: int) -> m.Acknowledgement | None:
    return session.scalar(select(m.Acknowledgement).where(
        m.Acknowledgement.user_id == user_id, m.Acknowledgement.version_id == version_id))


def _record_ack(session: Session, ver: m.InsightVersion, user: User,
                now: datetime | None, api_key_id: int | None = None) -> m.Acknowledgement:
    """Append *user*'s acknowledgement of *ver*, or return the one a concurrent request added."""
    ack = m.Acknowledgement(insight_id=ver.insight_id, version_id=ver.id,
                            version_hash=ver.content_hash, user_id=user.id,
                            acknowledged_at=now or utcnow(), api_key_id=api_key_id)
    try:
        with session.begin_nested():
            session.add(ack)
    except IntegrityError as exc:
        concurrent = _find_ack(session, user.id, ver.id)
        if concurrent is None:
            raise ConflictError(
                f"acknowledgement of insight {ver.insight_id} version {ver.version} by "
                f"{user.email} could not be stored ({exc.orig}); try again") from exc
        return concurrent
    record_audit(session, actor=user.email, action="insight.acknowledge",
                 target=f"insight:{ver.insight_id}",
                 details={"version": ver.version, "version_hash": ver.content_hash,
                          "api_key_id": api_key_id})
    return ack


def list_acknowledgements(session: Session, insight_id: int) -> list[Acknowledgement]:
    """Every acknowledgement of an insight, oldest first."""
    _insight_row(session, insight_id)
    latest = _latest_version(session, insight_id)
    stmt = (select(m.Acknowledgement, m.InsightVersion.version, User.email)
            .join(m.InsightVersion, m.InsightVersion.id == m.Acknowledgement.version_id)
            .join(User, User.id == m.Acknowledgement.user_id)
            .where(m.Acknowledgement.insight_id == insight_id)
            .order_by(m.Acknowledgement.acknowledged_at, m.Acknowledgement.id))
    return [Acknowledgement(id=a.id, insight_id=insight_id, version=v, version_hash=a.version_hash,
                            user_id=a.user_id, user_email=email, acknowledged_at=a.acknowledged_at,
                            is_current_version=a.version_id == latest.id,
                            api_key_id=a.api_key_id)
            for a, v, email in session.execute(stmt)]


def ack_status(session: Session, insight_id: int, *, now: datetime | None = None) -> AckStatus:
    """Per addressed department: who has and has not acknowledged the current version.

    A department is overdue when someone in it has not acknowledged the current version
    after its deadline (publication + ``due_days``).
    """
    row = _insight_row(session, insight_id)
    latest = _latest_version(session, insight_id)
    now = now or utcnow()
    acks: dict[int, tuple[datetime, int, int]] = {}  # user -> (when, version number, version id)
    stmt = (select(m.Acknowledgement.user_id, m.Acknowledgement.acknowledged_at,
                   m.InsightVersion.version, m.InsightVersion.id)
            .join(m.InsightVersion, m.InsightVersion.id == m.Acknowledgement.version_id)
            .where(m.Acknowledgement.insight_id == insight_id))
    for user_id, at, number, ver_id in session.execute(stmt):
        if user_id not in acks or number > acks[user_id][1]:
            acks[user_id] = (at, number, ver_id)
    late = now > latest.due_at
    depts: list[DepartmentAck] = []
    done_users: set[int] = set()
    expected_users: set[int] = set()
    for dept in _departments_of(session, row.id):
        done: list[AckEntry] = []
        pending: list[AckEntry] = []
        for user in department_members(session, dept.id):
            last = acks.get(user.id)
            entry = AckEntry(user_id=user.id, email=user.email, name=user.name,
                             acknowledged_at=last[0] if last else None,
                             acknowledged_version=last[1] if last else None)
            expected_users.add(user.id)
            if last is not None and last[2] == latest.id:
                done.append(entry)
                done_users.add(user.id)
            else:
                pending.append(entry)
        depts.append(DepartmentAck(department=dept.name, acknowledged=tuple(done),
                                   pending=tuple(pending), overdue=bool(pending) and late))
    return AckStatus(insight_id=row.id, title=latest.title, version=latest.version,
                     version_hash=latest.content_hash, due_at=latest.due_at,
                     departments=tuple(depts), acknowledged_count=len(done_users),
                     expected_count=len(expected_users), overdue=any(d.overdue for d in depts))
