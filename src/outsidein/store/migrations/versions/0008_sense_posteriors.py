"""sense and respond: learned response counts per (stage, action), shared by all workers

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


def downgrade() -> None:
    op.drop_table("sense_posteriors")
