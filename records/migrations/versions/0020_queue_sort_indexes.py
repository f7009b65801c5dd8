"""The work queues' other orders read from an index too (issue: queues flat to 100,000 cases):
a queue sorted by reference, by date received or by stage (admin/queues.py `ordering`) is read in
order from `ix_cases_queue_reference` (in_queue, reference), `ix_cases_queue_received`
(in_queue, received_at, reference) or, stage by stage, `ix_cases_queue_stage` (in_queue, stage,
queue_due, reference), page by page from its cursor, instead of sorting every open case. Without
the first two SQLite, which plans without statistics, takes `ix_cases_queue` for `in_queue` and
sorts the lot; the third also serves the stage filter.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_queue_reference", "cases", ["in_queue", "reference"])
    op.create_index("ix_cases_queue_received", "cases", ["in_queue", "received_at", "reference"])
    op.create_index(
        "ix_cases_queue_stage", "cases", ["in_queue", "stage", "queue_due", "reference"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_queue_stage", table_name="cases")
    op.drop_index("ix_cases_queue_received", table_name="cases")
    op.drop_index("ix_cases_queue_reference", table_name="cases")
