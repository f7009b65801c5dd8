"""`persons`, `person_cases`, `person_items` and `person_events` (records/persons.py): people
known across cases, the cases staff linked to each, what every case of theirs must know
(reasonable adjustments, vulnerabilities, contact restrictions, each with a review date) and the
log of what was done to the record.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("phone_key", sa.String(length=40), nullable=True),
        sa.Column("postcode_key", sa.String(length=16), nullable=True),
        sa.Column("owner_id", sa.String(length=80), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    for column in ("email_key", "phone_key", "postcode_key"):
        op.create_index(op.f(f"ix_persons_{column}"), "persons", [column], unique=False)
    op.create_table(
        "person_cases",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("linked_by", sa.String(length=80), nullable=False),
        sa.Column("linked_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_cases_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_person_cases")),
    )
    op.create_index(op.f("ix_person_cases_person_id"), "person_cases", ["person_id"], unique=False)
    op.create_table(
        "person_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("review_owner", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.Column("reviewed_at", UTC_DATETIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.Column("ended_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_items_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_items")),
    )
    for column in ("person_id", "review_on", "ended_at"):
        op.create_index(op.f(f"ix_person_items_{column}"), "person_items", [column], unique=False)
    op.create_table(
        "person_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_events_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_events")),
    )
    for column in ("person_id", "reference"):
        op.create_index(op.f(f"ix_person_events_{column}"), "person_events", [column], unique=False)


def downgrade() -> None:
    for column in ("person_id", "reference"):
        op.drop_index(op.f(f"ix_person_events_{column}"), table_name="person_events")
    op.drop_table("person_events")
    for column in ("person_id", "review_on", "ended_at"):
        op.drop_index(op.f(f"ix_person_items_{column}"), table_name="person_items")
    op.drop_table("person_items")
    op.drop_index(op.f("ix_person_cases_person_id"), table_name="person_cases")
    op.drop_table("person_cases")
    for column in ("email_key", "phone_key", "postcode_key"):
        op.drop_index(op.f(f"ix_persons_{column}"), table_name="persons")
    op.drop_table("persons")
