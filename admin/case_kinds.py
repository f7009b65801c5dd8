"""The kinds of case the admin works, complaints and enquiries, as data: one `CaseKind` each with
what the shared pages and API need to serve it (reference prefix, steps and their models, the
status model and the functions that read and change a case, templates, form parsers, labels).
The routes (admin/routes/cases.py, admin/routes/api.py) are written once against this registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from activities.deadlines import calendar_from_settings
from admin import complaint_forms, enquiry_forms, temporal
from admin.adjustment_forms import CONTACT_ONLY_CHOICES, FORMAT_CHOICES
from admin.forms import LONDON, PREFERRED_CONTACT, ParsedForm, StepParser, owner_choices
from admin.temporal import Client
from config import Settings
from domain.adjustments import contact_step_notes, needs_in_words, needs_of, staff_actions
from domain.clocks import Clock, ClockKey
from domain.complaint import (
    STEP_MODELS,
    ComplaintStatus,
    LodgeComplaint,
    StaffStep,
    Step,
    workflow_id,
)
from domain.enquiry import (
    CHANNEL_LABELS,
    ENQUIRY_STEP_MODELS,
    EnquiryState,
    EnquiryStatus,
    EnquiryStep,
    LodgeEnquiry,
    enquiry_workflow_id,
)
from domain.ombudsman import DETERMINATION_LABELS, ORDER_KIND_LABELS
from domain.remedies import Compensation, CompensationBasis

LONDON_DAY = "%a %d %b %Y"


@dataclass(frozen=True)
class CaseKind:
    name: Literal["complaint", "enquiry"]
    label: str  # "Complaint": headings, titles
    prefix: str  # of its references: CMP-7KQ3-XM2P
    page_path: str  # its pages: /cases/{reference}
    new_path: str  # "log a ..." form
    api_path: str  # the API's case: /api/cases/{reference}
    api_lodge_path: str  # the API's "lodge one"
    step: type[Step] | type[EnquiryStep]
    step_models: Mapping[Any, type[StaffStep]]
    status_model: type[BaseModel]
    lodge_model: type[LodgeComplaint] | type[LodgeEnquiry]
    workflow_id: Callable[[str], str]
    new_reference: Callable[[str | None], str]
    status: Callable[[Client, str], Awaitable[Any]]
    perform: Callable[[Client, str, Any, dict[str, Any]], Awaitable[Any]]
    validate_step: Callable[[Any, dict[str, Any]], Any]  # the step model's validation
    template: str  # the case page
    person_key: str  # the status's field for who the case is about: "resident"
    person_title: str  # its heading on the case page
    details_title: str  # the heading of the case's details
    closed_by: str  # the status's field saying how it closed
    new_template: str  # the "log a ..." page
    step_order: tuple[Any, ...]  # forms in the order staff usually need them
    titles: Mapping[Any, str]
    buttons: Mapping[Any, str]
    step_parsers: Mapping[Any, StepParser]
    parse_new: Callable[..., ParsedForm]  # "log a ..." form -> lodge payload
    success: Callable[[Any, Any], str]  # (step, status after it) -> what it did
    logged: Callable[[Settings, Any], str]  # (settings, the lodged case) -> what that means
    page_context: Callable[[Any], dict[str, Any]]  # the case page's template extras
    new_context: Mapping[str, Any]  # the "log a ..." page's template extras

    @property
    def noun(self) -> str:
        return self.label.lower()

    @property
    def a_noun(self) -> str:
        return ("an " if self.noun[0] in "aeiou" else "a ") + self.noun

    @property
    def assign(self) -> Step | EnquiryStep:
        return self.step("assign")

    def owns(self, reference: str) -> bool:
        return reference.startswith(f"{self.prefix}-")

    def page_url(self, reference: str) -> str:
        return f"{self.page_path}/{reference}"


# ---------------------------------------------------------------------------- complaints

COMPLAINT_STEPS: tuple[Step, ...] = (
    Step.accept,
    Step.acknowledge,
    Step.respond,
    Step.complete_action,
    Step.record_compensation,
    Step.escalate,
    Step.classify,
    Step.record_contact,
    Step.extend,
    Step.assign,
    Step.refer_to_ombudsman,
    Step.record_evidence_request,
    Step.record_evidence_sent,
    Step.record_ombudsman_order,
    Step.record_order_complied,
    Step.record_determination,
    Step.decline,
    Step.record_service_request,
    Step.raise_new_issues,
    Step.withdraw,
)
COMPLAINT_TITLES: dict[Step, str] = {
    Step.accept: "Accept the complaint",
    Step.classify: "Category, tenure and property",
    Step.decline: "Decline the complaint",
    Step.record_service_request: "Treat it as a service request",
    Step.record_contact: "Record contact with the resident",
    Step.assign: "Assign the case",
    Step.acknowledge: "Acknowledge the complaint",
    Step.extend: "Extend the response date",
    Step.respond: "Send the response",
    Step.escalate: "Escalate to stage 2",
    Step.raise_new_issues: "Open new issues as a new complaint",
    Step.withdraw: "Withdraw the complaint",
    Step.complete_action: "Record an action as done",
    Step.record_compensation: "Record compensation paid or declined",
    Step.refer_to_ombudsman: "Record a referral to the Housing Ombudsman",
    Step.record_evidence_request: "Record the Ombudsman's request for evidence",
    Step.record_evidence_sent: "Record evidence sent to the Ombudsman",
    Step.record_determination: "Record the Ombudsman's determination",
    Step.record_ombudsman_order: "Record an order or recommendation of the Ombudsman",
    Step.record_order_complied: "Record that we complied with an order",
}
COMPLAINT_BUTTONS: dict[Step, str] = {
    Step.accept: "Accept as a stage 1 complaint",
    Step.classify: "Save the category, tenure and property",
    Step.decline: "Decline the complaint",
    Step.record_service_request: "Record as a service request",
    Step.record_contact: "Record contact",
    Step.assign: "Assign",
    Step.acknowledge: "Acknowledge",
    Step.extend: "Extend the response date",
    Step.respond: "Send the response",
    Step.escalate: "Escalate to stage 2",
    Step.raise_new_issues: "Open a new stage 1 complaint",
    Step.withdraw: "Withdraw the complaint",
    Step.complete_action: "Record as done",
    Step.record_compensation: "Record compensation",
    Step.refer_to_ombudsman: "Record the referral",
    Step.record_evidence_request: "Record the request",
    Step.record_evidence_sent: "Record evidence sent",
    Step.record_determination: "Record the determination",
    Step.record_ombudsman_order: "Record the order",
    Step.record_order_complied: "Record compliance",
}
COMPLAINT_DONE: dict[Step, str] = {
    Step.accept: "Accepted as a stage 1 complaint",
    Step.classify: "Category, tenure and property saved",
    Step.decline: "Declined. The letter explaining why is on its way",
    Step.record_service_request: "Recorded as a service request. The case is closed",
    Step.record_contact: "Contact recorded",
    Step.assign: "Assigned",
    Step.acknowledge: "Acknowledged",
    Step.extend: "Extended",
    Step.respond: "Response sent",
    Step.escalate: "Escalated to stage 2",
    Step.raise_new_issues: "New issues opened as a new complaint",
    Step.withdraw: "Withdrawn. The case is closed",
    Step.complete_action: "Action recorded as done",
    Step.record_compensation: "Compensation recorded",
    Step.refer_to_ombudsman: "Referral to the Housing Ombudsman recorded",
    Step.record_evidence_request: "The Ombudsman's request for evidence recorded",
    Step.record_evidence_sent: "Evidence sent to the Ombudsman recorded",
    Step.record_determination: "The Ombudsman's determination recorded",
    Step.record_ombudsman_order: "The Ombudsman's order recorded",
    Step.record_order_complied: "Compliance with the order recorded",
}


def _day(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime(LONDON_DAY)


def _open_clock(case: ComplaintStatus, *keys: ClockKey) -> Clock | None:
    found = [c for c in case.clocks if c.key in keys and c.open]
    return found[-1] if found else None


def complaint_success(step: Step, case: ComplaintStatus) -> str:
    """What the step did, and the date that matters next."""
    response = _open_clock(case, ClockKey.s1_response, ClockKey.s2_response)
    ack = _open_clock(case, ClockKey.s1_acknowledgement, ClockKey.s2_acknowledgement)
    window = _open_clock(case, ClockKey.escalation_window)
    if step is Step.acknowledge and response:
        return f"Acknowledged. Response due {_day(response.due)}"
    if step is Step.extend and response:
        return f"Extended. Response now due {_day(response.due)}"
    if step in (Step.accept, Step.escalate) and ack:
        return f"{COMPLAINT_DONE[step]}. Acknowledgement due {_day(ack.due)}"
    if step is Step.respond and window:
        return f"Response sent. The resident can ask for stage 2 until {_day(window.due)}"
    if step is Step.raise_new_issues and case.linked_references:
        return f"New issues opened as complaint {case.linked_references[-1]}"
    return tracking_success(step, case) or COMPLAINT_DONE[step]


def tracking_success(step: Step, case: ComplaintStatus) -> str | None:
    """What a step following up the complaint did, with what is still open."""
    done = COMPLAINT_DONE[step]
    if step is Step.complete_action:
        left = sum(1 for a in case.actions if a.open)
        if left:
            return f"{done}. {left} action{'' if left == 1 else 's'} still open"
        return f"{done}. Every action is done: the resident's letter saying so is on its way"
    if step is Step.record_compensation:
        owed = case.compensation.outstanding
        return f"{done}. {money(owed)} still owed" if owed else f"{done}. Nothing more is owed"
    ombudsman = case.ombudsman
    if ombudsman is None:
        return None
    if step is Step.record_evidence_request and ombudsman.requests:
        return f"{done}. Due {ombudsman.requests[-1].due_on.strftime(LONDON_DAY)}"
    if step is Step.record_ombudsman_order and ombudsman.orders:
        return f"{done}. Due {ombudsman.orders[-1].due_on.strftime(LONDON_DAY)}"
    return None


def money(amount: Decimal) -> str:
    return f"£{amount:,.2f}"


# ------------------------------------------------- the case page: what the complaint led to


@dataclass(frozen=True)
class Tracked:
    """One numbered item followed to completion (an action, a request, an order), as the case
    page shows it: `state` is "Open", "Overdue" or the done text; `colour` its tag's."""

    n: int
    item: Any
    state: str
    colour: str


def _clock(case: Any, key: ClockKey, n: int) -> Clock | None:
    return next((c for c in case.clocks if c.key is key and c.item == n), None)


def _tracked(case: Any, key: ClockKey, item: Any, done_on: date | None, done: str) -> Tracked:
    clock = _clock(case, key, item.n)
    late = clock is not None and clock.breached_at is not None
    if done_on is not None:
        state = f"{done} {done_on.strftime(LONDON_DAY)}" + (" (late)" if late else "")
        return Tracked(item.n, item, state, "red" if late else "green")
    if late:
        return Tracked(item.n, item, "Overdue", "red")
    return Tracked(item.n, item, "Open", "grey")


@dataclass(frozen=True)
class OfferRow:
    stage: int
    amount: str
    offered_at: datetime
    basis: str | None


BASIS_TEXT = {
    CompensationBasis.replaces: "replaces stage 1's offer",
    CompensationBasis.adds: "in addition to stage 1's offer",
}


def putting_right(case: Any) -> dict[str, Any]:
    """The complaint's "Putting things right" and "Housing Ombudsman" sections: each action with
    who does it and its state (overdue when its clock is breached), compensation offered, paid
    and still owed; the Ombudsman's requests and orders likewise."""
    actions = [
        _tracked(case, ClockKey.remedy_action, a, a.done_on if not a.open else None, "Done on")
        for a in getattr(case, "actions", [])
    ]
    compensation = getattr(case, "compensation", None) or Compensation()
    ombudsman = getattr(case, "ombudsman", None)
    requests = [
        _tracked(case, ClockKey.ombudsman_evidence, r, r.sent_on if not r.open else None, "Sent")
        for r in (ombudsman.requests if ombudsman else [])
    ]
    orders = [
        _tracked(
            case, ClockKey.ombudsman_order, o, o.complied_on if not o.open else None, "Complied"
        )
        for o in (ombudsman.orders if ombudsman else [])
    ]
    return {
        "tracked_actions": actions,
        "offers": [
            OfferRow(
                o.stage, money(o.amount), o.offered_at, BASIS_TEXT[o.basis] if o.basis else None
            )
            for o in compensation.offers
        ],
        "compensation": compensation,
        "evidence_requests": requests,
        "ombudsman_orders": orders,
        "determination_labels": {d.value: t for d, t in DETERMINATION_LABELS.items()},
        "order_kind_labels": {k.value: t for k, t in ORDER_KIND_LABELS.items()},
        "money": money,
    }


def needs_context(person: Any) -> dict[str, Any]:
    """The person's reasonable adjustments as the case page shows them (domain/adjustments.py):
    each need in plain words and what staff must do by hand (the banner), the note (an old
    case's free text), and what every contact step's form shows."""
    needs = needs_of(person)
    return {
        "needs": needs_in_words(needs),
        "needs_for_staff": staff_actions(needs),
        "needs_note": needs.note if needs else None,
        "contact_notes": contact_step_notes(needs),
    }


def complaint_logged(settings: Settings, complaint: LodgeComplaint) -> str:
    received_on = calendar_from_settings(settings).received_on(complaint.received_at)
    return (
        f"Complaint {complaint.reference} logged. "
        f"It counts as received on {received_on.strftime(LONDON_DAY)}"
    )


COMPLAINT = CaseKind(
    name="complaint",
    label="Complaint",
    prefix="CMP",
    page_path="/cases",
    new_path="/complaints/new",
    api_path="/api/cases",
    api_lodge_path="/api/complaints",
    step=Step,
    step_models=STEP_MODELS,
    status_model=ComplaintStatus,
    lodge_model=LodgeComplaint,
    workflow_id=workflow_id,
    new_reference=temporal.new_complaint_reference,
    status=temporal.status,
    perform=temporal.perform_step,
    validate_step=temporal.parse_step,
    template="case.html",
    person_key="resident",
    person_title="Resident",
    details_title="Case",
    closed_by="closure_reason",
    new_template="new_complaint.html",
    step_order=COMPLAINT_STEPS,
    titles=COMPLAINT_TITLES,
    buttons=COMPLAINT_BUTTONS,
    step_parsers=complaint_forms.STEP_PARSERS,
    parse_new=complaint_forms.parse_complaint,
    success=complaint_success,
    logged=complaint_logged,
    page_context=lambda case: {
        # the case's own policy's lists (a page read from the records database has none: no forms)
        "categories": list(getattr(case, "categories", {}).items()),
        "root_causes": list(getattr(case, "root_causes", {}).items()),
        "tenures": complaint_forms.TENURES,
        "decisions": complaint_forms.DECISIONS,
        "contact_methods": complaint_forms.contact_methods(case),
        "decline_reasons": complaint_forms.DECLINE_REASONS,
        "spare_points": complaint_forms.SPARE_POINTS,
        "open_actions": complaint_forms.open_actions(case),
        "open_requests": complaint_forms.open_requests(case),
        "open_orders": complaint_forms.open_orders(case),
        "responsible_choices": complaint_forms.responsible_choices,
        "action_rows": complaint_forms.ACTION_ROWS,
        "compensation_bases": complaint_forms.COMPENSATION_BASES,
        "determinations": complaint_forms.DETERMINATIONS,
        "order_kinds": complaint_forms.ORDER_KINDS,
        **putting_right(case),
        **needs_context(case.resident),
    },
    new_context={
        "channels": complaint_forms.CHANNELS,
        "complainant_types": complaint_forms.COMPLAINANT_TYPES,
        "tenures": complaint_forms.TENURES,
        "preferred_contact": PREFERRED_CONTACT,
        "point_boxes": complaint_forms.NEW_POINTS,
        "owner_choices": owner_choices,
        "need_formats": FORMAT_CHOICES,
        "contact_only_choices": CONTACT_ONLY_CHOICES,
    },
)

# ----------------------------------------------------------------------------- enquiries

ENQUIRY_STEPS: tuple[EnquiryStep, ...] = (
    EnquiryStep.reply,
    EnquiryStep.holding_reply,
    EnquiryStep.pass_to_team,
    EnquiryStep.record_service_request,
    EnquiryStep.record_update_preference,
    EnquiryStep.convert,
    EnquiryStep.raise_complaint,
    EnquiryStep.assign,
    EnquiryStep.close,
)
ENQUIRY_TITLES: dict[EnquiryStep, str] = {
    EnquiryStep.reply: "Reply to the enquiry",
    EnquiryStep.holding_reply: "Send a holding reply",
    EnquiryStep.pass_to_team: "Pass it to another team",
    EnquiryStep.record_service_request: "Record it as a service request",
    EnquiryStep.record_update_preference: "Record how the resident wants updates",
    EnquiryStep.convert: "Turn it into a complaint",
    EnquiryStep.raise_complaint: "Raise a complaint about the service request",
    EnquiryStep.assign: "Assign the enquiry",
    EnquiryStep.close: "Close without a reply",
}
ENQUIRY_BUTTONS: dict[EnquiryStep, str] = {
    EnquiryStep.reply: "Send or record the reply",
    EnquiryStep.holding_reply: "Send or record the holding reply",
    EnquiryStep.pass_to_team: "Pass to the team",
    EnquiryStep.record_service_request: "Record the service request",
    EnquiryStep.record_update_preference: "Record the preference",
    EnquiryStep.convert: "Turn it into a complaint",
    EnquiryStep.raise_complaint: "Raise the complaint",
    EnquiryStep.assign: "Assign",
    EnquiryStep.close: "Close the enquiry",
}


def enquiry_success(step: EnquiryStep, enquiry: EnquiryStatus) -> str:
    """What the step did, in the workflow's own words (they carry the date that matters next)."""
    said = [item.summary for item in enquiry.timeline if item.step == step.value]
    message = said[-1] if said else ENQUIRY_TITLES[step]
    if enquiry.state is EnquiryState.closed and step is not EnquiryStep.close:
        message += ". The enquiry is closed"
    return message


def enquiry_logged(settings: Settings, enquiry: LodgeEnquiry) -> str:
    calendar = calendar_from_settings(settings)
    received_on = calendar.received_on(enquiry.received_at)
    days = settings.policy.enquiries.reply_working_days[enquiry.channel.value]
    due = calendar.add_working_days(received_on, days)
    return (
        f"Enquiry {enquiry.reference} logged. It counts as received on "
        f"{received_on.strftime(LONDON_DAY)}; the reply is due by the end of "
        f"{due.strftime(LONDON_DAY)}"
    )


def enquiry_page_context(enquiry: EnquiryStatus) -> dict[str, Any]:
    person = enquiry.enquirer
    return {
        "channel_label": CHANNEL_LABELS[enquiry.channel],
        "via": enquiry_forms.via_options(enquiry),
        "update_preferences": enquiry_forms.update_preference_options(enquiry),
        "complaint_points": enquiry_forms.COMPLAINT_POINTS,
        # a complaint needs an email or postal address, and this enquiry has neither
        "needs_contact": person.email is None and person.address is None,
        "owner_choices": owner_choices,  # who in the team has it becomes its owner
        **needs_context(person),
    }


ENQUIRY = CaseKind(
    name="enquiry",
    label="Enquiry",
    prefix="ENQ",
    page_path="/enquiries",
    new_path="/enquiries/new",
    api_path="/api/enquiries",
    api_lodge_path="/api/enquiries",
    step=EnquiryStep,
    step_models=ENQUIRY_STEP_MODELS,
    status_model=EnquiryStatus,
    lodge_model=LodgeEnquiry,
    workflow_id=enquiry_workflow_id,
    new_reference=temporal.new_enquiry_reference,
    status=temporal.enquiry_status,
    perform=temporal.perform_enquiry_step,
    validate_step=temporal.parse_enquiry_step,
    template="enquiry.html",
    person_key="enquirer",
    person_title="Who got in touch",
    details_title="Enquiry",
    closed_by="outcome",
    new_template="new_enquiry.html",
    step_order=ENQUIRY_STEPS,
    titles=ENQUIRY_TITLES,
    buttons=ENQUIRY_BUTTONS,
    step_parsers=enquiry_forms.ENQUIRY_STEP_PARSERS,
    parse_new=enquiry_forms.parse_enquiry,
    success=enquiry_success,
    logged=enquiry_logged,
    page_context=enquiry_page_context,
    new_context={
        "channels": enquiry_forms.ENQUIRY_CHANNELS,
        "preferred_contact": PREFERRED_CONTACT,
        "owner_choices": owner_choices,
        "need_formats": FORMAT_CHOICES,
        "contact_only_choices": CONTACT_ONLY_CHOICES,
    },
)

KINDS: tuple[CaseKind, ...] = (COMPLAINT, ENQUIRY)


def kind_of(reference: str) -> CaseKind:
    """The kind a reference belongs to: ENQ- an enquiry, any other a complaint."""
    return ENQUIRY if ENQUIRY.owns(reference) else COMPLAINT
