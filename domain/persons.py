"""People known across cases (issue 13, part 3): a person record links one resident's complaints
and enquiries, and carries what every case of theirs must know from the start:

- reasonable adjustments (domain/adjustments.py `Adjustments`), kept under review (Complaint
  Handling Code 5.10: recorded, and reviewed);
- vulnerabilities, one of a short list with a note (the Ombudsman's Spotlight on knowledge and
  information management: vulnerabilities recorded but not used);
- contact restrictions under the unacceptable behaviour policy (Code 5.14-5.15: proportionate,
  evidenced, decided by a manager, reviewed, and told to the resident in writing).

Each of them is an *item* with a review date and an owner of its review. Matching a case to a
person is suggested, never done: staff choose (`match_strength` says how strong a suggestion
is; a postcode alone is weak). Pure: no I/O, no Temporal.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import EmailStr, Field

from domain.adjustments import Adjustments, for_letters
from domain.channels import ContactMethod
from domain.letters import Delivery, LetterContext, LetterKind, LetterRequest, Recipient
from domain.people import Address, Strict

LONDON = ZoneInfo("Europe/London")
PERSON_PREFIX = "PER"  # a person's reference: PER-7KQ3-XM2P (opaque: no name, no email)
PERSON_PAGE = "/people/{reference}"


class ItemKind(StrEnum):
    adjustments = "adjustments"
    vulnerability = "vulnerability"
    restriction = "restriction"


ITEM_LABELS: dict[ItemKind, str] = {
    ItemKind.adjustments: "reasonable adjustments",
    ItemKind.vulnerability: "vulnerability",
    ItemKind.restriction: "contact restriction",
}


class Vulnerability(StrEnum):
    health = "health"
    mental_health = "mental_health"
    age = "age"
    disability = "disability"
    language = "language"
    domestic_abuse = "domestic_abuse"
    financial_hardship = "financial_hardship"
    bereavement = "bereavement"
    other = "other"


VULNERABILITY_LABELS: dict[Vulnerability, str] = {
    Vulnerability.health: "Physical health",
    Vulnerability.mental_health: "Mental health",
    Vulnerability.age: "Age",
    Vulnerability.disability: "Disability",
    Vulnerability.language: "Language or literacy",
    Vulnerability.domestic_abuse: "Domestic abuse",
    Vulnerability.financial_hardship: "Financial hardship",
    Vulnerability.bereavement: "Bereavement",
    Vulnerability.other: "Other (see the note)",
}


class ReviewOwner(StrEnum):
    """Who is reminded when an item's review falls due."""

    person_owner = "person_owner"  # the person record's owner (the team if it has none)
    recorded_by = "recorded_by"  # the member of staff who recorded the item


REVIEW_OWNER_LABELS: dict[ReviewOwner, str] = {
    ReviewOwner.person_owner: "The person record's owner",
    ReviewOwner.recorded_by: "Me (who recorded it)",
}


class Restriction(StrEnum):
    """What a contact restriction under the unacceptable behaviour policy limits."""

    email_only = "email_only"
    writing_only = "writing_only"
    single_point = "single_point"  # one named member of staff
    set_times = "set_times"
    no_visits = "no_visits"  # no visits to the office without an appointment
    other = "other"


RESTRICTION_LABELS: dict[Restriction, str] = {
    Restriction.email_only: "Contact only by email",
    Restriction.writing_only: "Contact only in writing (email or letter)",
    Restriction.single_point: "Contact only through a single point of contact",
    Restriction.set_times: "Phone contact only at set times",
    Restriction.no_visits: "No visits to our offices without an appointment",
    Restriction.other: "Another restriction (see the details)",
}

# What the resident's letter says each restriction means for them.
RESTRICTION_WORDS: dict[Restriction, str] = {
    Restriction.email_only: "Please contact us only by email.",
    Restriction.writing_only: "Please contact us only in writing, by email or by letter.",
    Restriction.single_point: "Please contact us only through the member of staff named below.",
    Restriction.set_times: "Please phone us only at the times given below.",
    Restriction.no_visits: "Please do not visit our offices without an appointment.",
    Restriction.other: "Please contact us only as set out below.",
}


# ------------------------------------------------------------------------- the person


class PersonDetails(Strict):
    """Who the person is, as the case they were first recorded from gave it."""

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None

    @property
    def writable(self) -> bool:
        """Whether a letter can reach them (an email or a postal address)."""
        return self.email is not None or self.address is not None


def email_key(email: str | None) -> str | None:
    """An email address as matching compares it: trimmed, lower case."""
    key = (email or "").strip().lower()
    return key or None


def phone_key(phone: str | None) -> str | None:
    """A phone number as matching compares it: its digits, a UK +44 or 0044 made 0
    ("+44 (0)7700 900123" and "07700 900123" -> "07700900123"); None for fewer than 6
    digits."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0044"):
        digits = "0" + digits[4:].lstrip("0")  # "+44 (0)7700 ..." too
    elif digits.startswith("44") and (phone or "").strip().startswith("+"):
        digits = "0" + digits[2:].lstrip("0")
    return digits if len(digits) >= 6 else None


def postcode_key(postcode: str | None) -> str | None:
    """A postcode as matching compares it: upper case, no spaces (as records.schema's)."""
    key = "".join((postcode or "").split()).upper()
    return key or None


class MatchOn(StrEnum):
    email = "email"
    phone = "phone"
    postcode = "postcode"


MATCH_LABELS: dict[MatchOn, str] = {
    MatchOn.email: "email address",
    MatchOn.phone: "phone number",
    MatchOn.postcode: "postcode",
}


def matches(case: PersonDetails, person: PersonDetails) -> list[MatchOn]:
    """What the case's person shares with a person record, normalised."""
    found = []
    if email_key(case.email) and email_key(case.email) == email_key(person.email):
        found.append(MatchOn.email)
    if phone_key(case.phone) and phone_key(case.phone) == phone_key(person.phone):
        found.append(MatchOn.phone)
    case_pc = postcode_key(case.address.postcode if case.address else None)
    person_pc = postcode_key(person.address.postcode if person.address else None)
    if case_pc and case_pc == person_pc:
        found.append(MatchOn.postcode)
    return found


def match_strength(on: list[MatchOn]) -> str:
    """ "strong" when an email address or a phone number matches; "weak" for a postcode alone
    (many people share one: check the name and the address before linking)."""
    return "strong" if {MatchOn.email, MatchOn.phone} & set(on) else "weak"


WEAK_MATCH = (
    "Postcode only: a weak match. Many people share a postcode, so check the name and the "
    "address before you link."
)


# ------------------------------------------------------------------------- the items


class NewAdjustments(Strict):
    adjustments: Adjustments
    review_on: date
    review_owner: ReviewOwner = ReviewOwner.person_owner


class NewVulnerability(Strict):
    vulnerability: Vulnerability
    note: str | None = Field(default=None, max_length=2000)
    review_on: date
    review_owner: ReviewOwner = ReviewOwner.person_owner


class NewRestriction(Strict):
    """A contact restriction as a manager records it. `details` says exactly what (the address
    to email, the named contact, the times); `reasons` why (the behaviour), as the resident's
    letter gives them; `evidence` what it rests on (incidents, dates, case references), kept
    for staff and the Ombudsman, not sent."""

    restriction: Restriction
    details: str = Field(min_length=1, max_length=1000)
    reasons: str = Field(min_length=1, max_length=5000)
    evidence: str = Field(min_length=1, max_length=5000)
    review_on: date


class Reviewed(Strict):
    next_review_on: date
    note: str | None = Field(default=None, max_length=2000)


class Ended(Strict):
    note: str | None = Field(default=None, max_length=2000)


def review_date_problem(review_on: date, today: date) -> str | None:
    """A review date must be after today and within two years."""
    if review_on <= today:
        return "The review date must be in the future"
    if (review_on - today).days > 2 * 366:
        return "The review date must be within two years"
    return None


def review_due(review_on: date, today: date) -> bool:
    return review_on <= today


# ---------------------------------------------------------------------- letters

PERSON_LETTER_WORKFLOW = "person-letter-"


def restriction_letter_key(item_id: int) -> str:
    """The resident's letter about restriction `item_id`: sent once (the ledger's key)."""
    return f"restriction:{item_id}"


def review_letter_key(item_id: int, review_on: date) -> str:
    """The reminder to the owner of item `item_id`'s review on `review_on`: once per review
    date (a new review date is a new reminder)."""
    return f"review:{item_id}:{review_on.isoformat()}"


def person_letter_workflow_id(reference: str, key: str) -> str:
    """The workflow that sends one person's letter: deterministic, so starting it twice is one
    letter; opaque (the person's reference and the key, nothing personal)."""
    return f"{PERSON_LETTER_WORKFLOW}{reference}-{key}"


def review_moment(day: date) -> datetime:
    """A review date as the letters' `due` (midday in London, so it reads as that day)."""
    return datetime.combine(day, time(12), LONDON)


def needs_for_letters(items: list[Adjustments]) -> Adjustments | None:
    """What a letter to the person carries of their recorded adjustments (large print, an
    interpreter's language: domain/adjustments.py `for_letters`), from all they have."""
    if not items:
        return None
    languages = [a.interpreter_language for a in items if a.interpreter_language]
    return for_letters(
        Adjustments(
            large_print=any(a.large_print for a in items),
            interpreter_language=languages[0] if languages else None,
        )
    )


def restriction_letter(
    reference: str,
    person: PersonDetails,
    item_id: int,
    restriction: NewRestriction,
    decided_by: str,
    needs: list[Adjustments],
) -> LetterRequest:
    """The letter telling the resident of a contact restriction: what, why, until when it is
    reviewed, signed by the manager who decided (`decided_by`, a staff id). By email if they
    have an address and did not ask for post only; else by post."""
    by_post_only = any(a.contact_only_by is ContactMethod.post for a in needs)
    delivery = Delivery.email if person.email and not by_post_only else Delivery.post
    if delivery is Delivery.post and person.address is None:
        delivery = Delivery.email
    return LetterRequest(
        reference=reference,
        key=restriction_letter_key(item_id),
        kind=LetterKind.contact_restriction,
        delivery=delivery,
        recipient=Recipient(name=person.name, email=person.email, address=person.address),
        context=LetterContext(
            reference=reference,
            resident_name=person.name,
            explanation=RESTRICTION_WORDS[restriction.restriction],
            message=restriction.details,
            reasons=restriction.reasons,
            due=review_moment(restriction.review_on),
            signed_by=decided_by,
            adjustments=needs_for_letters(needs),
        ),
    )


def review_letter(
    reference: str,
    item_id: int,
    kind: ItemKind,
    review_on: date,
    to: Recipient,
) -> LetterRequest:
    """The reminder to the owner of an item's review that it falls due: once per (person, item,
    review date). Nothing about the person but the record's reference and what kind of item."""
    return LetterRequest(
        reference=reference,
        key=review_letter_key(item_id, review_on),
        kind=LetterKind.person_review,
        delivery=Delivery.email,
        recipient=to,
        context=LetterContext(
            reference=reference,
            resident_name="",
            clock_label=f"Review of the {ITEM_LABELS[kind]} recorded on the person record",
            due=review_moment(review_on),
        ),
    )


# ------------------------------------------------------------- the daily reviews workflow


class PersonReviews(Strict):
    """The reviews workflow's input. The schedule passes none: the day is today in London.
    `day` reminds as of a given day (by hand, or in tests)."""

    day: date | None = None


class PersonReviewsRequest(Strict):
    day: date | None = None
    at: datetime  # when the day is not given: the London day of this moment


class PersonReviewsDone(Strict):
    day: date
    due: int  # items whose review date is the day or before
    started: list[str] = Field(default_factory=list)  # the letter workflows started now
