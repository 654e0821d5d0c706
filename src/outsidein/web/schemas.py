"""Pydantic models of the JSON API's requests and responses (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

#: Largest id the API takes: 2**53 - 1, exact in a JSON number and in JavaScript (the store's
#: 64-bit ids never get there); a larger id is a 422, not a 500.
MAX_ID = 2**53 - 1
#: How deep evidence (JSON) may nest.
MAX_EVIDENCE_DEPTH = 20
#: No NUL or other control character but tab and newlines (PostgreSQL refuses NUL).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
#: One-line names: no control character at all.
NAME_PATTERN = r"^[^\x00-\x1f]*$"


def _as_utc(value: datetime) -> datetime:
    """Stored times are UTC without a zone; the API says so (RFC 3339 needs a zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _not_bool(value: Any) -> Any:
    """``true`` is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    return value


def _text_only(value: Any) -> Any:
    """Dates come as text (pydantic would read a number as seconds since 1970)."""
    if not isinstance(value, str):
        raise ValueError("expected a date as text, e.g. 2026-12-31")
    return value


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EVIDENCE_DEPTH:
            raise ValueError(f"nests {depth} levels deep or more; at most "
                             f"{MAX_EVIDENCE_DEPTH} levels are allowed")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return value


#: A time in UTC, always with its zone.
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
#: A stored row's id.
Id = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_ID)]
#: A number or an integer; a boolean is refused.
Number = Annotated[float, BeforeValidator(_not_bool)]
Integer = Annotated[int, BeforeValidator(_not_bool)]
#: A date, or a date and time, written as ISO 8601 text.
DateText = Annotated[date, BeforeValidator(_text_only)]
WhenText = Annotated[date | datetime, BeforeValidator(_text_only)]
#: A one-line name of up to *n* characters (department, e-mail, key, code).
Name = Annotated[str, Field(max_length=200, pattern=NAME_PATTERN)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=NAME_PATTERN)]
Title = Annotated[str, Field(min_length=1, max_length=300, pattern=NAME_PATTERN)]
#: Free text of up to 20,000 characters (a statement, a description, a note).
Text = Annotated[str, Field(max_length=20_000, pattern=TEXT_PATTERN)]
#: JSON evidence: at most 20 levels deep (the whole body is at most 1 MB).
Evidence = Annotated[dict[str, Any], AfterValidator(_shallow)]


class _In(BaseModel):
    """Requests: no NaN or infinity; numbers use :data:`Number` (``true`` is not a number)."""

    model_config = ConfigDict(allow_inf_nan=False)


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
    published_at: UtcDatetime
    due_at: UtcDatetime
    latest_version: int
    new_version: bool = False


class InsightIn(_In):
    title: Title
    statement: Annotated[Text, Field(min_length=1)]
    evidence: Evidence = Field(default_factory=dict,
                               description="figures, chart (Plotly JSON), link, snapshot_id")
    departments: list[Annotated[Name, Field(min_length=1)]] = Field(min_length=1, max_length=50)
    priority: Literal["high", "medium", "low"] = "high"
    owner_email: Email | None = Field(None, description="default: the caller (keys: required)")
    key: Name | None = Field(None, description="stable key: republishing makes a new version")
    source: Annotated[Name, Field(max_length=50)] = "api"
    due_days: Integer = Field(7, ge=0, le=365)


class AckIn(_In):
    version_hash: str = Field(min_length=8, max_length=64, pattern="^[0-9a-fA-F]+$")
    user_email: Email | None = Field(
        None, description="whose acknowledgement (keys not bound to a person only)")


class AckOut(_Out):
    id: int
    insight_id: int
    version: int
    version_hash: str
    user_id: int
    user_email: str
    acknowledged_at: UtcDatetime
    is_current_version: bool
    api_key_id: int | None = Field(
        None, description="the API key that recorded it (null: the person, logged in)")


class AckEntryOut(_Out):
    user_id: int
    email: str
    name: str
    acknowledged_at: UtcDatetime | None
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
    due_at: UtcDatetime
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


class NeedIn(_In):
    title: Title
    importance: Number = Field(ge=0, le=10)
    satisfaction: Number = Field(ge=0, le=10)
    code: Annotated[Name, Field(min_length=1, max_length=20)] | None = Field(
        None, description="default: the next N<number>")
    description: Text = ""
    evidence: Evidence = Field(default_factory=dict,
                               description="survey answers, complaint counts, notes")


class ItemIn(_In):
    kind: Literal["plan", "message", "training"]
    title: Title
    owner: Name = ""
    needs: dict[str, Literal["full", "partial"]] = Field(
        default_factory=dict, max_length=500,
        description="need code -> how fully the item addresses it")


class ActionIn(_In):
    insight_id: Id
    title: Title
    department: Annotated[Name, Field(min_length=1)]
    due: DateText = Field(description="date, e.g. 2026-12-31")
    kpi: Annotated[Name, Field(min_length=1)]
    kpi_baseline: Number
    kpi_target: Number
    owner_email: Email | None = Field(None, description="default: the caller")


class OutcomeIn(_In):
    kpi_value: Number
    measured_at: WhenText = Field(
        description="date (or time) the KPI was measured, e.g. 2027-02-01")
    note: Text = ""


class NeedOut(_Out):
    id: int
    code: str
    title: str
    description: str
    importance: float
    satisfaction: float
    opportunity: float = Field(description="importance + max(importance - satisfaction, 0)")
    evidence: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class NeedLinkOut(_Out):
    code: str
    coverage: Literal["full", "partial"]


class ItemOut(_Out):
    id: int
    kind: str
    title: str
    owner: str
    needs: list[NeedLinkOut]
    created_at: UtcDatetime


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
    generated_at: UtcDatetime
    counts: dict[str, int]
    summary: str
    functions: dict[str, str]


class QuestionOut(_Out):
    id: int
    text: str
    audience: str
    channel: str
    asked_by_email: str | None
    asked_at: UtcDatetime


class HeardOut(_Out):
    id: int
    question_id: int
    summary: str
    evidence: dict[str, Any]
    source: str
    heard_at: UtcDatetime


class LearningOut(_Out):
    id: int
    question_id: int
    insight_id: int
    insight_title: str
    note: str
    learned_at: UtcDatetime


class OutcomeOut(_Out):
    id: int
    action_id: int
    kpi_value: float
    measured_at: UtcDatetime
    note: str
    success: bool = Field(description="the KPI moved toward its target")
    progress: float | None
    recorded_at: UtcDatetime


class ActionOut(_Out):
    id: int
    insight_id: int
    insight_title: str
    title: str
    owner_email: str
    department: str
    due: date
    kpi: str
    kpi_baseline: Number
    kpi_target: Number
    created_at: UtcDatetime
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


# -- customer 360 ----------------------------------------------------------------------------

class CustomerSectionOut(BaseModel):
    key: str = Field(description="profile, value, history, orders, interactions, service_costs, "
                                 "referrals, nps, insights, prospect; later: journey, segment")
    title: str
    available: bool
    missing: str | None = Field(description="when not available: what data would fill it")
    note: str
    figures: dict[str, Any] = Field(description="headline numbers: money in the view's "
                                                "currency, shares from 0 to 1, times in UTC")
    rows: list[dict[str, Any]] = Field(description="the panel's list, most recent first "
                                                   "(history: oldest month first)")


class CustomerOut(BaseModel):
    customer_id: str
    kind: Literal["customer", "prospect"]
    name: str | None = Field(description="from a name-like attribute of the customers file")
    currency: str
    as_of: UtcDatetime | None = Field(description="the last order the value models saw")
    sections: list[CustomerSectionOut]


class CustomerHitOut(BaseModel):
    kind: Literal["customer", "prospect"]
    id: str
    label: str
    detail: str


# -- explorable tables -----------------------------------------------------------------------

class TableColumnOut(BaseModel):
    name: str
    label: str = Field(description="the column in words, as the pages show it")
    kind: Literal["number", "text", "bool", "date"]
    unit: str = Field(description="money, percent (a share from 0 to 1), pct (already in "
                                  "percent), probability, count, number, ratio, days, date, "
                                  "bool, text or id")
    model_term: bool = Field(description="a model's working figure; pages put it under "
                                         "'How this was computed'")


class ListOwnerOut(BaseModel):
    owner_email: str
    owner_name: str
    assigned_by_email: str | None
    assigned_at: UtcDatetime
    note: str


class TableOut(BaseModel):
    name: str
    title: str
    columns: list[TableColumnOut]
    rows: list[dict[str, Any]] = Field(description="this page's rows, keyed by column name")
    matched: int = Field(description="rows that match the filters")
    total: int = Field(description="rows in the table")
    page: int
    per_page: int
    pages: int
    sort: str | None
    desc: bool
    owner: ListOwnerOut | None = Field(description="who owns working through this list")


class ListOwnerIn(_In):
    owner_email: Email = Field(description="the person who works through the list")
    note: str = Field(default="", max_length=2000, pattern=TEXT_PATTERN)
