"""The satisfaction survey's replies (`satisfaction_replies`): one a case, one a link.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["cases.reference"],
            name=op.f("fk_satisfaction_replies_reference_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_replies")),
        sa.UniqueConstraint("reference", name=op.f("uq_satisfaction_replies_reference")),
        sa.UniqueConstraint("nonce", name=op.f("uq_satisfaction_replies_nonce")),
    )
    op.create_index(
        op.f("ix_satisfaction_replies_answered_at"), "satisfaction_replies", ["answered_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_satisfaction_replies_answered_at"), table_name="satisfaction_replies")
    op.drop_table("satisfaction_replies")
