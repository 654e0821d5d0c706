"""Who owns working through a list: "call these 25 prospects" gets a name next to it.

A list is named by the table that holds it (``answer_likely_converts``).  Assigning appends
a :class:`~outsidein.store.models.lists.ListAssignment` and an audit event; the owner is the
latest assignment, and :func:`list_owner_history` shows the hand-overs.

>>> from outsidein.store.db import session_scope                     # doctest: +SKIP
>>> with session_scope(ws.store_url) as s:                           # doctest: +SKIP
...     assign_list(s, "answer_likely_converts", owner_email="rep@acme.test",
...                 assigned_by_email="lead@acme.test").owner_email
'rep@acme.test'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.services.share._common import DictMixin, record_audit, user_by_email, user_by_id
from outsidein.store.models.base import utcnow
from outsidein.store.models.lists import ListAssignment

__all__ = ["ListOwner", "assign_list", "list_owner", "list_owner_history"]

#: Longest note kept with an assignment.
MAX_NOTE = 2000


@dataclass(frozen=True)
class ListOwner(DictMixin):
    """Who owns working through list *list_name*, since when, and who said so."""

    list_name: str
    owner_email: str
    owner_name: str
    assigned_by_email: str | None
    assigned_at: datetime
    note: str


def _has_table(session: Session) -> bool:
    # A store made before migration 0005 has no assignments yet: no owner, not an error.
    return inspect(session.connection()).has_table(ListAssignment.__tablename__)


def _owner(session: Session, row: ListAssignment) -> ListOwner:
    owner = user_by_id(session, row.owner_id)
    by = user_by_id(session, row.assigned_by_id) if row.assigned_by_id else None
    return ListOwner(list_name=row.list_name, owner_email=owner.email, owner_name=owner.name,
                     assigned_by_email=by.email if by else None, assigned_at=row.assigned_at,
                     note=row.note)


def assign_list(session: Session, list_name: str, *, owner_email: str,
                assigned_by_email: str | None = None, note: str = "") -> ListOwner:
    """Make *owner_email* the owner of working through *list_name* (appends a record)."""
    if not list_name or len(list_name) > 200:
        raise DataValidationError(f"list name {list_name!r}: expected 1 to 200 characters")
    if len(note) > MAX_NOTE:
        raise DataValidationError(f"note: at most {MAX_NOTE} characters, got {len(note)}")
    if not _has_table(session):
        raise MissingDataError("the store has no list assignments yet; run 'outsidein init' "
                               "in the workspace to upgrade it")
    owner = user_by_email(session, owner_email)
    by = user_by_email(session, assigned_by_email) if assigned_by_email else None
    row = ListAssignment(list_name=list_name, owner_id=owner.id,
                         assigned_by_id=by.id if by else None, note=note.strip(),
                         assigned_at=utcnow())
    session.add(row)
    record_audit(session, actor=by.email if by else "system", action="list.assign",
                 target=list_name, details={"owner": owner.email, "note": row.note})
    session.flush()
    return _owner(session, row)


def list_owner_history(session: Session, list_name: str) -> list[ListOwner]:
    """Every assignment of *list_name*, latest first."""
    if not _has_table(session):
        return []
    rows = session.scalars(select(ListAssignment).where(ListAssignment.list_name == list_name)
                           .order_by(ListAssignment.id.desc())).all()
    return [_owner(session, r) for r in rows]


def list_owner(session: Session, list_name: str) -> ListOwner | None:
    """The current owner of *list_name*, or None when nobody was assigned."""
    history = list_owner_history(session, list_name)
    return history[0] if history else None
