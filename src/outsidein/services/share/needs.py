"""The register of customer needs and the ranking of the highest-priority unmet ones.

Each need has an importance and a satisfaction on 0-10 (e.g. survey means) and the evidence
behind them: survey answers, complaint and interaction counts, advocate notes.  The
opportunity score (Ulwick) is ``importance + max(importance - satisfaction, 0)``: important
needs that are poorly served rank first.

>>> opportunity_score(9.0, 3.0)
15.0
>>> opportunity_score(6.0, 8.0)
6.0
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outsidein.errors import ConflictError, DataValidationError, NotFoundError
from outsidein.services.share._common import DictMixin, canonical_json, loads, utcnow
from outsidein.store.models import share as m

EVIDENCE_COUNTS = ("complaints", "interactions", "survey_responses")


@dataclass(frozen=True)
class Need(DictMixin):
    """A customer need.  ``evidence`` may hold ``survey_answers`` (list), ``complaints`` and
    ``interactions`` (counts) and ``advocate_notes`` (list of text)."""

    id: int
    code: str
    title: str
    description: str
    importance: float
    satisfaction: float
    opportunity: float
    evidence: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def unmet(self) -> float:
        """How far satisfaction falls short of importance (0 when it does not)."""
        return max(self.importance - self.satisfaction, 0.0)

    def __repr__(self) -> str:
        return (f"Need({self.code}, {self.title!r}, importance={self.importance:g}, "
                f"satisfaction={self.satisfaction:g}, opportunity={self.opportunity:g})")


def opportunity_score(importance: float, satisfaction: float) -> float:
    """``importance + max(importance - satisfaction, 0)``, both on 0-10 (result on 0-20)."""
    return float(importance) + max(float(importance) - float(satisfaction), 0.0)


def _score(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{what} {value!r}: expected a number from 0 to 10") from exc
    if not math.isfinite(number) or not 0 <= number <= 10:
        raise DataValidationError(f"{what} {value!r}: expected a number from 0 to 10")
    return number


def _check_evidence(evidence: dict[str, Any] | None) -> dict[str, Any]:
    evidence = dict(evidence or {})
    for key in EVIDENCE_COUNTS:
        if key in evidence:
            value = evidence[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DataValidationError(f"evidence[{key!r}] {value!r}: expected a count (whole "
                                          "number >= 0)")
    for key in ("survey_answers", "advocate_notes"):
        if key in evidence and isinstance(evidence[key], str):
            evidence[key] = [evidence[key]]
        if key in evidence and not isinstance(evidence[key], list):
            raise DataValidationError(f"evidence[{key!r}]: expected a list")
    canonical_json(evidence)
    return evidence


def _natural(code: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", code))


def _need(row: m.Need) -> Need:
    return Need(id=row.id, code=row.code, title=row.title, description=row.description,
                importance=row.importance, satisfaction=row.satisfaction,
                opportunity=opportunity_score(row.importance, row.satisfaction),
                evidence=loads(row.evidence), created_at=row.created_at,
                updated_at=row.updated_at)


def _next_code(session: Session) -> str:
    numbers = [int(c[1:]) for c in session.scalars(select(m.Need.code))
               if re.fullmatch(r"N\d+", c)]
    return f"N{max(numbers, default=0) + 1}"


def add_need(
    session: Session,
    *,
    title: str,
    importance: float,
    satisfaction: float,
    code: str | None = None,
    description: str = "",
    evidence: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Need:
    """Add a need to the register; *code* defaults to the next ``N<number>``."""
    if not (title or "").strip():
        raise DataValidationError("need: a title is required")
    imp, sat = _score(importance, "importance"), _score(satisfaction, "satisfaction")
    code = (code or "").strip() or _next_code(session)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", code):
        raise DataValidationError(f"need code {code!r}: expected up to 20 letters, digits, '_', "
                                  "'.' or '-' (e.g. N7)")
    if session.scalar(select(m.Need.id).where(m.Need.code == code)):
        raise ConflictError(f"need {code} already exists; use 'outsidein needs update {code}' "
                            "or another code")
    now = now or utcnow()
    row = m.Need(code=code, title=title.strip(), description=description or "", importance=imp,
                 satisfaction=sat, evidence=canonical_json(_check_evidence(evidence)),
                 created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return _need(row)


def _need_row(session: Session, code: str) -> m.Need:
    row = session.scalar(select(m.Need).where(m.Need.code == code))
    if row is None:
        raise NotFoundError(f"need {code!r} not found; 'outsidein needs list' shows the register")
    return row


def get_need(session: Session, code: str) -> Need:
    return _need(_need_row(session, code))


def update_need(
    session: Session,
    code: str,
    *,
    title: str | None = None,
    importance: float | None = None,
    satisfaction: float | None = None,
    description: str | None = None,
    evidence: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Need:
    """Revise a need (e.g. after a new survey wave); only the given fields change."""
    row = _need_row(session, code)
    if title is not None:
        if not title.strip():
            raise DataValidationError("need: a title is required")
        row.title = title.strip()
    if importance is not None:
        row.importance = _score(importance, "importance")
    if satisfaction is not None:
        row.satisfaction = _score(satisfaction, "satisfaction")
    if description is not None:
        row.description = description
    if evidence is not None:
        row.evidence = canonical_json(_check_evidence(evidence))
    row.updated_at = now or utcnow()
    session.flush()
    return _need(row)


def ranked_needs(session: Session, top: int | None = None) -> list[Need]:
    """Needs by opportunity score, highest first (ties: more important first, then code)."""
    if top is not None and top < 1:
        raise DataValidationError(f"top {top}: expected a positive number of needs")
    needs = [_need(r) for r in session.scalars(select(m.Need))]
    needs.sort(key=lambda n: (-n.opportunity, -n.importance, _natural(n.code)))
    return needs[:top] if top else needs
