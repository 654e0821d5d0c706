"""sense and respond: events in, customer state, decisions out

Revision ID: 0006_sense_events
Revises: 0005_list_assignments
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sense_events"
down_revision = "0005_list_assignments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sense_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("product_id", sa.String(200), nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("api_key_id", sa.Integer,
                  sa.ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sense_events_customer_id", "sense_events", ["customer_id"])
    op.create_table(
        "sense_customer_state",
        sa.Column("customer_id", sa.String(200), primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("stage_probability", sa.Float, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "sense_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_pk", sa.Integer,
                  sa.ForeignKey("sense_events.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("stage_probability", sa.Float, nullable=False),
        sa.Column("need", sa.String(40), nullable=True),
        sa.Column("action", sa.String(120), nullable=True),
        sa.Column("channel", sa.String(40), nullable=True),
        sa.Column("send_at", sa.DateTime, nullable=True),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("control", sa.Boolean, nullable=False),
        sa.Column("clues", sa.JSON, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
    )
    op.create_index("ix_sense_decisions_customer_id", "sense_decisions", ["customer_id"])


def downgrade() -> None:
    op.drop_table("sense_decisions")
    op.drop_table("sense_customer_state")
    op.drop_table("sense_events")
