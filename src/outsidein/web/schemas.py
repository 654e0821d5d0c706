"""Pydantic models of the JSON API's requests and responses (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InsightOut(_Out):
    id: int
    key: str | None
    version: int
    version_hash: str = Field(
        description="sha256 of the version's canonical title, statement and evidence")
    title: str
    statement: str
    evidence: dict[str, Any]
    owner_email: str
    owner_name: str
    departments: list[str]
    priority: str
    source: str
    published_at: datetime
    due_at: datetime
    latest_version: int
    new_version: bool = False


class InsightIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    statement: str = Field(min_length=1)
    evidence: dict[str, Any] = Field(default_factory=dict,
                                     description="figures, chart (Plotly JSON), link, snapshot_id")
    departments: list[str] = Field(min_length=1)
    priority: Literal["high", "medium", "low"] = "high"
    owner_email: str | None = Field(None, description="default: the caller (keys: required)")
    key: str | None = Field(None, description="stable key: republishing makes a new version")
    source: str = "api"
    due_days: int = Field(7, ge=0, le=365)


class AckIn(BaseModel):
    version_hash: str = Field(min_length=8, max_length=64)
    user_email: str | None = Field(
        None, description="whose acknowledgement (keys not bound to a person only)")


class AckOut(_Out):
    id: int
    insight_id: int
    version: int
    version_hash: str
    user_id: int
    user_email: str
    acknowledged_at: datetime
    is_current_version: bool


class AckEntryOut(_Out):
    user_id: int
    email: str
    name: str
    acknowledged_at: datetime | None
    acknowledged_version: int | None


class DepartmentAckOut(_Out):
    department: str
    acknowledged: list[AckEntryOut]
    pending: list[AckEntryOut]
    overdue: bool


class AckStatusOut(_Out):
    insight_id: int
    title: str
    version: int
    version_hash: str
    due_at: datetime
    departments: list[DepartmentAckOut]
    acknowledged_count: int
    expected_count: int
    overdue: bool


class AnswerOut(BaseModel):
    key: str
    question: str
    headline: str
    next_action: str
    missing_data: list[str]
    rows: list[dict[str, Any]]
    figures: list[dict[str, Any]]
    numbers: dict[str, Any]

    @classmethod
    def from_stored(cls, a: Any) -> AnswerOut:
        """The API's view of a saved answer (a ``StoredAnswer``): plot as a figure list."""
        return cls(key=a.name, question=a.question, headline=a.headline,
                   next_action=a.next_action_text,
                   missing_data=[a.missing_data] if a.missing_data else [], rows=a.rows,
                   figures=[a.plot] if a.plot else [], numbers=a.figures)


class AnswersOut(BaseModel):
    available: bool
    how_to: str | None = None
    answers: list[AnswerOut] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)


class CustomerValueOut(BaseModel):
    customer_id: str
    values: dict[str, Any]


class NeedIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    importance: float = Field(ge=0, le=10)
    satisfaction: float = Field(ge=0, le=10)
    code: str | None = Field(None, description="default: the next N<number>")
    description: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict,
                                     description="survey answers, complaint counts, notes")


class ItemIn(BaseModel):
    kind: Literal["plan", "message", "training"]
    title: str = Field(min_length=1, max_length=300)
    owner: str = ""
    needs: dict[str, Literal["full", "partial"]] = Field(
        default_factory=dict, description="need code -> how fully the item addresses it")


class ActionIn(BaseModel):
    insight_id: int
    title: str = Field(min_length=1, max_length=300)
    department: str
    due: str = Field(description="date, e.g. 2026-12-31")
    kpi: str = Field(min_length=1)
    kpi_baseline: float
    kpi_target: float
    owner_email: str | None = Field(None, description="default: the caller")


class OutcomeIn(BaseModel):
    kpi_value: float
    measured_at: str = Field(description="date the KPI was measured, e.g. 2027-02-01")
    note: str = ""


class NeedOut(_Out):
    id: int
    code: str
    title: str
    description: str
    importance: float
    satisfaction: float
    opportunity: float = Field(description="importance + max(importance - satisfaction, 0)")
    evidence: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class NeedLinkOut(_Out):
    code: str
    coverage: Literal["full", "partial"]


class ItemOut(_Out):
    id: int
    kind: str
    title: str
    owner: str
    needs: list[NeedLinkOut]
    created_at: datetime


class CellOut(_Out):
    kind: str
    status: Literal["addressed", "partly", "missed"]
    full: list[str]
    partial: list[str]


class NeedRowOut(_Out):
    rank: int
    need: NeedOut
    cells: list[CellOut]
    disconnected: bool
    status: str


class AlignmentOut(_Out):
    top: int
    rows: list[NeedRowOut]
    off_target: list[ItemOut]
    generated_at: datetime
    counts: dict[str, int]
    summary: str
    functions: dict[str, str]


class QuestionOut(_Out):
    id: int
    text: str
    audience: str
    channel: str
    asked_by_email: str | None
    asked_at: datetime


class HeardOut(_Out):
    id: int
    question_id: int
    summary: str
    evidence: dict[str, Any]
    source: str
    heard_at: datetime


class LearningOut(_Out):
    id: int
    question_id: int
    insight_id: int
    insight_title: str
    note: str
    learned_at: datetime


class OutcomeOut(_Out):
    id: int
    action_id: int
    kpi_value: float
    measured_at: datetime
    note: str
    success: bool = Field(description="the KPI moved toward its target")
    progress: float | None
    recorded_at: datetime


class ActionOut(_Out):
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
    status: Literal["open", "overdue", "succeeded", "failed"]
    outcomes: list[OutcomeOut]


class ChainOut(_Out):
    question: QuestionOut | None = Field(description="null: actions on insights from analyses")
    heard: list[HeardOut]
    learnings: list[LearningOut]
    actions: list[ActionOut]


class AllaBoardOut(_Out):
    chains: list[ChainOut]
    questions: int
    heard: int
    insights: int
    actions: int
    successes: int
    failures: int
    open: int
    overdue: int
