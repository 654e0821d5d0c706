"""who owns working through a list (e.g. the prospects to call): append-only assignments

Revision ID: 0005_list_assignments
Revises: 0004_ack_api_key
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_list_assignments"
down_revision = "0004_ack_api_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "list_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("assigned_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_list_assignments_list_name", "list_assignments", ["list_name"])


def downgrade() -> None:
    op.drop_table("list_assignments")
