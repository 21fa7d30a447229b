"""claimed references: reference requests, mail stops, blocks, policies, standing refusals,
check counts (issue 9)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_counts",
        sa.Column("endorsement_id", sa.String(length=22), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("endorsement_id", "day"),
    )
    op.create_table(
        "mail_stops",
        sa.Column("address_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address_mac"),
    )
    op.create_table(
        "policies",
        sa.Column("referee_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key", sa.String(length=56), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("referee_mac"),
    )
    op.create_table(
        "referee_settings",
        sa.Column("referee_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("referee_mac"),
    )
    op.create_table(
        "reference_requests",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("requester_key", sa.String(length=56), nullable=False),
        sa.Column("requester_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("referee_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("subject_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("referee_email", sa.String(length=254), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(length=43), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("mailed", sa.Boolean(), nullable=False),
        sa.Column("invitation", sa.Boolean(), nullable=False),
        sa.Column("answer_kind", sa.String(length=16), nullable=True),
        sa.Column("answer_token", sa.Text(), nullable=True),
        sa.Column("answer_standing", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("scrubbed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_reference_requests_created_at"), "reference_requests", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_reference_requests_expires_at"), "reference_requests", ["expires_at"], unique=False
    )
    op.create_index(
        "ix_reference_requests_invites",
        "reference_requests",
        ["referee_mac", "subject_mac", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reference_requests_referee_mac"),
        "reference_requests",
        ["referee_mac"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reference_requests_requester_key"),
        "reference_requests",
        ["requester_key"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reference_requests_requester_mac"),
        "reference_requests",
        ["requester_mac"],
        unique=False,
    )
    op.create_table(
        "requester_blocks",
        sa.Column("referee_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("requester_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("referee_mac", "requester_mac"),
    )
    op.create_table(
        "standing_refusals",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("referee_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key", sa.String(length=56), nullable=False),
        sa.Column("subject_mac", sa.LargeBinary(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_standing_refusals_lookup",
        "standing_refusals",
        ["referee_mac", "subject_mac"],
        unique=False,
    )
    op.add_column("pending_codes", sa.Column("payload", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("pending_codes", "payload")
    op.drop_index("ix_standing_refusals_lookup", table_name="standing_refusals")
    op.drop_table("standing_refusals")
    op.drop_table("requester_blocks")
    op.drop_index(op.f("ix_reference_requests_requester_mac"), table_name="reference_requests")
    op.drop_index(op.f("ix_reference_requests_requester_key"), table_name="reference_requests")
    op.drop_index(op.f("ix_reference_requests_referee_mac"), table_name="reference_requests")
    op.drop_index("ix_reference_requests_invites", table_name="reference_requests")
    op.drop_index(op.f("ix_reference_requests_expires_at"), table_name="reference_requests")
    op.drop_index(op.f("ix_reference_requests_created_at"), table_name="reference_requests")
    op.drop_table("reference_requests")
    op.drop_table("referee_settings")
    op.drop_table("policies")
    op.drop_table("mail_stops")
    op.drop_table("check_counts")
