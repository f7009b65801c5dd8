"""The complaint's forms: each staff step's, and "log a complaint", as payloads for the domain
models (`STEP_MODELS`, `LodgeComplaint`) with the map from the models' error locations to the
form's fields. The machinery (ParsedForm, plain-English messages, dates and times) is
admin/forms.py's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from admin.accounts import ROLE_LABELS, Account
from admin.adjustment_forms import THROUGH_BOXES
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
    only_way_rule,
    optional,
    person,
    person_fields,
    register_limits,
    step_field,
    text_parser,
)
from admin.naming import Named
from domain.adjustments import Adjustments, ContactThrough, contact_step_allowed, needs_of
from domain.complaint import (
    DECLINE_REASON_TEXT,
    STEP_MODELS,
    TENURE_LABELS,
    LodgeComplaint,
    PointOutcome,
    Respond,
    Step,
)
from domain.letters import Decision, Remedies, RemedyAction
from domain.ombudsman import DETERMINATION_LABELS, ORDER_KIND_LABELS
from domain.people import Channel, ComplainantType, Resident
from domain.remedies import CompensationBasis, upheld_without_remedy
from domain.roles import may_own_cases

SPARE_POINTS = 2  # empty "add a point" boxes under a case's points
NEW_POINTS = 5  # point boxes on the "log a complaint" form
MAX_POINTS = 30
ACTION_ROWS = 3  # action rows on the respond form (a row left blank is no action)
ACTION_FIELDS = ("action", "action_owner", "action_due", "action_responsible")

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


def contact_methods(case: Any) -> list[tuple[str, str]]:
    """The record_contact form's ways, as the resident's needs allow: no phone or video call
    for a resident to be contacted only by email or post (domain/adjustments.py)."""
    needs = needs_of(getattr(case, "resident", None))
    return [(way, label) for way, label in CONTACT_METHODS if contact_step_allowed(needs, way)]


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
    offered = contact_methods(ctx.case)
    method = one(v, "method") or offered[0][0]
    if method not in dict(offered) and method in dict(CONTACT_METHODS):
        problems.append(
            Problem(
                f"#{s.value}-method",
                "The resident's reasonable adjustments rule this way out: choose how you "
                "contacted them from the list",
            )
        )
    payload = {"method": method, "notes": one(v, "notes"), "at": at}
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
    agreed = step_field(s, "agreed_date", "the date agreed with the resident", "date")
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("reasons",): step_field(s, "reasons", "the reasons for the extension"),
        ("working_days",): step_field(
            s, "working_days", "the number of working days to add", "number"
        ),
        ("agreed_date",): agreed,
    }
    problems: list[Problem] = []
    payload = {
        "reasons": one(v, "reasons"),
        "working_days": optional(v, "working_days"),
        "discussed_with_resident": checked(v, "discussed_with_resident"),
        "exceptional": checked(v, "exceptional"),
        "resident_agreed": checked(v, "resident_agreed"),
        "agreed_date": date_value(v, "agreed_date", agreed, problems),
    }
    return ParsedForm(payload, fields, step_field(s, "reasons", "the reasons"), v, problems)


def money_value(v: FormValues, name: str) -> str | None:
    """An amount in pounds as people type it (£1,250.50) for the payload; None when blank."""
    return re.sub(r"[£,\s]", "", one(v, name)) or None


def _action_rows(
    v: FormValues, ctx: StepContext, fields: dict[tuple[Any, ...], FieldFor]
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The respond form's action rows (a row left blank is no action), each with its fields in
    `fields` under the payload's index, and the problems with the member of staff chosen."""
    s = Step.respond
    actions: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for i in range(ACTION_ROWS):
        names = [f"{name}_{i}" for name in ACTION_FIELDS]
        if not any(one(v, n) for n in names):
            continue
        j, n = len(actions), i + 1
        for name, noun, kind in (
            ("action", f"what action {n} is", "text"),
            ("owner", f"who will take action {n}, as the resident will read it", "text"),
            ("due", f"the date action {n} is due", "date"),
            ("responsible", f"the member of staff responsible for action {n}", "choice"),
        ):
            field_name = "action" if name == "action" else f"action_{name}"
            fields[("remedies", "actions", j, name)] = step_field(
                s, f"{field_name}_{i}", noun, kind
            )
        fields[("remedies", "actions", j)] = step_field(s, f"action_{i}", f"action {n}")
        responsible_id = f"{s.value}-action_responsible_{i}"
        responsible = chosen_staff(
            v,
            f"action_responsible_{i}",
            ctx.accounts,
            responsible_id,
            f"the member of staff responsible for action {n}",
            problems,
        )
        account = ctx.accounts.get(one(v, f"action_responsible_{i}"))
        if account is not None and not may_own_cases(account.role):
            problems.append(
                Problem(
                    f"#{responsible_id}",
                    f"{account.name} cannot own cases, so cannot be responsible for action {n}: "
                    "choose a case officer, a stage 2 reviewer or a manager, or leave it blank "
                    "for the case's owner",
                )
            )
        action = {
            "action": optional(v, f"action_{i}"),
            "owner": optional(v, f"action_owner_{i}"),
            "due": date_value(
                v,
                f"action_due_{i}",
                step_field(s, f"action_due_{i}", f"the date action {n} is due", "date"),
                problems,
            ),
            "responsible": responsible,
        }
        actions.append(_given(action))
    return actions, problems


def _parse_respond(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.respond
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("decisions",): step_field(s, "decision_0", "a decision on each point", "choice"),
        ("summary",): step_field(s, "summary", "a summary of the response"),
        ("remedies", "apology"): step_field(s, "apology", "the apology"),
        ("remedies", "actions"): step_field(s, "action_0", "the actions we will take"),
        ("remedies", "compensation"): step_field(s, "compensation", "the compensation", "money"),
        ("remedies", "compensation_basis"): step_field(
            s,
            "compensation_basis",
            "whether this offer replaces stage 1's or adds to it",
            "choice",
        ),
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
    actions, problems = _action_rows(v, ctx, fields)
    payload = {
        "decisions": decisions,
        "summary": one(v, "summary"),
        "remedies": {
            "apology": optional(v, "apology"),
            "actions": actions,
            "compensation": money_value(v, "compensation"),
            "compensation_basis": optional(v, "compensation_basis"),
        },
    }
    if not checked(v, "no_remedy") and _upheld_without_remedy(payload, ctx):
        problems.append(Problem(f"#{s.value}-no_remedy", NO_REMEDY_WARNING))
    return ParsedForm(payload, fields, step_field(s, "summary", "the summary"), v, problems)


# A response that upholds a point and puts nothing right is held back once, with this warning
# beside the box that confirms it (the respond form in admin/templates/_steps.html).
NO_REMEDY_WARNING = (
    "This response upholds a point of the complaint but offers no action, no compensation and "
    "no apology. Add what we will do to put it right, or confirm that nothing needs putting right"
)


def _upheld_without_remedy(payload: dict[str, Any], ctx: StepContext) -> bool:
    """The domain's rule (domain/remedies.py) on the response the form gives, once it is a
    valid response: until then, its own problems come first."""
    try:
        response = Respond.model_validate({**payload, "by": ctx.account.id})
    except ValidationError:
        return False
    return upheld_without_remedy(response)


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


# ------------------------------------------------- what the complaint led to, tracked


def _given(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the boxes left blank: a required one is then "missing" (the message
    says "Enter ..."), an optional one takes the model's default (a date: today)."""
    return {name: value for name, value in payload.items() if value is not None}


def _tracking_parser(
    step: Step, texts: dict[str, str], dates: dict[str, str], fallback: str, **other: str
) -> StepParser:
    """A form of text boxes (`texts`: name -> noun), date boxes (`dates`) and choices
    (`other`: name -> noun), each named as the step's model names it."""
    fields: dict[tuple[Any, ...], FieldFor] = {
        **{(n,): step_field(step, n, noun) for n, noun in texts.items()},
        **{(n,): step_field(step, n, noun, "date") for n, noun in dates.items()},
        **{(n,): step_field(step, n, noun, "choice") for n, noun in other.items()},
    }
    every = {**texts, **dates, **other}

    def parse(v: FormValues, ctx: StepContext) -> ParsedForm:
        problems: list[Problem] = []
        payload: dict[str, Any] = {n: optional(v, n) for n in (*texts, *other)}
        payload.update(
            {
                n: date_value(v, n, step_field(step, n, noun, "date"), problems)
                for n, noun in dates.items()
            }
        )
        fallback_field = step_field(step, fallback, every[fallback])
        return ParsedForm(_given(payload), fields, fallback_field, v, problems)

    return parse


def _parse_compensation(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.record_compensation
    amount = step_field(s, "amount", "the amount paid", "money")
    paid_on = step_field(s, "paid_on", "the date it was paid", "date")
    problems: list[Problem] = []
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("amount",): amount,
        ("paid_on",): paid_on,
        ("declined",): step_field(s, "declined", "whether the resident declined", "check"),
        ("note",): step_field(s, "note", "the note"),
    }
    payload = {
        "amount": money_value(v, "amount"),
        "paid_on": date_value(v, "paid_on", paid_on, problems),
        "declined": checked(v, "declined"),
        "note": optional(v, "note"),
    }
    # the rule across the amount and the box (paid, or declined) is about the amount
    return ParsedForm(_given(payload), fields, amount, v, problems)


def open_actions(case: Any) -> list[tuple[str, str]]:
    """The complete_action form's choices: each open action as (number, what and when due)."""
    return [
        (str(a.n), f"{a.n}: {a.action} (due {a.due:%a %d %b %Y})")
        for a in getattr(case, "actions", [])
        if a.open
    ]


def open_requests(case: Any) -> list[tuple[str, str]]:
    ombudsman = getattr(case, "ombudsman", None)
    return [
        (str(r.n), f"{r.n}: {r.description} (due {r.due_on:%a %d %b %Y})")
        for r in (ombudsman.requests if ombudsman else [])
        if r.open
    ]


def open_orders(case: Any) -> list[tuple[str, str]]:
    ombudsman = getattr(case, "ombudsman", None)
    return [
        (
            str(o.n),
            f"{o.n}: {ORDER_KIND_LABELS[o.kind]}: {o.description} (due {o.due_on:%a %d %b %Y})",
        )
        for o in (ombudsman.orders if ombudsman else [])
        if o.open
    ]


def responsible_choices(staff: Sequence[Account]) -> list[tuple[str, str]]:
    """Who may be made responsible for an action: whoever may own a case."""
    return [(a.id, f"{a.name} ({ROLE_LABELS[a.role]})") for a in staff if may_own_cases(a.role)]


DETERMINATIONS: list[tuple[str, str]] = [(d.value, t) for d, t in DETERMINATION_LABELS.items()]
ORDER_KINDS: list[tuple[str, str]] = [(k.value, t) for k, t in ORDER_KIND_LABELS.items()]
COMPENSATION_BASES: list[tuple[str, str]] = [
    (CompensationBasis.replaces.value, "It replaces stage 1's offer: this is the whole offer"),
    (CompensationBasis.adds.value, "It adds to stage 1's offer"),
]

_parse_complete_action = _tracking_parser(
    Step.complete_action,
    {"note": "a note of what was done"},
    {"done_on": "the date it was done"},
    "note",
    action="the action that was done",
)
_parse_referral = _tracking_parser(
    Step.refer_to_ombudsman,
    {"ombudsman_reference": "the Ombudsman's reference as their letters write it, like 202412345"},
    {"referred_on": "the date of the referral"},
    "ombudsman_reference",
)
_parse_evidence_request = _tracking_parser(
    Step.record_evidence_request,
    {"description": "what the Ombudsman asked for"},
    {"requested_on": "the date they asked", "due_on": "the date the evidence is due"},
    "description",
)
_parse_evidence_sent = _tracking_parser(
    Step.record_evidence_sent,
    {"note": "a note of what was sent"},
    {"sent_on": "the date it was sent"},
    "note",
    request="the request the evidence answers",
)
_parse_determination = _tracking_parser(
    Step.record_determination,
    {"findings": "the Ombudsman's findings"},
    {"determined_on": "the date of the determination"},
    "findings",
    determination="the Ombudsman's determination",
)
_parse_order = _tracking_parser(
    Step.record_ombudsman_order,
    {"description": "what the Ombudsman ordered or recommended"},
    {"made_on": "the date it was made", "due_on": "the date it is due"},
    "description",
    kind="whether it is an order, a recommendation or a complaint handling failure order",
)
_parse_complied = _tracking_parser(
    Step.record_order_complied,
    {"evidence": "how we showed we complied"},
    {"complied_on": "the date we complied"},
    "evidence",
    order="the order we complied with",
)


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
    Step.complete_action: _parse_complete_action,
    Step.record_compensation: _parse_compensation,
    Step.refer_to_ombudsman: _parse_referral,
    Step.record_evidence_request: _parse_evidence_request,
    Step.record_evidence_sent: _parse_evidence_sent,
    Step.record_determination: _parse_determination,
    Step.record_ombudsman_order: _parse_order,
    Step.record_order_complied: _parse_complied,
}


# ------------------------------------------------------------------ a new complaint


_intake = intake_field("complaint")


# The domain's rule names its field for the API; the form says it with the box's own words.
THIRD_PARTY_CONSENT = (
    "A third party can complain for a resident only with their consent: tick that the resident "
    "has given consent once they have"
)


def _resident_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole resident is about, from what it says."""
    if only := only_way_rule("complaint", message):
        return only
    if "third_party" in message or "third party" in message:
        return FieldInfo(
            id="complaint-third_party_consent",
            noun="the resident's consent",
            kind="check",
            rule=THIRD_PARTY_CONSENT,
        )
    if "is post but" in message:
        return _intake("address_lines", "the postal address")
    return _intake("email", "an email address", "email")


_INCIDENT = _intake("incident_date", "the date it happened", "date")
_AWARE = _intake("became_aware_date", "the date they became aware of it", "date")

INTAKE_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    ("resident",): _resident_rule,
    **person_fields(_intake, "resident", "the name of the person complaining"),
    ("resident", "complainant_type"): _intake("complainant_type", "who is complaining", "choice"),
    ("resident", "acting_for"): _intake("acting_for", "who the third party is acting for"),
    ("description",): _intake("description", "what the complaint is about"),
    ("points",): _intake("points-0", "the points of the complaint"),
    ("outcome_sought",): _intake("outcome_sought", "the outcome they are looking for"),
    ("incident_date",): _INCIDENT,
    ("became_aware_date",): _AWARE,
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
        "incident_date": date_value(v, "incident_date", _INCIDENT, problems),
        "became_aware_date": date_value(v, "became_aware_date", _AWARE, problems),
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


# ------------------------------------------------------------ what each box takes

for _step, _model in STEP_MODELS.items():
    register_limits(_step.value, _model)
register_limits(Step.respond.value, PointOutcome, {"reasons": "reasons"})  # reasons_<n>
register_limits(Step.respond.value, Remedies)
register_limits(Step.respond.value, RemedyAction, {"action": "action", "owner": "action_owner"})
register_limits("complaint", LodgeComplaint)
register_limits("complaint", Resident)
register_limits("complaint", Adjustments, {n: n for n in ("interpreter_language", "contact_times")})
register_limits("complaint", ContactThrough, THROUGH_BOXES)
