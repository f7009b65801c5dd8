"""`cases.next_deadline_key`: which clock the next deadline is (a ClockKey value), so the queues
can tell a deadline staff owe (an action a complaint promised, the Ombudsman's request or order)
from the resident's own clock while a complaint waits in its escalation window, or after it
closed. Filled in for the cases already recorded from the next deadline in their `data`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch): see 0009 on why `cases` is never copied on SQLite.
    op.add_column("cases", sa.Column("next_deadline_key", sa.String(length=40), nullable=True))
    cases = sa.table(
        "cases",
        sa.column("reference", sa.String),
        sa.column("data", sa.JSON),
        sa.column("next_deadline", sa.DateTime),
        sa.column("next_deadline_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(cases.c.reference, cases.c.data).where(cases.c.next_deadline.is_not(None))
    )
    for reference, data in rows.all():
        key = ((data or {}).get("next_deadline") or {}).get("key")
        if key:
            bind.execute(
                cases.update()
                .where(cases.c.reference == reference)
                .values(next_deadline_key=str(key)[:40])
            )


def downgrade() -> None:
    op.drop_column("cases", "next_deadline_key")
