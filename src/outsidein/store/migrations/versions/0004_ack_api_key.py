"""acknowledgements name the API key that recorded them

Revision ID: 0004_ack_api_key
Revises: 0003_sessions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ack_api_key"
down_revision = "0003_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("acknowledgements") as batch:
        batch.add_column(sa.Column("api_key_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_acknowledgements_api_key_id", "api_keys",
                                 ["api_key_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("acknowledgements") as batch:
        batch.drop_constraint("fk_acknowledgements_api_key_id", type_="foreignkey")
        batch.drop_column("api_key_id")
