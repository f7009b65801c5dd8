"""Cases, their append-only timeline, and the letters ledger.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(60), nullable=False),
        sa.Column("status", sa.String(60), nullable=False),
        sa.Column("owner_id", sa.String(120), nullable=True),
        sa.Column("resident_name", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.Column("postcode_key", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("next_deadline", _utc(), nullable=True),
        sa.Column("next_deadline_label", sa.String(200), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("closure_reason", sa.String(200), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("linked_references", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("reference", name="pk_cases"),
    )
    op.create_index("ix_cases_owner_id", "cases", ["owner_id"])
    op.create_index("ix_cases_resident_name", "cases", ["resident_name"])
    op.create_index("ix_cases_postcode_key", "cases", ["postcode_key"])
    op.create_index("ix_cases_next_deadline", "cases", ["next_deadline"])
    op.create_index("ix_cases_overdue", "cases", ["overdue"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("step", sa.String(80), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name="fk_case_events_reference_cases"
        ),
        sa.UniqueConstraint("reference", "seq", name="uq_case_events_reference_seq"),
    )

    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("letter_key", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("delivery", sa.String(20), nullable=False),
        sa.Column("recipient_role", sa.String(20), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provider_id", sa.String(200), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("claimed_at", _utc(), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_letters"),
        sa.UniqueConstraint("reference", "letter_key", name="uq_letters_reference_letter_key"),
    )


def downgrade() -> None:
    op.drop_table("letters")
    op.drop_table("case_events")
    op.drop_index("ix_cases_overdue", table_name="cases")
    op.drop_index("ix_cases_next_deadline", table_name="cases")
    op.drop_index("ix_cases_postcode_key", table_name="cases")
    op.drop_index("ix_cases_resident_name", table_name="cases")
    op.drop_index("ix_cases_owner_id", table_name="cases")
    op.drop_table("cases")
