"""`form_drafts` (records/form_drafts.py): a staff step's form as posted and its problems, kept
for an hour so the case page shows it again after the redirect (POST/redirect/GET).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=80), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("step", sa.String(length=80), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_drafts")),
    )
    op.create_index(op.f("ix_form_drafts_account_id"), "form_drafts", ["account_id"], unique=False)
    op.create_index(op.f("ix_form_drafts_created_at"), "form_drafts", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_form_drafts_created_at"), table_name="form_drafts")
    op.drop_index(op.f("ix_form_drafts_account_id"), table_name="form_drafts")
    op.drop_table("form_drafts")
