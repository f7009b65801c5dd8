"""`case_clocks` (records/clocks.py): each case's clocks, one row a clock, for the performance
report. Made for the cases already recorded from the clocks in their `data` (such a clock has
no day counted from or day met unless the case has taken a step since the change that records
them, so it counts in the figures but not in the median working days taken). The working days
taken are counted by the store after migrating (records/clocks.py `fill_working_days`), with the
landlord's calendar.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from records.clocks import rows_from_data

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    table = op.create_table(
        "case_clocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("clock", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("item", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("due", UTC_DATETIME, nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("due_month", sa.String(length=7), nullable=False),
        sa.Column("original_due_day", sa.Date(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("extended_by_working_days", sa.Integer(), nullable=False),
        sa.Column("exceptional_extension", sa.Boolean(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("met_at", UTC_DATETIME, nullable=True),
        sa.Column("met_on", sa.Date(), nullable=True),
        sa.Column("breached_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("working_days_taken", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f("fk_case_clocks_reference_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_clocks")),
        sa.UniqueConstraint("reference", "clock", name=op.f("uq_case_clocks_reference_clock")),
    )
    op.create_index(
        "ix_case_clocks_report",
        "case_clocks",
        [
            "key", "channel", "due_month", "outcome", "working_days_taken", "due_day",
            "extensions", "exceptional_extension",
        ],
    )  # fmt: skip
    cases = sa.table(
        "cases", sa.column("reference", sa.String), sa.column("channel", sa.String),
        sa.column("data", sa.JSON),
    )  # fmt: skip
    bind = op.get_bind()
    for reference, channel, data in bind.execute(
        sa.select(cases.c.reference, cases.c.channel, cases.c.data)
    ).all():
        try:
            made = rows_from_data(data or {}, channel)
        except ValueError:  # a shape this code cannot read: made at the case's next record
            continue
        rows = [{"reference": reference, **row.model_dump()} for row in made]
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_case_clocks_report", table_name="case_clocks")
    op.drop_table("case_clocks")
