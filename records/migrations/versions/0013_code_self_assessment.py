"""`code_self_assessment` (records/self_assessment.py): the landlord's answer for each provision
of the Complaint Handling Code, one row a reporting year and provision.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_self_assessment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year_label", sa.String(length=7), nullable=False),
        sa.Column("provision", sa.String(length=8), nullable=False),
        sa.Column("comply", sa.String(length=3), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("commentary", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staff_accounts.id"],
            name=op.f("fk_code_self_assessment_updated_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_self_assessment")),
        sa.UniqueConstraint(
            "year_label", "provision", name=op.f("uq_code_self_assessment_year_label_provision")
        ),
    )


def downgrade() -> None:
    op.drop_table("code_self_assessment")
