"""Who may do what: each staff role and the steps it may ask for, as data. The step's own rule
(domain/complaint_rules.py, domain/enquiry_rules.py) still decides whether the case allows it now;
this table says who may ask.

And who may be named where: who may set a case's owner, and which accounts may be named as an
owner or a stage 2 reviewer. Each rule is one function here, called by the API and the pages
alike (admin/naming.py looks the named account up and calls them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from domain.complaint import Step
from domain.enquiry import EnquiryStep
from domain.rules import StepRefused


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
        Step.classify,
        Step.decline,
        Step.record_service_request,
        Step.record_contact,
        Step.acknowledge,
        Step.extend,
        Step.respond,
        Step.escalate,
        Step.withdraw,
        # putting right what the response promised, and answering the Ombudsman's requests
        Step.complete_action,
        Step.record_compensation,
        Step.record_evidence_sent,
        Step.record_order_complied,
    }
)
# Recording the Ombudsman's case itself (the referral, its requests, determination and orders)
# is for reviewers and managers: the Member Responsible for Complaints reports on these.
_OMBUDSMAN_RECORDERS = frozenset(
    {
        Step.refer_to_ombudsman,
        Step.record_evidence_request,
        Step.record_determination,
        Step.record_ombudsman_order,
    }
)
ROLE_STEPS: dict[Role, frozenset[Step]] = {
    Role.advisor: frozenset({Step.record_contact, Step.escalate, Step.withdraw}),
    Role.case_officer: _OFFICER_STEPS,
    Role.reviewer: _OFFICER_STEPS | {Step.raise_new_issues} | _OMBUDSMAN_RECORDERS,
    Role.manager: frozenset(Step),
}
# Enquiries (customer service standards): everyone answers them; only managers assign.
ENQUIRY_ROLE_STEPS: dict[Role, frozenset[EnquiryStep]] = {
    role: frozenset(EnquiryStep) - ({EnquiryStep.assign} if role is not Role.manager else set())
    for role in Role
}
# Who may take an unowned case for themselves (an `assign` to oneself, without a manager).
TAKES_UNOWNED: frozenset[Role] = frozenset({Role.case_officer, Role.reviewer, Role.manager})
# Who may own a case (be named its owner), who may review stage 2 (be named its reviewer), and
# who may set or change a case's owner, on every path: lodging, `assign`, passing to a team.
OWNS_CASES: frozenset[Role] = frozenset({Role.case_officer, Role.reviewer, Role.manager})
REVIEWS_STAGE2: frozenset[Role] = frozenset({Role.reviewer, Role.manager})
NAMES_OWNERS: frozenset[Role] = frozenset({Role.manager})


# Who may build a case's file (every word held on it, for the Ombudsman) besides its owner: the
# roles that record the Ombudsman's case and its requests for evidence, which the file answers.
CASE_FILE_ROLES: frozenset[Role] = frozenset({Role.reviewer, Role.manager})


def may_build_case_file(role: Role, staff_id: str, owner_id: str | None) -> bool:
    return role in CASE_FILE_ROLES or (owner_id is not None and owner_id == staff_id)


def role_may(role: Role, step: Step | EnquiryStep) -> bool:
    # by type, not by name: both kinds have steps called "assign" and "record_service_request",
    # and StrEnum members equal their names
    if isinstance(step, EnquiryStep):
        return step in ENQUIRY_ROLE_STEPS[role]
    return step in ROLE_STEPS[role]


# ----------------------------------------------------------------- who may be named where


class StaffAccount(Protocol):
    """What the naming rules need to know of a staff account (admin/accounts.py `Account`)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def active(self) -> bool: ...


class NamingRefused(StepRefused):
    """A member of staff named in `field` (an owner, a reviewer) who may not be named there, or
    not by this person. The reason names the field and says what to do instead."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class RoleMayNotName(NamingRefused):
    """The role of whoever named them may not (the API answers 403)."""


class CannotBeNamed(NamingRefused):
    """The person named may not be named there: no such account, not active, or a role that
    cannot (the API answers 422 naming the field)."""


def _role_label(role: Role) -> str:
    label = ROLE_LABELS[role].lower()
    return ("an " if label[0] in "aeiou" else "a ") + label


def may_own_cases(role: Role) -> bool:
    """Whether an account of the role may own a case."""
    return role in OWNS_CASES


def may_name_owner(actor_role: Role, actor_id: str, owner_id: str, unowned: bool) -> bool:
    """Whether `actor_id` (of `actor_role`) may make `owner_id` a case's owner: a manager may
    name anyone; a role that takes unowned cases (TAKES_UNOWNED) only itself, and only while
    nobody owns the case (`unowned`: a case being lodged is). Everyone else, nobody."""
    if actor_role in NAMES_OWNERS:
        return True
    return unowned and owner_id == actor_id and actor_role in TAKES_UNOWNED


def check_may_name_owner(
    actor_role: Role, actor_id: str, owner_id: str, unowned: bool, field: str = "owner"
) -> None:
    """Only a manager sets or changes a case's owner (lodging it, passing it to a team), but
    for someone taking a case nobody owns for themselves (`may_name_owner`). The `assign` step
    says the same in its own words: domain/offered.py `assign_refusal`."""
    if may_name_owner(actor_role, actor_id, owner_id, unowned):
        return
    if actor_role in TAKES_UNOWNED:
        raise RoleMayNotName(
            field,
            f"Only a manager can make someone else the owner ({field}), or change the owner: "
            f"you can name only yourself, taking a case nobody owns. Leave {field} out, or "
            "ask a manager.",
        )
    raise RoleMayNotName(
        field,
        f"Only a manager can choose the owner ({field}), and you are "
        f"{_role_label(actor_role)}. Leave {field} out: a manager can assign the case later, "
        "or a case officer can take it.",
    )


def check_staff_named(staff_id: str, account: StaffAccount | None, field: str) -> StaffAccount:
    """Someone named in `field` is an active staff account: the account, checked."""
    if account is None:
        raise CannotBeNamed(
            field,
            f"There is no member of staff with the id '{staff_id}'. "
            "Give the staff id of an active account.",
        )
    if not account.active:
        raise CannotBeNamed(
            field,
            f"The account of {account.name} ({staff_id}) is not active, so they cannot be "
            "named. Choose someone whose account is active.",
        )
    return account


def _check_independent(named: StaffAccount, took_part_in_stage1: bool, field: str) -> None:
    if took_part_in_stage1:
        raise CannotBeNamed(
            field,
            f"{named.name} ({named.id}) took part in stage 1 of this complaint, and stage 2 must "
            "be reviewed by someone who did not. Choose someone else.",
        )


def check_owner_eligible(
    staff_id: str,
    account: StaffAccount | None,
    took_part_in_stage1: bool = False,
    field: str = "owner",
) -> None:
    """An owner is an active account whose role owns cases; at stage 2, one who took no part
    in stage 1 (`took_part_in_stage1`: domain/offered.py `barred_as_stage1_participant`)."""
    named = check_staff_named(staff_id, account, field)
    if not may_own_cases(named.role):
        raise CannotBeNamed(
            field,
            f"{named.name} ({staff_id}) is {_role_label(named.role)}, who cannot own cases. "
            "Choose a case officer, a stage 2 reviewer or a manager.",
        )
    _check_independent(named, took_part_in_stage1, field)


def check_reviewer_eligible(
    staff_id: str,
    account: StaffAccount | None,
    took_part_in_stage1: bool,
    field: str = "reviewer",
) -> None:
    """A stage 2 reviewer is an active account with the reviewer's (or a manager's) role who
    took no part in stage 1 (`took_part_in_stage1`: domain/offered.py `barred_as_reviewer`)."""
    named = check_staff_named(staff_id, account, field)
    if named.role not in REVIEWS_STAGE2:
        raise CannotBeNamed(
            field,
            f"{named.name} ({staff_id}) is {_role_label(named.role)}, who cannot review "
            "stage 2. Choose a stage 2 reviewer or a manager.",
        )
    _check_independent(named, took_part_in_stage1, field)
