"""culture survey: organisations, departments, roles, waves, invitations, drafts, responses

Revision ID: 0009_culture
Revises: 0008_sense_posteriors
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_culture"
down_revision = "0008_sense_posteriors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "culture_orgs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "culture_departments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("headcount", sa.Integer, nullable=True),
        sa.UniqueConstraint("org_id", "name", name="uq_culture_department"),
    )
    op.create_index("ix_culture_departments_org_id", "culture_departments", ["org_id"])
    op.create_table(
        "culture_roles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_culture_role"),
    )
    op.create_index("ix_culture_roles_org_id", "culture_roles", ["org_id"])
    op.create_table(
        "culture_waves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("instrument_version", sa.String(50), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("comment_prompt", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("illustrative", sa.Boolean, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "culture_invitations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("culture_waves.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_culture_invitations_wave_id", "culture_invitations", ["wave_id"])
    op.create_index("ix_culture_invitations_org_id", "culture_invitations", ["org_id"])
    op.create_table(
        "culture_drafts",
        sa.Column("invitation_id", sa.Integer,
                  sa.ForeignKey("culture_invitations.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("department_id", sa.Integer,
                  sa.ForeignKey("culture_departments.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
    )
    op.create_table(
        "culture_responses",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("culture_waves.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("culture_orgs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("department_id", sa.Integer,
                  sa.ForeignKey("culture_departments.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
    )
    for col in ("wave_id", "org_id", "department_id"):
        op.create_index(f"ix_culture_responses_{col}", "culture_responses", [col])
    op.create_table(
        "culture_quarantine",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("culture_waves.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("row_number", sa.Integer, nullable=False),
        sa.Column("column", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
    )
    op.create_index("ix_culture_quarantine_wave_id", "culture_quarantine", ["wave_id"])


def downgrade() -> None:
    for table in ("culture_quarantine", "culture_responses", "culture_drafts",
                  "culture_invitations", "culture_waves", "culture_roles",
                  "culture_departments", "culture_orgs"):
        op.drop_table(table)
