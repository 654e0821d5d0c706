"""Running the culture survey: organisations, departments, roles, waves and response rates.

A consultant (or the company itself) adds the organisations surveyed, their departments
(with how many people each has, for response rates) and the roles the survey offers; opens a
wave with the instrument's items as they are today (the wave keeps them); follows response
rates by department while it is open; and closes it.  Every function takes a store session
and leaves committing to its caller, so a CLI command or a web form is one transaction.

>>> from outsidein.store.db import session_scope                      # doctest: +SKIP
>>> with session_scope(ws.store_url) as s:                            # doctest: +SKIP
...     add_org(s, "Acme", industry="retail", size=420)
...     add_department(s, "Acme", "Sales", headcount=40)
...     add_role(s, "Acme", "manager")
...     open_wave(s, "2026-spring", instrument.version, instrument_items(instrument))

>>> clean_name(" Sales  team ", "department")
'Sales team'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError, DataValidationError, NotFoundError
from outsidein.store.models.auth import AuditEvent
from outsidein.store.models.base import utcnow
from outsidein.store.models.culture import (
    CultureDepartment,
    CultureDraft,
    CultureInvitation,
    CultureOrg,
    CultureResponse,
    CultureRole,
    CultureWave,
)

__all__ = ["DepartmentRate", "OrgInfo", "WaveInfo", "WaveRates", "add_department", "add_org",
           "add_role", "clean_name", "close_wave", "ensure_department", "ensure_org",
           "ensure_role", "get_org", "get_wave", "list_orgs", "list_waves", "open_wave",
           "record", "response_rates", "wave_info"]

#: Keys every item of a wave carries (what the survey form and the scoring read).
ITEM_KEYS = ("id", "component", "text", "scale_min", "scale_max", "reverse")


def clean_name(name: str | None, what: str, *, limit: int = 200) -> str:
    """*name* trimmed, inner runs of spaces made one; :class:`DataValidationError` if empty.

    >>> clean_name("", "organisation")
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: organisation name '': expected 1-200 characters
    """
    text = " ".join(str(name or "").split())
    if not text or len(text) > limit or any(ord(c) < 32 for c in text):
        raise DataValidationError(f"{what} name {text!r}: expected 1-{limit} characters")
    return text


def record(session: Session, action: str, target: str, actor: str = "cli",
           **details: Any) -> None:
    """An audit entry for an administrative act (never for a respondent's answers)."""
    session.add(AuditEvent(actor=actor, action=action, target=target,
                           details=json.dumps(details, sort_keys=True, default=str)))


@dataclass(frozen=True)
class OrgInfo:
    """An organisation with its departments (name -> headcount) and roles."""

    id: int
    name: str
    industry: str | None
    size: int | None
    departments: dict[str, int | None] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WaveInfo:
    """A wave as listed: its status, where its answers came from and what it holds."""

    id: int
    name: str
    status: str
    source: str
    instrument_version: str
    items: int
    invitations: int
    used: int
    responses: int
    opened_at: str
    closed_at: str | None
    illustrative: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_org(session: Session, name: str) -> CultureOrg:
    """The organisation called *name*; :class:`NotFoundError` naming the known ones."""
    org = session.scalar(select(CultureOrg).where(CultureOrg.name == clean_name(name,
                                                                                "organisation")))
    if org is None:
        known = session.scalars(select(CultureOrg.name).order_by(CultureOrg.name)).all()
        raise NotFoundError(f"organisation {name!r} not found; known: "
                            f"{', '.join(known) or 'none (add one first)'}")
    return org


def add_org(session: Session, name: str, *, industry: str | None = None,
            size: int | None = None, actor: str = "cli") -> CultureOrg:
    """Add an organisation; :class:`ConflictError` when the name is taken."""
    name = clean_name(name, "organisation")
    if session.scalar(select(CultureOrg.id).where(CultureOrg.name == name)) is not None:
        raise ConflictError(f"organisation {name!r} already exists")
    if size is not None and size < 1:
        raise DataValidationError(f"size {size}: expected a number of employees, 1 or more")
    org = CultureOrg(name=name, industry=clean_name(industry, "industry", limit=100)
                     if industry else None, size=size)
    session.add(org)
    session.flush()
    record(session, "culture.org.add", name, actor)
    return org


def ensure_org(session: Session, name: str) -> tuple[CultureOrg, bool]:
    """The organisation called *name*, created if new; and whether it was created."""
    name = clean_name(name, "organisation")
    org = session.scalar(select(CultureOrg).where(CultureOrg.name == name))
    if org is not None:
        return org, False
    org = CultureOrg(name=name)
    session.add(org)
    session.flush()
    return org, True


def _department(session: Session, org: CultureOrg, name: str) -> CultureDepartment | None:
    return session.scalar(select(CultureDepartment).where(
        CultureDepartment.org_id == org.id, CultureDepartment.name == name))


def add_department(session: Session, org_name: str, name: str, *,
                   headcount: int | None = None, actor: str = "cli") -> CultureDepartment:
    """Add a department to an organisation, or set the headcount of one that exists."""
    org = get_org(session, org_name)
    name = clean_name(name, "department")
    if headcount is not None and headcount < 1:
        raise DataValidationError(f"headcount {headcount}: expected 1 or more people")
    dep = _department(session, org, name)
    if dep is None:
        dep = CultureDepartment(org_id=org.id, name=name, headcount=headcount)
        session.add(dep)
    elif headcount is not None:
        dep.headcount = headcount
    session.flush()
    record(session, "culture.department.add", f"{org.name}/{name}", actor, headcount=headcount)
    return dep


def ensure_department(session: Session, org: CultureOrg,
                      name: str) -> tuple[CultureDepartment, bool]:
    """The department *name* of *org*, created if new; and whether it was created."""
    name = clean_name(name, "department")
    dep = _department(session, org, name)
    if dep is not None:
        return dep, False
    dep = CultureDepartment(org_id=org.id, name=name)
    session.add(dep)
    session.flush()
    return dep, True


def add_role(session: Session, org_name: str, name: str, *, actor: str = "cli") -> CultureRole:
    """Add a role the survey offers to an organisation's respondents (idempotent)."""
    org = get_org(session, org_name)
    role, _ = ensure_role(session, org, name)
    record(session, "culture.role.add", f"{org.name}/{role.name}", actor)
    return role


def ensure_role(session: Session, org: CultureOrg, name: str) -> tuple[CultureRole, bool]:
    """The role *name* of *org*, created if new; and whether it was created."""
    name = clean_name(name, "role", limit=100)
    role = session.scalar(select(CultureRole).where(CultureRole.org_id == org.id,
                                                    CultureRole.name == name))
    if role is not None:
        return role, False
    role = CultureRole(org_id=org.id, name=name)
    session.add(role)
    session.flush()
    return role, True


def list_orgs(session: Session) -> list[OrgInfo]:
    """Every organisation with its departments and roles, by name."""
    deps: dict[int, dict[str, int | None]] = {}
    for d in session.scalars(select(CultureDepartment).order_by(CultureDepartment.name)):
        deps.setdefault(d.org_id, {})[d.name] = d.headcount
    roles: dict[int, list[str]] = {}
    for r in session.scalars(select(CultureRole).order_by(CultureRole.name)):
        roles.setdefault(r.org_id, []).append(r.name)
    return [OrgInfo(o.id, o.name, o.industry, o.size, deps.get(o.id, {}),
                    tuple(roles.get(o.id, ())))
            for o in session.scalars(select(CultureOrg).order_by(CultureOrg.name))]


def check_items(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The instrument's items as plain dicts with :data:`ITEM_KEYS` (a wave keeps them).

    >>> check_items([{"id": "co1", "component": "customer", "text": "We ask.",
    ...               "scale_min": 1, "scale_max": 5, "reverse": False}])[0]["scale_max"]
    5
    """
    out = []
    for it in items:
        missing = [k for k in ITEM_KEYS if k not in it]
        if missing:
            raise DataValidationError(f"instrument item {it.get('id')!r}: missing "
                                      f"{', '.join(missing)}")
        out.append({k: it[k] for k in ITEM_KEYS})
    if not out:
        raise DataValidationError("the instrument has no items")
    return out


def open_wave(session: Session, name: str, version: str, items: Iterable[Mapping[str, Any]], *,
              source: str = "survey", illustrative: bool = False,
              comment_prompt: str | None = None, actor: str = "cli") -> CultureWave:
    """Open a wave with the instrument's *items*; :class:`ConflictError` if the name is taken."""
    name = clean_name(name, "wave", limit=100)
    if session.scalar(select(CultureWave.id).where(CultureWave.name == name)) is not None:
        raise ConflictError(f"wave {name!r} already exists")
    wave = CultureWave(name=name, instrument_version=str(version), items=check_items(items),
                       status="open", source=source, illustrative=illustrative,
                       comment_prompt=comment_prompt or None)
    session.add(wave)
    session.flush()
    record(session, "culture.wave.open", name, actor, source=source)
    return wave


def get_wave(session: Session, wave: str | int) -> CultureWave:
    """The wave named *wave* (or with that id); :class:`NotFoundError` naming the known ones."""
    if isinstance(wave, int):
        found = session.get(CultureWave, wave)
    else:
        found = session.scalar(select(CultureWave).where(CultureWave.name == wave.strip()))
    if found is None:
        known = session.scalars(select(CultureWave.name).order_by(CultureWave.id)).all()
        raise NotFoundError(f"wave {wave!r} not found; known: "
                            f"{', '.join(known) or 'none (open one first)'}")
    return found


def _counts(session: Session, column: Any, wave_id: int | None = None) -> dict[int, int]:
    q = select(column, func.count()).group_by(column)
    if wave_id is not None:
        q = q.where(column == wave_id)
    return {int(k): int(n) for k, n in session.execute(q).all()}


def wave_info(session: Session, wave: CultureWave) -> WaveInfo:
    """One wave's :class:`WaveInfo`."""
    return _info(wave, _counts(session, CultureInvitation.wave_id, wave.id),
                 dict(session.execute(select(CultureInvitation.wave_id, func.count())
                                      .where(CultureInvitation.used.is_(True),
                                             CultureInvitation.wave_id == wave.id)
                                      .group_by(CultureInvitation.wave_id)).all()),
                 _counts(session, CultureResponse.wave_id, wave.id))


def _info(w: CultureWave, inv: Mapping[int, int], used: Mapping[int, int],
          resp: Mapping[int, int]) -> WaveInfo:
    return WaveInfo(w.id, w.name, w.status, w.source, w.instrument_version, len(w.items or []),
                    int(inv.get(w.id, 0)), int(used.get(w.id, 0)), int(resp.get(w.id, 0)),
                    w.opened_at.isoformat(sep=" ", timespec="minutes"),
                    w.closed_at.isoformat(sep=" ", timespec="minutes") if w.closed_at else None,
                    bool(w.illustrative))


def list_waves(session: Session) -> list[WaveInfo]:
    """Every wave, oldest first, with its invitation, use and response counts."""
    inv = _counts(session, CultureInvitation.wave_id)
    used = {int(k): int(n) for k, n in session.execute(
        select(CultureInvitation.wave_id, func.count())
        .where(CultureInvitation.used.is_(True)).group_by(CultureInvitation.wave_id)).all()}
    resp = _counts(session, CultureResponse.wave_id)
    return [_info(w, inv, used, resp)
            for w in session.scalars(select(CultureWave).order_by(CultureWave.opened_at,
                                                                  CultureWave.id))]


def close_wave(session: Session, wave_name: str | int, *, actor: str = "cli",
               closed_on: date | None = None) -> WaveInfo:
    """Close a wave: its tokens stop working and unsubmitted drafts are deleted.

    *closed_on*: the day it really closed, for a wave imported from another tool that ran in
    the past (the customer KPIs after a wave are read from that day; default: now).

    Raises
    ------
    ConflictError
        The wave is already closed.
    """
    wave = get_wave(session, wave_name)
    if wave.status == "closed":
        raise ConflictError(f"wave {wave.name!r} is already closed")
    wave.status = "closed"
    wave.closed_at = utcnow() if closed_on is None else datetime.combine(closed_on, time(23, 59))
    ids = select(CultureInvitation.id).where(CultureInvitation.wave_id == wave.id)
    session.execute(delete(CultureDraft).where(CultureDraft.invitation_id.in_(ids)))
    session.flush()
    record(session, "culture.wave.close", wave.name, actor)
    return wave_info(session, wave)


@dataclass(frozen=True)
class DepartmentRate:
    """Responses from one department against its headcount (None when unknown)."""

    org: str
    department: str
    responses: int
    headcount: int | None

    @property
    def rate(self) -> float | None:
        """Responses / headcount, or None without a headcount."""
        return self.responses / self.headcount if self.headcount else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate}


@dataclass(frozen=True)
class WaveRates:
    """A wave's response rates: per organisation (tokens used) and per department."""

    wave: str
    status: str
    orgs: list[dict[str, Any]]
    departments: list[DepartmentRate]

    def to_dict(self) -> dict[str, Any]:
        return {"wave": self.wave, "status": self.status, "orgs": self.orgs,
                "departments": [d.to_dict() for d in self.departments]}


def response_rates(session: Session, wave_name: str | int) -> WaveRates:
    """Response rates of a wave by organisation and department (counts only, never scores).

    An organisation's rate is tokens used / tokens sent; a department's is its responses /
    its headcount (departments are chosen in the survey, tokens are not per department).
    """
    wave = get_wave(session, wave_name)
    orgs = {o.id: o for o in session.scalars(select(CultureOrg))}
    sent = dict(session.execute(select(CultureInvitation.org_id, func.count())
                                .where(CultureInvitation.wave_id == wave.id)
                                .group_by(CultureInvitation.org_id)).all())
    used = dict(session.execute(select(CultureInvitation.org_id, func.count())
                                .where(CultureInvitation.wave_id == wave.id,
                                       CultureInvitation.used.is_(True))
                                .group_by(CultureInvitation.org_id)).all())
    answered = dict(session.execute(select(CultureResponse.org_id, func.count())
                                    .where(CultureResponse.wave_id == wave.id)
                                    .group_by(CultureResponse.org_id)).all())
    by_dep = dict(session.execute(select(CultureResponse.department_id, func.count())
                                  .where(CultureResponse.wave_id == wave.id)
                                  .group_by(CultureResponse.department_id)).all())
    org_rows = []
    for oid in sorted(set(sent) | set(answered), key=lambda i: orgs[i].name):
        n_sent, n_used = int(sent.get(oid, 0)), int(used.get(oid, 0))
        org_rows.append({"org": orgs[oid].name, "invited": n_sent, "used": n_used,
                         "responses": int(answered.get(oid, 0)),
                         "rate": n_used / n_sent if n_sent else None})
    deps = []
    for d in session.scalars(select(CultureDepartment).where(
            CultureDepartment.org_id.in_([r for r in set(sent) | set(answered)]))):
        deps.append(DepartmentRate(orgs[d.org_id].name, d.name, int(by_dep.get(d.id, 0)),
                                   d.headcount))
    deps.sort(key=lambda d: (d.org, d.department))
    return WaveRates(wave.name, wave.status, org_rows, deps)
