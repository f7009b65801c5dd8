"""Putting things right, tracked to completion (Complaint Handling Code 6.6, 7.3): each action a
response promises becomes a numbered item with a responsible member of staff and a due date,
kept on a clock like any other promise; compensation offered at each stage and what was paid.

A case whose response has gone out shows as "actions outstanding" while any action is open or
compensation offered is neither paid nor declined. When the last open action is done, the
resident gets the completion letter.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field

from domain.people import StaffMember, Strict

if TYPE_CHECKING:  # domain.complaint imports this module
    from domain.complaint import Respond

MONEY = Field(ge=0, max_digits=9, decimal_places=2)


class TrackedAction(Strict):
    """An action a response promised. `owner` is who does it as the letter told the resident
    ("our repairs team"); `responsible` is the member of staff reminded of it and warned when it
    is late (none: the case's owner)."""

    n: int = Field(ge=1)  # its number on the case, from 1, in the order promised
    stage: int = Field(ge=1, le=2)  # the response that promised it
    action: str
    owner: str
    responsible: StaffMember | None = None
    due: date
    promised_at: datetime
    done_at: datetime | None = None
    done_on: date | None = None  # the day it was done, as staff say (done_at: when recorded)
    done_by: str | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.done_at is None


class CompensationBasis(StrEnum):
    """How a stage 2 offer stands to stage 1's, as the final response tells the resident."""

    replaces = "replaces"  # the stage 2 amount is the whole offer
    adds = "adds"  # the stage 2 amount comes on top of stage 1's


class CompensationOffer(Strict):
    stage: int = Field(ge=1, le=2)
    amount: Decimal = MONEY
    offered_at: datetime
    basis: CompensationBasis | None = None  # stage 2, when stage 1 offered some


class CompensationPayment(Strict):
    """Money paid (or the offer declined by the resident: `declined`, amount 0)."""

    amount: Decimal = MONEY
    paid_on: date
    recorded_at: datetime
    by: str
    declined: bool = False
    note: str | None = None


class Compensation(Strict):
    offers: list[CompensationOffer] = Field(default_factory=list)
    payments: list[CompensationPayment] = Field(default_factory=list)

    @property
    def offered(self) -> Decimal:
        """What is owed in all: each offer, less the earlier ones a stage 2 offer replaced."""
        total = Decimal("0")
        for offer in self.offers:
            total = (
                offer.amount if offer.basis is CompensationBasis.replaces else total + offer.amount
            )
        return total

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0"))

    @property
    def settled(self) -> bool:
        """Nothing left to pay: all paid, or the resident declined it."""
        return any(p.declined for p in self.payments) or self.paid >= self.offered

    @property
    def outstanding(self) -> Decimal:
        return Decimal("0") if self.settled else self.offered - self.paid


def open_actions(actions: list[TrackedAction]) -> list[TrackedAction]:
    return [a for a in actions if a.open]


def actions_outstanding(actions: list[TrackedAction], compensation: Compensation) -> bool:
    """Whether what a response promised is still being put right."""
    return bool(open_actions(actions)) or not compensation.settled


def upheld_without_remedy(step: Respond) -> bool:
    """A response that upholds a point, in whole or in part, yet puts nothing right: no action,
    no compensation and no apology. Staff are warned before sending it and may confirm it (a
    point can be upheld with nothing left to put right); the workflow's rules do not refuse it.
    """
    upheld = any(d.decision != "not_upheld" for d in step.decisions)
    remedies = step.remedies
    remedy = remedies.actions or remedies.compensation or (remedies.apology or "").strip()
    return upheld and not remedy
