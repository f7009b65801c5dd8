"""A complaint's category, the complainant's tenure and the property reference, for reporting;
each point's decision and root cause, one row a point (`case_point_outcomes`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASE_COLUMNS = (
    ("category", 60),
    ("tenure", 40),
    ("property_reference", 60),
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, length in CASE_COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))
            batch.create_index(batch.f(f"ix_cases_{name}"), [name])
    op.create_table(
        "case_point_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("point_index", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("root_cause", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["cases.reference"],
            name=op.f("fk_case_point_outcomes_reference_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_point_outcomes")),
        sa.UniqueConstraint(
            "reference",
            "stage",
            "point_index",
            name=op.f("uq_case_point_outcomes_reference_stage"),
        ),
    )
    op.create_index(
        op.f("ix_case_point_outcomes_root_cause"), "case_point_outcomes", ["root_cause"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_point_outcomes_root_cause"), table_name="case_point_outcomes")
    op.drop_table("case_point_outcomes")
    with op.batch_alter_table("cases") as batch:
        for name, _ in reversed(CASE_COLUMNS):
            batch.drop_index(batch.f(f"ix_cases_{name}"))
            batch.drop_column(name)
