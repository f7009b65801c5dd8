"""The learning log: lessons from complaints and the improvements they lead to
(records/learning.py).

- `lessons`: what was learned, the service area, who recorded it and when;
- `lesson_cases`: the complaints that prompted each lesson (many to many, complaints only);
- `improvements`: what will change, its owner and due date, and when it was done, with a note
  and an optional public summary for the "you said, we did" page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("service_area", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_accounts.id"],
            name=op.f("fk_lessons_created_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
    )
    op.create_index(op.f("ix_lessons_service_area"), "lessons", ["service_area"])

    op.create_table(
        "lesson_cases",
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("linked_by", sa.String(length=80), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lessons.id"], name=op.f("fk_lesson_cases_lesson_id_lessons")
        ),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f("fk_lesson_cases_reference_cases")
        ),
        sa.ForeignKeyConstraint(
            ["linked_by"],
            ["staff_accounts.id"],
            name=op.f("fk_lesson_cases_linked_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("lesson_id", "reference", name=op.f("pk_lesson_cases")),
    )
    op.create_index(op.f("ix_lesson_cases_reference"), "lesson_cases", ["reference"])

    op.create_table(
        "improvements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=80), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("public_summary", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=80), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesson_id"], ["lessons.id"], name=op.f("fk_improvements_lesson_id_lessons")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff_accounts.id"],
            name=op.f("fk_improvements_owner_id_staff_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_accounts.id"],
            name=op.f("fk_improvements_created_by_staff_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["done_by"],
            ["staff_accounts.id"],
            name=op.f("fk_improvements_done_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvements")),
    )
    op.create_index(op.f("ix_improvements_lesson_id"), "improvements", ["lesson_id"])
    op.create_index(op.f("ix_improvements_owner_id"), "improvements", ["owner_id"])
    op.create_index(op.f("ix_improvements_due_on"), "improvements", ["due_on"])
    op.create_index(op.f("ix_improvements_done_at"), "improvements", ["done_at"])


def downgrade() -> None:
    for index in ("done_at", "due_on", "owner_id", "lesson_id"):
        op.drop_index(op.f(f"ix_improvements_{index}"), table_name="improvements")
    op.drop_table("improvements")
    op.drop_index(op.f("ix_lesson_cases_reference"), table_name="lesson_cases")
    op.drop_table("lesson_cases")
    op.drop_index(op.f("ix_lessons_service_area"), table_name="lessons")
    op.drop_table("lessons")
