"""shared customer truth: insights, acknowledgements, ask-listen-learn-act, outbox, needs, alignment

Revision ID: 0002_share
Revises: 0001_auth
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_share"
down_revision = "0001_auth"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def upgrade() -> None:
    op.create_table(
        "insights", _id(),
        sa.Column("key", sa.String(200), nullable=True, unique=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("due_days", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "insight_versions", _id(),
        sa.Column("insight_id", sa.Integer, sa.ForeignKey("insights.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("insight_id", "version", name="uq_insight_versions_number"),
    )
    op.create_index("ix_insight_versions_insight_id", "insight_versions", ["insight_id"])
    op.create_index("ix_insight_versions_content_hash", "insight_versions", ["content_hash"])
    op.create_table(
        "insight_departments",
        sa.Column("insight_id", sa.Integer, sa.ForeignKey("insights.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("department_id", sa.Integer,
                  sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "acknowledgements", _id(),
        sa.Column("insight_id", sa.Integer, sa.ForeignKey("insights.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version_id", sa.Integer,
                  sa.ForeignKey("insight_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "version_id", name="uq_acknowledgements_user_version"),
    )
    op.create_index("ix_acknowledgements_insight_id", "acknowledgements", ["insight_id"])
    op.create_table(
        "customer_questions", _id(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("audience", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("asked_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("asked_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "customer_heard", _id(),
        sa.Column("question_id", sa.Integer,
                  sa.ForeignKey("customer_questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("heard_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_customer_heard_question_id", "customer_heard", ["question_id"])
    op.create_table(
        "learnings", _id(),
        sa.Column("question_id", sa.Integer,
                  sa.ForeignKey("customer_questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("insight_id", sa.Integer, sa.ForeignKey("insights.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("learned_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("question_id", "insight_id", name="uq_learnings_pair"),
    )
    op.create_table(
        "insight_actions", _id(),
        sa.Column("insight_id", sa.Integer, sa.ForeignKey("insights.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("kpi", sa.String(200), nullable=False),
        sa.Column("kpi_baseline", sa.Float, nullable=False),
        sa.Column("kpi_target", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_insight_actions_insight_id", "insight_actions", ["insight_id"])
    op.create_table(
        "action_outcomes", _id(),
        sa.Column("action_id", sa.Integer,
                  sa.ForeignKey("insight_actions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kpi_value", sa.Float, nullable=False),
        sa.Column("measured_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_action_outcomes_action_id", "action_outcomes", ["action_id"])
    op.create_table(
        "notify_outbox", _id(),
        sa.Column("event", sa.String(50), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("blocks", sa.Text, nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("to_webhook", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_notify_outbox_status", "notify_outbox", ["status"])
    op.create_table(
        "notify_attempts", _id(),
        sa.Column("message_id", sa.Integer,
                  sa.ForeignKey("notify_outbox.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_index("ix_notify_attempts_message_id", "notify_attempts", ["message_id"])
    op.create_table(
        "needs", _id(),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("importance", sa.Float, nullable=False),
        sa.Column("satisfaction", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "alignment_items", _id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "alignment_item_needs",
        sa.Column("item_id", sa.Integer,
                  sa.ForeignKey("alignment_items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("need_id", sa.Integer, sa.ForeignKey("needs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("coverage", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    for name in ("alignment_item_needs", "alignment_items", "needs", "notify_attempts",
                 "notify_outbox", "action_outcomes", "insight_actions", "learnings",
                 "customer_heard", "customer_questions", "acknowledgements",
                 "insight_departments", "insight_versions", "insights"):
        op.drop_table(name)
