"""HTML form posts in, payloads out; pydantic's errors back as plain-English messages tied to the
field they are about (for the GOV.UK error summary). What every form shares is here; each kind of
case's own forms are in admin/complaint_forms.py and admin/enquiry_forms.py.

Each parser returns a `ParsedForm`: the payload to validate against the domain model, a map from
the model's error locations to the form's fields, any problems found before validation (a time
with no date), and the values as posted so the page can be shown again with them. Validation
itself is the domain's (`STEP_MODELS`, `ENQUIRY_STEP_MODELS`, `LodgeComplaint`, `LodgeEnquiry`,
`NewAccount`): nothing is checked twice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from admin.accounts import ROLE_LABELS, Account, NewAccount
from admin.adjustment_forms import adjustments_payload, error_box
from admin.naming import Named, name_staff
from domain.intake import ReceivedInFuture, check_received_at
from domain.people import ContactMethod
from domain.roles import NamingRefused, may_name_owner, may_own_cases

LONDON = ZoneInfo("Europe/London")
FUTURE_SLACK = timedelta(minutes=5)
# A hidden field on every intake form, a fresh token each time the form is shown: the case's
# reference is derived from it (workflows.cases.lodge_once), so the same form sent twice (a
# double click, back and resend) lodges one case.
SUBMISSION = "submission"
SUBMISSION_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
RECEIVED_IN_FUTURE = "The date and time it was received is in the future"

PREFERRED_CONTACT: list[tuple[str, str]] = [
    (ContactMethod.email.value, "Email"),
    (ContactMethod.post.value, "Post"),
    (ContactMethod.phone.value, "Phone"),
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


# ------------------------------------------------------------------ length limits

# The most characters each text box takes, by the box's id, as its domain model says
# (`register_limits`): the box shows it before sending (GOV.UK character count).
FIELD_LIMITS: dict[str, int] = {}
_TEXT = (str, str | None)


def max_length(model: type[BaseModel], name: str) -> int | None:
    """The `max_length` of the text field `name` of `model`; None for no limit or no text."""
    info = model.model_fields[name]
    if info.annotation not in _TEXT:
        return None
    return next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)


def register_limits(
    prefix: str, model: type[BaseModel], boxes: Mapping[str, str] | None = None
) -> None:
    """Each text field of `model` with a limit, as the box "<prefix>-<name>" (or, for the
    fields in `boxes`, "<prefix>-<boxes[name]>"). A box numbered "<id>_<n>" takes its id's."""
    for name in model.model_fields:
        limit = max_length(model, name)
        if limit is not None and (boxes is None or name in boxes):
            FIELD_LIMITS[f"{prefix}-{(boxes or {}).get(name, name)}"] = limit


def field_limit(field_id: str) -> int | None:
    return FIELD_LIMITS.get(field_id) or FIELD_LIMITS.get(re.sub(r"_\d+$", "", field_id))


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

    def limit(self, field_id: str) -> int | None:
        """The most characters the box takes (FIELD_LIMITS), for its character count."""
        return field_limit(field_id)


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


def form_with_problems(values: FormValues, problems: list[Problem]) -> FormState:
    """The form again as posted, each box with the first problem that points at it."""
    errors: dict[str, str] = {}
    for p in problems:
        errors.setdefault(p.href.removeprefix("#"), p.text)
    return FormState(values=values, errors=errors)


@dataclass
class ParsedForm:
    payload: dict[str, Any]
    fields: dict[tuple[Any, ...], FieldFor]
    fallback: FieldInfo
    values: FormValues
    problems: list[Problem] = field(default_factory=list)

    def state(self, problems: list[Problem]) -> FormState:
        return form_with_problems(self.values, problems)

    def explain(self, err: ValidationError) -> list[Problem]:
        """The problems found before validation, then each of pydantic's, in plain English."""
        out = list(self.problems)
        refused = {p.href for p in self.problems}
        for error in err.errors():
            info = self._field(tuple(error["loc"]), _raw_message(error))
            if info.kind == "date":
                boxes = {f"#{info.id}", *(f"#{info.id}-{part}" for part in DATE_PARTS)}
                if boxes & refused:  # its boxes' own problem says it already
                    continue
                href = f"#{info.id}-day"
            else:
                href = f"#{info.id}"
            problem = Problem(href=href, text=plain_message(error, info))
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
        return real_date_message(noun)
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


def one(values: FormValues, name: str) -> str:
    return (values.get(name) or [""])[0].strip()


def optional(values: FormValues, name: str) -> str | None:
    return one(values, name) or None


def checked(values: FormValues, name: str) -> bool:
    return bool(values.get(name))


def lines(values: FormValues, name: str) -> list[str]:
    return [v.strip() for v in values.get(name, []) if v.strip()]


def parse_date(text: str) -> date | None:
    """A date as one box sends it: ISO (2027-03-26, an old `type=date` input) or as people type
    it (26/3/2027)."""
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


# ---------------------------------------------------------------- date inputs

# A GOV.UK date input: three boxes named "<name>-day", "<name>-month" and "<name>-year", on the
# staff forms and the residents' form alike (admin/templates/_fields.html `date_boxes`).
DATE_PARTS = ("day", "month", "year")
DATE_EXAMPLE = "27 3 2027"


@dataclass(frozen=True)
class DateAnswer:
    """What a date input gave: the date, nothing (all boxes blank), or what is wrong with it
    and the box the error summary links to."""

    value: date | None = None
    problem: str | None = None
    part: str = "day"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def real_date_message(noun: str) -> str:
    return f"Enter {noun} as a real date, like {DATE_EXAMPLE}"


def read_date(parts: Mapping[str, str], noun: str, single: str = "") -> DateAnswer:
    """The date in a date input's `parts` (day, month, year as typed), with GOV.UK's messages
    naming it by `noun` ("the date it was paid"). `single` is the one box a page loaded before
    the date inputs posts (2027-03-26 or 26/3/2027): still taken when the boxes are absent."""
    given = {p: (parts.get(p) or "").strip() for p in DATE_PARTS}
    if not any(given.values()):
        if not single.strip():
            return DateAnswer()
        parsed = parse_date(single)
        return DateAnswer(parsed) if parsed else DateAnswer(problem=real_date_message(noun))
    missing = [p for p in DATE_PARTS if not given[p]]
    if missing:
        what = " and ".join(missing)
        return DateAnswer(problem=f"{_capital(noun)} must include a {what}", part=missing[0])
    wrong = next((p for p in DATE_PARTS if not given[p].isdigit()), None)
    if wrong is None and len(given["year"]) != 4:
        wrong = "year"
    if wrong is None:
        day, month, year = (int(given[p]) for p in DATE_PARTS)
        try:
            return DateAnswer(date(year, month, day))
        except ValueError:
            wrong = "month" if not 1 <= month <= 12 else "day"
    return DateAnswer(problem=real_date_message(noun), part=wrong)


def date_answer(values: FormValues, name: str, noun: str) -> DateAnswer:
    """The date input `name` of a posted form (or its old single box, also named `name`)."""
    return read_date({p: one(values, f"{name}-{p}") for p in DATE_PARTS}, noun, one(values, name))


def date_value(
    values: FormValues, name: str, info: FieldInfo, problems: list[Problem]
) -> str | None:
    """The date input `name` as an ISO date for the payload, or None when left blank or wrong;
    what is wrong goes in `problems`, linked to the box at fault (`info` names the field)."""
    answer = date_answer(values, name, info.noun)
    if answer.problem:
        problems.append(Problem(f"#{info.id}-{answer.part}", answer.problem))
        return None
    return answer.value.isoformat() if answer.value else None


def moment(
    values: FormValues, prefix: str, field_id: str, what: str, now: datetime | None = None
) -> tuple[str | None, list[Problem]]:
    """The date input `{prefix}_date` and the time `{prefix}_time` (UK time) as an ISO moment,
    or None when both are blank; with the problems found (no date, no time, not real, in the
    future). The date's boxes have ids `{field_id}_date-day` and so on."""
    date_id, time_text = f"{field_id}_date", one(values, f"{prefix}_time")
    day = date_answer(values, f"{prefix}_date", f"the date {what}")
    day_given = day.value is not None or day.problem is not None
    if not day_given and not time_text:
        return None, []
    at = parse_time(time_text) if time_text else None
    problems: list[Problem] = []
    if day.problem:
        problems.append(Problem(f"#{date_id}-{day.part}", day.problem))
    elif day.value is None:
        problems.append(Problem(f"#{date_id}-day", f"Enter the date {what}"))
    if at is None:
        verb = "Enter" if not time_text else "Enter a real time, like 17:30, for"
        problems.append(Problem(f"#{field_id}_time", f"{verb} the time {what}"))
    if day.value is None or at is None:
        return None, problems
    result = datetime.combine(day.value, at, tzinfo=LONDON)
    if now is not None and result > now + FUTURE_SLACK:
        return None, [Problem(f"#{date_id}-day", f"The date and time {what} is in the future")]
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
            problems.append(Problem(f"#{field_id}_date-day", "Enter the date it was received"))
        return None, problems
    try:
        check_received_at(datetime.fromisoformat(received), now)
    except ReceivedInFuture:
        return None, [Problem(f"#{field_id}_date-day", RECEIVED_IN_FUTURE)]
    return received, []


def owner_choices(
    account: Account, staff: Sequence[Account], unowned: bool = True
) -> list[tuple[str, str]]:
    """The owners a form offers `account`, as (id, label): whoever may own a case and whom they
    may name (domain/roles.py `may_name_owner`): anyone, for a manager; themselves, for a case
    officer or reviewer while nobody owns the case; nobody (so no field), for the rest."""
    return [
        (a.id, f"{a.name} ({ROLE_LABELS[a.role]})")
        for a in staff
        if may_own_cases(a.role) and may_name_owner(account.role, account.id, a.id, unowned)
    ]


def staff_member(accounts: Mapping[str, Account], account_id: str | None) -> dict[str, Any] | None:
    account = accounts.get(account_id or "")
    return account.as_staff().model_dump() if account else None


def named_staff(
    accounts: Mapping[str, Account],
    chosen: str | None,
    field_id: str,
    problems: list[Problem],
    named: Named,
    *,
    actor: Account | None = None,
    case: Any = None,
) -> dict[str, Any] | None:
    """The active account `chosen` as the member of staff, or None if there is none. One the
    naming rules refuse (admin/naming.py, as the API applies them) is a problem on the field,
    with the rule's reason."""
    account = accounts.get(chosen or "")
    if account is None:
        return None
    field = field_id.rpartition("-")[2]
    try:
        name_staff(named, account.id, field=field, lookup=accounts.get, actor=actor, case=case)
    except NamingRefused as err:
        problems.append(Problem(f"#{field_id}", err.reason))
    return account.as_staff().model_dump()


# --------------------------------------------------------------------- staff steps


@dataclass(frozen=True)
class StepContext:
    """What a step's form needs besides the post: who is signed in, who may be chosen, now, and
    the case as it stands (ComplaintStatus or EnquiryStatus)."""

    account: Account
    accounts: Mapping[str, Account]  # active accounts by id
    now: datetime
    case: Any


StepParser = Callable[[FormValues, StepContext], ParsedForm]


def step_field(step: Any, name: str, noun: str, kind: str = "text") -> FieldInfo:
    """A step form's field: its id is "<step>-<name>", as the steps template names it."""
    return FieldInfo(id=f"{step.value}-{name}", noun=noun, kind=kind)


def parse_step(
    parsers: Mapping[Any, StepParser], step: Any, values: FormValues, ctx: StepContext
) -> ParsedForm:
    """The step's payload from its form; `by` is always the signed-in account, never the form."""
    parsed = parsers[step](values, ctx)
    parsed.payload["by"] = ctx.account.id
    return parsed


def assign_parser(step: Any, noun: str) -> StepParser:
    """The "assign" form of either kind of case: the owner, from the active staff, whom the
    rules allow to own it (who may assign whom is `assign_payload`'s, domain/offered.py)."""

    def parse(v: FormValues, ctx: StepContext) -> ParsedForm:
        owner = step_field(step, "owner", noun, "choice")
        problems: list[Problem] = []
        member = named_staff(
            ctx.accounts, one(v, "owner"), owner.id, problems, Named.assignee, case=ctx.case
        )
        return ParsedForm({"owner": member}, {("owner",): owner}, owner, v, problems)

    return parse


def text_parser(step: Any, name: str, noun: str) -> StepParser:
    """A form of one required text field (a reason, notes)."""

    def parse(v: FormValues, ctx: StepContext) -> ParsedForm:
        info = step_field(step, name, noun)
        return ParsedForm({name: one(v, name)}, {(name,): info}, info, v)

    return parse


# ------------------------------------------------------------------------- new cases


def address(v: FormValues, prefix: str = "") -> dict[str, Any] | None:
    """The postal address of a form (`<prefix>address_lines`, one a line, and
    `<prefix>postcode`), or None when both are blank."""
    text = one(v, f"{prefix}address_lines")
    address_lines = [line.strip() for line in text.splitlines() if line.strip()]
    postcode = one(v, f"{prefix}postcode").upper()
    return {"lines": address_lines, "postcode": postcode} if address_lines or postcode else None


def intake_field(kind: str) -> Callable[..., FieldInfo]:
    """The fields of a "log a <kind>" form: ids "<kind>-<name>"."""

    def make(name: str, noun: str, field_kind: str = "text") -> FieldInfo:
        return FieldInfo(id=f"{kind}-{name}", noun=noun, kind=field_kind)

    return make


def person(v: FormValues) -> dict[str, Any]:
    """Who got in touch, as an intake form gives them: what a resident and an enquirer share."""
    return {
        "name": one(v, "name"),
        "email": optional(v, "email"),
        "phone": optional(v, "phone"),
        "address": address(v),
        "preferred_contact": one(v, "preferred_contact") or None,
        # the needs ticked and the note (admin/adjustment_forms.py)
        "adjustments": adjustments_payload(lambda name: one(v, name)),
    }


def person_fields(
    field: Callable[..., FieldInfo], key: str, name_noun: str
) -> dict[tuple[Any, ...], FieldFor]:
    """Where the errors of `person`'s fields go, under the payload's `key` ("resident")."""
    return {
        (key, "name"): field("name", name_noun),
        (key, "email"): field("email", "the email address", "email"),
        (key, "phone"): field("phone", "the phone number"),
        (key, "address"): field("address_lines", "the postal address"),
        (key, "address", "lines"): field("address_lines", "the first line of the address"),
        (key, "address", "postcode"): field("postcode", "the postcode"),
        (key, "preferred_contact"): field(
            "preferred_contact", "how they want us to contact them", "choice"
        ),
        (key, "reasonable_adjustments"): field(
            "reasonable_adjustments", "the reasonable adjustments"
        ),
        **adjustment_fields(field, key),
    }


# What each of the reasonable adjustments boxes is called in a message, by its name.
_NEED_NOUNS: dict[str, tuple[str, str]] = {
    "format": ("the format they need", "choice"),
    "interpreter_language": ("the language they need", "text"),
    "contact_only_by": ("the only way to contact them", "choice"),
    "contact_times": ("when we can contact them", "text"),
    "through_name": ("the name of the person to contact them through", "text"),
    "through_relationship": ("who that person is to them", "text"),
    "through_phone": ("the phone number of the person to contact them through", "text"),
    "through_email": ("the email address of the person to contact them through", "email"),
    "reasonable_adjustments": ("the note", "text"),
}
_NEED_RULES = {
    ("contact_through",): "Enter a phone number or an email address for the person to contact "
    "them through",
    (): "Say which format they need in the note",
}


def only_way_rule(kind: str, message: str) -> FieldInfo | None:
    """The field a "contact is by ... only but no ..." rule (domain/adjustments.py) is about,
    with what to tell staff; None for another rule."""
    for means, name, noun in (
        ("email address", "email", "an email address"),
        ("postal address", "address_lines", "a postal address"),
        ("phone number", "phone", "a phone number"),
    ):
        if f"only but no {means}" in message:
            rule = f"Enter {noun}: they asked us to contact them this way only"
            return FieldInfo(id=f"{kind}-{name}", noun=noun, rule=rule)
    return None


def adjustment_fields(field: Callable[..., FieldInfo], key: str) -> dict[tuple[Any, ...], FieldFor]:
    """Where the errors of the reasonable adjustments go, under the payload's `key`."""
    out: dict[tuple[Any, ...], FieldFor] = {}
    paths = [(), ("preferred_format",), ("interpreter_language",), ("contact_only_by",)]
    paths += [("contact_times",), ("contact_through",), ("note",)]
    paths += [("contact_through", part) for part in ("name", "relationship", "phone", "email")]
    for path in paths:
        box = error_box(path)
        noun, kind = _NEED_NOUNS[box]
        made = field(box, noun, kind)
        rule = _NEED_RULES.get(path)
        out[(key, "adjustments", *path)] = FieldInfo(made.id, noun, kind, rule) if rule else made
    return out


NewCaseParser = Callable[..., ParsedForm]
Details = Callable[[FormValues, Mapping[str, Account], list[Problem]], dict[str, Any]]


def new_case_parser(
    kind: str,
    fields: Mapping[tuple[Any, ...], FieldFor],
    details: Details,
    *,
    channel: str,
    owner: str,
) -> NewCaseParser:
    """The parser of a "log a <kind>" form, giving the kind's lodge payload: what every intake
    form asks (how and when it was received, the owner) and the kind's own `details`. The
    received date and time are UK time, so the out-of-hours rule applies to when the resident
    got in touch. `channel` and `owner` complete "Choose ..." for those fields."""
    field = intake_field(kind)
    every_form: dict[tuple[Any, ...], FieldFor] = {
        ("channel",): field("channel", channel, "choice"),
        ("received_at",): field("received_date", f"the date the {kind} was received", "date"),
        ("owner",): field("owner", owner, "choice"),
    }

    def parse(
        v: FormValues,
        *,
        reference: str,
        account: Account,
        accounts: Mapping[str, Account],
        now: datetime,
    ) -> ParsedForm:
        received, problems = received_moment(v, f"{kind}-received", now)
        payload: dict[str, Any] = {
            "reference": reference,
            "channel": one(v, "channel") or None,
            "received_at": received or now.isoformat(),  # a problem is already recorded if so
            **details(v, accounts, problems),
            "lodged_by": account.id,
        }
        payload["owner"] = chosen_staff(
            v,
            "owner",
            accounts,
            f"{kind}-owner",
            owner,
            problems,
            Named.owner,
            actor=account,
        )
        return ParsedForm(payload, {**every_form, **fields}, field("name", "the name"), v, problems)

    return parse


def chosen_staff(
    v: FormValues,
    name: str,
    accounts: Mapping[str, Account],
    field_id: str,
    what: str,
    problems: list[Problem],
    named: Named = Named.anyone,
    *,
    actor: Account | None = None,
    case: Any = None,
) -> dict[str, Any] | None:
    """The member of staff chosen in the select `name`, or None; a choice that is not an active
    account is a problem ("Choose <what> from the list"), and so is one the naming rules refuse
    (`named_staff`)."""
    chosen = one(v, name)
    member = named_staff(accounts, chosen, field_id, problems, named, actor=actor, case=case)
    if chosen and member is None:
        problems.append(Problem(f"#{field_id}", f"Choose {what} from the list"))
    return member


# ------------------------------------------------------------------- staff accounts

ACCOUNT_FIELDS: dict[tuple[Any, ...], FieldFor] = {
    ("id",): FieldInfo("new-id", "a username of lower-case letters, digits, dots or dashes"),
    ("name",): FieldInfo("new-name", "their full name"),
    ("email",): FieldInfo("new-email", "their email address", "email"),
    ("role",): FieldInfo("new-role", "their role", "choice"),
    ("password",): FieldInfo("new-password", "a password of at least 12 characters", "password"),
}

register_limits("new", NewAccount, {"id": "id", "name": "name"})


def parse_new_account(v: FormValues) -> ParsedForm:
    """A `NewAccount` payload from the "add an account" form (boxes "new-<name>")."""
    payload = {
        "id": one(v, "id").lower(),
        "name": one(v, "name"),
        "email": one(v, "email"),
        "role": one(v, "role") or None,
        "password": (v.get("password") or [""])[0],
    }
    return ParsedForm(payload, ACCOUNT_FIELDS, FieldInfo("new-id", "the username"), v)
