"""The complaint's forms: each staff step's, and "log a complaint", as payloads for the domain
models (`STEP_MODELS`, `LodgeComplaint`) with the map from the models' error locations to the
form's fields. The machinery (ParsedForm, plain-English messages, dates and times) is
admin/forms.py's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from admin.accounts import Account
from admin.forms import (
    FieldFor,
    FieldInfo,
    FormValues,
    ParsedForm,
    Problem,
    StepContext,
    StepParser,
    assign_parser,
    checked,
    chosen_staff,
    date_value,
    intake_field,
    lines,
    moment,
    new_case_parser,
    one,
    optional,
    person,
    person_fields,
    step_field,
    text_parser,
)
from admin.naming import Named
from domain.complaint import DECLINE_REASON_TEXT, TENURE_LABELS, Step
from domain.letters import Decision
from domain.people import Channel, ComplainantType

SPARE_POINTS = 2  # empty "add a point" boxes under a case's points
NEW_POINTS = 5  # point boxes on the "log a complaint" form
MAX_POINTS = 30

# ------------------------------------------------------------------ the UI's vocabulary

DECISIONS: list[tuple[str, str]] = [
    (Decision.upheld.value, "Upheld"),
    (Decision.partly_upheld.value, "Partly upheld"),
    (Decision.not_upheld.value, "Not upheld"),
]
CONTACT_METHODS: list[tuple[str, str]] = [
    ("phone", "Phone"),
    ("email", "Email"),
    ("in_person", "In person"),
    ("letter", "Letter"),
    ("video", "Video call"),
]
CHANNELS: list[tuple[str, str]] = [
    (Channel.phone.value, "Phone"),
    (Channel.email.value, "Email"),
    (Channel.letter.value, "Letter"),
    (Channel.in_person.value, "In person"),
    (Channel.social_media.value, "Social media"),
    (Channel.online_form.value, "Online form"),
]
COMPLAINANT_TYPES: list[tuple[str, str]] = [
    (ComplainantType.resident.value, "A resident"),
    (ComplainantType.neighbour.value, "A neighbour who is not one of our residents"),
    (ComplainantType.service_user.value, "A user of our community or support services"),
    (ComplainantType.group.value, "A group of residents"),
    (ComplainantType.third_party.value, "A third party acting for a resident, with consent"),
]
TENURES: list[tuple[str, str]] = [(t.value, label) for t, label in TENURE_LABELS.items()]
DECLINE_REASONS: list[tuple[str, str]] = [
    (reason.value, text[0].upper() + text[1:]) for reason, text in DECLINE_REASON_TEXT.items()
]

# --------------------------------------------------------------------- staff steps


def _classification(s: Step, v: FormValues) -> tuple[dict[str, Any], dict[Any, FieldFor]]:
    """The category, tenure and property boxes the accept and classify forms share."""
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("category",): step_field(s, "category", "the category", "choice"),
        ("tenure",): step_field(s, "tenure", "the complainant's tenure", "choice"),
        ("property_reference",): step_field(
            s, "property_reference", "the property or tenancy reference"
        ),
    }
    payload = {
        "category": optional(v, "category"),
        "tenure": optional(v, "tenure"),
        "property_reference": optional(v, "property_reference"),
    }
    return payload, fields


def _parse_accept(v: FormValues, ctx: StepContext) -> ParsedForm:
    payload, fields = _classification(Step.accept, v)
    return ParsedForm(payload, fields, step_field(Step.accept, "category", "the category"), v)


def _parse_classify(v: FormValues, ctx: StepContext) -> ParsedForm:
    payload, fields = _classification(Step.classify, v)
    fallback = step_field(
        Step.classify, "category", "a category, a tenure or a property reference", "choice"
    )
    return ParsedForm(payload, fields, fallback, v)


def _parse_decline(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.decline
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("reason",): step_field(s, "reason", "the reason we cannot accept the complaint", "choice"),
        ("explanation",): step_field(s, "explanation", "an explanation for the resident"),
    }
    payload = {"reason": optional(v, "reason"), "explanation": one(v, "explanation")}
    return ParsedForm(payload, fields, step_field(s, "reason", "the reason"), v)


def _parse_contact(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.record_contact
    at, problems = moment(v, "at", f"{s.value}-at", "of the contact", ctx.now)
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("method",): step_field(s, "method", "how you contacted the resident", "choice"),
        ("notes",): step_field(s, "notes", "notes of the contact"),
        ("at",): step_field(s, "at_date", "the date of the contact", "date"),
    }
    payload = {"method": one(v, "method") or "phone", "notes": one(v, "notes"), "at": at}
    return ParsedForm(payload, fields, step_field(s, "notes", "notes"), v, problems)


def _parse_points(step: Step, v: FormValues, outcome_required: bool) -> ParsedForm:
    points = step_field(step, "points-0", "at least one point of the complaint")
    outcome = step_field(step, "outcome_sought", "the outcome the resident is looking for")
    payload: dict[str, Any] = {"points": lines(v, "points")}
    text = one(v, "outcome_sought")
    payload["outcome_sought"] = text if outcome_required else (text or None)
    fields: dict[tuple[Any, ...], FieldFor] = {("points",): points, ("outcome_sought",): outcome}
    return ParsedForm(payload, fields, points, v)


def _parse_acknowledge(v: FormValues, ctx: StepContext) -> ParsedForm:
    return _parse_points(Step.acknowledge, v, outcome_required=True)


def _parse_new_issues(v: FormValues, ctx: StepContext) -> ParsedForm:
    return _parse_points(Step.raise_new_issues, v, outcome_required=False)


def _parse_extend(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.extend
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("reasons",): step_field(s, "reasons", "the reasons for the extension"),
        ("working_days",): step_field(
            s, "working_days", "the number of working days to add", "number"
        ),
        ("agreed_date",): step_field(s, "agreed_date", "the date agreed with the resident", "date"),
    }
    payload = {
        "reasons": one(v, "reasons"),
        "working_days": optional(v, "working_days"),
        "discussed_with_resident": checked(v, "discussed_with_resident"),
        "exceptional": checked(v, "exceptional"),
        "resident_agreed": checked(v, "resident_agreed"),
        "agreed_date": date_value(v, "agreed_date"),
    }
    return ParsedForm(payload, fields, step_field(s, "reasons", "the reasons"), v)


def _parse_respond(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.respond
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("decisions",): step_field(s, "decision_0", "a decision on each point", "choice"),
        ("summary",): step_field(s, "summary", "a summary of the response"),
        ("remedies", "apology"): step_field(s, "apology", "the apology"),
        ("remedies", "actions", 0, "action"): step_field(s, "action", "the action we will take"),
        ("remedies", "actions", 0, "owner"): step_field(
            s, "action_owner", "who will take the action"
        ),
        ("remedies", "actions", 0, "due"): step_field(
            s, "action_due", "when the action is due", "date"
        ),
        ("remedies", "compensation"): step_field(s, "compensation", "the compensation", "money"),
    }
    decisions: list[dict[str, Any]] = []
    i = 0
    while f"point_{i}" in v and i < MAX_POINTS:
        decision, reasons = optional(v, f"decision_{i}"), one(v, f"reasons_{i}")
        if decision or reasons:  # a point left blank is missing: the workflow says which
            j, n = len(decisions), i + 1
            fields[("decisions", j, "decision")] = step_field(
                s, f"decision_{i}", f"a decision on point {n}", "choice"
            )
            fields[("decisions", j)] = step_field(
                s, f"reasons_{i}", f"the reasons for the decision on point {n}"
            )
            fields[("decisions", j, "root_cause")] = step_field(
                s, f"root_cause_{i}", f"the root cause of point {n}", "choice"
            )
            decisions.append(
                {
                    "point": one(v, f"point_{i}"),
                    "decision": decision,
                    "reasons": reasons,
                    "root_cause": optional(v, f"root_cause_{i}"),
                }
            )
        i += 1
    actions = []
    if any(one(v, n) for n in ("action", "action_owner", "action_due")):
        actions.append(
            {
                "action": one(v, "action"),
                "owner": one(v, "action_owner"),
                "due": date_value(v, "action_due"),
            }
        )
    money = re.sub(r"[£,\s]", "", one(v, "compensation"))
    payload = {
        "decisions": decisions,
        "summary": one(v, "summary"),
        "remedies": {
            "apology": optional(v, "apology"),
            "actions": actions,
            "compensation": money or None,
        },
    }
    return ParsedForm(payload, fields, step_field(s, "summary", "the summary"), v)


def _parse_escalate(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.escalate
    at, problems = moment(v, "requested", f"{s.value}-requested", "the resident asked", ctx.now)
    reviewer = chosen_staff(
        v,
        "reviewer",
        ctx.accounts,
        f"{s.value}-reviewer",
        "a reviewer",
        problems,
        Named.reviewer,
        case=ctx.case,
    )
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("requested_at",): step_field(s, "requested_date", "the date the resident asked", "date"),
        ("exceptional_circumstances",): step_field(
            s, "exceptional_circumstances", "the exceptional circumstances"
        ),
        ("reviewer",): step_field(s, "reviewer", "the stage 2 reviewer", "choice"),
    }
    payload = {
        "requested_at": at,
        "exceptional_circumstances": optional(v, "exceptional_circumstances"),
        "reviewer": reviewer,
    }
    return ParsedForm(payload, fields, step_field(s, "requested_date", "the date"), v, problems)


STEP_PARSERS: dict[Step, StepParser] = {
    Step.accept: _parse_accept,
    Step.classify: _parse_classify,
    Step.decline: _parse_decline,
    Step.record_service_request: text_parser(
        Step.record_service_request, "notes", "what the service request is and what happens next"
    ),
    Step.record_contact: _parse_contact,
    Step.assign: assign_parser(Step.assign, "who to assign the case to"),
    Step.acknowledge: _parse_acknowledge,
    Step.extend: _parse_extend,
    Step.respond: _parse_respond,
    Step.escalate: _parse_escalate,
    Step.raise_new_issues: _parse_new_issues,
    Step.withdraw: text_parser(Step.withdraw, "reason", "why the resident withdrew the complaint"),
}


# ------------------------------------------------------------------ a new complaint


_intake = intake_field("complaint")


def _resident_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole resident is about, from what it says."""
    if "third_party" in message or "third party" in message:
        return _intake("third_party_consent", "the resident's consent", "check")
    if "is post but" in message:
        return _intake("address_lines", "the postal address")
    return _intake("email", "an email address", "email")


INTAKE_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    ("resident",): _resident_rule,
    **person_fields(_intake, "resident", "the name of the person complaining"),
    ("resident", "complainant_type"): _intake("complainant_type", "who is complaining", "choice"),
    ("resident", "acting_for"): _intake("acting_for", "who the third party is acting for"),
    ("description",): _intake("description", "what the complaint is about"),
    ("points",): _intake("points-0", "the points of the complaint"),
    ("outcome_sought",): _intake("outcome_sought", "the outcome they are looking for"),
    ("incident_date",): _intake("incident_date", "the date it happened", "date"),
    ("became_aware_date",): _intake(
        "became_aware_date", "the date they became aware of it", "date"
    ),
    ("tenure",): _intake("tenure", "the complainant's tenure", "choice"),
    ("property_reference",): _intake("property_reference", "the property or tenancy reference"),
}


def _complaint(
    v: FormValues, accounts: Mapping[str, Account], problems: list[Problem]
) -> dict[str, Any]:
    resident = {
        **person(v),
        "complainant_type": one(v, "complainant_type") or None,
        "third_party_consent": checked(v, "third_party_consent"),
        "acting_for": optional(v, "acting_for"),
    }
    return {
        "resident": resident,
        "description": one(v, "description"),
        "points": lines(v, "points"),
        "outcome_sought": optional(v, "outcome_sought"),
        "incident_date": date_value(v, "incident_date"),
        "became_aware_date": date_value(v, "became_aware_date"),
        "tenure": optional(v, "tenure"),
        "property_reference": optional(v, "property_reference"),
    }


# A `LodgeComplaint` payload from the "log a complaint" form.
parse_complaint = new_case_parser(
    "complaint",
    INTAKE_FIELDS,
    _complaint,
    channel="how the complaint was made",
    owner="a case owner",
)
