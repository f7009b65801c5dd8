"""Enquiries under the customer service standards: the channels and their reply clocks, the states
an enquiry passes through, the steps each allows, and the messages that start and move one on.
Pure data; EnquiryWorkflow enforces it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, Field, model_validator

from domain.adjustments import Adjustments, contact_only_problem
from domain.channels import EnquiryChannel
from domain.clocks import BankHolidays, Clock, ClockedRecord
from domain.complaint import RECORD_VERSION, StaffStep, TimelineItem
from domain.people import Address, Channel, ContactMethod, Resident, StaffMember, Strict
from domain.policy import Policy, PolicyStamp

CHANNEL_LABELS: dict[EnquiryChannel, str] = {
    EnquiryChannel.online_form: "Online contact form",
    EnquiryChannel.help_email: "Email to the help address",
    EnquiryChannel.social_media: "Social media",
    EnquiryChannel.team_email: "Email to a team or named person",
    EnquiryChannel.letter: "Letter",
    EnquiryChannel.callback: "Callback from a named person",
    EnquiryChannel.phone: "Phone call",
    EnquiryChannel.in_person: "In person",
}

# Each channel's reply clock, in working days from the receipt day, is the policy's
# (`enquiries.reply_working_days`, policy/west-kent.toml).

# Contacts made without a person at the other end get the reference in writing at once.
CONFIRMED_CHANNELS = frozenset({EnquiryChannel.help_email})

# The complaint a converted enquiry becomes keeps the way the resident got in touch.
COMPLAINT_CHANNEL: dict[EnquiryChannel, Channel] = {
    EnquiryChannel.online_form: Channel.online_form,
    EnquiryChannel.help_email: Channel.email,
    EnquiryChannel.social_media: Channel.social_media,
    EnquiryChannel.team_email: Channel.email,
    EnquiryChannel.letter: Channel.letter,
    EnquiryChannel.callback: Channel.phone,
    EnquiryChannel.phone: Channel.phone,
    EnquiryChannel.in_person: Channel.in_person,
}


def reply_clock_text(policy: Policy) -> str:
    """The policy's reply clocks, as the "log an enquiry" form tells staff."""
    by_days: dict[int, list[str]] = {}
    for channel, days in policy.enquiries.reply_working_days.items():
        by_days.setdefault(days, []).append(CHANNEL_LABELS[EnquiryChannel(channel)].lower())
    parts = [
        f"{', '.join(labels).capitalize()}: "
        + (
            "a reply by the end of the next working day"
            if days == 1
            else f"within {days} working days"
        )
        for days, labels in sorted(by_days.items())
    ]
    return ". ".join(parts) + "."


def private_channel_reply(reference: str) -> str:
    """What we post under a public social media message: never discuss a resident's business in
    public."""
    return (
        "Thanks for getting in touch. So we can help without your details being public, please "
        f"send us a private message, quoting {reference}, and we will pick it up from there."
    )


class Enquirer(Strict):
    """Who got in touch. Unlike a complainant, someone on the phone or social media may give no
    email or postal address; letters then cannot go, and staff reply on the channel itself."""

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None
    social_handle: str | None = Field(default=None, max_length=200)
    preferred_contact: ContactMethod = ContactMethod.email
    # as Resident's: the old free text, and the needs (domain/adjustments.py)
    reasonable_adjustments: str | None = Field(default=None, max_length=2000)
    adjustments: Adjustments | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Enquirer:
        if not (self.email or self.phone or self.address or self.social_handle):
            raise ValueError(
                "give at least one way to reply: email, phone, postal address or social handle"
            )
        problem = contact_only_problem(
            self.adjustments, email=self.email, phone=self.phone, address=self.address
        )
        if problem:
            raise ValueError(problem)
        if self.adjustments is not None and self.adjustments.contact_only_by is not None:
            self.preferred_contact = self.adjustments.contact_only_by  # the only way is the way
        if self.preferred_contact is ContactMethod.email and self.email is None:
            if self.address is not None:
                self.preferred_contact = ContactMethod.post
            elif self.phone is not None:
                self.preferred_contact = ContactMethod.phone
        if self.preferred_contact is ContactMethod.post and self.address is None:
            raise ValueError("preferred_contact is post but no postal address was given")
        if self.preferred_contact is ContactMethod.phone and self.phone is None:
            raise ValueError("preferred_contact is phone but no phone number was given")
        return self

    @property
    def writes_by_email(self) -> bool:
        return self.email is not None and self.preferred_contact is not ContactMethod.post

    def as_resident(self) -> Resident:
        """For a complaint raised from the enquiry; ValueError when it lacks an email or postal
        address, which every complaint needs for its letters."""
        return Resident(
            name=self.name,
            email=self.email,
            phone=self.phone,
            address=self.address,
            preferred_contact=self.preferred_contact,
            reasonable_adjustments=self.reasonable_adjustments,
            adjustments=self.adjustments,
        )


class LodgeEnquiry(Strict):
    """Everything needed to open an enquiry. `received_at` is when the resident got in touch."""

    reference: str = Field(pattern=r"^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
    enquirer: Enquirer
    channel: EnquiryChannel
    received_at: AwareDatetime
    subject: str = Field(min_length=1, max_length=300)
    message: str = Field(min_length=1, max_length=50000)
    # a team or member of staff the resident wrote to, or asked for (team_email, callback)
    addressed_to: str | None = Field(default=None, max_length=200)
    addressed_to_executive: bool = False  # to the chief executive or a director
    public_post: bool = False  # social media: posted publicly, not a private message
    # callback: the named person, and when they are back if they are away
    callback_from: StaffMember | None = None
    callback_from_returns_on: date | None = None
    owner: StaffMember | None = None
    lodged_by: str | None = None
    message_id: str | None = Field(default=None, max_length=998)  # an email's Message-ID
    # the case it is about: a call-back request or a reply sent from the resident's own page
    linked_reference: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$"
    )
    policy: Policy | None = None  # as LodgeComplaint.policy
    bank_holidays: BankHolidays | None = Field(default=None, max_length=10)  # as LodgeComplaint's
    letter_retry_pause_seconds: int = Field(default=600, ge=1, le=86400)

    @model_validator(mode="after")
    def _channel_details(self) -> LodgeEnquiry:
        if self.public_post and self.channel is not EnquiryChannel.social_media:
            raise ValueError("public_post applies only to the social_media channel")
        if self.channel is EnquiryChannel.callback and self.callback_from is None:
            raise ValueError(
                "a callback enquiry needs callback_from: the member of staff the resident asked for"
            )
        if self.callback_from_returns_on and self.callback_from is None:
            raise ValueError("callback_from_returns_on needs callback_from")
        return self


class EnquiryState(StrEnum):
    open = "open"  # waiting for our reply
    awaiting_resident = "awaiting_resident"  # we replied and asked the resident for something
    with_team = "with_team"  # complex: another team is working on it
    service_request = "service_request"  # monitored against its target date
    closed = "closed"


class EnquiryStep(StrEnum):
    assign = "assign"
    reply = "reply"
    holding_reply = "holding_reply"
    pass_to_team = "pass_to_team"
    record_update_preference = "record_update_preference"
    record_service_request = "record_service_request"
    raise_complaint = "raise_complaint"
    convert = "convert"
    close = "close"


class EnquiryOutcome(StrEnum):
    answered = "answered"
    resolved_by_team = "resolved_by_team"
    service_request_done = "service_request_done"
    converted_to_complaint = "converted_to_complaint"
    closed_without_reply = "closed_without_reply"


_EVERYWHERE = frozenset({EnquiryStep.assign, EnquiryStep.record_update_preference})
# The state machine, visible in one place.
ALLOWED_ENQUIRY_STEPS: dict[EnquiryState, frozenset[EnquiryStep]] = {
    EnquiryState.open: _EVERYWHERE
    | {
        EnquiryStep.reply,
        EnquiryStep.holding_reply,
        EnquiryStep.pass_to_team,
        EnquiryStep.record_service_request,
        EnquiryStep.convert,
        EnquiryStep.close,
    },
    EnquiryState.awaiting_resident: _EVERYWHERE
    | {
        EnquiryStep.reply,
        EnquiryStep.pass_to_team,
        EnquiryStep.record_service_request,
        EnquiryStep.convert,
        EnquiryStep.close,
    },
    EnquiryState.with_team: _EVERYWHERE
    | {EnquiryStep.reply, EnquiryStep.holding_reply, EnquiryStep.convert, EnquiryStep.close},
    EnquiryState.service_request: _EVERYWHERE
    | {
        EnquiryStep.reply,
        EnquiryStep.holding_reply,
        EnquiryStep.raise_complaint,
        EnquiryStep.close,
    },
    EnquiryState.closed: frozenset(),
}


class ReplyVia(StrEnum):
    """Email and letter go through our letters (SendGrid or post); phone and social media are
    replies staff made on that channel and record here."""

    email = "email"
    letter = "letter"
    phone = "phone"
    social_media = "social_media"


WRITTEN = frozenset({ReplyVia.email, ReplyVia.letter})


class UpdatePreference(StrEnum):
    phone = "phone"
    email = "email"
    letter = "letter"


PREFERENCE_VIA = {
    UpdatePreference.email: ReplyVia.email,
    UpdatePreference.letter: ReplyVia.letter,
    UpdatePreference.phone: ReplyVia.phone,
}
CONTACT_VIA = {
    ContactMethod.email: ReplyVia.email,
    ContactMethod.post: ReplyVia.letter,
    ContactMethod.phone: ReplyVia.phone,
}


def reachable(enquirer: Enquirer) -> list[ReplyVia]:
    """The ways a reply can reach this resident; a reply any other way is refused."""
    have = {
        ReplyVia.email: enquirer.email is not None,
        ReplyVia.letter: enquirer.address is not None,
        ReplyVia.phone: enquirer.phone is not None,
        ReplyVia.social_media: True,
    }
    return [via for via, ok in have.items() if ok]


def default_via(enquirer: Enquirer, preference: UpdatePreference | None) -> ReplyVia:
    """How a reply goes when staff do not say: the update preference the resident gave, else
    their preferred contact, else the first way that reaches them."""
    if preference:
        return PREFERENCE_VIA[preference]
    ways = reachable(enquirer)
    preferred = CONTACT_VIA[enquirer.preferred_contact]
    return preferred if preferred in ways else ways[0]


class AssignEnquiry(StaffStep):
    owner: StaffMember
    only_if_unowned: bool = False  # as Assign


class Reply(StaffStep):
    """Our reply. `closes` (the default) answers and closes the enquiry; otherwise it asks the
    resident for something (open), or is a progress update (with a team, a service request)."""

    message: str = Field(min_length=1, max_length=20000)
    via: ReplyVia | None = None  # default: the resident's preference
    closes: bool = True


class HoldingReply(StaffStep):
    """Before the deadline, when the full reply will be late: why, and when to expect it."""

    estimated_date: date
    reasons: str = Field(min_length=1, max_length=5000)
    via: ReplyVia | None = None


class PassToTeam(StaffStep):
    team: str = Field(min_length=1, max_length=200)
    next_steps: str = Field(min_length=1, max_length=5000)
    owner: StaffMember | None = None  # who in that team has it, if known
    via: ReplyVia | None = None


class RecordUpdatePreference(StaffStep):
    method: UpdatePreference


class RecordEnquiryServiceRequest(StaffStep):
    description: str = Field(min_length=1, max_length=5000)
    target_date: date
    via: ReplyVia | None = None


class RaiseComplaint(StaffStep):
    """The resident is unhappy with how the service request is going: a complaint starts and the
    request carries on."""

    dissatisfaction: str = Field(min_length=1, max_length=20000)
    points: list[str] = Field(default_factory=list, max_length=30)
    contact: Resident | None = None  # when the enquiry has no email or postal address


class Convert(StaffStep):
    """The enquiry is a complaint: one starts, counted from the enquiry's original receipt."""

    points: list[str] = Field(default_factory=list, max_length=30)
    outcome_sought: str | None = Field(default=None, max_length=5000)
    contact: Resident | None = None  # when the enquiry has no email or postal address


class CloseEnquiry(StaffStep):
    reason: str = Field(min_length=1, max_length=5000)


ENQUIRY_STEP_MODELS: dict[EnquiryStep, type[StaffStep]] = {
    EnquiryStep.assign: AssignEnquiry,
    EnquiryStep.reply: Reply,
    EnquiryStep.holding_reply: HoldingReply,
    EnquiryStep.pass_to_team: PassToTeam,
    EnquiryStep.record_update_preference: RecordUpdatePreference,
    EnquiryStep.record_service_request: RecordEnquiryServiceRequest,
    EnquiryStep.raise_complaint: RaiseComplaint,
    EnquiryStep.convert: Convert,
    EnquiryStep.close: CloseEnquiry,
}


class EnquiryRecord(ClockedRecord):
    """An enquiry as the records database keeps it: as ComplaintRecord."""

    record_version: int = RECORD_VERSION
    kind: str = "enquiry"
    reference: str
    workflow_id: str
    state: EnquiryState
    outcome: EnquiryOutcome | None = None
    owner: StaffMember | None = None
    team: str | None = None
    enquirer: Enquirer
    channel: EnquiryChannel
    received_at: datetime
    received_on: date | None = None
    subject: str
    message: str
    addressed_to: str | None = None
    addressed_to_executive: bool = False
    public_post: bool = False
    message_id: str | None = None
    suggested_public_reply: str | None = None
    update_preference: UpdatePreference | None = None
    reply_via: ReplyVia | None = None  # how a reply goes unless staff choose
    service_request: str | None = None
    clocks: list[Clock]
    next_deadline: Clock | None = None
    overdue: bool
    allowed_steps: list[EnquiryStep]
    linked_references: list[str] = Field(default_factory=list)
    letters: list[str] = Field(default_factory=list)
    pending_effects: int = 0
    letters_failing: list[str] = Field(default_factory=list)
    closed_at: datetime | None = None
    policy: PolicyStamp | None = None


class EnquiryStatus(EnquiryRecord):
    """The whole enquiry as the `status` Query returns it: the record and its timeline."""

    timeline: list[TimelineItem]


def enquiry_workflow_id(reference: str) -> str:
    return f"enquiry-{reference}"
