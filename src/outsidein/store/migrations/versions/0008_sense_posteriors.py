"""sense and respond: learned response counts per (stage, action), shared by all workers;
when each customer's oldest message awaiting its outcome expires (for the sweep); an index
for a customer's pending messages

Revision ID: 0008_sense_posteriors
Revises: 0007_sense_outbox
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sense_posteriors"
down_revision = "0007_sense_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sense_posteriors",
        sa.Column("stage", sa.String(40), primary_key=True),
        sa.Column("action", sa.String(120), primary_key=True),
        sa.Column("responses", sa.Float, nullable=False),
        sa.Column("non_responses", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.add_column("sense_customer_state", sa.Column("pending_until", sa.DateTime, nullable=True))
    op.create_index("ix_sense_customer_state_pending_until", "sense_customer_state",
                    ["pending_until"])
    # a customer's pending messages: without it SQLite reads every pending row (status=?)
    op.create_index("ix_sense_deliveries_customer_status", "sense_deliveries",
                    ["customer_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_sense_deliveries_customer_status", "sense_deliveries")
    op.drop_index("ix_sense_customer_state_pending_until", "sense_customer_state")
    with op.batch_alter_table("sense_customer_state") as batch:
        batch.drop_column("pending_until")
    op.drop_table("sense_posteriors")
