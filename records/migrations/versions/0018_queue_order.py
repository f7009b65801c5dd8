"""What the work queues read, indexed (issue: queues flat to 100,000 cases): `cases.in_queue`
and `cases.queue_due` (domain.urgency.queue_due: the "due" order in one column) with indexes for
the team, kind and owner queues; and `case_search_words`, each word of a resident's name, for
search by name without scanning every case. Filled in for the cases already recorded.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from domain.urgency import NO_DEADLINE, queue_due

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _words(name: str | None) -> list[str]:
    # as records.store.search_words, frozen here as this migration wrote them
    return sorted({w for w in re.split(r"[^\w]+", (name or "").lower()) if w})[:20]


def upgrade() -> None:
    bind = op.get_bind()
    # Plain ADD COLUMN with constant defaults, never a batch copy of `cases` (see 0009).
    op.add_column(
        "cases", sa.Column("in_queue", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    last = (
        "9999-12-31 00:00:00.000000" if bind.dialect.name == "sqlite" else "9999-12-31 00:00:00+00"
    )
    op.add_column(
        "cases",
        sa.Column(
            "queue_due",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text(f"'{last}'"),
        ),
    )
    op.create_index("ix_cases_queue", "cases", ["in_queue", "queue_due", "reference"])
    op.create_index("ix_cases_kind_queue", "cases", ["kind", "in_queue", "queue_due", "reference"])
    op.create_index(
        "ix_cases_owner_queue", "cases", ["owner_id", "in_queue", "queue_due", "reference"]
    )
    op.create_index("ix_cases_received_at", "cases", ["received_at", "reference"])
    words = op.create_table(
        "case_search_words",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("word", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f("fk_case_search_words_reference_cases")
        ),
        sa.PrimaryKeyConstraint("reference", "word", name=op.f("pk_case_search_words")),
    )
    op.create_index("ix_case_search_words_word", "case_search_words", ["word", "reference"])

    cases = sa.table(
        "cases",
        sa.column("reference", sa.String),
        sa.column("stage", sa.String),
        sa.column("status", sa.String),
        sa.column("resident_name", sa.String),
        sa.column("next_deadline", sa.DateTime(timezone=True)),
        sa.column("next_deadline_key", sa.String),
        sa.column("in_queue", sa.Boolean),
        sa.column("queue_due", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(
            cases.c.reference,
            cases.c.stage,
            cases.c.status,
            cases.c.resident_name,
            cases.c.next_deadline,
            cases.c.next_deadline_key,
        )
    ).all()
    for reference, stage, status, name, deadline, key in rows:
        if isinstance(deadline, str):  # SQLite hands back text
            deadline = datetime.fromisoformat(deadline)
        if deadline is not None and deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        due = queue_due(stage, status, deadline, key)
        if due != NO_DEADLINE or stage == "closed":
            bind.execute(
                cases.update()
                .where(cases.c.reference == reference)
                .values(in_queue=stage != "closed" or deadline is not None, queue_due=due)
            )
        found = _words(name)
        if found:
            bind.execute(words.insert(), [{"reference": reference, "word": w} for w in found])


def downgrade() -> None:
    op.drop_index("ix_case_search_words_word", table_name="case_search_words")
    op.drop_table("case_search_words")
    op.drop_index("ix_cases_received_at", table_name="cases")
    op.drop_index("ix_cases_owner_queue", table_name="cases")
    op.drop_index("ix_cases_kind_queue", table_name="cases")
    op.drop_index("ix_cases_queue", table_name="cases")
    op.drop_column("cases", "queue_due")
    op.drop_column("cases", "in_queue")
