"""The daily sweep's reports, one per London day.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_reports",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("overdue_count", sa.Integer(), nullable=False),
        sa.Column("at_risk_count", sa.Integer(), nullable=False),
        sa.Column("letters_failing_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("emailed", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_sweep_reports")),
    )


def downgrade() -> None:
    op.drop_table("sweep_reports")
