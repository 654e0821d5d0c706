"""sense and respond: when the sweep of silence looks at each customer next (the stage
changes by silence: a purchase fades, at risk, then lapsed), in epoch seconds, indexed for
the sweep

Revision ID: 0011_sense_resense_at
Revises: 0010_culture_imports
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_sense_resense_at"
down_revision = "0010_culture_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sense_customer_state", sa.Column("resense_at", sa.Float, nullable=True))
    op.create_index("ix_sense_customer_state_resense_at", "sense_customer_state",
                    ["resense_at"])
    # the customers already there are due at once (the sweep's clock is the newest event's
    # time, which may be years back: not the wall clock); it finds when each one's stage
    # changes, or that it never will
    op.execute("UPDATE sense_customer_state SET resense_at = 0")


def downgrade() -> None:
    op.drop_index("ix_sense_customer_state_resense_at", "sense_customer_state")
    with op.batch_alter_table("sense_customer_state") as batch:
        batch.drop_column("resense_at")
