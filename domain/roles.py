"""Who may do what: each staff role and the steps it may ask for, as data. The step's own rule
(domain/complaint_rules.py, domain/enquiry_rules.py) still decides whether the case allows it now;
this table says who may ask."""

from __future__ import annotations

from enum import StrEnum

from domain.complaint import Step
from domain.enquiry import EnquiryStep


class Role(StrEnum):
    advisor = "advisor"
    case_officer = "case_officer"
    reviewer = "reviewer"
    manager = "manager"


ROLE_LABELS = {
    Role.advisor: "Advisor",
    Role.case_officer: "Case officer",
    Role.reviewer: "Stage 2 reviewer",
    Role.manager: "Manager",
}

_OFFICER_STEPS = frozenset(
    {
        Step.accept,
        Step.decline,
        Step.record_service_request,
        Step.record_contact,
        Step.acknowledge,
        Step.extend,
        Step.respond,
        Step.escalate,
        Step.withdraw,
    }
)
ROLE_STEPS: dict[Role, frozenset[Step]] = {
    Role.advisor: frozenset({Step.record_contact, Step.escalate, Step.withdraw}),
    Role.case_officer: _OFFICER_STEPS,
    Role.reviewer: _OFFICER_STEPS | {Step.raise_new_issues},
    Role.manager: frozenset(Step),
}
# Enquiries (customer service standards): everyone answers them; only managers assign.
ENQUIRY_ROLE_STEPS: dict[Role, frozenset[EnquiryStep]] = {
    role: frozenset(EnquiryStep) - ({EnquiryStep.assign} if role is not Role.manager else set())
    for role in Role
}
# Who may take an unowned case for themselves (an `assign` to oneself, without a manager).
TAKES_UNOWNED: frozenset[Role] = frozenset({Role.case_officer, Role.reviewer, Role.manager})


def role_may(role: Role, step: Step | EnquiryStep) -> bool:
    # by type, not by name: both kinds have steps called "assign" and "record_service_request",
    # and StrEnum members equal their names
    if isinstance(step, EnquiryStep):
        return step in ENQUIRY_ROLE_STEPS[role]
    return step in ROLE_STEPS[role]
