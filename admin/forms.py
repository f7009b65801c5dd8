"""HTML form posts in, step payloads and new complaints out; pydantic's errors back as
plain-English messages tied to the field they are about (for the GOV.UK error summary).

Each parser returns a `ParsedForm`: the payload to validate against the domain model, a map from
the model's error locations to the form's fields, any problems found before validation (a time
with no date), and the values as posted so the page can be shown again with them. Validation
itself is the domain's (`STEP_MODELS`, `LodgeComplaint`, `NewAccount`): nothing is checked twice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from admin.accounts import ROLE_LABELS, Account
from domain.complaint import DECLINE_REASON_TEXT, Step
from domain.intake import ReceivedInFuture, check_received_at
from domain.letters import Decision
from domain.people import Channel, ComplainantType, ContactMethod

LONDON = ZoneInfo("Europe/London")
SPARE_POINTS = 2  # empty "add a point" boxes under a case's points
NEW_POINTS = 5  # point boxes on the "log a complaint" form
MAX_POINTS = 30
FUTURE_SLACK = timedelta(minutes=5)
# A hidden field on every intake form, a fresh token each time the form is shown: the case's
# reference is derived from it (starter.cases.lodge_once), so the same form sent twice (a double
# click, back and resend) lodges one case.
SUBMISSION = "submission"
SUBMISSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
RECEIVED_IN_FUTURE = "The date and time it was received is in the future"

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
PREFERRED_CONTACT: list[tuple[str, str]] = [
    (ContactMethod.email.value, "Email"),
    (ContactMethod.post.value, "Post"),
    (ContactMethod.phone.value, "Phone"),
]
DECLINE_REASONS: list[tuple[str, str]] = [
    (reason.value, text[0].upper() + text[1:]) for reason, text in DECLINE_REASON_TEXT.items()
]
ROLES: list[tuple[str, str]] = [(role.value, label) for role, label in ROLE_LABELS.items()]

# ------------------------------------------------------------------------ form state

FormValues = dict[str, list[str]]


def form_values(form: Any) -> FormValues:
    """A Starlette FormData as {name: [values]}, without the CSRF token or uploads."""
    out: FormValues = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name != "csrf_token":
            out.setdefault(name, []).append(value)
    return out


@dataclass
class FormState:
    """What a form shows: the posted values (or None for a fresh form) and each field's error."""

    values: FormValues | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def submitted(self) -> bool:
        return self.values is not None

    def value(self, name: str, default: Any = "") -> str:
        if self.values is None:
            return "" if default is None else str(default)
        return (self.values.get(name) or [""])[0]

    def values_of(self, name: str, default: list[str]) -> list[str]:
        if self.values is None:
            return list(default)
        return list(self.values.get(name) or [""])

    def checked(self, name: str, default: bool = False) -> bool:
        if self.values is None:
            return default
        return bool(self.values.get(name))

    def error(self, field_id: str) -> str | None:
        return self.errors.get(field_id)


@dataclass(frozen=True)
class Problem:
    """One line of the error summary: the message and the field it links to."""

    href: str
    text: str


@dataclass(frozen=True)
class FieldInfo:
    """A form field as messages name it. `noun` completes "Enter ..." / "Choose ..."."""

    id: str
    noun: str
    kind: str = "text"  # text | choice | date | number | money | email | check | password
    rule: str | None = None  # what to say when a rule across fields fails (a value_error)


FieldFor = FieldInfo | Callable[[str], FieldInfo]


@dataclass
class ParsedForm:
    payload: dict[str, Any]
    fields: dict[tuple[Any, ...], FieldFor]
    fallback: FieldInfo
    values: FormValues
    problems: list[Problem] = field(default_factory=list)

    def state(self, problems: list[Problem]) -> FormState:
        errors: dict[str, str] = {}
        for p in problems:
            errors.setdefault(p.href.removeprefix("#"), p.text)
        return FormState(values=self.values, errors=errors)

    def explain(self, err: ValidationError) -> list[Problem]:
        """The problems found before validation, then each of pydantic's, in plain English."""
        out = list(self.problems)
        for error in err.errors():
            info = self._field(tuple(error["loc"]), _raw_message(error))
            problem = Problem(href=f"#{info.id}", text=plain_message(error, info))
            if problem not in out:
                out.append(problem)
        return out

    def _field(self, loc: tuple[Any, ...], message: str) -> FieldInfo:
        for n in range(len(loc), -1, -1):
            found = self.fields.get(loc[:n])
            if found is not None:
                return found(message) if callable(found) else found
        return self.fallback


# ------------------------------------------------------------------ plain English


def _raw_message(error: ErrorDetails) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _sentence(text: str) -> str:
    text = re.sub(r"\b([a-z]+(?:_[a-z]+)+)\b", lambda m: m.group(1).replace("_", " "), text)
    return text[:1].upper() + text[1:]


def plain_message(error: ErrorDetails, info: FieldInfo) -> str:
    """A GOV.UK-style message for one pydantic error on the field `info`."""
    kind, kind_of_error = info.kind, error["type"]
    ctx = error.get("ctx") or {}
    noun = info.noun
    if kind_of_error == "value_error":
        if info.rule:
            return info.rule
        if kind == "email":
            return f"Enter {noun} in the right format, like name@example.com"
        return _sentence(_raw_message(error))
    if kind == "choice":
        return f"Choose {noun}"
    if kind_of_error in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        unit = "characters" if kind_of_error == "string_too_long" else "entries"
        return _sentence(f"{noun} must be {limit} {unit} or fewer")
    if kind_of_error in ("missing", "string_too_short", "too_short", "string_type", "none"):
        return f"Enter {noun}"
    if kind_of_error.startswith(("date", "datetime")):
        return f"Enter {noun} as a real date, like 27/3/2027"
    if kind_of_error.startswith("int"):
        return f"Enter {noun} as a whole number, like 5"
    if kind_of_error.startswith("decimal"):
        return f"Enter {noun} as an amount in pounds, like 50 or 25.50"
    if kind_of_error in ("greater_than_equal", "greater_than"):
        return _sentence(f"{noun} must be at least {ctx.get('ge', ctx.get('gt'))}")
    if kind_of_error in ("less_than_equal", "less_than"):
        return _sentence(f"{noun} must be no more than {ctx.get('le', ctx.get('lt'))}")
    if kind_of_error == "string_pattern_mismatch":
        return f"Enter {noun}"
    if kind == "email":
        return f"Enter {noun} in the right format, like name@example.com"
    return _sentence(f"{noun}: {_raw_message(error)}")


# ------------------------------------------------------------------------- helpers


def _one(values: FormValues, name: str) -> str:
    return (values.get(name) or [""])[0].strip()


def _optional(values: FormValues, name: str) -> str | None:
    return _one(values, name) or None


def _checked(values: FormValues, name: str) -> bool:
    return bool(values.get(name))


def _lines(values: FormValues, name: str) -> list[str]:
    return [v.strip() for v in values.get(name, []) if v.strip()]


def parse_date(text: str) -> date | None:
    """A date as a date input sends it (2027-03-26) or as people type it (26/3/2027)."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{1,2})[/ .-](\d{1,2})[/ .-](\d{4})", text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def parse_time(text: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::\d{2})?", text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _date_value(values: FormValues, name: str) -> str | None:
    """ISO date for the payload; text that is no date goes through for pydantic to refuse."""
    text = _one(values, name)
    if not text:
        return None
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else text


def moment(
    values: FormValues, prefix: str, field_id: str, what: str, now: datetime | None = None
) -> tuple[str | None, list[Problem]]:
    """`{prefix}_date` and `{prefix}_time` (UK time) as an ISO moment, or None when both are
    blank; with the problems found (no date, no time, not real, in the future)."""
    day_text, time_text = _one(values, f"{prefix}_date"), _one(values, f"{prefix}_time")
    if not day_text and not time_text:
        return None, []
    day = parse_date(day_text) if day_text else None
    at = parse_time(time_text) if time_text else None
    problems: list[Problem] = []
    if day is None:
        verb = "Enter" if not day_text else "Enter a real date for"
        problems.append(Problem(f"#{field_id}_date", f"{verb} the date {what}"))
    if at is None:
        verb = "Enter" if not time_text else "Enter a real time, like 17:30, for"
        problems.append(Problem(f"#{field_id}_time", f"{verb} the time {what}"))
    if day is None or at is None:
        return None, problems
    result = datetime.combine(day, at, tzinfo=LONDON)
    if now is not None and result > now + FUTURE_SLACK:
        return None, [Problem(f"#{field_id}_date", f"The date and time {what} is in the future")]
    return result.isoformat(), []


def new_submission() -> str:
    """A token for the SUBMISSION field of a form being shown."""
    return secrets.token_urlsafe(24)


def submission_key(text: str | None) -> str | None:
    """The posted SUBMISSION token if it looks like one we made, else None (a fresh reference)."""
    text = (text or "").strip()
    return text if SUBMISSION_PATTERN.fullmatch(text) else None


def received_moment(
    values: FormValues, field_id: str, now: datetime
) -> tuple[str | None, list[Problem]]:
    """The "when it was received" date and time of an intake form (`received_date` and
    `received_time`, UK time) as an ISO moment; required, and refused if in the future by the
    rule every intake applies (domain.intake.check_received_at)."""
    received, problems = moment(values, "received", field_id, "it was received")
    if received is None:
        if not problems:
            problems.append(Problem(f"#{field_id}_date", "Enter the date it was received"))
        return None, problems
    try:
        check_received_at(datetime.fromisoformat(received), now)
    except ReceivedInFuture:
        return None, [Problem(f"#{field_id}_date", RECEIVED_IN_FUTURE)]
    return received, []


def _staff(accounts: Mapping[str, Account], account_id: str | None) -> dict[str, Any] | None:
    account = accounts.get(account_id or "")
    return account.as_staff().model_dump() if account else None


# --------------------------------------------------------------------- staff steps


@dataclass(frozen=True)
class StepContext:
    """What a step's form needs besides the post: who is signed in, who may be chosen, now."""

    account: Account
    accounts: Mapping[str, Account]  # active accounts by id
    now: datetime


def _f(step: Step, name: str, noun: str, kind: str = "text") -> FieldInfo:
    return FieldInfo(id=f"{step.value}-{name}", noun=noun, kind=kind)


def _parse_accept(v: FormValues, ctx: StepContext) -> ParsedForm:
    return ParsedForm({}, {}, _f(Step.accept, "submit", "the step"), v)


def _parse_decline(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.decline
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("reason",): _f(s, "reason", "the reason we cannot accept the complaint", "choice"),
        ("explanation",): _f(s, "explanation", "an explanation for the resident"),
    }
    payload = {"reason": _optional(v, "reason"), "explanation": _one(v, "explanation")}
    return ParsedForm(payload, fields, _f(s, "reason", "the reason"), v)


def _parse_service_request(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.record_service_request
    notes = _f(s, "notes", "what the service request is and what happens next")
    return ParsedForm({"notes": _one(v, "notes")}, {("notes",): notes}, notes, v)


def _parse_contact(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.record_contact
    at, problems = moment(v, "at", f"{s.value}-at", "of the contact", ctx.now)
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("method",): _f(s, "method", "how you contacted the resident", "choice"),
        ("notes",): _f(s, "notes", "notes of the contact"),
        ("at",): _f(s, "at_date", "the date of the contact", "date"),
    }
    payload = {"method": _one(v, "method") or "phone", "notes": _one(v, "notes"), "at": at}
    return ParsedForm(payload, fields, _f(s, "notes", "notes"), v, problems)


def _parse_assign(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.assign
    owner = _f(s, "owner", "who to assign the case to", "choice")
    payload = {"owner": _staff(ctx.accounts, _one(v, "owner"))}
    return ParsedForm(payload, {("owner",): owner}, owner, v)


def _parse_points(step: Step, v: FormValues, outcome_required: bool) -> ParsedForm:
    points = _f(step, "points-0", "at least one point of the complaint")
    outcome = _f(step, "outcome_sought", "the outcome the resident is looking for")
    payload: dict[str, Any] = {"points": _lines(v, "points")}
    text = _one(v, "outcome_sought")
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
        ("reasons",): _f(s, "reasons", "the reasons for the extension"),
        ("working_days",): _f(s, "working_days", "the number of working days to add", "number"),
        ("agreed_date",): _f(s, "agreed_date", "the date agreed with the resident", "date"),
    }
    payload = {
        "reasons": _one(v, "reasons"),
        "working_days": _optional(v, "working_days"),
        "discussed_with_resident": _checked(v, "discussed_with_resident"),
        "exceptional": _checked(v, "exceptional"),
        "resident_agreed": _checked(v, "resident_agreed"),
        "agreed_date": _date_value(v, "agreed_date"),
    }
    return ParsedForm(payload, fields, _f(s, "reasons", "the reasons"), v)


def _parse_respond(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.respond
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("decisions",): _f(s, "decision_0", "a decision on each point", "choice"),
        ("summary",): _f(s, "summary", "a summary of the response"),
        ("remedies", "apology"): _f(s, "apology", "the apology"),
        ("remedies", "actions", 0, "action"): _f(s, "action", "the action we will take"),
        ("remedies", "actions", 0, "owner"): _f(s, "action_owner", "who will take the action"),
        ("remedies", "actions", 0, "due"): _f(s, "action_due", "when the action is due", "date"),
        ("remedies", "compensation"): _f(s, "compensation", "the compensation", "money"),
    }
    decisions: list[dict[str, Any]] = []
    i = 0
    while f"point_{i}" in v and i < MAX_POINTS:
        decision, reasons = _optional(v, f"decision_{i}"), _one(v, f"reasons_{i}")
        if decision or reasons:  # a point left blank is missing: the workflow says which
            j, n = len(decisions), i + 1
            fields[("decisions", j, "decision")] = _f(
                s, f"decision_{i}", f"a decision on point {n}", "choice"
            )
            fields[("decisions", j)] = _f(
                s, f"reasons_{i}", f"the reasons for the decision on point {n}"
            )
            decisions.append(
                {"point": _one(v, f"point_{i}"), "decision": decision, "reasons": reasons}
            )
        i += 1
    actions = []
    if any(_one(v, n) for n in ("action", "action_owner", "action_due")):
        actions.append(
            {
                "action": _one(v, "action"),
                "owner": _one(v, "action_owner"),
                "due": _date_value(v, "action_due"),
            }
        )
    money = re.sub(r"[£,\s]", "", _one(v, "compensation"))
    payload = {
        "decisions": decisions,
        "summary": _one(v, "summary"),
        "remedies": {
            "apology": _optional(v, "apology"),
            "actions": actions,
            "compensation": money or None,
        },
    }
    return ParsedForm(payload, fields, _f(s, "summary", "the summary"), v)


def _parse_escalate(v: FormValues, ctx: StepContext) -> ParsedForm:
    s = Step.escalate
    at, problems = moment(v, "requested", f"{s.value}-requested", "the resident asked", ctx.now)
    reviewer_id = _one(v, "reviewer")
    reviewer = _staff(ctx.accounts, reviewer_id)
    if reviewer_id and reviewer is None:
        problems.append(Problem(f"#{s.value}-reviewer", "Choose a reviewer from the list"))
    fields: dict[tuple[Any, ...], FieldFor] = {
        ("requested_at",): _f(s, "requested_date", "the date the resident asked", "date"),
        ("exceptional_circumstances",): _f(
            s, "exceptional_circumstances", "the exceptional circumstances"
        ),
        ("reviewer",): _f(s, "reviewer", "the stage 2 reviewer", "choice"),
    }
    payload = {
        "requested_at": at,
        "exceptional_circumstances": _optional(v, "exceptional_circumstances"),
        "reviewer": reviewer,
    }
    return ParsedForm(payload, fields, _f(s, "requested_date", "the date"), v, problems)


def _parse_withdraw(v: FormValues, ctx: StepContext) -> ParsedForm:
    reason = _f(Step.withdraw, "reason", "why the resident withdrew the complaint")
    return ParsedForm({"reason": _one(v, "reason")}, {("reason",): reason}, reason, v)


STEP_PARSERS: dict[Step, Callable[[FormValues, StepContext], ParsedForm]] = {
    Step.accept: _parse_accept,
    Step.decline: _parse_decline,
    Step.record_service_request: _parse_service_request,
    Step.record_contact: _parse_contact,
    Step.assign: _parse_assign,
    Step.acknowledge: _parse_acknowledge,
    Step.extend: _parse_extend,
    Step.respond: _parse_respond,
    Step.escalate: _parse_escalate,
    Step.raise_new_issues: _parse_new_issues,
    Step.withdraw: _parse_withdraw,
}


def parse_step(step: Step, values: FormValues, ctx: StepContext) -> ParsedForm:
    """The step's payload from its form; `by` is always the signed-in account, never the form."""
    parsed = STEP_PARSERS[step](values, ctx)
    parsed.payload["by"] = ctx.account.id
    return parsed


# ------------------------------------------------------------------ a new complaint


def _intake(name: str, noun: str, kind: str = "text") -> FieldInfo:
    return FieldInfo(id=f"complaint-{name}", noun=noun, kind=kind)


def _resident_rule(message: str) -> FieldInfo:
    """Which field a rule about the whole resident is about, from what it says."""
    if "third_party" in message or "third party" in message:
        return _intake("third_party_consent", "the resident's consent", "check")
    if "is post but" in message:
        return _intake("address_lines", "the postal address")
    return _intake("email", "an email address", "email")


INTAKE_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    ("resident",): _resident_rule,
    ("resident", "name"): _intake("name", "the name of the person complaining"),
    ("resident", "email"): _intake("email", "the email address", "email"),
    ("resident", "phone"): _intake("phone", "the phone number"),
    ("resident", "address"): _intake("address_lines", "the postal address"),
    ("resident", "address", "lines"): _intake("address_lines", "the first line of the address"),
    ("resident", "address", "postcode"): _intake("postcode", "the postcode"),
    ("resident", "preferred_contact"): _intake(
        "preferred_contact", "how they want us to contact them", "choice"
    ),
    ("resident", "complainant_type"): _intake("complainant_type", "who is complaining", "choice"),
    ("resident", "acting_for"): _intake("acting_for", "who the third party is acting for"),
    ("resident", "reasonable_adjustments"): _intake(
        "reasonable_adjustments", "the reasonable adjustments"
    ),
    ("channel",): _intake("channel", "how the complaint was made", "choice"),
    ("received_at",): _intake("received_date", "the date the complaint was received", "date"),
    ("description",): _intake("description", "what the complaint is about"),
    ("points",): _intake("points-0", "the points of the complaint"),
    ("outcome_sought",): _intake("outcome_sought", "the outcome they are looking for"),
    ("incident_date",): _intake("incident_date", "the date it happened", "date"),
    ("became_aware_date",): _intake(
        "became_aware_date", "the date they became aware of it", "date"
    ),
    ("owner",): _intake("owner", "the case owner", "choice"),
}


def parse_complaint(
    v: FormValues,
    *,
    reference: str,
    account: Account,
    accounts: Mapping[str, Account],
    now: datetime,
) -> ParsedForm:
    """A `LodgeComplaint` payload from the "log a complaint" form. The received date and time
    are UK time, so the out-of-hours rule applies to when the resident got in touch."""
    received, problems = received_moment(v, "complaint-received", now)
    lines = [line.strip() for line in _one(v, "address_lines").splitlines() if line.strip()]
    postcode = _one(v, "postcode").upper()
    resident: dict[str, Any] = {
        "name": _one(v, "name"),
        "email": _optional(v, "email"),
        "phone": _optional(v, "phone"),
        "address": {"lines": lines, "postcode": postcode} if lines or postcode else None,
        "preferred_contact": _one(v, "preferred_contact") or None,
        "complainant_type": _one(v, "complainant_type") or None,
        "third_party_consent": _checked(v, "third_party_consent"),
        "acting_for": _optional(v, "acting_for"),
        "reasonable_adjustments": _optional(v, "reasonable_adjustments"),
    }
    owner_id = _one(v, "owner")
    owner = _staff(accounts, owner_id)
    if owner_id and owner is None:
        problems.append(Problem("#complaint-owner", "Choose a case owner from the list"))
    payload: dict[str, Any] = {
        "reference": reference,
        "resident": resident,
        "channel": _one(v, "channel") or None,
        "received_at": received or now.isoformat(),  # a problem is already recorded if so
        "description": _one(v, "description"),
        "points": _lines(v, "points"),
        "outcome_sought": _optional(v, "outcome_sought"),
        "incident_date": _date_value(v, "incident_date"),
        "became_aware_date": _date_value(v, "became_aware_date"),
        "owner": owner,
        "lodged_by": account.id,
    }
    fallback = _intake("name", "the name")
    return ParsedForm(payload, INTAKE_FIELDS, fallback, v, problems)


# ------------------------------------------------------------------- staff accounts

ACCOUNT_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    ("id",): FieldInfo("new-id", "a username of lower-case letters, digits, dots or dashes"),
    ("name",): FieldInfo("new-name", "their full name"),
    ("email",): FieldInfo("new-email", "their email address", "email"),
    ("role",): FieldInfo("new-role", "their role", "choice"),
    ("password",): FieldInfo("new-password", "a password of at least 12 characters", "password"),
}


def parse_new_account(v: FormValues) -> ParsedForm:
    payload = {
        "id": _one(v, "id").lower(),
        "name": _one(v, "name"),
        "email": _one(v, "email"),
        "role": _one(v, "role") or None,
        "password": (v.get("password") or [""])[0],
    }
    return ParsedForm(payload, ACCOUNT_FIELDS, FieldInfo("new-id", "the username"), v)
