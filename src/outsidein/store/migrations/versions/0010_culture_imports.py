"""culture imports: one row per CSV imported into a wave (its SHA-256), and the import each
imported response came from, so the same file is not imported twice and a wrong import can be
replaced

Revision ID: 0010_culture_imports
Revises: 0009_culture
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_culture_imports"
down_revision = "0009_culture"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "culture_imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("culture_waves.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(71), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("imported", sa.Integer, nullable=False),
        sa.Column("quarantined", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("wave_id", "sha256", name="uq_culture_import_content"),
    )
    op.create_index("ix_culture_imports_wave_id", "culture_imports", ["wave_id"])
    # no foreign key: SQLite cannot add one to an existing table without copying it; the
    # import's responses are deleted by the code that deletes the import
    op.add_column("culture_responses", sa.Column("import_id", sa.Integer, nullable=True))
    op.create_index("ix_culture_responses_import_id", "culture_responses", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_culture_responses_import_id", "culture_responses")
    with op.batch_alter_table("culture_responses") as batch:
        batch.drop_column("import_id")
    op.drop_table("culture_imports")
