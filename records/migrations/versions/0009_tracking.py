"""What a complaint led to (records/tracking.py): the actions a response promised
(`case_actions`), compensation offered and paid (`compensation_offers`,
`compensation_payments`), the Housing Ombudsman's case, its requests for evidence and its orders
(`ombudsman_cases`, `ombudsman_requests`, `ombudsman_orders`); and `cases.actions_outstanding`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=11, scale=2)


def _child_table(name: str, unique: Sequence[str], *columns: sa.Column) -> None:
    """A table of a case's rows: an id, the case's reference (a foreign key), `columns`, and a
    unique constraint on the reference and `unique`."""
    keys = ["reference", *unique]
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["reference"], ["cases.reference"], name=op.f(f"fk_{name}_reference_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*keys, name=op.f(f"uq_{name}_{'_'.join(keys[:2])}")),
    )


def upgrade() -> None:
    # Plain ALTER TABLE, not batch_alter_table: on SQLite a batch would copy `cases` to a new
    # table and drop the old one (for a default given as an expression, and to drop a column),
    # and with foreign keys on, dropping `cases` fails once any row refers to a case. SQLite adds
    # this column in place (the default renders as the constant 0) and drops it in place (3.35+).
    op.add_column(
        "cases",
        sa.Column("actions_outstanding", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(op.f("ix_cases_actions_outstanding"), "cases", ["actions_outstanding"])
    _child_table(
        "case_actions",
        ["n"],
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("responsible_id", sa.String(length=80), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index(op.f("ix_case_actions_due_on"), "case_actions", ["due_on"])
    _child_table(
        "compensation_offers",
        ["stage"],
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=10), nullable=True),
    )
    _child_table(
        "compensation_payments",
        ["seq"],
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
    )
    _child_table(
        "ombudsman_cases",
        [],
        sa.Column("ombudsman_reference", sa.String(length=40), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("determination", sa.String(length=40), nullable=True),
        sa.Column("determined_on", sa.Date(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
    )
    _child_table(
        "ombudsman_requests",
        ["n"],
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
    )
    _child_table(
        "ombudsman_orders",
        ["n"],
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("complied_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
    )


TABLES = (
    "ombudsman_orders",
    "ombudsman_requests",
    "ombudsman_cases",
    "compensation_payments",
    "compensation_offers",
    "case_actions",
)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_actions_due_on"), table_name="case_actions")
    for name in TABLES:
        op.drop_table(name)
    op.drop_index(op.f("ix_cases_actions_outstanding"), table_name="cases")
    op.drop_column("cases", "actions_outstanding")
