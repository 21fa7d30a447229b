"""short links: a random id for a registered endorsement token (spec §11.6)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=43), nullable=False),
        sa.Column("issuer", sa.String(length=56), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_short_links_token_hash", "short_links", ["token_hash"])


def downgrade() -> None:
    op.drop_index("ix_short_links_token_hash", table_name="short_links")
    op.drop_table("short_links")
