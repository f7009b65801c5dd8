"""`evidence_files` and `evidence_events` (records/evidence.py): documents and photos on a case,
each by the SHA-256 of its bytes in the evidence storage (records/storage.py), and what happened
to them (downloads, inbound attachments refused, case files built).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=True),
        sa.Column("uploaded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("reference", "sha256", name=op.f("uq_evidence_files_reference_sha256")),
    )
    op.create_index(op.f("ix_evidence_files_sha256"), "evidence_files", ["sha256"], unique=False)
    op.create_table(
        "evidence_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("by", sa.String(length=80), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["evidence_files.id"],
            name=op.f("fk_evidence_events_file_id_evidence_files"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_events")),
        sa.UniqueConstraint("reference", "key", name=op.f("uq_evidence_events_reference_key")),
    )
    op.create_index(
        op.f("ix_evidence_events_reference"), "evidence_events", ["reference"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_events_reference"), table_name="evidence_events")
    op.drop_table("evidence_events")
    op.drop_index(op.f("ix_evidence_files_sha256"), table_name="evidence_files")
    op.drop_table("evidence_files")
