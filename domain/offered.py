"""Which steps a person is offered on a case now, as one pure rule for the pages and the API:
what the case allows (its status's `allowed_steps`), what their role may ask for
(domain/roles.py), and stage 2's independence (at stage 2 nobody who took part in stage 1 does a
step that counts as taking part). The workflow still checks every step; this only decides what a
page offers, so nobody is shown a form they would be refused.

And "Take this case": a case officer (any role in `TAKES_UNOWNED`) may assign an unowned case to
themselves, without a manager. Managers assign anyone, as the role table says."""

from __future__ import annotations

from typing import Any

from domain.complaint import ComplaintStatus, Stage, Step
from domain.complaint_rules import barred_at_stage2
from domain.enquiry import EnquiryStatus, EnquiryStep
from domain.roles import TAKES_UNOWNED, Role, may_name_owner, role_may

CaseStatus = ComplaintStatus | EnquiryStatus
AnyStep = Step | EnquiryStep


def barred_as_stage1_participant(case: CaseStatus, step: AnyStep | None, staff_id: str) -> bool:
    """Stage 2's independence (the workflow's own rule, `barred_at_stage2`), for a complaint."""
    return isinstance(case, ComplaintStatus) and barred_at_stage2(
        case.stage, case.stage1_participants, step, staff_id
    )


def barred_as_reviewer(case: CaseStatus, staff_id: str) -> bool:
    """Whether `staff_id` may not be the complaint's stage 2 reviewer (its owner once it is
    escalated): stage 2's independence, `barred_at_stage2`, for the stage the escalation starts."""
    return isinstance(case, ComplaintStatus) and barred_at_stage2(
        Stage.stage2, case.stage1_participants, None, staff_id
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
        and not barred_as_stage1_participant(case, None, staff_id)
    )


def assign_refusal(case: CaseStatus, role: Role, staff_id: str, owner_id: str) -> str | None:
    """Why `staff_id` may not assign the case to `owner_id`, in plain English; None if they may.
    Who may name an owner is domain/roles.py's `may_name_owner`: a manager anyone; one in
    `TAKES_UNOWNED` only themselves, and only to a case nobody owns. Whether the case allows it
    now is the workflow's to say."""
    if may_name_owner(role, staff_id, owner_id, case.owner is None):
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


class AssignRefused(ValueError):
    """An assignment this person may not ask for; the message says why and what to do."""


def may_ask(role: Role, step: AnyStep, assign: AnyStep) -> bool:
    """Whether the role may ask for the step at all: its role table, or `assign` for a role that
    takes unowned cases (for itself: `assign_payload` checks that once the case is read)."""
    return role_may(role, step) or (step == assign and role in TAKES_UNOWNED)


def assign_payload(
    case: CaseStatus, role: Role, staff_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """The `assign` step as this person may send it: refused (AssignRefused) beyond their role;
    a take (not a manager's assignment) goes as `only_if_unowned`, so the workflow refuses it
    under the lock if someone has taken the case meanwhile."""
    owner = payload.get("owner") or ""  # a staff id (the API), or the member of staff (pages)
    owner_id = owner if isinstance(owner, str) else owner.get("id", "")
    refusal = assign_refusal(case, role, staff_id, owner_id)
    if refusal:
        raise AssignRefused(refusal)
    if role_may(role, _assign_step(case)):
        return payload
    return {**payload, "only_if_unowned": True}
