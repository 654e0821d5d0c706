"""Ask, Listen, Learn, Act: from a question asked of customers to a measured outcome.

*Ask* records a question put to customers; *listen* records what was heard (with evidence);
*learn* links the question to the insight it led to; *act* logs an action on an insight with
the KPI it should move; *record_outcome* measures the KPI afterwards and judges the action a
success when the KPI moved from its baseline toward the target.  All of these are appended,
never changed, so the board is also the history.

>>> q = ask(s, text="Why do first-time buyers not come back?")   # doctest: +SKIP
>>> a = act(s, insight_id=3, title="Welcome call",                   # doctest: +SKIP
...         owner_email="sam@acme.example", department="service",
...         due=date(2026, 6, 30), kpi="90-day repeat rate",
...         kpi_baseline=0.18, kpi_target=0.25)
>>> record_outcome(s, action_id=a.id, kpi_value=0.21,               # doctest: +SKIP
...                measured_at=datetime(2026, 8, 1)).success
True
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outsidein.errors import DataValidationError, NotFoundError
from outsidein.services.share._common import (
    DictMixin,
    canonical_json,
    department_by_name,
    loads,
    record_audit,
    user_by_email,
    utcnow,
)
from outsidein.services.share._rows import _latest_versions
from outsidein.store.models import share as m
from outsidein.store.models.auth import Department, User

ACTION_STATES = ("open", "overdue", "succeeded", "failed")


@dataclass(frozen=True)
class Question(DictMixin):
    id: int
    text: str
    audience: str
    channel: str
    asked_by_email: str | None
    asked_at: datetime


@dataclass(frozen=True)
class Heard(DictMixin):
    id: int
    question_id: int
    summary: str
    evidence: dict[str, Any]
    source: str
    heard_at: datetime


@dataclass(frozen=True)
class Learning(DictMixin):
    id: int
    question_id: int
    insight_id: int
    insight_title: str
    note: str
    learned_at: datetime


@dataclass(frozen=True)
class Outcome(DictMixin):
    """A KPI measurement after an action; ``progress`` is the share of the way to target."""

    id: int
    action_id: int
    kpi_value: float
    measured_at: datetime
    note: str
    success: bool
    progress: float | None
    recorded_at: datetime


@dataclass(frozen=True)
class Action(DictMixin):
    """An action on an insight; ``status`` is open, overdue, succeeded or failed."""

    id: int
    insight_id: int
    insight_title: str
    title: str
    owner_email: str
    department: str
    due: date
    kpi: str
    kpi_baseline: float
    kpi_target: float
    created_at: datetime
    status: str
    outcomes: tuple[Outcome, ...]

    @property
    def latest_kpi(self) -> float | None:
        return self.outcomes[-1].kpi_value if self.outcomes else None

    def __repr__(self) -> str:
        return f"Action(id={self.id}, {self.title!r}, {self.status}, due {self.due})"


@dataclass(frozen=True)
class AllaChain(DictMixin):
    """One question followed through: what was heard, learned, and done about it."""

    question: Question | None  # None: insights that came from analyses, not a question
    heard: tuple[Heard, ...]
    learnings: tuple[Learning, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class AllaBoard(DictMixin):
    """The Ask-Listen-Learn-Act chains with counts of successes, failures, open and overdue."""

    chains: tuple[AllaChain, ...]
    questions: int
    heard: int
    insights: int
    actions: int
    successes: int
    failures: int
    open: int
    overdue: int

    def to_pandas(self) -> Any:
        """One row per action with its question, insight, KPI and status."""
        rows = [{"question": c.question.text if c.question else None,
                 "insight_id": a.insight_id, "insight": a.insight_title, "action": a.title,
                 "department": a.department, "owner": a.owner_email, "due": a.due,
                 "kpi": a.kpi, "baseline": a.kpi_baseline, "target": a.kpi_target,
                 "latest": a.latest_kpi, "status": a.status}
                for c in self.chains for a in c.actions]
        return pd.DataFrame(rows, columns=["question", "insight_id", "insight", "action",
                                           "department", "owner", "due", "kpi", "baseline",
                                           "target", "latest", "status"])

    def _repr_html_(self) -> str:
        return self.to_pandas().to_html(index=False)

    def __repr__(self) -> str:
        return (f"AllaBoard(questions={self.questions}, actions={self.actions}, "
                f"successes={self.successes}, failures={self.failures}, open={self.open}, "
                f"overdue={self.overdue})")


# -- conversions --------------------------------------------------------------------------

def _as_date(value: date | datetime | str, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise DataValidationError(f"{what} {value!r}: expected a date like 2026-06-30") from exc


def _as_datetime(value: date | datetime | str, what: str) -> datetime:
    if isinstance(value, datetime):
        # the store keeps naive UTC
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return _as_datetime(datetime.fromisoformat(str(value).strip()), what)
    except ValueError as exc:
        raise DataValidationError(f"{what} {value!r}: expected a date or date-time like "
                                  "2026-08-01 or 2026-08-01T09:30") from exc


def _as_number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{what} {value!r}: expected a number") from exc
    if not math.isfinite(number):
        raise DataValidationError(f"{what} {value!r}: expected a finite number")
    return number


def judge(baseline: float, target: float, value: float) -> tuple[bool, float | None]:
    """Success (KPI moved from *baseline* toward *target*) and the share of the way covered.

    >>> judge(10.0, 20.0, 15.0)
    (True, 0.5)
    >>> judge(12.0, 8.0, 13.0)[0]     # lower is better here, and it went up
    False
    """
    gap = target - baseline
    if gap == 0:
        return math.isclose(value, target), None
    progress = (value - baseline) / gap
    success = value > baseline if gap > 0 else value < baseline
    return success, progress if math.isfinite(progress) else None


def _question(session: Session, row: m.CustomerQuestion) -> Question:
    email = session.scalar(select(User.email).where(User.id == row.asked_by_id)) \
        if row.asked_by_id else None
    return Question(id=row.id, text=row.text, audience=row.audience, channel=row.channel,
                    asked_by_email=email, asked_at=row.asked_at)


def _heard(row: m.CustomerHeard) -> Heard:
    return Heard(id=row.id, question_id=row.question_id, summary=row.summary,
                 evidence=loads(row.evidence), source=row.source, heard_at=row.heard_at)


def _outcome(row: m.ActionOutcome, act: m.InsightAction) -> Outcome:
    _, progress = judge(act.kpi_baseline, act.kpi_target, row.kpi_value)
    return Outcome(id=row.id, action_id=row.action_id, kpi_value=row.kpi_value,
                   measured_at=row.measured_at, note=row.note, success=row.success,
                   progress=progress, recorded_at=row.recorded_at)


def _actions(session: Session, rows: list[m.InsightAction], today: date) -> list[Action]:
    """Build :class:`Action` values for *rows* with a handful of queries (not per row)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    outcomes: dict[int, list[m.ActionOutcome]] = {}
    for o in session.scalars(select(m.ActionOutcome).where(m.ActionOutcome.action_id.in_(ids))
                             .order_by(m.ActionOutcome.measured_at, m.ActionOutcome.id)):
        outcomes.setdefault(o.action_id, []).append(o)
    titles = {i: v.title for i, v in
              _latest_versions(session, sorted({r.insight_id for r in rows})).items()}
    emails = dict(session.execute(select(User.id, User.email)
                                  .where(User.id.in_({r.owner_id for r in rows}))).all())
    depts = dict(session.execute(select(Department.id, Department.name)
                                 .where(Department.id.in_({r.department_id for r in rows}))).all())
    out = []
    for row in rows:
        outs = outcomes.get(row.id, [])
        if outs:
            status = "succeeded" if outs[-1].success else "failed"
        else:
            status = "overdue" if row.due < today else "open"
        out.append(Action(
            id=row.id, insight_id=row.insight_id, insight_title=titles.get(row.insight_id, ""),
            title=row.title, owner_email=emails.get(row.owner_id, ""),
            department=depts.get(row.department_id, ""), due=row.due, kpi=row.kpi,
            kpi_baseline=row.kpi_baseline, kpi_target=row.kpi_target,
            created_at=row.created_at, status=status,
            outcomes=tuple(_outcome(o, row) for o in outs)))
    return out


def _action(session: Session, row: m.InsightAction, today: date) -> Action:
    return _actions(session, [row], today)[0]


def _question_row(session: Session, question_id: int) -> m.CustomerQuestion:
    row = session.get(m.CustomerQuestion, question_id)
    if row is None:
        raise NotFoundError(f"question {question_id} not found")
    return row


def _insight_exists(session: Session, insight_id: int) -> None:
    if session.get(m.Insight, insight_id) is None:
        raise NotFoundError(f"insight {insight_id} not found; 'outsidein insights list' shows them")


# -- Ask, Listen, Learn, Act --------------------------------------------------------------

def ask(session: Session, *, text: str, asked_by_email: str | None = None, audience: str = "",
        channel: str = "", now: datetime | None = None) -> Question:
    """Ask: record a question put to customers (e.g. in a survey, interviews, the call centre)."""
    if not (text or "").strip():
        raise DataValidationError("question: the text of the question is required")
    asker = user_by_email(session, asked_by_email) if asked_by_email else None
    row = m.CustomerQuestion(text=text.strip(), audience=audience, channel=channel,
                             asked_by_id=asker.id if asker else None, asked_at=now or utcnow())
    session.add(row)
    session.flush()
    return _question(session, row)


def listen(session: Session, *, question_id: int, summary: str,
           evidence: dict[str, Any] | None = None, source: str = "",
           now: datetime | None = None) -> Heard:
    """Listen: record what customers said in answer to a question, with its evidence."""
    _question_row(session, question_id)
    if not (summary or "").strip():
        raise DataValidationError("heard: a summary of what was heard is required")
    row = m.CustomerHeard(question_id=question_id, summary=summary.strip(),
                          evidence=canonical_json(evidence or {}), source=source,
                          heard_at=now or utcnow())
    session.add(row)
    session.flush()
    return _heard(row)


def learn(session: Session, *, question_id: int, insight_id: int, note: str = "",
          now: datetime | None = None) -> Learning:
    """Learn: link a question to the insight its answers produced (once per pair)."""
    _question_row(session, question_id)
    _insight_exists(session, insight_id)
    stmt = select(m.Learning).where(m.Learning.question_id == question_id,
                                    m.Learning.insight_id == insight_id)
    row = session.scalar(stmt)
    if row is None:
        try:
            with session.begin_nested():
                session.add(m.Learning(question_id=question_id, insight_id=insight_id, note=note,
                                       learned_at=now or utcnow()))
        except IntegrityError:
            pass
        row = session.scalars(stmt).one()
    title = session.scalar(select(m.InsightVersion.title)
                           .where(m.InsightVersion.insight_id == insight_id)
                           .order_by(m.InsightVersion.version.desc()).limit(1)) or ""
    return Learning(id=row.id, question_id=question_id, insight_id=insight_id,
                    insight_title=title, note=row.note, learned_at=row.learned_at)


def act(
    session: Session,
    *,
    insight_id: int,
    title: str,
    owner_email: str,
    department: str,
    due: date | datetime | str,
    kpi: str,
    kpi_baseline: float,
    kpi_target: float,
    now: datetime | None = None,
) -> Action:
    """Act: log an action taken on an insight, its owner, department, due date and KPI."""
    _insight_exists(session, insight_id)
    if not (title or "").strip() or not (kpi or "").strip():
        raise DataValidationError("action: a title and the KPI it should move are required")
    owner = user_by_email(session, owner_email)
    dept = department_by_name(session, department)
    row = m.InsightAction(insight_id=insight_id, title=title.strip(), owner_id=owner.id,
                          department_id=dept.id, due=_as_date(due, "due"), kpi=kpi.strip(),
                          kpi_baseline=_as_number(kpi_baseline, "kpi_baseline"),
                          kpi_target=_as_number(kpi_target, "kpi_target"),
                          created_at=now or utcnow())
    session.add(row)
    session.flush()
    record_audit(session, actor=owner.email, action="action.create", target=f"action:{row.id}",
                 details={"insight_id": insight_id, "kpi": row.kpi,
                          "baseline": row.kpi_baseline, "target": row.kpi_target})
    return _action(session, row, (now or utcnow()).date())


def record_outcome(session: Session, *, action_id: int, kpi_value: float,
                   measured_at: date | datetime | str, note: str = "",
                   now: datetime | None = None) -> Outcome:
    """Record the KPI measured after an action; success when it moved toward the target."""
    act_row = session.get(m.InsightAction, action_id)
    if act_row is None:
        raise NotFoundError(f"action {action_id} not found")
    value = _as_number(kpi_value, "kpi_value")
    success, _ = judge(act_row.kpi_baseline, act_row.kpi_target, value)
    row = m.ActionOutcome(action_id=action_id, kpi_value=value,
                          measured_at=_as_datetime(measured_at, "measured_at"), note=note or "",
                          success=success, recorded_at=now or utcnow())
    session.add(row)
    session.flush()
    owner = session.get(User, act_row.owner_id)
    record_audit(session, actor=owner.email if owner else "", action="action.outcome",
                 target=f"action:{action_id}",
                 details={"kpi_value": value, "success": success})
    return _outcome(row, act_row)


# -- reading ------------------------------------------------------------------------------

def get_action(session: Session, action_id: int, *, now: datetime | None = None) -> Action:
    row = session.get(m.InsightAction, action_id)
    if row is None:
        raise NotFoundError(f"action {action_id} not found")
    return _action(session, row, (now or utcnow()).date())


def list_actions(session: Session, *, insight_id: int | None = None,
                 department: str | None = None, status: str | None = None,
                 now: datetime | None = None) -> list[Action]:
    """Actions by due date, optionally for one insight, department or status."""
    if status is not None and status not in ACTION_STATES:
        raise DataValidationError(f"status {status!r}: expected one of {', '.join(ACTION_STATES)}")
    stmt = select(m.InsightAction).order_by(m.InsightAction.due, m.InsightAction.id)
    if insight_id is not None:
        stmt = stmt.where(m.InsightAction.insight_id == insight_id)
    if department is not None:
        dept = department_by_name(session, department)
        stmt = stmt.where(m.InsightAction.department_id == dept.id)
    today = (now or utcnow()).date()
    out = _actions(session, list(session.scalars(stmt)), today)
    return [a for a in out if status is None or a.status == status]


def list_questions(session: Session) -> list[Question]:
    rows = session.scalars(select(m.CustomerQuestion).order_by(m.CustomerQuestion.id))
    return [_question(session, r) for r in rows]


def alla_board(session: Session, *, now: datetime | None = None) -> AllaBoard:
    """Every question followed to what was heard, learned and done, with outcome counts.

    Actions on insights no question led to (e.g. published by an analysis) form a last chain
    whose ``question`` is ``None``.
    """
    actions = list_actions(session, now=now)
    by_insight: dict[int, list[Action]] = {}
    for a in actions:
        by_insight.setdefault(a.insight_id, []).append(a)
    learned: set[int] = set()
    chains: list[AllaChain] = []
    heard_total = 0
    for qrow in session.scalars(select(m.CustomerQuestion).order_by(m.CustomerQuestion.id)):
        heard = tuple(_heard(h) for h in session.scalars(
            select(m.CustomerHeard).where(m.CustomerHeard.question_id == qrow.id)
            .order_by(m.CustomerHeard.heard_at, m.CustomerHeard.id)))
        heard_total += len(heard)
        learnings = tuple(_learnings(session, qrow.id))
        ids = [lr.insight_id for lr in learnings]
        learned.update(ids)
        chain_actions = tuple(a for i in ids for a in by_insight.get(i, []))
        chains.append(AllaChain(question=_question(session, qrow), heard=heard,
                                learnings=learnings, actions=chain_actions))
    rest = tuple(a for a in actions if a.insight_id not in learned)
    if rest:
        chains.append(AllaChain(question=None, heard=(), learnings=(), actions=rest))
    counts = Counter(a.status for a in actions)
    insights_count = len(learned | {a.insight_id for a in actions})
    return AllaBoard(chains=tuple(chains), questions=sum(c.question is not None for c in chains),
                     heard=heard_total, insights=insights_count, actions=len(actions),
                     successes=counts["succeeded"], failures=counts["failed"],
                     open=counts["open"], overdue=counts["overdue"])


def _learnings(session: Session, question_id: int) -> list[Learning]:
    stmt = (select(m.Learning).where(m.Learning.question_id == question_id)
            .order_by(m.Learning.learned_at, m.Learning.id))
    out = []
    for row in session.scalars(stmt):
        title = session.scalar(select(m.InsightVersion.title)
                               .where(m.InsightVersion.insight_id == row.insight_id)
                               .order_by(m.InsightVersion.version.desc()).limit(1)) or ""
        out.append(Learning(id=row.id, question_id=question_id, insight_id=row.insight_id,
                            insight_title=title, note=row.note, learned_at=row.learned_at))
    return out
