"""Lists of insights, filtered, counted, ordered and paged in SQL: the hub's lists at scale.

The insights page, the API's list, a person's to-do and an insight page's "next awaiting"
link each read one page of insights.  The filters (a department, a person's departments,
awaiting acknowledgement), the order (high priority first, newest first, by id last) and
the count are the database's work, so a page builds its own rows only: at 4,000 insights
the API's first page no longer reads the 4,000 (``benchmarks/bench_insight_lists.py``).
:func:`ack_tally` counts acknowledged / expected per current version the same way.

>>> from outsidein.store.db import session_scope                     # doctest: +SKIP
>>> with session_scope(ws.store_url) as s:                           # doctest: +SKIP
...     page = insight_page(s, department="sales", limit=20)
...     page.total, [i.title for i in page.items]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from outsidein.errors import DataValidationError
from outsidein.services.share._common import DictMixin, departments_by_name, user_by_id
from outsidein.services.share._rows import _department_links, _latest_versions
from outsidein.services.share.insights import Insight, _build_insight, get_insight
from outsidein.store.models import share as m
from outsidein.store.models.auth import Membership, User

__all__ = ["AckRow", "AckTally", "InsightPage", "ack_tally", "awaiting_among", "insight_page",
           "list_insights", "next_awaiting"]


@dataclass(frozen=True)
class InsightPage(DictMixin):
    """One page of a list of insights: its items, how many match in all, where it starts."""

    items: tuple[Insight, ...]
    total: int
    limit: int | None
    offset: int

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None on the last page."""
        if self.limit is None or self.offset + len(self.items) >= self.total:
            return None
        return self.offset + self.limit


def _latest() -> Any:
    """Each insight's latest version: ``insight_id``, ``version_id``, ``published_at``,
    ``due_at``, ``version``, ``title`` (a subquery)."""
    top = (select(m.InsightVersion.insight_id, func.max(m.InsightVersion.version).label("v"))
           .group_by(m.InsightVersion.insight_id).subquery("top"))
    return (select(m.InsightVersion.insight_id, m.InsightVersion.id.label("version_id"),
                   m.InsightVersion.published_at, m.InsightVersion.due_at,
                   m.InsightVersion.version, m.InsightVersion.title)
            .join(top, and_(m.InsightVersion.insight_id == top.c.insight_id,
                            m.InsightVersion.version == top.c.v))
            .subquery("latest"))


#: The order of every list: high priority first (m.PRIORITIES), newest version first, id last.
_RANK = case({p: i for i, p in enumerate(m.PRIORITIES)}, value=m.Insight.priority, else_=9)


def _unacked_by(user_id: Any, version_id: Any) -> Any:
    return ~exists().where(m.Acknowledgement.user_id == user_id,
                           m.Acknowledgement.version_id == version_id)


def _filtered(session: Session, *, department: str | None, for_user_id: int | None,
              awaiting_ack_only: bool) -> tuple[Select[Any], Any]:
    """``(id, rank, published_at, due_at)`` of the matching insights, and the latest-version
    subquery (for more conditions)."""
    latest = _latest()
    stmt = (select(m.Insight.id, _RANK.label("rank"), latest.c.published_at, latest.c.due_at)
            .join(latest, latest.c.insight_id == m.Insight.id))
    if department is not None:
        dept = departments_by_name(session, [department])
        if not dept:
            raise DataValidationError("department: name one, or leave the filter out")
        stmt = stmt.where(m.Insight.id.in_(select(m.InsightDepartment.insight_id).where(
            m.InsightDepartment.department_id == dept[0].id)))
    if for_user_id is not None:
        user_by_id(session, for_user_id)
        stmt = stmt.where(m.Insight.id.in_(
            select(m.InsightDepartment.insight_id)
            .join(Membership, Membership.department_id == m.InsightDepartment.department_id)
            .where(Membership.user_id == for_user_id)))
    if awaiting_ack_only and for_user_id is not None:
        stmt = stmt.where(_unacked_by(for_user_id, latest.c.version_id))
    elif awaiting_ack_only:  # some expected member (active, not a viewer) has not yet
        stmt = stmt.where(exists().where(
            m.InsightDepartment.insight_id == m.Insight.id,
            Membership.department_id == m.InsightDepartment.department_id,
            User.id == Membership.user_id, User.active.is_(True), User.role != "viewer",
            _unacked_by(User.id, latest.c.version_id)))
    return stmt, latest


def _ordered(stmt: Select[Any], overdue_first: datetime | None = None) -> Select[Any]:
    sub = stmt.subquery("matching")
    order = [sub.c.rank, sub.c.published_at.desc(), sub.c.id.desc()]
    if overdue_first is not None:  # past its due date at that time: first
        order.insert(0, case((sub.c.due_at < overdue_first, 0), else_=1))
    return select(sub.c.id).order_by(*order)


def _build(session: Session, ids: list[int]) -> list[Insight]:
    """The insights *ids*, in that order (a few queries, whatever their number)."""
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(select(m.Insight).where(m.Insight.id.in_(ids)))}
    latest = _latest_versions(session, ids)
    links = _department_links(session, ids)
    owners = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_({r.owner_id for r in rows.values()})))}
    return [_build_insight(rows[i], latest[i], owners.get(rows[i].owner_id),
                           tuple(name for _, name in links.get(i, [])), latest[i].version)
            for i in ids]


def insight_page(session: Session, *, department: str | None = None,
                 for_user_id: int | None = None, awaiting_ack_only: bool = False,
                 limit: int | None = None, offset: int = 0,
                 overdue_first: datetime | None = None) -> InsightPage:
    """One page of the current versions of insights, in the order of :func:`list_insights`.

    The filters are :func:`list_insights`'s; ``total`` counts every match, ``items`` holds
    at most *limit* of them (all without a limit) from *offset* on.  With *overdue_first*
    (a time), those whose due date is before it come first, each part in that order (a
    to-do shows the overdue ones first).
    """
    if offset < 0 or (limit is not None and limit < 1):
        raise DataValidationError(f"limit {limit}, offset {offset}: expected a limit of 1 or "
                                  "more and an offset of 0 or more")
    stmt, _ = _filtered(session, department=department, for_user_id=for_user_id,
                        awaiting_ack_only=awaiting_ack_only)
    page = _ordered(stmt, overdue_first).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    ids = list(session.scalars(page))
    if (limit is None or len(ids) < limit) and (ids or offset == 0):
        total = offset + len(ids)  # the whole rest was read: no count needed
    else:
        total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    return InsightPage(items=tuple(_build(session, ids)), total=total, limit=limit,
                       offset=offset)


def list_insights(
    session: Session,
    *,
    department: str | None = None,
    for_user_id: int | None = None,
    awaiting_ack_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Insight]:
    """Current versions of insights, high priority first, newest first within a priority.

    Parameters
    ----------
    department
        Only insights addressed to this department.
    for_user_id
        Only insights addressed to a department this user belongs to.
    awaiting_ack_only
        With ``for_user_id``: those the user has not acknowledged in their current
        version; without it: those some expected member has not acknowledged yet.
    limit, offset
        At most *limit* of them (default: all), from *offset* on (see :func:`insight_page`
        for the count too).
    """
    return list(insight_page(session, department=department, for_user_id=for_user_id,
                             awaiting_ack_only=awaiting_ack_only, limit=limit,
                             offset=offset).items)


def awaiting_among(session: Session, user_id: int, insight_ids: list[int]) -> set[int]:
    """Which of *insight_ids* (addressed to *user_id*'s departments) await their
    acknowledgement of the current version: one query over those ids only."""
    if not insight_ids:
        return set()
    stmt, _ = _filtered(session, department=None, for_user_id=user_id, awaiting_ack_only=True)
    return set(session.scalars(stmt.with_only_columns(m.Insight.id)
                               .where(m.Insight.id.in_(insight_ids))))


def next_awaiting(session: Session, *, user_id: int, after_insight_id: int | None = None
                  ) -> Insight | None:
    """The next insight awaiting *user_id*'s acknowledgement, other than *after_insight_id*.

    In the order of :func:`list_insights` (high priority first, newest first); the one after
    *after_insight_id* in that order when it is still awaiting, else the first.  Each step is
    one SQL query that returns one id (it runs on every insight page).
    """
    stmt, _ = _filtered(session, department=None, for_user_id=user_id, awaiting_ack_only=True)
    sub = stmt.subquery("waiting")
    order = (sub.c.rank, sub.c.published_at.desc(), sub.c.id.desc())
    others = select(sub.c.id).order_by(*order).limit(1)
    if after_insight_id is not None:
        others = others.where(sub.c.id != after_insight_id)
        here = session.execute(select(sub.c.rank, sub.c.published_at)
                               .where(sub.c.id == after_insight_id)).first()
        if here is not None:  # still awaiting: the one after it, else wrap to the first
            rank, when = here
            later = or_(sub.c.rank > rank,
                        and_(sub.c.rank == rank, sub.c.published_at < when),
                        and_(sub.c.rank == rank, sub.c.published_at == when,
                             sub.c.id < after_insight_id))
            found = session.scalar(others.where(later))
            if found is not None:
                return get_insight(session, found)
    found = session.scalar(others)
    return get_insight(session, found) if found is not None else None


# -- acknowledgement counts of every current version, in SQL --------------------------------

@dataclass(frozen=True)
class AckRow:
    """How many of the people expected have acknowledged one insight's current version."""

    insight_id: int
    title: str
    priority: str
    version: int
    due_at: datetime
    acknowledged: int
    expected: int


@dataclass(frozen=True)
class AckTally:
    """Acknowledged and expected over every current version, some rows, how many are open."""

    acknowledged: int
    expected: int
    open_count: int
    rows: tuple[AckRow, ...]


def ack_tally(session: Session, *, open_only: bool = False,
              limit: int | None = None) -> AckTally:
    """Acknowledged / expected of each current insight version with someone expected, least
    acknowledged first (then the earliest due, then by id), and the sums over all of them.

    The rule of :func:`~outsidein.services.share.ack_counts` (the expected people are the
    active, non-viewer members of the addressed departments, each once), counted by the
    database: the sums and ``open_count`` (not yet acknowledged by everyone) cover every
    insight, ``rows`` only the first *limit* (of the open ones, with *open_only*).
    """
    latest = _latest()
    # The expected people per insight and the acknowledgements of its current version by
    # them, counted apart and then put side by side: a third of the time of one join of
    # every (insight, person) pair with the acknowledgements.
    people = (select(Membership.department_id, Membership.user_id)
              .join(User, User.id == Membership.user_id)
              .where(User.active.is_(True), User.role != "viewer").subquery("people"))
    expected = (select(m.InsightDepartment.insight_id,
                       func.count(distinct(people.c.user_id)).label("expected"))
                .join(people, people.c.department_id == m.InsightDepartment.department_id)
                .group_by(m.InsightDepartment.insight_id).subquery("expected"))
    addressed = aliased(m.InsightDepartment)
    acked = (select(latest.c.insight_id, func.count().label("acknowledged"))
             .join(m.Acknowledgement, m.Acknowledgement.version_id == latest.c.version_id)
             .where(exists().where(addressed.insight_id == latest.c.insight_id,
                                   people.c.department_id == addressed.department_id,
                                   people.c.user_id == m.Acknowledgement.user_id))
             .group_by(latest.c.insight_id).subquery("acked"))
    counts = (select(expected.c.insight_id, latest.c.title, m.Insight.priority,
                     latest.c.version, latest.c.due_at, expected.c.expected,
                     func.coalesce(acked.c.acknowledged, 0).label("acknowledged"))
              .join(latest, latest.c.insight_id == expected.c.insight_id)
              .join(m.Insight, m.Insight.id == expected.c.insight_id)
              .outerjoin(acked, acked.c.insight_id == expected.c.insight_id)
              .subquery("counts"))
    is_open = case((counts.c.acknowledged < counts.c.expected, 1), else_=0)
    # One pass: the sums over every insight ride along each row (window functions, computed
    # before the limit), so the counting is done once.  Open ones sort first (a share below
    # 1), so the first *limit* rows hold the first open ones; complete ones drop out below.
    stmt = (select(counts.c.insight_id, counts.c.title, counts.c.priority, counts.c.version,
                   counts.c.due_at, counts.c.acknowledged, counts.c.expected,
                   func.sum(counts.c.acknowledged).over(), func.sum(counts.c.expected).over(),
                   func.sum(is_open).over())
            .order_by(counts.c.acknowledged * 1.0 / counts.c.expected, counts.c.due_at,
                      counts.c.insight_id))
    if limit is not None:
        stmt = stmt.limit(limit)
    found = session.execute(stmt).all()
    done, due, opened = found[0][7:] if found else (0, 0, 0)
    rows = tuple(AckRow(*r[:7]) for r in found if not open_only or r[5] < r[6])
    return AckTally(acknowledged=int(done), expected=int(due), open_count=int(opened),
                    rows=rows)
