"""registry keys sealed under a key-encryption key, with validity and rotations (issue 10)

Revision ID: 0003
Revises: 0002

The plain seeds of databases made before stay until the first start after this upgrade,
which seals them and erases the plain text (endorse.server.registry_key): a migration has no
key-encryption key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_keys") as batch:
        batch.alter_column("seed", existing_type=sa.LargeBinary(length=32), nullable=True)
        batch.add_column(sa.Column("sealed", sa.LargeBinary(length=61), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rotation", sa.Text(), nullable=True))


def downgrade() -> None:
    # Sealed keys cannot go back to plain rows without the key-encryption key: downgrading a
    # registry whose keys were sealed is refused rather than losing its key.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM registry_keys WHERE seed IS NULL")).scalar():
        raise RuntimeError("registry keys are sealed: export them before downgrading")
    with op.batch_alter_table("registry_keys") as batch:
        batch.drop_column("rotation")
        batch.drop_column("valid_until")
        batch.drop_column("valid_from")
        batch.drop_column("sealed")
        batch.alter_column("seed", existing_type=sa.LargeBinary(length=32), nullable=False)
