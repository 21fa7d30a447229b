"""endorser-signed status list credentials of the portable form (spec §13.3)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vc_status_lists",
        sa.Column("issuer", sa.String(length=56), nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "list_id"),
    )


def downgrade() -> None:
    op.drop_table("vc_status_lists")
