"""Which commit of a case its row shows (`cases.revision`): record requests carry only what
changed since the revision before (domain.records.RecordRequest.changes), and a step's result
names the revision it made, so the case page can tell whether the row shows it yet.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy of `cases` (see 0009); rows recorded before have none.
    op.add_column("cases", sa.Column("revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "revision")
