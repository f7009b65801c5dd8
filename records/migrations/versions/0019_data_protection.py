"""Data protection (records/retention.py, records/access_log.py): `anonymisations` (each case or
person record anonymised: when, why, by whom, the files still to remove), `erasure_requests`,
`known_policies` (each policy the worker ran under, for a closed case's retention) and
`access_log` (who viewed or exported which case's or person's data).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "anonymisations",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("why", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("rule", sa.String(length=300), nullable=True),
        sa.Column("pending", sa.JSON(), nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_anonymisations")),
    )
    op.create_index(op.f("ix_anonymisations_why"), "anonymisations", ["why"])
    op.create_index(op.f("ix_anonymisations_at"), "anonymisations", ["at"])
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person", sa.String(length=40), nullable=True),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("erased", sa.JSON(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index(op.f("ix_erasure_requests_person"), "erasure_requests", ["person"])
    op.create_index(op.f("ix_erasure_requests_reference"), "erasure_requests", ["reference"])
    op.create_table(
        "known_policies",
        sa.Column("hash", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_known_policies")),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("staff_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("person", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    for column in ("at", "staff_id", "reference", "person"):
        op.create_index(op.f(f"ix_access_log_{column}"), "access_log", [column])


def downgrade() -> None:
    op.drop_table("access_log")
    op.drop_table("known_policies")
    op.drop_table("erasure_requests")
    op.drop_table("anonymisations")
