"""Which steps a person is offered on a case now, as one pure rule for the pages and the API:
what the case allows (its status's `allowed_steps`), what their role may ask for
(domain/roles.py), and stage 2's independence (at stage 2 nobody who took part in stage 1 does a
step that counts as taking part). The workflow still checks every step; this only decides what a
page offers, so nobody is shown a form they would be refused.

And "Take this case": a case officer (any role in `TAKES_UNOWNED`) may assign an unowned case to
themselves, without a manager. Managers assign anyone, as the role table says."""

from __future__ import annotations

from domain.complaint import ComplaintStatus, Stage, Step
from domain.complaint_rules import PARTICIPATING_STEPS
from domain.enquiry import EnquiryStatus, EnquiryStep
from domain.roles import TAKES_UNOWNED, Role, role_may

CaseStatus = ComplaintStatus | EnquiryStatus
AnyStep = Step | EnquiryStep


def barred_as_stage1_participant(case: CaseStatus, step: AnyStep, staff_id: str) -> bool:
    """Stage 2's independence: `staff_id` took part in stage 1 and `step` would count as
    taking part at stage 2."""
    return (
        isinstance(case, ComplaintStatus)
        and case.stage is Stage.stage2
        and step in PARTICIPATING_STEPS
        and staff_id in case.stage1_participants
    )


def offered_steps(case: CaseStatus, role: Role, staff_id: str) -> list[AnyStep]:
    """The steps to offer `staff_id` (whose role is `role`) on the case now, in the order of the
    case's allowed steps."""
    return [
        step
        for step in case.allowed_steps
        if role_may(role, step) and not barred_as_stage1_participant(case, step, staff_id)
    ]


def _assign_step(case: CaseStatus) -> AnyStep:
    return Step.assign if isinstance(case, ComplaintStatus) else EnquiryStep.assign


def may_take(case: CaseStatus, role: Role, staff_id: str) -> bool:
    """Whether to offer "Take this case": nobody owns it, it can be assigned now, the role takes
    unowned cases, and (at stage 2) the person took no part in stage 1."""
    return (
        case.owner is None
        and _assign_step(case) in case.allowed_steps
        and role in TAKES_UNOWNED
        and not (
            isinstance(case, ComplaintStatus)
            and case.stage is Stage.stage2
            and staff_id in case.stage1_participants
        )
    )


def assign_refusal(case: CaseStatus, role: Role, staff_id: str, owner_id: str) -> str | None:
    """Why `staff_id` may not assign the case to `owner_id`, in plain English; None if they may.
    A role that assigns (managers) may assign anyone; one in `TAKES_UNOWNED` only themselves, and
    only to a case nobody owns. Whether the case allows it now is the workflow's to say."""
    if role_may(role, _assign_step(case)):
        return None
    if role not in TAKES_UNOWNED:
        return "Your role cannot assign cases. Ask a manager to assign it."
    if owner_id != staff_id:
        return (
            "You can assign a case only to yourself, by taking it. "
            "Ask a manager to assign it to someone else."
        )
    if case.owner is not None:
        whose = "yours" if case.owner.id == staff_id else f"{case.owner.name}'s"
        return (
            f"This case is already {whose}, so it cannot be taken. "
            "Ask a manager if it should change hands."
        )
    return None
