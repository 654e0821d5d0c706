"""The survey a respondent fills in at ``/survey/<token>``: open, save partly, submit.

:func:`open_survey` gives the :class:`SurveyForm` for a token: the wave's items grouped by
component, the organisation's departments and roles, and the answers saved so far.
:func:`save_draft` keeps what was answered (the respondent may come back with the same link
until they submit); :func:`submit` checks every answer, stores the response **without the
token** (a random key, no time), marks the token used and deletes the draft, all in the
caller's one transaction.  Nothing here logs or audits anything.

>>> parse_answer("4", {"id": "co1", "scale_min": 1, "scale_max": 5})
4
>>> parse_answer("", {"id": "co1", "scale_min": 1, "scale_max": 5}) is None
True
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError, DataValidationError, NotFoundError
from outsidein.store.models.culture import (
    CultureDepartment,
    CultureDraft,
    CultureInvitation,
    CultureOrg,
    CultureResponse,
    CultureRole,
    CultureWave,
)

__all__ = ["MAX_COMMENT", "SurveyForm", "open_survey", "parse_answer", "save_draft", "submit"]

#: Longest free-text comment kept (characters).
MAX_COMMENT = 4000
#: What a wrong or finished link gets: the same words whatever the reason a token fails,
#: so the page tells a guesser nothing.
NO_SURVEY = "this survey link is not valid, or the survey it belongs to has closed"


@dataclass(frozen=True)
class SurveyForm:
    """What the survey page shows for one token."""

    wave: str
    org: str
    items: list[dict[str, Any]]
    departments: list[tuple[int, str]]
    roles: list[str]
    answers: dict[str, int] = field(default_factory=dict)
    department_id: int | None = None
    role: str | None = None
    comment: str = ""
    used: bool = False
    comment_prompt: str | None = None

    @property
    def components(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The items grouped by component, in the instrument's order."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for it in self.items:
            groups.setdefault(str(it["component"]), []).append(it)
        return list(groups.items())

    @property
    def answered(self) -> int:
        """Items answered so far."""
        return sum(1 for it in self.items if it["id"] in self.answers)


def _invitation(session: Session, token: str) -> tuple[CultureInvitation, CultureWave]:
    inv = session.scalar(select(CultureInvitation).where(CultureInvitation.token == token)) \
        if 10 <= len(token) <= 64 else None
    if inv is None:
        raise NotFoundError(NO_SURVEY)
    wave = session.get(CultureWave, inv.wave_id)
    if wave is None or wave.status != "open":
        raise NotFoundError(NO_SURVEY)
    return inv, wave


def open_survey(session: Session, token: str) -> SurveyForm:
    """The form for *token*, with its saved answers; ``used`` once it was submitted.

    Raises
    ------
    NotFoundError
        An unknown token, or its wave is closed (the same message either way).
    """
    inv, wave = _invitation(session, token)
    org = session.get(CultureOrg, inv.org_id)
    assert org is not None
    deps = [(d.id, d.name) for d in session.scalars(
        select(CultureDepartment).where(CultureDepartment.org_id == org.id)
        .order_by(CultureDepartment.name))]
    roles = list(session.scalars(select(CultureRole.name).where(CultureRole.org_id == org.id)
                                 .order_by(CultureRole.name)))
    base = SurveyForm(wave.name, org.name, list(wave.items or []), deps, roles, used=inv.used,
                      comment_prompt=wave.comment_prompt)
    draft = None if inv.used else session.get(CultureDraft, inv.id)
    if draft is None:
        return base
    return SurveyForm(base.wave, base.org, base.items, deps, roles,
                      answers={k: int(v) for k, v in (draft.answers or {}).items()},
                      department_id=draft.department_id, role=draft.role,
                      comment=draft.comment or "", comment_prompt=wave.comment_prompt)


def parse_answer(raw: Any, item: Mapping[str, Any]) -> int | None:
    """An answer as typed (text) on *item*'s scale; None when blank.

    >>> parse_answer("9", {"id": "co1", "scale_min": 1, "scale_max": 7})
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: co1 '9': expected a whole number from 1 to 7
    """
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    lo, hi = int(item["scale_min"]), int(item["scale_max"])
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value == value and value.is_integer() and lo <= value <= hi):
        raise DataValidationError(f"{item['id']} {text!r}: expected a whole number from "
                                  f"{lo} to {hi}")
    return int(value)


def _read(form: SurveyForm, values: Mapping[str, Any]) -> tuple[dict[str, int], int | None,
                                                                str | None, str]:
    answers: dict[str, int] = {}
    for it in form.items:
        value = parse_answer(values.get(f"q_{it['id']}"), it)
        if value is not None:
            answers[str(it["id"])] = value
    dep_raw = str(values.get("department") or "").strip()
    dep_id = None
    if dep_raw:
        ids = {str(i): i for i, _ in form.departments}
        if dep_raw not in ids:
            raise DataValidationError(f"department {dep_raw!r}: choose one from the list")
        dep_id = ids[dep_raw]
    role = str(values.get("role") or "").strip() or None
    if role is not None and form.roles and role not in form.roles:
        raise DataValidationError(f"role {role!r}: choose one from the list")
    comment = str(values.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise DataValidationError(f"comment: at most {MAX_COMMENT:,} characters "
                                  f"(got {len(comment):,})")
    return answers, dep_id, role, comment


def save_draft(session: Session, token: str, values: Mapping[str, Any]) -> SurveyForm:
    """Keep the answers given so far under *token*; the form as saved.

    *values* are the form's fields: ``q_<item id>`` per item, ``department`` (its id),
    ``role`` and ``comment``.  Blank answers are allowed here.

    Raises
    ------
    ConflictError
        The survey was already submitted with this token.
    DataValidationError
        An answer off its scale, or a department or role not offered.
    """
    inv, _ = _invitation(session, token)
    if inv.used:
        raise ConflictError("this survey was already submitted; thank you")
    form = open_survey(session, token)
    answers, dep_id, role, comment = _read(form, values)
    draft = session.get(CultureDraft, inv.id)
    if draft is None:
        draft = CultureDraft(invitation_id=inv.id)
        session.add(draft)
    draft.answers, draft.department_id, draft.role = answers, dep_id, role
    draft.comment = comment or None
    session.flush()
    return open_survey(session, token)


def submit(session: Session, token: str, values: Mapping[str, Any]) -> None:
    """Store the finished survey anonymously and use up *token* (see the module doc).

    Raises
    ------
    ConflictError
        Already submitted.
    DataValidationError
        A question left blank (the message names how many and the first), no department,
        or an answer off its scale.
    """
    inv, wave = _invitation(session, token)
    if inv.used:
        raise ConflictError("this survey was already submitted; thank you")
    form = open_survey(session, token)
    answers, dep_id, role, comment = _read(form, values)
    if dep_id is None and form.departments:
        raise DataValidationError("department: choose the department you work in")
    if role is None and form.roles:
        raise DataValidationError("role: choose your role")
    blank = [it for it in form.items if str(it["id"]) not in answers]
    if blank:
        first = blank[0]
        raise DataValidationError(
            f"q_{first['id']}: {len(blank)} question{'s' if len(blank) > 1 else ''} not "
            f"answered yet, first: {first['text']!r}")
    session.add(CultureResponse(id=secrets.token_hex(16), wave_id=wave.id, org_id=inv.org_id,
                                department_id=dep_id, role=role, answers=answers,
                                comment=comment or None, source="survey"))
    inv.used = True
    draft = session.get(CultureDraft, inv.id)
    if draft is not None:
        session.delete(draft)
    session.flush()
