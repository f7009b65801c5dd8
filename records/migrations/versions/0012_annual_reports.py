"""`annual_reports` (records/annual_reports.py): one row a reporting year ("2027-28"), the
annual complaints performance and service improvement report's narrative and the governing
body's response, and once published, when, by whom and the figures as published (JSON).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "annual_reports",
        sa.Column("year_label", sa.String(length=7), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("governing_body_response", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staff_accounts.id"],
            name=op.f("fk_annual_reports_updated_by_staff_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["staff_accounts.id"],
            name=op.f("fk_annual_reports_published_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("year_label", name=op.f("pk_annual_reports")),
    )


def downgrade() -> None:
    op.drop_table("annual_reports")
