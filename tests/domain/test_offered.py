"""Which steps a person is offered on a case (domain/offered.py), without Temporal: the case's
allowed steps, the role table and stage 2's independence, and who may take an unowned case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.complaint import ALLOWED_STEPS, ComplaintStatus, Stage, Status, Step
from domain.complaint_rules import STAGE2_INDEPENDENT_STEPS
from domain.enquiry import ALLOWED_ENQUIRY_STEPS, EnquiryState, EnquiryStatus, EnquiryStep
from domain.offered import assign_refusal, barred_as_reviewer, may_take, offered_steps
from domain.people import StaffMember
from domain.roles import (
    CannotBeNamed,
    Role,
    RoleMayNotName,
    check_may_name_owner,
    check_owner_eligible,
    check_reviewer_eligible,
    may_name_owner,
)

JO, SAM, ALI, MO = "jo.officer", "sam.reviewer", "ali.advisor", "mo.manager"
RECEIVED = datetime(2027, 3, 1, 10, tzinfo=UTC)


def staff(staff_id: str) -> StaffMember:
    return StaffMember(id=staff_id, name=staff_id.title(), email=f"{staff_id}@wkha.example")


def complaint(
    stage: Stage,
    status: Status,
    participants: tuple[str, ...] = (),
    owner: str | None = None,
) -> ComplaintStatus:
    return ComplaintStatus(
        reference="CMP-AAAA-BBBB",
        workflow_id="complaint-CMP-AAAA-BBBB",
        stage=stage,
        status=status,
        owner=staff(owner) if owner else None,
        resident={"name": "Ann Example", "email": "ann@example.org"},
        channel="phone",
        received_at=RECEIVED,
        description="Boiler",
        points=["Boiler"],
        clocks=[],
        overdue=False,
        allowed_steps=sorted(ALLOWED_STEPS.get((stage, status), frozenset())),
        stage1_participants=list(participants),
        timeline=[],
    )


def enquiry(state: EnquiryState = EnquiryState.open, owner: str | None = None) -> EnquiryStatus:
    return EnquiryStatus(
        reference="ENQ-AAAA-BBBB",
        workflow_id="enquiry-ENQ-AAAA-BBBB",
        state=state,
        owner=staff(owner) if owner else None,
        enquirer={"name": "Ann Example", "email": "ann@example.org"},
        channel="online_form",
        received_at=RECEIVED,
        subject="Rent",
        message="When is rent due?",
        clocks=[],
        overdue=False,
        allowed_steps=sorted(ALLOWED_ENQUIRY_STEPS[state]),
        timeline=[],
    )


def names(steps: list[Any]) -> set[str]:
    return {s.value for s in steps}


STAGE2 = complaint(Stage.stage2, Status.investigating, participants=(JO, ALI))


def test_a_stage_1_officer_is_offered_only_the_stage_1_steps_of_their_role() -> None:
    case = complaint(Stage.stage1, Status.awaiting_acknowledgement)
    assert names(offered_steps(case, Role.case_officer, JO)) == {
        "acknowledge",
        "record_contact",
        "classify",
        "decline",
        "withdraw",
    }, "not assign: only managers assign"
    assert names(offered_steps(case, Role.advisor, ALI)) == {"record_contact", "withdraw"}
    assert names(offered_steps(case, Role.manager, MO)) == names(case.allowed_steps)


def test_at_stage_2_a_stage_1_participant_is_not_offered_the_participating_steps() -> None:
    jo = names(offered_steps(STAGE2, Role.case_officer, JO))
    assert jo == {"withdraw"}, "record_contact, extend, respond and classify are stage 2's own"
    # the same role, not in stage 1: every step its role may take
    assert names(offered_steps(STAGE2, Role.reviewer, SAM)) == {
        "classify",
        "record_contact",
        "extend",
        "respond",
        "raise_new_issues",
        "withdraw",
    }
    # a manager who took part in stage 1 is still a participant
    manager_in_stage1 = complaint(Stage.stage2, Status.investigating, participants=(MO,))
    offered = set(offered_steps(manager_in_stage1, Role.manager, MO))
    assert offered == set(manager_in_stage1.allowed_steps) - STAGE2_INDEPENDENT_STEPS
    assert Step.assign in offered and Step.raise_new_issues in offered


def test_stage_1_participation_does_not_matter_at_stage_1() -> None:
    case = complaint(Stage.stage1, Status.investigating, participants=(JO,))
    assert names(offered_steps(case, Role.case_officer, JO)) == {
        "classify",
        "record_contact",
        "extend",
        "respond",
        "withdraw",
    }


def test_nothing_is_offered_on_a_closed_case() -> None:
    closed = complaint(Stage.closed, Status.closed)
    for role, who in ((Role.manager, MO), (Role.case_officer, JO)):
        assert offered_steps(closed, role, who) == []
    assert offered_steps(enquiry(EnquiryState.closed), Role.manager, MO) == []


def test_enquiries_offer_every_allowed_step_but_assign_to_everyone_but_managers() -> None:
    case = enquiry(EnquiryState.with_team)
    everyone_else = names(case.allowed_steps) - {"assign"}
    for role, who in ((Role.advisor, ALI), (Role.case_officer, JO), (Role.reviewer, SAM)):
        assert names(offered_steps(case, role, who)) == everyone_else
    assert names(offered_steps(case, Role.manager, MO)) == names(case.allowed_steps)
    assert all(isinstance(s, EnquiryStep) for s in offered_steps(case, Role.manager, MO))


@pytest.mark.parametrize(
    ("case", "role", "who", "expected"),
    [
        (complaint(Stage.triage, Status.awaiting_triage), Role.case_officer, JO, True),
        (complaint(Stage.triage, Status.awaiting_triage), Role.reviewer, SAM, True),
        (complaint(Stage.triage, Status.awaiting_triage), Role.manager, MO, True),
        (complaint(Stage.triage, Status.awaiting_triage), Role.advisor, ALI, False),
        (complaint(Stage.triage, Status.awaiting_triage, owner=SAM), Role.case_officer, JO, False),
        (complaint(Stage.closed, Status.closed), Role.case_officer, JO, False),
        (complaint(Stage.stage2, Status.investigating, (JO,)), Role.case_officer, JO, False),
        (complaint(Stage.stage2, Status.investigating, (JO,)), Role.reviewer, SAM, True),
        (enquiry(), Role.case_officer, JO, True),
        (enquiry(), Role.advisor, ALI, False),
        (enquiry(owner=MO), Role.case_officer, JO, False),
        (enquiry(EnquiryState.closed), Role.case_officer, JO, False),
    ],
)
def test_who_is_offered_take_this_case(case: Any, role: Role, who: str, expected: bool) -> None:
    assert may_take(case, role, who) is expected


def test_only_a_manager_assigns_someone_else_or_an_owned_case() -> None:
    unowned = complaint(Stage.triage, Status.awaiting_triage)
    owned = complaint(Stage.triage, Status.awaiting_triage, owner=SAM)
    assert assign_refusal(unowned, Role.manager, MO, JO) is None
    assert assign_refusal(owned, Role.manager, MO, JO) is None
    assert assign_refusal(unowned, Role.case_officer, JO, JO) is None, "taking it"
    assert assign_refusal(enquiry(), Role.reviewer, SAM, SAM) is None

    someone_else = assign_refusal(unowned, Role.case_officer, JO, SAM)
    assert someone_else and "only to yourself" in someone_else
    taken = assign_refusal(owned, Role.case_officer, JO, JO)
    assert taken == (
        "This case is already Sam.Reviewer's, so it cannot be taken. "
        "Ask a manager if it should change hands."
    )
    mine = assign_refusal(enquiry(owner=JO), Role.case_officer, JO, JO)
    assert mine and "already yours" in mine
    advisor = assign_refusal(unowned, Role.advisor, ALI, ALI)
    assert advisor == "Your role cannot assign cases. Ask a manager to assign it."


# ------------------------------------------------------------- who may be named where


@dataclass(frozen=True)
class Account:
    """A staff account as the naming rules see it (admin/accounts.py `Account`)."""

    id: str
    role: Role
    active: bool = True

    @property
    def name(self) -> str:
        return self.id.split(".")[0].title()


@pytest.mark.parametrize(
    ("role", "actor", "owner", "unowned", "expected"),
    [
        (Role.manager, MO, JO, False, True),
        (Role.manager, MO, MO, True, True),
        (Role.case_officer, JO, JO, True, True),
        (Role.reviewer, SAM, SAM, True, True),
        (Role.case_officer, JO, JO, False, False),
        (Role.case_officer, JO, SAM, True, False),
        (Role.advisor, ALI, ALI, True, False),
        (Role.advisor, ALI, JO, True, False),
    ],
)
def test_only_a_manager_names_an_owner_but_for_taking_a_case_nobody_owns(
    role: Role, actor: str, owner: str, unowned: bool, expected: bool
) -> None:
    assert may_name_owner(role, actor, owner, unowned) is expected
    if expected:
        check_may_name_owner(role, actor, owner, unowned)
    else:
        with pytest.raises(RoleMayNotName) as refused:
            check_may_name_owner(role, actor, owner, unowned, "owner")
        assert refused.value.field == "owner" and "Only a manager" in refused.value.reason


def test_an_owner_is_an_active_account_whose_role_owns_cases() -> None:
    for role in (Role.case_officer, Role.reviewer, Role.manager):
        check_owner_eligible("x.y", Account("x.y", role))
    for account, why in (
        (None, "There is no member of staff with the id 'x.y'"),
        (Account("x.y", Role.case_officer, active=False), "is not active"),
        (Account("x.y", Role.advisor), "is an advisor, who cannot own cases"),
    ):
        with pytest.raises(CannotBeNamed) as refused:
            check_owner_eligible("x.y", account, field="owner")
        assert refused.value.field == "owner" and why in refused.value.reason
    with pytest.raises(CannotBeNamed, match="took part in stage 1"):
        check_owner_eligible(JO, Account(JO, Role.case_officer), took_part_in_stage1=True)


def test_a_reviewer_reviews_stage_2_and_took_no_part_in_stage_1() -> None:
    responded = complaint(Stage.stage1, Status.escalation_window, participants=(JO, SAM))
    assert barred_as_reviewer(responded, SAM) and barred_as_reviewer(responded, JO)
    assert not barred_as_reviewer(responded, MO)
    assert not barred_as_reviewer(enquiry(), SAM), "enquiries have no stages"

    check_reviewer_eligible(MO, Account(MO, Role.manager), barred_as_reviewer(responded, MO))
    for account, why in (
        (Account(SAM, Role.reviewer), "took part in stage 1"),
        (Account(JO, Role.case_officer), "is a case officer, who cannot review stage 2"),
        (Account(SAM, Role.reviewer, active=False), "is not active"),
        (None, "There is no member of staff"),
    ):
        staff_id = account.id if account else "nobody"
        took_part = barred_as_reviewer(responded, staff_id)
        with pytest.raises(CannotBeNamed) as refused:
            check_reviewer_eligible(staff_id, account, took_part)
        assert refused.value.field == "reviewer" and why in refused.value.reason
