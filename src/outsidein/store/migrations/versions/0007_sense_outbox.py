"""sense and respond: the durable outbox of messages (sense_deliveries)

Revision ID: 0007_sense_outbox
Revises: 0006_sense_events
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sense_outbox"
down_revision = "0006_sense_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sense_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("decision_id", sa.Integer,
                  sa.ForeignKey("sense_decisions.id", ondelete="SET NULL"), nullable=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("send_at", sa.DateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("cancel_on", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sense_deliveries_decision_id", "sense_deliveries", ["decision_id"])
    op.create_index("ix_sense_deliveries_customer_id", "sense_deliveries", ["customer_id"])
    op.create_index("ix_sense_deliveries_due", "sense_deliveries",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("sense_deliveries")
