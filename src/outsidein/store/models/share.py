"""Shared customer truth: insights and their versions, acknowledgements, Ask-Listen-Learn-Act,
the notification outbox, unmet needs and the alignment items that address them.

Acknowledgements, learnings, actions, outcomes and delivery attempts are append-only: the
services only ever insert them.  JSON payloads are stored as canonical JSON text so that
SQLite and PostgreSQL hold byte-identical content (and content hashes stay reproducible).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from outsidein.store.models.base import Base, utcnow

PRIORITIES = ("high", "medium", "low")
ITEM_KINDS = ("plan", "message", "training")
COVERAGES = ("full", "partial")


class Insight(Base):
    """An insight; its content lives in :class:`InsightVersion` rows."""

    __tablename__ = "insights"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(10))  # one of PRIORITIES
    source: Mapped[str] = mapped_column(String(100), default="manual")
    due_days: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsightVersion(Base):
    __tablename__ = "insight_versions"
    __table_args__ = (UniqueConstraint("insight_id", "version", name="uq_insight_versions_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    statement: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column()


class InsightDepartment(Base):
    __tablename__ = "insight_departments"
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)


class Acknowledgement(Base):
    """Append-only: one user acknowledged one version (identified by its hash)."""

    __tablename__ = "acknowledgements"
    __table_args__ = (
        UniqueConstraint("user_id", "version_id", name="uq_acknowledgements_user_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("insight_versions.id", ondelete="CASCADE"))
    version_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The API key that recorded it; None when the person acknowledged while logged in.
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL", name="fk_acknowledgements_api_key_id"),
        nullable=True)


class CustomerQuestion(Base):
    """Ask: a question the company asks its customers."""

    __tablename__ = "customer_questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerHeard(Base):
    """Listen: what was heard in answer to a question (append-only)."""

    __tablename__ = "customer_heard"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("customer_questions.id", ondelete="CASCADE"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    source: Mapped[str] = mapped_column(String(200), default="")
    heard_at: Mapped[datetime] = mapped_column(default=utcnow)


class Learning(Base):
    """Learn: a question's answers led to an insight (append-only)."""

    __tablename__ = "learnings"
    __table_args__ = (UniqueConstraint("question_id", "insight_id", name="uq_learnings_pair"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("customer_questions.id", ondelete="CASCADE"))
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")
    learned_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsightAction(Base):
    """Act: an action taken on an insight, with the KPI it should move (append-only)."""

    __tablename__ = "insight_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    due: Mapped[date] = mapped_column(Date)
    kpi: Mapped[str] = mapped_column(String(200))
    kpi_baseline: Mapped[float] = mapped_column(Float)
    kpi_target: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionOutcome(Base):
    """The KPI measured after an action, judged success or failure (append-only)."""

    __tablename__ = "action_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("insight_actions.id", ondelete="CASCADE"), index=True)
    kpi_value: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    success: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A notification waiting for (or done with) delivery by webhook and/or e-mail."""

    __tablename__ = "notify_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(50))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    blocks: Mapped[str] = mapped_column(Text, default="[]")
    recipients: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of e-mails
    to_webhook: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DeliveryAttempt(Base):
    """Append-only record of each try to deliver an outbox message on one channel."""

    __tablename__ = "notify_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("notify_outbox.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # "webhook" or "email"
    target: Mapped[str] = mapped_column(String(500))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")


class Need(Base):
    """A customer need with evidence, importance and satisfaction (0-10)."""

    __tablename__ = "needs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    importance: Mapped[float] = mapped_column(Float)
    satisfaction: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlignmentItem(Base):
    """A product plan, marketing message or sales training item."""

    __tablename__ = "alignment_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # one of ITEM_KINDS
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlignmentItemNeed(Base):
    __tablename__ = "alignment_item_needs"
    item_id: Mapped[int] = mapped_column(
        ForeignKey("alignment_items.id", ondelete="CASCADE"), primary_key=True)
    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True)
    coverage: Mapped[str] = mapped_column(String(10), default="full")  # one of COVERAGES
