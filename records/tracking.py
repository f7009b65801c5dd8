"""What a complaint led to, one row a thing, so reports count them with plain SQL (`GROUP BY`,
`SUM`) on SQLite and PostgreSQL alike rather than digging into each case's JSON:

- `case_actions`: each action a stage's response promised, with its owner, due date and when it
  was done. The Code's annual complaints performance and service improvement report counts the
  actions promised, done on time, done late and still outstanding (by `due_on`, indexed);
  `cases.actions_outstanding` lets lists find complaints with open actions without a join.
- `compensation_offers` and `compensation_payments`: what each stage offered (stage 2 replacing
  or adding to stage 1's offer, `basis`) and what was paid or declined, for compensation totals
  offered and paid in a period, and the complaints whose remedy included money.
- `ombudsman_cases`, `ombudsman_requests` and `ombudsman_orders`: the Housing Ombudsman's case
  about a complaint and its determination and findings, the evidence it asked for (sent by the
  due date or not), and its orders and recommendations with when each was complied with: the
  figures the governing body and its Member Responsible for Complaints see under Code 9.6-9.8
  (complaints taken to the Ombudsman, its findings, compliance with its orders), which the
  annual report also lists.

`RecordsStore.record` makes each table say what the newest snapshot of the case says, touching
only the rows that differ; `RecordsStore.tracking` reads them back as a `Tracking`. A module of
its own so the other records tables' file is left to them; records/__init__.py imports the store,
which imports this, so `Base.metadata` always holds these tables (migration 0009).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field
from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.people import Strict
from domain.records import (
    ActionRow,
    CompensationOfferRow,
    CompensationPaymentRow,
    OmbudsmanOrderRow,
    OmbudsmanRequestRow,
    OmbudsmanRow,
)
from records.schema import Base

MONEY = Numeric(11, 2)  # pounds and pence, up to £999,999,999.99


class CaseAction(Base):
    """An action a stage's response promised (`n` counts from 1 within the case)."""

    __tablename__ = "case_actions"
    __table_args__ = (UniqueConstraint("reference", "n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    n: Mapped[int] = mapped_column(Integer)
    stage: Mapped[int] = mapped_column(Integer)  # 1 or 2
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))  # who will do it, as the letter names them
    responsible_id: Mapped[str | None] = mapped_column(String(80))  # a staff account, if one
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_on: Mapped[date | None] = mapped_column(Date)
    done_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class CompensationOffer(Base):
    """Compensation a stage's response offered: one a stage."""

    __tablename__ = "compensation_offers"
    __table_args__ = (UniqueConstraint("reference", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    stage: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    offered_on: Mapped[date] = mapped_column(Date)
    basis: Mapped[str | None] = mapped_column(String(10))  # stage 2: replaces / adds


class CompensationPayment(Base):
    """Compensation paid, or the offer declined (`declined`, with the amount declined)."""

    __tablename__ = "compensation_payments"
    __table_args__ = (UniqueConstraint("reference", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    seq: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)


class OmbudsmanCase(Base):
    """The Housing Ombudsman's case about a complaint: one at most a complaint."""

    __tablename__ = "ombudsman_cases"
    __table_args__ = (UniqueConstraint("reference", name="uq_ombudsman_cases_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    ombudsman_reference: Mapped[str] = mapped_column(String(40))
    referred_on: Mapped[date] = mapped_column(Date)
    determination: Mapped[str | None] = mapped_column(String(40))
    determined_on: Mapped[date | None] = mapped_column(Date)
    findings: Mapped[str | None] = mapped_column(Text)


class OmbudsmanRequest(Base):
    """A request for evidence from the Ombudsman, and when the landlord sent it."""

    __tablename__ = "ombudsman_requests"
    __table_args__ = (UniqueConstraint("reference", "n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    n: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    requested_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    sent_on: Mapped[date | None] = mapped_column(Date)


class OmbudsmanOrder(Base):
    """An order or recommendation of the Ombudsman (or a complaint handling failure finding),
    and when the landlord complied, with its evidence."""

    __tablename__ = "ombudsman_orders"
    __table_args__ = (UniqueConstraint("reference", "n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    n: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    made_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    complied_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)


class Tracking(Strict):
    """What a complaint led to, as its rows stand (`RecordsStore.tracking`), each list in order
    of its key (n, stage, seq)."""

    actions: list[ActionRow] = Field(default_factory=list)
    compensation_offers: list[CompensationOfferRow] = Field(default_factory=list)
    compensation_payments: list[CompensationPaymentRow] = Field(default_factory=list)
    ombudsman: OmbudsmanRow | None = None
    ombudsman_requests: list[OmbudsmanRequestRow] = Field(default_factory=list)
    ombudsman_orders: list[OmbudsmanOrderRow] = Field(default_factory=list)
