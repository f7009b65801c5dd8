"""Render a letter from its template: a subject, an HTML letter and a plain-text alternative.

One Jinja2 template per `LetterKind` in `letters/templates/<kind>.html`, each extending the
shared layout `_base.html` (letterhead, reference, date, and A4 print styles for post letters).
Shared wording (the Housing Ombudsman's details, how to contact us, decisions and remedies) lives
in `_parts.html`, and the Ombudsman's details themselves only in `OMBUDSMAN` below.

What each kind needs from `LetterContext` (`domain.letters.LETTER_MODELS`, checked first):

| kind | needs | also uses, if given |
|---|---|---|
| complaint_received | due (the acknowledgement date), contact_working_days | points |
| stage1/stage2_acknowledgement | points, outcome_sought, due | owner_name |
| extension | due, previous_due, reasons | stage |
| exceptional_extension | due, reasons | previous_due, stage |
| stage1_response | decisions, escalation_deadline, window | reasons (summary), remedies, signer |
| stage2_response | decisions | reasons (summary), remedies, earlier_compensation, signer |
| refusal | decline_reason | explanation, points |
| service_request | — | explanation (what happens next), due, points |
| withdrawal | — | reasons (the resident's reason) |
| escalation_received | promises | due (stage 2 acknowledgement date), owner_name |
| new_complaint_opened | linked_reference, promises | points (the new issues) |
| case_closed | window | escalation_deadline |
| satisfaction_survey | survey_nonce (signed into the survey link with SURVEY_SECRET) | — |
| actions_completed | completed_actions (each action and the day it was done) | — |
| deadline_reminder / deadline_breach (staff) | clock_label, due | — |
| person_review (staff; reference: a person record) | clock_label, due (the review date) | — |
| contact_restriction (to a person record) | explanation, message, reasons, due | signer |
| enquiry_received | due (the reply date) | — |
| enquiry_routed | team, due | addressed_to |
| enquiry_reply | message | signer |
| enquiry_holding_reply | due (the estimated date), reasons | signer |
| enquiry_passed_to_team | team, next_steps, due | signer |
| enquiry_update | message | team, due (the next update), signer |
| enquiry_service_request | message (what we will do), due (the target date) | signer |

"promises" are contact_working_days and acknowledgement_working_days, "window" is
escalation_working_days: the numbers of the policy the case was lodged under, so a letter quotes
the promises its own case runs on. "signer" is owner_name or signed_by: who signs (see below).

A stage 2 offer of compensation where stage 1 offered some: `remedies.compensation_basis` says
whether it replaces `earlier_compensation` (the stage 1 offer) or adds to it, and the letter gives
the total either way. Without both, the offer reads as it does at stage 1.

Enquiry letters (customer service standards) have no stage and no points: `reference` is the
enquiry's reference and `due` the date we promised.

Staff letters are rendered from the reference, clock label and due date only: the resident's name
and the complaint's details are never handed to their templates.

Every letter to a resident has one greeting ("Dear …", from `_base.html`) and one sign-off. Text
staff typed into a letter (a reply, a summary, reasons) goes through `strip_greeting_and_sign_off`
first, so a reply typed as an email ("Dear Ms Quigley, … Kind regards, Sam") does not greet and
sign off twice.

Who signs (`sign_off`): `owner_name` if the workflow gave it (the case's investigator at stage 1,
its reviewer at stage 2), else the member of staff `signed_by` names (the officer who sent it), by
the name the caller's `staff_name` finds for them, else the team alone. A named signatory of a
complaint letter signs as its investigator or reviewer, with their team; an enquiry letter is
signed with the name and the team.

Each kind has its own title (`title_for`): the letter's heading, and its subject with the reference.

A resident's needs (`LetterContext.adjustments`, domain/adjustments.py) change every letter to
them: large print sets the body at `letter_font_size` points (LARGE_PRINT_PT, 16) on screen and
on paper, the headings larger still; an interpreter's language puts a line in the footer offering
the letter in that language or an interpreter. Easy read and other formats are for staff to send
as well (the case page says so): the letter itself is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict

from config import Settings
from domain.adjustments import interpreter_language, letter_font_size
from domain.letters import (
    PERSON_LETTERS,
    SERVICES_LETTERS,
    STAFF_LETTERS,
    Decision,
    Delivery,
    LetterContext,
    LetterKind,
    LetterRequest,
    letter_problems,
)
from domain.satisfaction import QUESTION
from letters.case_link import case_url
from letters.signed_links import SurveySecretUnset
from letters.survey import survey_url

LONDON = ZoneInfo("Europe/London")
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


class Ombudsman(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    address: str
    telephone: str
    email: str
    website: str

    @property
    def url(self) -> str:
        return f"https://{self.website}"


# Exactly as the complaints policy gives them ("What if I'm still not happy?"). The only copy.
OMBUDSMAN = Ombudsman(
    name="Housing Ombudsman Service",
    address="PO Box 1484, Unit D, Preston, PR2 0ET",
    telephone="0300 111 3000",
    email="info@housing-ombudsman.org.uk",
    website="www.housing-ombudsman.org.uk",
)

DECISION_LABELS: dict[Decision, tuple[str, str]] = {
    Decision.upheld: ("Upheld", "This means we agree that we got this wrong."),
    Decision.partly_upheld: (
        "Partly upheld",
        "This means we agree that we got some of this wrong.",
    ),
    Decision.not_upheld: ("Not upheld", "This means we do not think we got this wrong."),
}


class RenderedLetter(BaseModel):
    subject: str
    html: str
    text: str  # the plain-text alternative of `html`


class LetterDataError(ValueError):
    """The request cannot make this letter (a field the kind needs is missing). Retrying will not
    help: the case data must be corrected. The message names fields, never their values."""


class StaffNotice(BaseModel):
    """All a staff letter's template is given: no resident data at all."""

    model_config = ConfigDict(frozen=True)

    reference: str
    clock_label: str
    due: datetime


# ----------------------------------------------------------------------------- filters

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _london(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the workflow keeps absolute UTC moments)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LONDON)


def _to_date(value: object) -> date:
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, datetime):
        return _london(value).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"longdate needs a date, datetime or ISO 8601 string, not {value!r}")


def longdate(value: object) -> str:
    """`Tuesday 29 December 2026`; datetimes are shown as their date in Europe/London."""
    day = _to_date(value)
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def london_time(value: object) -> str:
    """GOV.UK style time of day in Europe/London: `5:15pm`, `9am`, `midday`, `midnight`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise TypeError(f"london_time needs a datetime or ISO 8601 string, not {value!r}")
    moment = _london(value)
    if (moment.hour, moment.minute) == (12, 0):
        return "midday"
    if (moment.hour, moment.minute) == (0, 0):
        return "midnight"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def money(value: object) -> str:
    """`£1,234.50`: pounds with thousands separators and always two decimal places."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"money needs an amount, not {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as err:
        raise ValueError(f"money needs an amount, not {value!r}") from err
    if not amount.is_finite():
        raise ValueError(f"money needs a finite amount, not {value!r}")
    pence = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence):,.2f}"


def paragraphs(value: object) -> Markup:
    """Free text typed by staff or residents as HTML paragraphs: blank lines separate
    paragraphs, single newlines become line breaks; everything is escaped. A greeting or sign-off
    of its own is left out (`strip_greeting_and_sign_off`): the letter has one of each."""
    text = strip_greeting_and_sign_off(value)
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in b.splitlines()))
        for b in blocks
    )


_SALUTATION = re.compile(
    r"(?:dear|hello|hi|hiya|good\s+(?:morning|afternoon|evening))\b", re.IGNORECASE
)
_CLOSING = (
    r"yours\s+(?:sincerely|faithfully|truly)|(?:kind|best|warm|warmest|many)\s+regards|"
    r"(?:with\s+)?best\s+wishes"
)
# a closing on its own line, or with the name after a comma ("Kind regards, Sam")
_VALEDICTION = re.compile(
    rf"(?:{_CLOSING})\s*(?:[.!]|,(?:\s+[^,\n]{{1,60}})?)?"
    r"|(?:regards|all\s+the\s+best|best|cheers)\s*[,.!]?",
    re.IGNORECASE,
)
# "Thank you" ends many replies as a sentence: it is a sign-off only with a comma or a name after it
_THANKS = re.compile(r"(?:many\s+thanks|thanks|thank\s+you|with\s+thanks)\s*(,)?", re.IGNORECASE)
_SIGNATURE_LINES = 5  # at most this many short lines (name, role, team, landlord) after it
_SHORT = 80


def _without_greeting(text: str) -> str:
    first, _, rest = text.partition("\n")
    line = first.strip()
    if not _SALUTATION.match(line):
        return text
    # the whole first line is the greeting: "Dear Ms Quigley-Adebayo," or "Hello, Sam"
    if len(line) <= _SHORT and not line.endswith((".", "?")):
        return rest
    # the greeting opens the first sentence: "Dear Eleanor, your rent account is up to date."
    inline = re.match(rf"{_SALUTATION.pattern}[^,!\n]{{0,60}}[,!]\s+(?=\S)", line, re.IGNORECASE)
    if inline is None:
        return text
    after = line[inline.end() :]
    return "\n".join([after[:1].upper() + after[1:], rest])


def _without_sign_off(text: str) -> str:
    lines = text.split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    for n in range(len(filled) - 1, max(-1, len(filled) - 2 - _SIGNATURE_LINES), -1):
        i = filled[n]
        line = lines[i].strip()
        after = [lines[j].strip() for j in filled[n + 1 :]]
        if any(len(a) > _SHORT for a in after):
            return text
        thanks = _THANKS.fullmatch(line)
        if _VALEDICTION.fullmatch(line) or (thanks and (thanks.group(1) or after)):
            return "\n".join(lines[:i])
    return text


def strip_greeting_and_sign_off(value: object) -> str:
    """Text staff typed into a letter, without a greeting of its own at the start ("Dear …",
    "Hello …") or a sign-off at the end ("Yours sincerely", "Kind regards" and the signature
    under it): the letter has its own. Everything else is kept as typed."""
    text = str(value).replace("\r\n", "\n").strip()
    return _without_sign_off(_without_greeting(text).strip()).strip()


def team_words(value: object) -> str:
    """A team's name as it reads after "our": `Repairs` becomes `Repairs team`; a name that
    already ends in "team" is kept as it is."""
    name = " ".join(str(value).split())
    return name if name.lower().endswith("team") else f"{name} team"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = longdate
    env.filters["london_time"] = london_time
    env.filters["money"] = money
    env.filters["paragraphs"] = paragraphs
    env.filters["team"] = team_words
    env.globals["ombudsman"] = OMBUDSMAN
    env.globals["decision_labels"] = DECISION_LABELS
    return env


# ----------------------------------------------------------------------------- titles


def _stage_words(context: LetterContext) -> str:
    return f"stage {context.stage} " if context.stage else ""


# Each kind's title: the letter's heading, and its subject with the reference. No two kinds share
# one (tests/letters/test_titles.py), so a resident can tell the receipt of their complaint from
# its acknowledgement in their inbox and on their case page.
_TITLES: dict[LetterKind, Callable[[LetterContext], str]] = {
    LetterKind.complaint_received: lambda c: "We have received your complaint",
    LetterKind.stage1_acknowledgement: lambda c: "We are looking into your complaint",
    LetterKind.stage2_acknowledgement: lambda c: "We are reviewing your complaint at stage 2",
    LetterKind.extension: lambda c: (
        f"We need more time to respond to your {_stage_words(c)}complaint"
    ),
    LetterKind.exceptional_extension: lambda c: "The new response date we agreed with you",
    LetterKind.stage1_response: lambda c: "Our response to your complaint",
    LetterKind.stage2_response: lambda c: "Our final response to your complaint",
    LetterKind.refusal: lambda c: "We cannot accept your complaint",
    LetterKind.service_request: lambda c: "We have logged your request",
    LetterKind.withdrawal: lambda c: "Your complaint has been withdrawn",
    LetterKind.escalation_received: lambda c: "We have received your request for a stage 2 review",
    LetterKind.new_complaint_opened: lambda c: (
        f"We have opened a new complaint, reference {c.linked_reference}"
    ),
    LetterKind.case_closed: lambda c: "Your complaint is now closed",
    LetterKind.satisfaction_survey: lambda c: "How did we handle your complaint?",
    LetterKind.actions_completed: lambda c: "We have done what we promised",
    LetterKind.deadline_reminder: lambda c: f"Reminder: {c.clock_label} due {longdate(c.due)}",
    LetterKind.deadline_breach: lambda c: f"Missed deadline: {c.clock_label}",
    LetterKind.enquiry_received: lambda c: "We have received your email",
    LetterKind.enquiry_routed: lambda c: (
        f"Your message to {c.addressed_to}"
        if c.addressed_to
        else f"We have passed your message to our {team_words(c.team)}"
    ),
    LetterKind.enquiry_reply: lambda c: "Our reply to your enquiry",
    LetterKind.enquiry_holding_reply: lambda c: "We need a little longer to reply",
    LetterKind.enquiry_passed_to_team: lambda c: (
        f"We have passed your enquiry to our {team_words(c.team)}"
    ),
    LetterKind.enquiry_update: lambda c: "An update on your enquiry",
    LetterKind.enquiry_service_request: lambda c: "We have logged your service request",
    LetterKind.contact_restriction: lambda c: "How you can contact us for now",
    LetterKind.person_review: lambda c: f"Review due {longdate(c.due)}: {c.clock_label}",
}


def title_for(kind: LetterKind, context: LetterContext) -> str:
    """The letter's heading, on one line."""
    return " ".join(_TITLES[kind](context).split())


def subject_for(kind: LetterKind, context: LetterContext) -> str:
    where = "case" if kind in STAFF_LETTERS else "reference"
    if kind is LetterKind.person_review:
        where = "person record"
    return " ".join(f"{title_for(kind, context)} – {where} {context.reference}".split())


# ----------------------------------------------------------------------------- sign-off

# The capacity a named member of staff signs a complaint letter in: who investigates the complaint
# at stage 1, who reviews it at stage 2 (the policy's "independent review").
INVESTIGATOR = "Complaints Investigator"
REVIEWER = "Complaints Reviewer"
CAPACITY: dict[LetterKind, str] = {
    LetterKind.stage1_acknowledgement: INVESTIGATOR,
    LetterKind.stage1_response: INVESTIGATOR,
    LetterKind.escalation_received: REVIEWER,
    LetterKind.stage2_acknowledgement: REVIEWER,
    LetterKind.stage2_response: REVIEWER,
}


def sign_off(kind: LetterKind, team: str, landlord: str, name: str | None) -> list[str]:
    """The lines under "Yours sincerely,": the person who signs, if named, with their capacity
    and team; the team alone if not; then the landlord."""
    name = " ".join((name or "").split())
    if not name:
        return [team, landlord]
    capacity = CAPACITY.get(kind)
    return [name, f"{capacity}, {team}" if capacity else team, landlord]


# ----------------------------------------------------------------------------- rendering


def render_letter(
    request: LetterRequest,
    settings: Settings,
    *,
    now: datetime | None = None,
    case_link: int | None = None,
    staff_name: Callable[[str], str | None] | None = None,
) -> RenderedLetter:
    """Render `request` as its kind's letter. `now` dates the letter (default: the current time);
    pass it to make rendering reproducible. `case_link` is the case's link generation: a letter
    to the resident then carries their personal link to the case (letters/case_link.py).
    `staff_name` finds the name of the member of staff a letter's `signed_by` names (None when
    there is no such account: the letter is then signed by the team). Raises `LetterDataError`
    when the context lacks what the kind needs."""
    kind, context = request.kind, request.context
    if context.reference != request.reference:
        raise LetterDataError(
            f"Letter '{request.key}' for case {request.reference} carries a context for another "
            "case reference; the letter was not made."
        )
    missing = letter_problems(kind, context)
    if missing:
        raise LetterDataError(
            f"The {kind.value} letter '{request.key}' for case {request.reference} cannot be made: "
            f"it needs {', '.join(missing)}, which the case did not supply."
        )
    staff = kind in STAFF_LETTERS
    letter: LetterContext | StaffNotice
    if staff:
        assert context.clock_label is not None and context.due is not None  # checked above
        letter = StaffNotice(
            reference=request.reference, clock_label=context.clock_label, due=context.due
        )
    else:
        letter = context
    subject = subject_for(kind, context)
    teams = settings.policy.teams
    team = teams.services.signature if kind in SERVICES_LETTERS else teams.resolution.signature
    signatory = context.owner_name
    if not staff and not signatory and context.signed_by and staff_name is not None:
        signatory = staff_name(context.signed_by)
    variables: dict[str, Any] = {
        "letter": letter,
        "subject": subject,
        "title": title_for(kind, context),
        "reference": request.reference,
        "landlord": settings.landlord,
        "teams": teams,
        "letter_date": now or datetime.now(UTC),
        "for_post": request.delivery is Delivery.post,
        "staff": staff,
        "sign_off": sign_off(kind, team, settings.landlord.name, signatory),
        "recipient_name": request.recipient.name,
        "recipient_address": request.recipient.address,
        # the resident's needs (domain/adjustments.py): the body's size in points (None: the
        # usual), and the language a footer line offers the letter in
        "font_pt": None if staff else letter_font_size(context.adjustments),
        "interpreter_language": None if staff else interpreter_language(context.adjustments),
    }
    linkable = not staff and kind not in PERSON_LETTERS  # a person record has no case page
    if case_link is not None and linkable and settings.survey_secret:
        variables["case_url"] = case_url(settings, request.reference, case_link)
    else:
        variables["case_url"] = None
    if kind is LetterKind.satisfaction_survey:
        assert context.survey_nonce is not None  # checked above
        try:
            variables["survey_url"] = survey_url(settings, request.reference, context.survey_nonce)
        except SurveySecretUnset as err:
            raise LetterDataError(
                f"The satisfaction survey letter for case {request.reference} cannot be made: "
                "SURVEY_SECRET is not set."
            ) from err
        variables["question"] = QUESTION
    html = environment().get_template(f"{kind.value}.html").render(**variables)
    return RenderedLetter(subject=subject, html=html, text=html_to_text(html))


# ----------------------------------------------------------------------------- plain text

_SKIP = frozenset({"head", "style", "script", "title", "template"})
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "header",
        "footer",
        "main",
        "article",
        "aside",
        "nav",
        "address",
        "blockquote",
        "table",
        "tr",
        "dl",
        "dt",
        "dd",
        "hr",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
_UNDERLINED = {"h1": "=", "h2": "-"}


class _TextWriter(HTMLParser):
    """HTML to readable plain text: paragraphs, underlined headings, bulleted and numbered
    lists, and link targets in brackets where they differ from the link text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._lists: list[list[Any]] = []  # [tag, items so far]
        self._links: list[tuple[str | None, int]] = []
        self._heading: tuple[str, int] | None = None
        self._after_bullet = False
        self._hanging: list[str] = []  # continuation indent of each open list item

    def _tail(self) -> str:
        return self.out[-1][-1:] if self.out and self.out[-1] else ""

    def _break(self, lines: int) -> None:
        if self._after_bullet or not self.out:
            return
        text = "".join(self.out[-3:])
        have = len(text) - len(text.rstrip("\n"))
        if have < lines:
            self.out.append("\n" * (lines - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif self._skip:
            return
        elif tag == "br":
            self.out.append("\n" + (self._hanging[-1] if self._hanging else ""))
        elif tag in ("ul", "ol"):
            self._break(1 if self._lists else 2)
            self._lists.append([tag, 0])
        elif tag == "li":
            self._break(1)
            current = self._lists[-1] if self._lists else ["ul", 0]
            current[1] += 1
            indent = "   " * (len(self._lists) - 1)
            bullet = f"{current[1]}. " if current[0] == "ol" else "- "
            self.out.append(indent + bullet)
            self._hanging.append(" " * len(indent + bullet))
            self._after_bullet = True
        elif tag in _UNDERLINED:
            self._break(2)
            self._heading = (tag, len(self.out))
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.out)))
        elif tag in _BLOCKS:
            self._break(2)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._break(1 if self._lists else 2)
        elif tag == "li":
            if self._hanging:
                self._hanging.pop()
            self._after_bullet = False
            self._break(1)
        elif tag in _UNDERLINED and self._heading and self._heading[0] == tag:
            title = "".join(self.out[self._heading[1] :]).strip()
            self._heading = None
            self.out.append("\n" + _UNDERLINED[tag] * len(title))
            self._break(2)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.out[start:]).strip()
            target = (href or "").strip()
            shown = re.sub(r"^(mailto:|tel:|https?://)", "", target).rstrip("/")
            if target and shown and shown != text and target != text:
                self.out.append(f" ({shown if target.startswith('mailto:') else target})")
        elif tag in _BLOCKS:
            self._break(2)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and (not self.out or self._tail() in ("\n", " ", "")):
            return
        if self._tail() in ("\n", " ", "") or self._after_bullet:
            text = text.lstrip()
        if text:
            self.out.append(text)
            self._after_bullet = False

    def text(self) -> str:
        joined = "".join(self.out)
        joined = re.sub(r"[ \t]+\n", "\n", joined)
        joined = re.sub(r"\n{3,}", "\n\n", joined)
        return joined.strip() + "\n"


def html_to_text(html: str) -> str:
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()
