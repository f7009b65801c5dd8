"""The Housing Ombudsman's involvement in a complaint, as the case carries it: the referral (the
date and the Ombudsman's reference), each request for evidence and each order or recommendation
(numbered, each on a clock to its due date), and the determination with its findings. The Code
(9.6–9.8) asks that the Member Responsible for Complaints sees these cases and orders; the
annual report lists the findings.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from domain.people import Strict


class Determination(StrEnum):
    no_maladministration = "no_maladministration"
    reasonable_redress = "reasonable_redress"
    service_failure = "service_failure"
    maladministration = "maladministration"
    severe_maladministration = "severe_maladministration"


DETERMINATION_LABELS: dict[Determination, str] = {
    Determination.no_maladministration: "No maladministration",
    Determination.reasonable_redress: "Reasonable redress (the landlord put it right)",
    Determination.service_failure: "Service failure",
    Determination.maladministration: "Maladministration",
    Determination.severe_maladministration: "Severe maladministration",
}


class OrderKind(StrEnum):
    order = "order"
    recommendation = "recommendation"
    complaint_handling_failure = "complaint_handling_failure"


ORDER_KIND_LABELS: dict[OrderKind, str] = {
    OrderKind.order: "Order",
    OrderKind.recommendation: "Recommendation",
    OrderKind.complaint_handling_failure: "Complaint handling failure order",
}
# The Ombudsman's own case reference, as their letters write it.
OMBUDSMAN_REFERENCE = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /._-]*$")


class EvidenceRequest(Strict):
    n: int = Field(ge=1)
    description: str
    requested_on: date
    due_on: date
    sent_on: date | None = None
    sent_at: datetime | None = None  # when recorded
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.sent_at is None


class OmbudsmanOrder(Strict):
    n: int = Field(ge=1)
    kind: OrderKind
    description: str
    made_on: date
    due_on: date
    complied_on: date | None = None
    complied_at: datetime | None = None  # when recorded
    evidence: str | None = None  # how we showed we complied

    @property
    def open(self) -> bool:
        return self.complied_at is None


class OmbudsmanCase(Strict):
    ombudsman_reference: str
    referred_on: date
    recorded_at: datetime
    requests: list[EvidenceRequest] = Field(default_factory=list)
    orders: list[OmbudsmanOrder] = Field(default_factory=list)
    determination: Determination | None = None
    determined_on: date | None = None
    findings: str | None = None

    @property
    def finished(self) -> bool:
        """Determined, every request answered and every order complied with."""
        return (
            self.determination is not None
            and not any(r.open for r in self.requests)
            and not any(o.open for o in self.orders)
        )
