"""Search by name stops at a page (issue 14: search flat to 100,000 cases): each row of
`case_search_words` keeps its case's `received_at`, and `ix_case_search_words_recent` (word,
received_at, reference) replaces `ix_case_search_words_word` (word, reference). A name many
cases share ("okoro") is then read newest first from the index until a page of cases is found,
instead of every case with the name being read from `cases` and sorted. On PostgreSQL `word`
compares byte by byte (collation "C", as SQLite's BINARY does), so a word's prefix is exactly an
index range, with no LIKE beside it to spoil the planner's estimate of how many rows it holds.
Filled in for the words already recorded, from their cases.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # Plain ADD COLUMN, never a batch copy of the table (see 0009): NOT NULL needs a default
    # for the rows already there, each of which is then given its case's.
    first = "1970-01-01 00:00:00.000000" if sqlite else "1970-01-01 00:00:00+00"
    op.add_column(
        "case_search_words",
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text(f"'{first}'"),
        ),
    )
    words = sa.table(
        "case_search_words",
        sa.column("reference", sa.String),
        sa.column("received_at", sa.DateTime(timezone=True)),
    )
    cases = sa.table(
        "cases",
        sa.column("reference", sa.String),
        sa.column("received_at", sa.DateTime(timezone=True)),
    )
    bind.execute(
        words.update().values(
            received_at=sa.select(cases.c.received_at)
            .where(cases.c.reference == words.c.reference)
            .scalar_subquery()
        )
    )
    op.drop_index("ix_case_search_words_word", table_name="case_search_words")
    if not sqlite:  # SQLite drops a default only by copying the table, and compares bytes
        op.alter_column("case_search_words", "received_at", server_default=None)
        op.alter_column(
            "case_search_words",
            "word",
            type_=sa.String(200, collation="C"),
            existing_type=sa.String(200),
            existing_nullable=False,
        )
    op.create_index(
        "ix_case_search_words_recent", "case_search_words", ["word", "received_at", "reference"]
    )


def downgrade() -> None:
    op.drop_index("ix_case_search_words_recent", table_name="case_search_words")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "case_search_words",
            "word",
            type_=sa.String(200),
            existing_type=sa.String(200, collation="C"),
            existing_nullable=False,
        )
    op.drop_column("case_search_words", "received_at")
    op.create_index("ix_case_search_words_word", "case_search_words", ["word", "reference"])
