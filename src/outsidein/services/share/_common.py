"""Helpers shared by the share services: canonical JSON, look-ups, audit events."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.store.models.auth import AuditEvent, Department, Membership, User
from outsidein.store.models.base import utcnow

__all__ = ["canonical_json", "content_hash", "department_by_name", "departments_by_name",
           "member_departments", "department_members", "user_by_email", "user_by_id",
           "record_audit", "loads", "utcnow", "jsonable", "DictMixin"]


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise DataValidationError(
        f"evidence value of type {type(o).__name__} cannot be stored as JSON; "
        "pass numbers, strings, lists and dicts")


def _check_finite(o: Any) -> None:
    if isinstance(o, float) and not math.isfinite(o):
        raise DataValidationError(f"evidence holds {o!r}; store missing figures as null")
    if isinstance(o, dict):
        for v in o.values():
            _check_finite(v)
    elif isinstance(o, list | tuple):
        for v in o:
            _check_finite(v)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace (stable across runs and stores).

    >>> canonical_json({"b": 1, "a": [1.5, "x"]})
    '{"a":[1.5,"x"],"b":1}'
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_default)
    _check_finite(json.loads(text))
    return text


def content_hash(title: str, statement: str, evidence: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of an insight's title, statement and evidence."""
    doc = {"title": title, "statement": statement, "evidence": evidence}
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        user = session.scalar(select(User).where(User.email == email.strip()))
    if user is None:
        raise NotFoundError(f"user {email!r} not found; create the account first "
                            "('outsidein accounts add' or the admin page)")
    return user


def user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user id {user_id} not found")
    return user


def department_by_name(session: Session, name: str) -> Department:
    dept = session.scalar(select(Department).where(Department.name == name.strip()))
    if dept is None:
        known = ", ".join(session.scalars(select(Department.name).order_by(Department.name)))
        raise NotFoundError(f"department {name!r} not found; known departments: {known or 'none'}")
    return dept


def departments_by_name(session: Session, names: Iterable[str]) -> list[Department]:
    out: list[Department] = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        out.append(department_by_name(session, name))
    return out


def member_departments(session: Session, user_id: int) -> list[Department]:
    """Departments *user_id* belongs to."""
    stmt = (select(Department).join(Membership, Membership.department_id == Department.id)
            .where(Membership.user_id == user_id).order_by(Department.name))
    return list(session.scalars(stmt))


def department_members(session: Session, department_id: int) -> list[User]:
    """Active users in a department who are expected to act (viewers only read)."""
    stmt = (select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.department_id == department_id, User.active.is_(True),
                   User.role != "viewer")
            .order_by(User.email))
    return list(session.scalars(stmt))


def record_audit(session: Session, *, actor: str, action: str, target: str,
                 details: dict[str, Any]) -> None:
    """Append an accountability event to the shared audit log."""
    session.add(AuditEvent(ts=utcnow(), actor=actor, action=action, target=target,
                           details=canonical_json(details)))


def jsonable(value: Any) -> Any:
    """*value* with dataclasses, tuples, dates and datetimes turned into JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class DictMixin:
    """``to_dict()`` for the frozen result dataclasses (JSON-ready: ISO dates, lists)."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)
