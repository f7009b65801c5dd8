"""Enquiry forms: each staff step's form, and "log an enquiry", as payloads for the domain models
(`ENQUIRY_STEP_MODELS`, `LodgeEnquiry`), with the map from the models' error locations to the
form's fields. The machinery (ParsedForm, plain-English messages, dates and times, the forms
both kinds share) is admin/forms.py's; only what is particular to enquiries is here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from admin.accounts import Account
from admin.adjustment_forms import THROUGH_BOXES
from admin.forms import (
    FieldFor,
    FieldInfo,
    FormValues,
    ParsedForm,
    Problem,
    StepContext,
    StepParser,
    address,
    assign_parser,
    checked,
    chosen_staff,
    date_value,
    intake_field,
    lines,
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
from domain.enquiry import (
    CHANNEL_LABELS,
    ENQUIRY_STEP_MODELS,
    Enquirer,
    EnquiryChannel,
    EnquiryStatus,
    EnquiryStep,
    LodgeEnquiry,
    ReplyVia,
    UpdatePreference,
)
from domain.enquiry import default_via as domain_default_via
from domain.enquiry import reachable as domain_reachable

COMPLAINT_POINTS = 3  # point boxes on the "convert" and "raise a complaint" forms

# ------------------------------------------------------------------ the UI's vocabulary

ENQUIRY_CHANNELS: list[tuple[str, str]] = [(c.value, label) for c, label in CHANNEL_LABELS.items()]
VIA_LABELS: dict[ReplyVia, str] = {
    ReplyVia.email: "Email (we send it)",
    ReplyVia.letter: "Letter by post (we send it)",
    ReplyVia.phone: "Phone (you have called them)",
    ReplyVia.social_media: "Social media (you have replied on the platform)",
}
UPDATE_PREFERENCES: list[tuple[str, str]] = [
    (UpdatePreference.phone.value, "Phone"),
    (UpdatePreference.email.value, "Email"),
    (UpdatePreference.letter.value, "Letter"),
]


def default_via(enquiry: EnquiryStatus) -> ReplyVia:
    """How a reply goes when staff leave the choice to the case (the workflow's own rule)."""
    return enquiry.reply_via or domain_default_via(enquiry.enquirer, enquiry.update_preference)


def reachable(enquiry: EnquiryStatus) -> list[ReplyVia]:
    return domain_reachable(enquiry.enquirer)


def allowed_ways(enquiry: EnquiryStatus) -> list[ReplyVia]:
    """The ways that reach the resident and that their needs allow: none but the one they
    asked for when contact is only by one method (domain/adjustments.py)."""
    needs = needs_of(enquiry.enquirer)
    return [via for via in reachable(enquiry) if contact_step_allowed(needs, via.value)]


def via_options(enquiry: EnquiryStatus) -> list[tuple[str, str]]:
    """The "how it goes" radios: each way that reaches the resident and that their needs allow,
    the case's own way first and marked as their usual way (chosen unless staff choose another;
    its value is blank, so the case decides as it would for the API). Social media only for
    someone who got in touch that way or gave a handle: a letter writer is not offered it."""
    usual = default_via(enquiry)
    social = enquiry.channel is EnquiryChannel.social_media or bool(enquiry.enquirer.social_handle)
    ways = [
        via
        for via in allowed_ways(enquiry)
        if via is not usual and (via is not ReplyVia.social_media or social)
    ]
    return [("", f"{VIA_LABELS[usual]}: their usual way")] + [
        (via.value, VIA_LABELS[via]) for via in ways
    ]


def update_preference_options(enquiry: EnquiryStatus) -> list[tuple[str, str]]:
    """The update preferences the resident's needs allow."""
    needs = needs_of(enquiry.enquirer)
    return [(way, label) for way, label in UPDATE_PREFERENCES if contact_step_allowed(needs, way)]


# --------------------------------------------------------------------- staff steps


_e = step_field


def _via_field(step: EnquiryStep) -> dict[tuple[Any, ...], FieldFor]:
    return {("via",): _e(step, "via", "how the resident hears from us", "choice")}


def _via(step: EnquiryStep, v: FormValues, ctx: StepContext, problems: list[Problem]) -> str | None:
    """The chosen way (None: the case's own), refused if the resident's needs rule it out."""
    via = optional(v, "via")
    if via in {w.value for w in reachable(ctx.case)} - {w.value for w in allowed_ways(ctx.case)}:
        problems.append(
            Problem(
                f"#{step.value}-via",
                "The resident's reasonable adjustments rule this way out: choose another",
            )
        )
    return via


def _parse_reply(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.reply
    message = _e(s, "message", "the reply")
    fields = {("message",): message, **_via_field(s)}
    problems: list[Problem] = []
    payload = {
        "message": one(v, "message"),
        "via": _via(s, v, ctx, problems),
        "closes": checked(v, "closes"),
    }
    return ParsedForm(payload, fields, message, v, problems)


def _parse_holding_reply(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.holding_reply
    estimated = _e(s, "estimated_date", "the date we expect to reply in full", "date")
    problems: list[Problem] = []
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("estimated_date",): estimated,
        ("reasons",): _e(s, "reasons", "why the full reply will take longer"),
        **_via_field(s),
    }
    payload = {
        "estimated_date": date_value(v, "estimated_date", estimated, problems),
        "reasons": one(v, "reasons"),
        "via": _via(s, v, ctx, problems),
    }
    return ParsedForm(payload, fields, _e(s, "reasons", "the reasons"), v, problems)


def _parse_pass_to_team(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.pass_to_team
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("team",): _e(s, "team", "the team the enquiry goes to"),
        ("next_steps",): _e(s, "next_steps", "the next steps, for the resident"),
        ("owner",): _e(s, "owner", "who in that team has it", "choice"),
        **_via_field(s),
    }
    problems: list[Problem] = []
    owner = chosen_staff(
        v,
        "owner",
        ctx.accounts,
        f"{s.value}-owner",
        "who has it",
        problems,
        Named.owner,
        actor=ctx.account,
        case=ctx.case,
    )
    payload = {
        "team": one(v, "team"),
        "next_steps": one(v, "next_steps"),
        "owner": owner,
        "via": _via(s, v, ctx, problems),
    }
    return ParsedForm(payload, fields, _e(s, "team", "the team"), v, problems)


def _parse_update_preference(v: FormValues, ctx: StepContext) -> ParsedForm:
    method = _e(
        EnquiryStep.record_update_preference, "method", "how the resident wants updates", "choice"
    )
    return ParsedForm({"method": optional(v, "method")}, {("method",): method}, method, v)


def _parse_service_request(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.record_service_request
    target = _e(s, "target_date", "the target date", "date")
    problems: list[Problem] = []
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("description",): _e(s, "description", "what the service request is"),
        ("target_date",): target,
        **_via_field(s),
    }
    payload = {
        "description": one(v, "description"),
        "target_date": date_value(v, "target_date", target, problems),
        "via": _via(s, v, ctx, problems),
    }
    return ParsedForm(payload, fields, _e(s, "description", "the description"), v, problems)


def _contact_rule(step: EnquiryStep) -> Callable[[str], FieldInfo]:
    def rule(message: str) -> FieldInfo:
        if "is post but" in message:
            return _e(step, "contact_address_lines", "the postal address")
        return _e(step, "contact_email", "an email address", "email")

    return rule


def _contact(
    step: EnquiryStep, v: FormValues, ctx: StepContext
) -> tuple[dict[str, Any] | None, dict[tuple[Any, ...], FieldFor]]:
    """The complainant's details a complaint needs when the enquiry has no email or postal
    address (the form asks only then); None when none were given."""
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("contact",): _contact_rule(step),
        ("contact", "email"): _e(step, "contact_email", "the email address", "email"),
        ("contact", "address"): _e(step, "contact_address_lines", "the postal address"),
        ("contact", "address", "lines"): _e(
            step, "contact_address_lines", "the first line of the address"
        ),
        ("contact", "address", "postcode"): _e(step, "contact_postcode", "the postcode"),
    }
    email = optional(v, "contact_email")
    postal = address(v, "contact_")
    if not (email or postal):
        return None, fields
    enquirer = ctx.case.enquirer
    contact = {
        "name": enquirer.name,
        "email": email,
        "phone": enquirer.phone,
        "address": postal,
        "preferred_contact": "email" if email else "post",
        "reasonable_adjustments": enquirer.reasonable_adjustments,
        "adjustments": (
            enquirer.adjustments.model_dump(mode="json") if enquirer.adjustments else None
        ),
    }
    return contact, fields


def _parse_raise_complaint(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.raise_complaint
    contact, fields = _contact(s, v, ctx)
    dissatisfaction = _e(s, "dissatisfaction", "what the resident is unhappy about")
    fields[("dissatisfaction",)] = dissatisfaction
    fields[("points",)] = _e(s, "points-0", "the points of the complaint")
    payload = {
        "dissatisfaction": one(v, "dissatisfaction"),
        "points": lines(v, "points"),
        "contact": contact,
    }
    return ParsedForm(payload, fields, dissatisfaction, v)


def _parse_convert(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = EnquiryStep.convert
    contact, fields = _contact(s, v, ctx)
    fields[("points",)] = _e(s, "points-0", "the points of the complaint")
    fields[("outcome_sought",)] = _e(s, "outcome_sought", "the outcome the resident wants")
    payload = {
        "points": lines(v, "points"),
        "outcome_sought": optional(v, "outcome_sought"),
        "contact": contact,
    }
    return ParsedForm(payload, fields, _e(s, "points-0", "the points"), v)


ENQUIRY_STEP_PARSERS: dict[EnquiryStep, StepParser] = {
    EnquiryStep.assign: assign_parser(EnquiryStep.assign, "who to assign the enquiry to"),
    EnquiryStep.reply: _parse_reply,
    EnquiryStep.holding_reply: _parse_holding_reply,
    EnquiryStep.pass_to_team: _parse_pass_to_team,
    EnquiryStep.record_update_preference: _parse_update_preference,
    EnquiryStep.record_service_request: _parse_service_request,
    EnquiryStep.raise_complaint: _parse_raise_complaint,
    EnquiryStep.convert: _parse_convert,
    EnquiryStep.close: text_parser(
        EnquiryStep.close, "reason", "why the enquiry closes without a reply"
    ),
}


# ------------------------------------------------------------------- a new enquiry


_new = intake_field("enquiry")


def _rule(name: str, rule: str) -> FieldInfo:
    return FieldInfo(id=f"enquiry-{name}", noun=name.replace("_", " "), rule=rule)


def _enquirer_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole enquirer is about, from what it says, and what to
    tell staff."""
    if only := only_way_rule("enquiry", message):
        return only
    if "is post but" in message:
        return _rule(
            "address_lines", "Enter a postal address, or choose another way to contact them"
        )
    if "is phone but" in message:
        return _rule("phone", "Enter a phone number, or choose another way to contact them")
    return _rule(
        "email",
        "Give at least one way to reply: an email address, a phone number, a postal address "
        "or a social media name",
    )


def _enquiry_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole enquiry is about."""
    if "public_post" in message:
        return _rule("public_post", "Only a social media message can be a public post: untick it")
    if "callback_from_returns_on" in message:
        return _rule(
            "callback_from", "Choose who the resident asked for, or clear the date they are back"
        )
    return _rule("callback_from", "Choose who the resident asked to call them back")


_RETURNS_ON = _new("callback_from_returns_on", "the date they are back", "date")

NEW_ENQUIRY_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    (): _enquiry_rule,
    ("enquirer",): _enquirer_rule,
    **person_fields(_new, "enquirer", "the name of the person getting in touch"),
    ("enquirer", "social_handle"): _new("social_handle", "the social media name"),
    ("subject",): _new("subject", "what the enquiry is about, in a few words"),
    ("message",): _new("message", "the resident's message"),
    ("addressed_to",): _new("addressed_to", "who it was addressed to"),
    ("callback_from",): _new("callback_from", "who the resident asked for", "choice"),
    ("callback_from_returns_on",): _RETURNS_ON,
}


def _enquiry(
    v: FormValues, accounts: Mapping[str, Account], problems: list[Problem]
) -> dict[str, Any]:
    enquirer = {**person(v), "social_handle": optional(v, "social_handle")}
    if enquirer["preferred_contact"] is None:
        del enquirer["preferred_contact"]  # the model's default, adjusted to what was given
    return {
        "enquirer": enquirer,
        "subject": one(v, "subject"),
        "message": one(v, "message"),
        "addressed_to": optional(v, "addressed_to"),
        "addressed_to_executive": checked(v, "addressed_to_executive"),
        "public_post": checked(v, "public_post"),
        "callback_from": chosen_staff(
            v,
            "callback_from",
            accounts,
            "enquiry-callback_from",
            "who the resident asked for",
            problems,
        ),
        "callback_from_returns_on": date_value(
            v, "callback_from_returns_on", _RETURNS_ON, problems
        ),
    }


# A `LodgeEnquiry` payload from the "log an enquiry" form.
parse_enquiry = new_case_parser(
    "enquiry",
    NEW_ENQUIRY_FIELDS,
    _enquiry,
    channel="how the resident got in touch",
    owner="an owner",
)


# ------------------------------------------------------------ what each box takes

for _step, _model in ENQUIRY_STEP_MODELS.items():
    register_limits(_step.value, _model)
register_limits("enquiry", LodgeEnquiry)
register_limits("enquiry", Enquirer)
register_limits("enquiry", Adjustments, {n: n for n in ("interpreter_language", "contact_times")})
register_limits("enquiry", ContactThrough, THROUGH_BOXES)
