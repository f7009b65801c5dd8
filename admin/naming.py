"""Staff named on a case: its owner, its stage 2 reviewer, the person a resident asked to call
them back. Whoever names them gives a staff id; the account is looked up in the staff accounts
and checked by the rules in domain/roles.py, and the name and email that go on the case are the
account's, never the request's. The API (admin/routes/api.py) and the pages' forms
(admin/forms.py and each kind's forms) both name staff through `name_staff`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from admin.accounts import Account
from domain.complaint import Assign, Escalate, LodgeComplaint
from domain.enquiry import AssignEnquiry, LodgeEnquiry, PassToTeam
from domain.offered import CaseStatus, barred_as_reviewer, barred_as_stage1_participant
from domain.people import StaffMember
from domain.roles import (
    check_may_name_owner,
    check_owner_eligible,
    check_reviewer_eligible,
    check_staff_named,
)

Lookup = Callable[[str], Account | None]


class Named(StrEnum):
    """What a staff field names someone as, and so which rules apply."""

    owner = "owner"  # the case's owner, set by a manager (lodging, passing to a team)
    assignee = "assignee"  # `assign`: who may ask is domain/offered.py's `assign_payload`
    reviewer = "reviewer"  # the stage 2 reviewer, named at escalation
    anyone = "anyone"  # any active member of staff: the person a resident asked for


# Every field of a body that names a member of staff, by the domain model it feeds. The API
# takes a staff id in each (admin/api_bodies.py refuses to build a body with one missing here).
NAMED_FIELDS: Mapping[type, Mapping[str, Named]] = {
    LodgeComplaint: {"owner": Named.owner},
    LodgeEnquiry: {"owner": Named.owner, "callback_from": Named.anyone},
    Assign: {"owner": Named.assignee},
    AssignEnquiry: {"owner": Named.assignee},
    Escalate: {"reviewer": Named.reviewer},
    PassToTeam: {"owner": Named.owner},
}

DESCRIPTIONS: Mapping[Named, str] = {
    Named.owner: "The staff id of the owner: an active case officer, stage 2 reviewer or "
    "manager. Only a manager may name someone; a case officer or reviewer only themselves, "
    "taking a case nobody owns (403 otherwise).",
    Named.assignee: "The staff id of the new owner: an active case officer, stage 2 reviewer "
    "or manager (at stage 2, one who took no part in stage 1). A manager may name anyone; a "
    "case officer or reviewer only themselves, taking an unowned case (403 otherwise).",
    Named.reviewer: "The staff id of the stage 2 reviewer, who becomes the owner: an active "
    "stage 2 reviewer or manager who took no part in stage 1.",
    Named.anyone: "The staff id of an active member of staff.",
}


def name_staff(
    named: Named,
    staff_id: str,
    *,
    field: str,
    lookup: Lookup,
    actor: Account | None = None,
    case: CaseStatus | None = None,
) -> StaffMember:
    """The member of staff `staff_id` names in `field`, from their account, once the rules
    allow it; else RoleMayNotName (whoever names them may not) or CannotBeNamed (they may not
    be named there), each naming the field and saying what to do. `actor` is whoever names them
    (needed for an owner); `case`, the case as it stands (a step's; None when lodging)."""
    if named is Named.owner:
        if actor is None:
            raise ValueError("naming an owner needs whoever names them")
        unowned = case is None or case.owner is None
        check_may_name_owner(actor.role, actor.id, staff_id, unowned, field)
    account = lookup(staff_id)
    if named in (Named.owner, Named.assignee):
        took_part = case is not None and barred_as_stage1_participant(case, None, staff_id)
        check_owner_eligible(staff_id, account, took_part, field)
    elif named is Named.reviewer:
        took_part = case is not None and barred_as_reviewer(case, staff_id)
        check_reviewer_eligible(staff_id, account, took_part, field)
    else:
        check_staff_named(staff_id, account, field)
    assert account is not None  # the checks refuse a missing account
    return account.as_staff()


def name_fields(
    model: type,
    data: dict[str, Any],
    *,
    lookup: Lookup,
    actor: Account,
    case: CaseStatus | None = None,
) -> dict[str, Any]:
    """`data` (a body for `model`, with a staff id in each field that names someone) with each
    named member of staff in full, as the domain model takes them."""
    out = dict(data)
    for field, named in NAMED_FIELDS.get(model, {}).items():
        staff_id = out.get(field)
        if staff_id:
            member = name_staff(named, staff_id, field=field, lookup=lookup, actor=actor, case=case)
            out[field] = member.model_dump()
    return out


def needs_case(model: type, data: Mapping[str, Any]) -> bool:
    """Whether naming staff in a step's `data` needs the case as it stands: whether anyone
    owns it, and who took part in stage 1."""
    return any(data.get(field) for field in NAMED_FIELDS.get(model, {}))
