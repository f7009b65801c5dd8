"""Enquiry forms: each staff step's form, and "log an enquiry", as payloads for the domain models
(`ENQUIRY_STEP_MODELS`, `LodgeEnquiry`), with the map from the models' error locations to the
form's fields. The machinery (ParsedForm, plain-English messages, dates and times) is
admin/forms.py's; only what is particular to enquiries is here."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from admin.accounts import Account
from admin.forms import (
    FieldFor,
    FieldInfo,
    FormValues,
    ParsedForm,
    Problem,
    _checked,
    _date_value,
    _lines,
    _one,
    _optional,
    _staff,
    received_moment,
)
from domain.enquiry import CHANNEL_LABELS, EnquiryStatus, EnquiryStep, ReplyVia, UpdatePreference
from domain.enquiry import default_via as domain_default_via
from domain.enquiry import reachable as domain_reachable
from domain.people import ContactMethod

ENQUIRY_REFERENCE = re.compile(r"^ENQ-[0-9A-Z]{4}-[0-9A-Z]{4}$")
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
ENQUIRER_CONTACT: list[tuple[str, str]] = [
    (ContactMethod.email.value, "Email"),
    (ContactMethod.post.value, "Post"),
    (ContactMethod.phone.value, "Phone"),
]


def default_via(enquiry: EnquiryStatus) -> ReplyVia:
    """How a reply goes when staff leave the choice to the case (the workflow's own rule)."""
    return enquiry.reply_via or domain_default_via(enquiry.enquirer, enquiry.update_preference)


def reachable(enquiry: EnquiryStatus) -> list[ReplyVia]:
    return domain_reachable(enquiry.enquirer)


def via_options(enquiry: EnquiryStatus) -> list[tuple[str, str]]:
    """The "how it goes" radios: the case's own choice first, then each way that reaches them."""
    usual = VIA_LABELS[default_via(enquiry)].split(" (")[0].lower()
    options = [("", f"The resident's usual way: {usual}")]
    return options + [(via.value, VIA_LABELS[via]) for via in reachable(enquiry)]


# --------------------------------------------------------------------- staff steps


@dataclass(frozen=True)
class EnquiryStepContext:
    account: Account
    accounts: Mapping[str, Account]  # active accounts by id
    now: datetime
    enquiry: EnquiryStatus


def _e(step: EnquiryStep, name: str, noun: str, kind: str = "text") -> FieldInfo:
    return FieldInfo(id=f"{step.value}-{name}", noun=noun, kind=kind)


def _via_field(step: EnquiryStep) -> dict[tuple[Any, ...], FieldFor]:
    return {("via",): _e(step, "via", "how the resident hears from us", "choice")}


def _parse_assign(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    owner = _e(EnquiryStep.assign, "owner", "who to assign the enquiry to", "choice")
    payload = {"owner": _staff(ctx.accounts, _one(v, "owner"))}
    return ParsedForm(payload, {("owner",): owner}, owner, v)


def _parse_reply(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.reply
    message = _e(s, "message", "the reply")
    fields = {("message",): message, **_via_field(s)}
    payload = {
        "message": _one(v, "message"),
        "via": _optional(v, "via"),
        "closes": _checked(v, "closes"),
    }
    return ParsedForm(payload, fields, message, v)


def _parse_holding_reply(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.holding_reply
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("estimated_date",): _e(s, "estimated_date", "when we expect to reply in full", "date"),
        ("reasons",): _e(s, "reasons", "why the full reply will take longer"),
        **_via_field(s),
    }
    payload = {
        "estimated_date": _date_value(v, "estimated_date"),
        "reasons": _one(v, "reasons"),
        "via": _optional(v, "via"),
    }
    return ParsedForm(payload, fields, _e(s, "reasons", "the reasons"), v)


def _parse_pass_to_team(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.pass_to_team
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("team",): _e(s, "team", "the team the enquiry goes to"),
        ("next_steps",): _e(s, "next_steps", "the next steps, for the resident"),
        ("owner",): _e(s, "owner", "who in that team has it", "choice"),
        **_via_field(s),
    }
    owner_id = _one(v, "owner")
    owner = _staff(ctx.accounts, owner_id)
    problems = []
    if owner_id and owner is None:
        problems.append(Problem(f"#{s.value}-owner", "Choose who has it from the list"))
    payload = {
        "team": _one(v, "team"),
        "next_steps": _one(v, "next_steps"),
        "owner": owner,
        "via": _optional(v, "via"),
    }
    return ParsedForm(payload, fields, _e(s, "team", "the team"), v, problems)


def _parse_update_preference(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    method = _e(
        EnquiryStep.record_update_preference, "method", "how the resident wants updates", "choice"
    )
    return ParsedForm({"method": _optional(v, "method")}, {("method",): method}, method, v)


def _parse_service_request(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.record_service_request
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("description",): _e(s, "description", "what the service request is"),
        ("target_date",): _e(s, "target_date", "the target date", "date"),
        **_via_field(s),
    }
    payload = {
        "description": _one(v, "description"),
        "target_date": _date_value(v, "target_date"),
        "via": _optional(v, "via"),
    }
    return ParsedForm(payload, fields, _e(s, "description", "the description"), v)


def _contact_rule(step: EnquiryStep) -> Callable[[str], FieldInfo]:
    def rule(message: str) -> FieldInfo:
        if "is post but" in message:
            return _e(step, "contact_address_lines", "the postal address")
        return _e(step, "contact_email", "an email address", "email")

    return rule


def _contact(
    step: EnquiryStep, v: FormValues, ctx: EnquiryStepContext
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
    email = _optional(v, "contact_email")
    text = _one(v, "contact_address_lines")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    postcode = _one(v, "contact_postcode").upper()
    if not (email or lines or postcode):
        return None, fields
    person = ctx.enquiry.enquirer
    contact = {
        "name": person.name,
        "email": email,
        "phone": person.phone,
        "address": {"lines": lines, "postcode": postcode} if lines or postcode else None,
        "preferred_contact": "email" if email else "post",
        "reasonable_adjustments": person.reasonable_adjustments,
    }
    return contact, fields


def _parse_raise_complaint(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.raise_complaint
    contact, fields = _contact(s, v, ctx)
    dissatisfaction = _e(s, "dissatisfaction", "what the resident is unhappy about")
    fields[("dissatisfaction",)] = dissatisfaction
    fields[("points",)] = _e(s, "points-0", "the points of the complaint")
    payload = {
        "dissatisfaction": _one(v, "dissatisfaction"),
        "points": _lines(v, "points"),
        "contact": contact,
    }
    return ParsedForm(payload, fields, dissatisfaction, v)


def _parse_convert(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    s = EnquiryStep.convert
    contact, fields = _contact(s, v, ctx)
    fields[("points",)] = _e(s, "points-0", "the points of the complaint")
    fields[("outcome_sought",)] = _e(s, "outcome_sought", "the outcome the resident wants")
    payload = {
        "points": _lines(v, "points"),
        "outcome_sought": _optional(v, "outcome_sought"),
        "contact": contact,
    }
    return ParsedForm(payload, fields, _e(s, "points-0", "the points"), v)


def _parse_close(v: FormValues, ctx: EnquiryStepContext) -> ParsedForm:
    reason = _e(EnquiryStep.close, "reason", "why the enquiry closes without a reply")
    return ParsedForm({"reason": _one(v, "reason")}, {("reason",): reason}, reason, v)


ENQUIRY_STEP_PARSERS: dict[EnquiryStep, Callable[[FormValues, EnquiryStepContext], ParsedForm]] = {
    EnquiryStep.assign: _parse_assign,
    EnquiryStep.reply: _parse_reply,
    EnquiryStep.holding_reply: _parse_holding_reply,
    EnquiryStep.pass_to_team: _parse_pass_to_team,
    EnquiryStep.record_update_preference: _parse_update_preference,
    EnquiryStep.record_service_request: _parse_service_request,
    EnquiryStep.raise_complaint: _parse_raise_complaint,
    EnquiryStep.convert: _parse_convert,
    EnquiryStep.close: _parse_close,
}


def parse_enquiry_step(
    step: EnquiryStep, values: FormValues, ctx: EnquiryStepContext
) -> ParsedForm:
    """The step's payload from its form; `by` is always the signed-in account, never the form."""
    parsed = ENQUIRY_STEP_PARSERS[step](values, ctx)
    parsed.payload["by"] = ctx.account.id
    return parsed


# ------------------------------------------------------------------- a new enquiry


def _new(name: str, noun: str, kind: str = "text") -> FieldInfo:
    return FieldInfo(id=f"enquiry-{name}", noun=noun, kind=kind)


def _rule(name: str, rule: str) -> FieldInfo:
    return FieldInfo(id=f"enquiry-{name}", noun=name.replace("_", " "), rule=rule)


def _enquirer_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole enquirer is about, from what it says, and what to
    tell staff."""
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


NEW_ENQUIRY_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    (): _enquiry_rule,
    ("enquirer",): _enquirer_rule,
    ("enquirer", "name"): _new("name", "the name of the person getting in touch"),
    ("enquirer", "email"): _new("email", "the email address", "email"),
    ("enquirer", "phone"): _new("phone", "the phone number"),
    ("enquirer", "address"): _new("address_lines", "the postal address"),
    ("enquirer", "address", "lines"): _new("address_lines", "the first line of the address"),
    ("enquirer", "address", "postcode"): _new("postcode", "the postcode"),
    ("enquirer", "social_handle"): _new("social_handle", "the social media name"),
    ("enquirer", "preferred_contact"): _new(
        "preferred_contact", "how they want us to contact them", "choice"
    ),
    ("enquirer", "reasonable_adjustments"): _new(
        "reasonable_adjustments", "the reasonable adjustments"
    ),
    ("channel",): _new("channel", "how the resident got in touch", "choice"),
    ("received_at",): _new("received_date", "the date the enquiry was received", "date"),
    ("subject",): _new("subject", "what the enquiry is about, in a few words"),
    ("message",): _new("message", "the resident's message"),
    ("addressed_to",): _new("addressed_to", "who it was addressed to"),
    ("callback_from",): _new("callback_from", "who the resident asked for", "choice"),
    ("callback_from_returns_on",): _new(
        "callback_from_returns_on", "the date they are back", "date"
    ),
    ("owner",): _new("owner", "the owner", "choice"),
}


def parse_enquiry(
    v: FormValues,
    *,
    reference: str,
    account: Account,
    accounts: Mapping[str, Account],
    now: datetime,
) -> ParsedForm:
    """A `LodgeEnquiry` payload from the "log an enquiry" form. The received date and time are
    UK time, so the out-of-hours rule applies to when the resident got in touch."""
    received, problems = received_moment(v, "enquiry-received", now)
    lines = [line.strip() for line in _one(v, "address_lines").splitlines() if line.strip()]
    postcode = _one(v, "postcode").upper()
    enquirer: dict[str, Any] = {
        "name": _one(v, "name"),
        "email": _optional(v, "email"),
        "phone": _optional(v, "phone"),
        "address": {"lines": lines, "postcode": postcode} if lines or postcode else None,
        "social_handle": _optional(v, "social_handle"),
        "preferred_contact": _one(v, "preferred_contact") or None,
        "reasonable_adjustments": _optional(v, "reasonable_adjustments"),
    }
    if enquirer["preferred_contact"] is None:
        del enquirer["preferred_contact"]  # the model's default, adjusted to what was given
    people: dict[str, dict[str, Any] | None] = {}
    for name, what in (("callback_from", "who the resident asked for"), ("owner", "an owner")):
        chosen = _one(v, name)
        people[name] = _staff(accounts, chosen)
        if chosen and people[name] is None:
            problems.append(Problem(f"#enquiry-{name}", f"Choose {what} from the list"))
    payload: dict[str, Any] = {
        "reference": reference,
        "enquirer": enquirer,
        "channel": _one(v, "channel") or None,
        "received_at": received or now.isoformat(),  # a problem is already recorded if so
        "subject": _one(v, "subject"),
        "message": _one(v, "message"),
        "addressed_to": _optional(v, "addressed_to"),
        "addressed_to_executive": _checked(v, "addressed_to_executive"),
        "public_post": _checked(v, "public_post"),
        "callback_from": people["callback_from"],
        "callback_from_returns_on": _date_value(v, "callback_from_returns_on"),
        "owner": people["owner"],
        "lodged_by": account.id,
    }
    return ParsedForm(payload, NEW_ENQUIRY_FIELDS, _new("name", "the name"), v, problems)
