"""`case_links` and `case_link_events` (records/case_links.py): each case's resident link
generation (revoking a link moves it on) and what was done through the link (views, requests,
revocations).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_links",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f("fk_case_links_reference_cases")
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_case_links")),
    )
    op.create_table(
        "case_link_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f("fk_case_link_events_reference_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_link_events")),
    )
    op.create_index(
        op.f("ix_case_link_events_reference"), "case_link_events", ["reference"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_link_events_reference"), table_name="case_link_events")
    op.drop_table("case_link_events")
    op.drop_table("case_links")
